package onboarding

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

type vectorFile struct {
	QR []struct {
		Source        string `json:"source"`
		VID, PID      string
		Flow          string `json:"flow"`
		Discovery     string `json:"discovery"`
		Discriminator uint16 `json:"discriminator"`
		Passcode      uint32 `json:"passcode"`
		Optional      []struct {
			Tag   uint8           `json:"tag"`
			Type  string          `json:"type"`
			Value json.RawMessage `json:"value"`
		} `json:"optional"`
		QR     string `json:"qr"`
		Manual string `json:"manual"`
	} `json:"qr"`
	Concatenated []struct {
		Source         string `json:"source"`
		QR             string `json:"qr"`
		VID, PID       string
		Discovery      string   `json:"discovery"`
		Discriminators []uint16 `json:"discriminators"`
		Passcodes      []uint32 `json:"passcodes"`
	} `json:"concatenated"`
	ManualLayout []struct {
		Source             string `json:"source"`
		ShortDiscriminator uint8  `json:"short_discriminator"`
		Passcode           uint32 `json:"passcode"`
		Manual             string `json:"manual"`
		Valid              bool   `json:"valid"`
	} `json:"manual_layout"`
	BadManual []struct {
		Code  string `json:"code"`
		Error string `json:"error"`
		Why   string `json:"why"`
	} `json:"bad_manual"`
	Verifier []struct {
		Source     string `json:"source"`
		Passcode   uint32 `json:"passcode"`
		Salt       string `json:"salt"`
		Iterations int    `json:"iterations"`
		W0Prefix   string `json:"w0_prefix"`
		W0Suffix   string `json:"w0_suffix"`
		W1Prefix   string `json:"w1_prefix"`
		W1Suffix   string `json:"w1_suffix"`
		Verifier   string `json:"verifier"`
	} `json:"verifier"`
}

func loadVectors(t testing.TB) vectorFile {
	t.Helper()
	b, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectorFile
	dec := json.NewDecoder(strings.NewReader(string(b)))
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("testdata/vectors.json: %v", err)
	}
	if len(v.QR) == 0 || len(v.Verifier) == 0 || len(v.Concatenated) == 0 || len(v.ManualLayout) == 0 {
		t.Fatal("testdata/vectors.json lost a section")
	}
	return v
}

func hex16(t *testing.T, s string) uint16 {
	t.Helper()
	v, err := strconv.ParseUint(s, 16, 16)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return uint16(v)
}

func TestPublishedQRAndManualVectors(t *testing.T) {
	for _, v := range loadVectors(t).QR {
		t.Run(v.QR, func(t *testing.T) {
			flow, err := ParseFlow(v.Flow)
			if err != nil {
				t.Fatal(err)
			}
			disc, err := ParseDiscovery(v.Discovery)
			if err != nil {
				t.Fatal(err)
			}
			want := Payload{VID: hex16(t, v.VID), PID: hex16(t, v.PID), Flow: flow, Discovery: disc,
				Discriminator: v.Discriminator, Passcode: v.Passcode}
			for _, o := range v.Optional {
				d := OptionalData{Tag: o.Tag}
				switch o.Type {
				case "string":
					d.Type = TypeString
					err = json.Unmarshal(o.Value, &d.String)
				case "signed":
					d.Type = TypeSigned
					err = json.Unmarshal(o.Value, &d.Signed)
				case "unsigned":
					d.Type = TypeUnsigned
					err = json.Unmarshal(o.Value, &d.Unsigned)
				default:
					err = fmt.Errorf("unknown type %q", o.Type)
				}
				if err != nil {
					t.Fatal(err)
				}
				want.Optional = append(want.Optional, d)
			}

			got, err := EncodeQR(want)
			if err != nil {
				t.Fatalf("EncodeQR: %v", err)
			}
			if got != v.QR {
				t.Errorf("EncodeQR = %s, want %s (%s)", got, v.QR, v.Source)
			}
			dec, err := DecodeQR(v.QR)
			if err != nil {
				t.Fatalf("DecodeQR: %v", err)
			}
			assertPayloadEqual(t, dec, want)

			manual, err := EncodeManual(want)
			if err != nil {
				t.Fatalf("EncodeManual: %v", err)
			}
			wantManual := strings.ReplaceAll(v.Manual, "-", "")
			if manual != wantManual {
				t.Errorf("EncodeManual = %s, want %s (%s)", manual, wantManual, v.Source)
			}
			m, err := DecodeManual(v.Manual)
			if err != nil {
				t.Fatalf("DecodeManual(%s): %v", v.Manual, err)
			}
			if m != want.ManualCode() {
				t.Errorf("DecodeManual = %+v, want %+v", m, want.ManualCode())
			}
		})
	}
}

func assertPayloadEqual(t *testing.T, got, want Payload) {
	t.Helper()
	if !payloadEqual(got, want) {
		t.Errorf("payload\n got %+v\nwant %+v", got, want)
	}
}

func payloadEqual(a, b Payload) bool {
	if a.Version != b.Version || a.VID != b.VID || a.PID != b.PID || a.Flow != b.Flow ||
		a.Discovery != b.Discovery || a.Discriminator != b.Discriminator || a.Passcode != b.Passcode ||
		len(a.Optional) != len(b.Optional) {
		return false
	}
	for i := range a.Optional {
		if !a.Optional[i].Equal(b.Optional[i]) {
			return false
		}
	}
	return true
}

func TestPublishedConcatenatedVector(t *testing.T) {
	for _, v := range loadVectors(t).Concatenated {
		ps, err := DecodeQRs(v.QR)
		if err != nil {
			t.Fatalf("DecodeQRs: %v", err)
		}
		if len(ps) != len(v.Passcodes) {
			t.Fatalf("decoded %d payloads, want %d", len(ps), len(v.Passcodes))
		}
		disc, _ := ParseDiscovery(v.Discovery)
		var want []Payload
		for i := range ps {
			w := Payload{VID: hex16(t, v.VID), PID: hex16(t, v.PID), Discovery: disc,
				Discriminator: v.Discriminators[i], Passcode: v.Passcodes[i]}
			assertPayloadEqual(t, ps[i], w)
			want = append(want, w)
		}
		s, err := EncodeQRs(want)
		if err != nil || s != v.QR {
			t.Errorf("EncodeQRs = %q, %v; want %q", s, err, v.QR)
		}
		if _, err := DecodeQR(v.QR); err == nil || !strings.Contains(err.Error(), "4 payloads") {
			t.Errorf("DecodeQR of a concatenated code: err = %v, want a '4 payloads' error", err)
		}
	}
}

func TestPublishedManualLayoutVector(t *testing.T) {
	for _, v := range loadVectors(t).ManualLayout {
		m := ManualCode{ShortDiscriminator: v.ShortDiscriminator, Passcode: v.Passcode}
		if got := manualDigits(m); got != v.Manual {
			t.Errorf("manual layout = %s, want %s (%s)", got, v.Manual, v.Source)
		}
		_, err := DecodeManual(v.Manual)
		if v.Valid != (err == nil) {
			t.Errorf("DecodeManual(%s) err = %v, want valid=%v", v.Manual, err, v.Valid)
		}
		_, encErr := m.Encode()
		if v.Valid != (encErr == nil) {
			t.Errorf("Encode err = %v, want valid=%v", encErr, v.Valid)
		}
	}
}

func TestPublishedVerifierVector(t *testing.T) {
	for _, v := range loadVectors(t).Verifier {
		salt, err := base64.StdEncoding.DecodeString(v.Salt)
		if err != nil {
			t.Fatal(err)
		}
		w0, w1, err := spake2pScalars(v.Passcode, salt, v.Iterations)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			name           string
			w              []byte
			prefix, suffix string
		}{{"w0", w0, v.W0Prefix, v.W0Suffix}, {"w1", w1, v.W1Prefix, v.W1Suffix}} {
			h := strings.ToUpper(hex.EncodeToString(c.w))
			if !strings.HasPrefix(h, c.prefix) || !strings.HasSuffix(h, c.suffix) {
				t.Errorf("%s = %s, want %s…%s", c.name, h, c.prefix, c.suffix)
			}
		}
		got, err := Verifier(v.Passcode, salt, v.Iterations)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != VerifierSize {
			t.Fatalf("verifier is %d bytes", len(got))
		}
		if b64 := base64.StdEncoding.EncodeToString(got); b64 != v.Verifier {
			t.Errorf("verifier = %s\nwant %s (%s)", b64, v.Verifier, v.Source)
		}
		if hex.EncodeToString(got[:32]) != hex.EncodeToString(w0) {
			t.Error("verifier does not start with w0")
		}
		if got[32] != 0x04 {
			t.Errorf("L is not uncompressed (first byte 0x%02X)", got[32])
		}
		if err := MatchVerifier(got, v.Passcode, salt, v.Iterations); err != nil {
			t.Errorf("MatchVerifier(own output): %v", err)
		}
		if err := MatchVerifier(got, v.Passcode+1, salt, v.Iterations); err != ErrVerifierMismatch {
			t.Errorf("MatchVerifier(other passcode) = %v, want ErrVerifierMismatch", err)
		}
	}
}
