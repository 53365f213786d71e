package matter

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func addVectorSeeds(f *testing.F, field func(dutVector) string) {
	files, _ := filepath.Glob("testdata/commissioner_dut/*.json")
	for _, p := range files {
		b, _ := os.ReadFile(p)
		var v dutVector
		if json.Unmarshal(b, &v) == nil {
			if der, err := hex.DecodeString(field(v)); err == nil {
				f.Add(der)
			}
		}
	}
}

// FuzzParseCertificate: parsing and every validator must never panic, and
// a certificate that validates as a DAC must re-parse identically.
func FuzzParseCertificate(f *testing.F) {
	addVectorSeeds(f, func(v dutVector) string { return v.DAC })
	addVectorSeeds(f, func(v dutVector) string { return v.PAI })
	for _, p := range []string{"testdata/sdk/Chip-Test-PAA-FFF1-Cert.pem", "testdata/sdk/Chip-Test-DAC-FFF1-8000-0000-Cert.pem"} {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	paa, pai := readCertF(f, "testdata/sdk/Chip-Test-PAA-FFF1-Cert.pem"), readCertF(f, "testdata/sdk/Chip-Test-PAI-FFF1-8000-Cert.pem")
	now := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseCertificate(data)
		if err != nil {
			if RuleOf(err) == "" {
				t.Fatalf("parse error without a rule: %v", err)
			}
			return
		}
		for _, typ := range []CertType{DAC, PAI, PAA} {
			if err := ValidateCertificate(c, typ); err != nil && RuleOf(err) == "" {
				t.Fatalf("validation error without a rule: %v", err)
			}
		}
		_ = ValidateChainAt(c, pai, paa, now)
		_ = ValidateChainAt(c, c, c, now)
		_, _ = ExtractVIDPID(c.RawSubject)
	})
}

func readCertF(f *testing.F, p string) *testCertT {
	b, err := os.ReadFile(p)
	if err != nil {
		f.Fatal(err)
	}
	c, err := ParseCertificate(b)
	if err != nil {
		f.Fatal(err)
	}
	return c
}

// FuzzParseDACCSR: never panics; accepted CSRs have a P-256 key whose hash is set.
func FuzzParseDACCSR(f *testing.F) {
	key := newKey(f)
	f.Add(makeCSRF(f, key))
	f.Add([]byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		csr, err := ParseDACCSR(data)
		if err != nil {
			if RuleOf(err) == "" {
				t.Fatalf("error without a rule: %v", err)
			}
			return
		}
		if csr.PublicKey == nil || csr.SPKIHash == [32]byte{} {
			t.Fatal("accepted CSR without key or hash")
		}
	})
}

// FuzzParseCD: never panics; an accepted CD re-encodes its content to the
// same TLV (the decoder and encoder agree on canonical inputs) or the TLV
// used a non-minimal integer encoding the SDK also accepts.
func FuzzParseCD(f *testing.F) {
	addVectorSeeds(f, func(v dutVector) string { return v.CD })
	f.Fuzz(func(t *testing.T, data []byte) {
		cd, err := ParseCD(data)
		if err != nil {
			if RuleOf(err) == "" {
				t.Fatalf("error without a rule: %v", err)
			}
			return
		}
		tlv, err := cd.Content.MarshalTLV()
		if err != nil {
			t.Fatalf("accepted content does not re-encode: %v", err)
		}
		back, err := ParseCDContent(tlv)
		if err != nil {
			t.Fatalf("re-encoded content does not parse: %v", err)
		}
		if back.VendorID != cd.Content.VendorID || len(back.ProductIDs) != len(cd.Content.ProductIDs) {
			t.Fatal("re-encoding changed the content")
		}
	})
}

// FuzzCDContent exercises the TLV decoder directly.
func FuzzCDContent(f *testing.F) {
	c := exampleContent()
	tlv, _ := c.MarshalTLV()
	f.Add(tlv)
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = ParseCDContent(data)
	})
}
