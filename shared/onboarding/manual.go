package onboarding

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrInvalidManualCode marks a string that is not a valid manual pairing code.
var ErrInvalidManualCode = errors.New("invalid manual pairing code")

// ManualCode is what a manual pairing code carries (Matter Core §5.1; SDK
// ManualSetupPayloadParser.cpp): the upper 4 bits of the discriminator, the passcode, and — for a non-standard
// commissioning flow — the vendor and product IDs. The code does not say which
// non-standard flow (the SDK reports it as custom).
type ManualCode struct {
	ShortDiscriminator uint8 // 4 bits
	Passcode           uint32
	VIDPIDPresent      bool // 21-digit code
	VID, PID           uint16
}

// Validate checks m the way the SDK does (PayloadContents::isValidManualCode).
func (m ManualCode) Validate() error {
	if m.ShortDiscriminator > 0xF {
		return fmt.Errorf("%w: short discriminator %d is above 15 (4 bits)", ErrInvalidDiscriminator, m.ShortDiscriminator)
	}
	if err := CheckPasscode(m.Passcode); err != nil {
		return err
	}
	if m.VIDPIDPresent {
		return checkVIDPID(m.VID, m.PID)
	}
	if m.VID != 0 || m.PID != 0 {
		return fmt.Errorf("%w: vendor/product ID set but not carried (an 11-digit code has none)", ErrInvalidPayload)
	}
	return nil
}

// EncodeManual returns the manual pairing code of p as plain digits (11 for the
// standard flow, 21 otherwise).
func EncodeManual(p Payload) (string, error) {
	if err := CheckDiscriminator(p.Discriminator); err != nil {
		return "", err
	}
	return p.ManualCode().Encode()
}

// Encode returns the code as plain digits after checking it with Validate.
func (m ManualCode) Encode() (string, error) {
	if err := m.Validate(); err != nil {
		return "", err
	}
	return manualDigits(m), nil
}

// manualDigits lays the code out without validation (tests check the layout
// against the SDK's encoder vectors, some of which use out-of-range passcodes).
func manualDigits(m ManualCode) string {
	var vidPid uint32
	if m.VIDPIDPresent {
		vidPid = 1
	}
	sd := uint32(m.ShortDiscriminator)
	chunk1 := (sd>>2)&3 | vidPid<<2
	chunk2 := (sd&3)<<14 | (m.Passcode & 0x3FFF)
	chunk3 := (m.Passcode >> 14) & 0x1FFF
	s := fmt.Sprintf("%01d%05d%04d", chunk1, chunk2, chunk3)
	if m.VIDPIDPresent {
		s += fmt.Sprintf("%05d%05d", m.VID, m.PID)
	}
	return s + string(verhoeffCheckDigit(s))
}

// FormatManual groups a code for printing on a label: 11 digits as 4-3-4
// ("3497-011-2332"), 21 digits as 4-3-4-5-5. DecodeManual ignores the dashes.
func FormatManual(code string) string {
	var groups []int
	switch len(code) {
	case 11:
		groups = []int{4, 3, 4}
	case 21:
		groups = []int{4, 3, 4, 5, 5}
	default:
		return code
	}
	var parts []string
	for _, g := range groups {
		parts = append(parts, code[:g])
		code = code[g:]
	}
	return strings.Join(parts, "-")
}

// DecodeManual decodes an 11- or 21-digit manual pairing code. Dashes and spaces
// are ignored; any other character, a wrong length, a wrong check digit, reserved
// values or an invalid passcode is an error naming the problem.
func DecodeManual(s string) (ManualCode, error) {
	if len(s) > 64 {
		return ManualCode{}, fmt.Errorf("%w: %d characters is far too long (11 or 21 digits)", ErrInvalidManualCode, len(s))
	}
	var digits strings.Builder
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits.WriteRune(r)
		case r == '-' || r == ' ':
		default:
			return ManualCode{}, fmt.Errorf("%w: character %d (%q) is not a digit, dash or space", ErrInvalidManualCode, i+1, r)
		}
	}
	d := digits.String()
	if len(d) != 11 && len(d) != 21 {
		return ManualCode{}, fmt.Errorf("%w: %d digits, want 11 or 21", ErrInvalidManualCode, len(d))
	}
	if !verhoeffValid(d) {
		return ManualCode{}, fmt.Errorf("%w: check digit %c is wrong (the first %d digits give %c): a digit was mistyped",
			ErrInvalidManualCode, d[len(d)-1], len(d)-1, verhoeffCheckDigit(d[:len(d)-1]))
	}
	num := func(from, n int) uint32 { v, _ := strconv.ParseUint(d[from:from+n], 10, 32); return uint32(v) }
	chunk1, chunk2, chunk3 := num(0, 1), num(1, 5), num(6, 4)
	long := chunk1&4 != 0
	switch {
	case chunk1 > 7:
		return ManualCode{}, fmt.Errorf("%w: first digit %d is reserved (0-7)", ErrInvalidManualCode, chunk1)
	case long && len(d) != 21:
		return ManualCode{}, fmt.Errorf("%w: first digit %d announces vendor and product IDs (21 digits), got %d digits", ErrInvalidManualCode, chunk1, len(d))
	case !long && len(d) != 11:
		return ManualCode{}, fmt.Errorf("%w: first digit %d announces an 11-digit code, got %d digits", ErrInvalidManualCode, chunk1, len(d))
	case chunk2 > 0xFFFF:
		return ManualCode{}, fmt.Errorf("%w: digits 2-6 (%05d) are above 65535", ErrInvalidManualCode, chunk2)
	case chunk3 > 0x1FFF:
		return ManualCode{}, fmt.Errorf("%w: digits 7-10 (%04d) are above 8191", ErrInvalidManualCode, chunk3)
	}
	m := ManualCode{
		ShortDiscriminator: uint8((chunk1&3)<<2 | chunk2>>14),
		Passcode:           chunk3<<14 | chunk2&0x3FFF,
		VIDPIDPresent:      long,
	}
	if long {
		vid, pid := num(10, 5), num(15, 5)
		if vid > 0xFFFF || pid > 0xFFFF {
			return ManualCode{}, fmt.Errorf("%w: vendor ID %05d or product ID %05d does not fit 16 bits", ErrInvalidManualCode, vid, pid)
		}
		m.VID, m.PID = uint16(vid), uint16(pid)
	}
	if err := m.Validate(); err != nil {
		return ManualCode{}, fmt.Errorf("%w: %w", ErrInvalidManualCode, err)
	}
	return m, nil
}
