package onboarding

import (
	"strings"
	"testing"
)

// FuzzDecodeQR: decoding never panics, and whatever decodes re-encodes to a string
// that decodes to the same payloads (decode ∘ encode = id on decoded values).
func FuzzDecodeQR(f *testing.F) {
	v := loadVectors(f)
	for _, q := range v.QR {
		f.Add(q.QR)
	}
	for _, c := range v.Concatenated {
		f.Add(c.QR)
	}
	f.Add("MT:")
	f.Add("MT:*")
	f.Add("MT:00000000000000000000")
	f.Fuzz(func(t *testing.T, s string) {
		ps, err := DecodeQRs(s)
		if err != nil {
			if len(ps) != 0 {
				t.Fatalf("error %v with %d payloads", err, len(ps))
			}
			return
		}
		for _, p := range ps {
			if p.Discovery&^DiscoveryKnown != 0 {
				return // consumed, but the encoder refuses reserved bits by design
			}
		}
		enc, err := EncodeQRs(ps)
		if err != nil {
			t.Fatalf("decoded %q but cannot re-encode: %v", s, err)
		}
		again, err := DecodeQRs(enc)
		if err != nil {
			t.Fatalf("re-encoded %q does not decode: %v", enc, err)
		}
		for i := range ps {
			if !payloadEqual(ps[i], again[i]) {
				t.Fatalf("payload %d changed: %+v → %+v", i, ps[i], again[i])
			}
		}
	})
}

// FuzzQRRoundTrip: for every payload the encoder accepts, DecodeQR(EncodeQR(p)) == p.
func FuzzQRRoundTrip(f *testing.F) {
	f.Add(uint16(0xFFF1), uint16(0x8000), uint8(0), uint8(2), uint16(3840), uint32(20202021), "", int64(0), []byte(nil))
	f.Add(uint16(12), uint16(1), uint8(0), uint8(1), uint16(128), uint32(2048), "123456789", int64(12), []byte("0123456789abcdef"))
	f.Fuzz(func(t *testing.T, vid, pid uint16, flow, disc uint8, d uint16, pass uint32, serial string, vendorInt int64, salt []byte) {
		p := Payload{VID: vid, PID: pid, Flow: Flow(flow), Discovery: Discovery(disc), Discriminator: d, Passcode: pass}
		if serial != "" {
			p.Optional = append(p.Optional, SerialNumber(serial))
		}
		if vendorInt != 0 {
			p.Optional = append(p.Optional, OptionalData{Tag: 0x90, Type: TypeSigned, Signed: vendorInt})
		}
		if salt != nil {
			p.Optional = append(p.Optional, PBKDFSalt(salt))
		}
		s, err := EncodeQR(p)
		if err != nil {
			return
		}
		got, err := DecodeQR(s)
		if err != nil {
			t.Fatalf("EncodeQR(%+v) = %q does not decode: %v", p, s, err)
		}
		if !payloadEqual(got, p) {
			t.Fatalf("round trip changed %+v into %+v", p, got)
		}
		if strings.Count(s, "*") != 0 {
			t.Fatalf("single payload encoded with a separator: %q", s)
		}
	})
}

// FuzzDecodeManual: decoding never panics; a decoded code re-encodes to the same
// digits (dashes and spaces removed) and encode→decode is the identity.
func FuzzDecodeManual(f *testing.F) {
	for _, q := range loadVectors(f).QR {
		f.Add(q.Manual)
	}
	f.Add("2048-915-4736")
	f.Add("00000000000")
	f.Add("99999999999999999999 9")
	f.Fuzz(func(t *testing.T, s string) {
		m, err := DecodeManual(s)
		if err != nil {
			return
		}
		enc, err := m.Encode()
		if err != nil {
			t.Fatalf("decoded %q to %+v but cannot re-encode: %v", s, m, err)
		}
		digits := strings.NewReplacer("-", "", " ", "").Replace(s)
		if enc != digits {
			t.Fatalf("%q decoded and re-encoded as %q", s, enc)
		}
		again, err := DecodeManual(enc)
		if err != nil || again != m {
			t.Fatalf("round trip of %+v gave %+v, %v", m, again, err)
		}
	})
}
