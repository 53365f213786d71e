package onboarding

import (
	"errors"
	"strings"
	"testing"
)

func TestDecodeManualRefusesBadInput(t *testing.T) {
	// withCheck appends the right check digit, to reach the rules behind it.
	withCheck := func(s string) string { return s + string(verhoeffCheckDigit(s)) }
	cases := []struct {
		name, in string
		is       error
		want     string
	}{
		{"empty", "", ErrInvalidManualCode, "0 digits"},
		{"10 digits", "3497011233", ErrInvalidManualCode, "10 digits, want 11 or 21"},
		{"12 digits", "349701123320", ErrInvalidManualCode, "12 digits"},
		{"letter", "3497O112332", ErrInvalidManualCode, `character 5 ('O')`},
		{"dot", "3497.011.2332", ErrInvalidManualCode, `character 5 ('.')`},
		{"wrong check digit", "34970112333", ErrInvalidManualCode, "check digit 3 is wrong"},
		{"swapped digits", "43970112332", ErrInvalidManualCode, "check digit"},
		{"reserved first digit", withCheck("8497011233"), ErrInvalidManualCode, "first digit 8 is reserved"},
		{"long flag, short code", withCheck("7497011233"), ErrInvalidManualCode, "announces vendor and product IDs"},
		{"short flag, long code", withCheck("34970112336552132768"), ErrInvalidManualCode, "announces an 11-digit code"},
		{"chunk2 overflow", withCheck("3999991233"), ErrInvalidManualCode, "digits 2-6 (99999) are above 65535"},
		{"chunk3 overflow", withCheck("3497019999"), ErrInvalidManualCode, "digits 7-10 (9999) are above 8191"},
		{"passcode 0", withCheck("0000000000"), ErrInvalidPasscode, "0 (the range"},
		{"trivial passcode", manualDigits(ManualCode{Passcode: 11111111}), ErrInvalidPasscode, "trivial"},
		{"vid too big", withCheck("74970112339999932768"), ErrInvalidManualCode, "does not fit 16 bits"},
		{"reserved vid", manualDigits(ManualCode{Passcode: 20202021, VIDPIDPresent: true, VID: 0xFFFF, PID: 1}), ErrInvalidPayload, "vendor ID 0xFFFF is reserved"},
		{"pid 0", manualDigits(ManualCode{Passcode: 20202021, VIDPIDPresent: true, VID: 0xFFF1}), ErrInvalidPayload, "product ID 0"},
		{"too long", strings.Repeat("1", 65), ErrInvalidManualCode, "far too long"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := DecodeManual(c.in)
			if err == nil {
				t.Fatalf("DecodeManual(%q) succeeded", c.in)
			}
			if !errors.Is(err, c.is) || !errors.Is(err, ErrInvalidManualCode) {
				t.Errorf("error %q is not %v (and ErrInvalidManualCode)", err, c.is)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not say %q", err, c.want)
			}
		})
	}
}

func TestBadManualVectors(t *testing.T) {
	for _, v := range loadVectors(t).BadManual {
		if _, err := DecodeManual(v.Code); err == nil || !strings.Contains(err.Error(), v.Error) {
			t.Errorf("DecodeManual(%s) (%s) err = %v, want %q", v.Code, v.Why, err, v.Error)
		}
	}
}

// Every single-digit substitution and every adjacent transposition of a valid
// code must be caught (the Verhoeff guarantee the manual code relies on).
func TestManualCheckDigitCatchesTypos(t *testing.T) {
	for _, code := range []string{"34970112332", "749701123365521327687"} {
		for i := range len(code) {
			for d := byte('0'); d <= '9'; d++ {
				if d == code[i] {
					continue
				}
				typo := code[:i] + string(d) + code[i+1:]
				if verhoeffValid(typo) {
					t.Errorf("substitution %s of %s passes the check", typo, code)
				}
			}
			if i+1 < len(code) && code[i] != code[i+1] {
				typo := code[:i] + string(code[i+1]) + string(code[i]) + code[i+2:]
				if verhoeffValid(typo) {
					t.Errorf("transposition %s of %s passes the check", typo, code)
				}
			}
		}
	}
}

func TestManualAcceptsDashesAndSpaces(t *testing.T) {
	for _, in := range []string{"3497-011-2332", "3497 011 2332", " 34970112332 ", "3-4-9-7-0-1-1-2-3-3-2", "7497-011-2336-55213-27687"} {
		if _, err := DecodeManual(in); err != nil {
			t.Errorf("DecodeManual(%q): %v", in, err)
		}
	}
	if got := FormatManual("34970112332"); got != "3497-011-2332" {
		t.Errorf("FormatManual = %s", got)
	}
	if got := FormatManual("749701123365521327687"); got != "7497-011-2336-55213-27687" {
		t.Errorf("FormatManual(21) = %s", got)
	}
}

func TestManualCodeValidate(t *testing.T) {
	if _, err := (ManualCode{ShortDiscriminator: 16, Passcode: 20202021}).Encode(); !errors.Is(err, ErrInvalidDiscriminator) {
		t.Errorf("short discriminator 16: %v", err)
	}
	if _, err := (ManualCode{Passcode: 20202021, VID: 1, PID: 1}).Encode(); !errors.Is(err, ErrInvalidPayload) {
		t.Errorf("VID without VIDPIDPresent: %v", err)
	}
	p := validPayload()
	p.Discriminator = 5000
	if _, err := EncodeManual(p); !errors.Is(err, ErrInvalidDiscriminator) {
		t.Errorf("EncodeManual with discriminator 5000: %v", err)
	}
}

func TestDecodeEitherForm(t *testing.T) {
	c, err := Decode("  MT:Y.K9042C00KA0648G00\n")
	if err != nil || len(c.QR) != 1 || c.Manual != nil {
		t.Fatalf("Decode(QR) = %+v, %v", c, err)
	}
	c, err = Decode("3497-011-2332")
	if err != nil || c.Manual == nil || c.Manual.Passcode != 20202021 || c.QR != nil {
		t.Fatalf("Decode(manual) = %+v, %v", c, err)
	}
	for in, want := range map[string]string{
		"mt:Y.K9042C00KA0648G00": `prefix "mt:" must be upper case`,
		"hello":                  "neither a QR payload",
		"":                       "neither a QR payload",
		"34970112333":            "check digit",
	} {
		if _, err := Decode(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Decode(%q) err = %v, want %q", in, err, want)
		}
	}
}
