package bundle

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testPKI returns a PAI signed by a PAA (plain X.509; the Matter profile is not this package's job).
func testPKI(t testing.TB) (paiDER, paaDER []byte) {
	t.Helper()
	paaKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	paiKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	paaT := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test PAA"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	paaDER, err := x509.CreateCertificate(rand.Reader, paaT, paaT, &paaKey.PublicKey, paaKey)
	if err != nil {
		t.Fatal(err)
	}
	paa, _ := x509.ParseCertificate(paaDER)
	paiT := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "Test PAI"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	paiDER, err = x509.CreateCertificate(rand.Reader, paiT, paa, &paiKey.PublicKey, paaKey)
	if err != nil {
		t.Fatal(err)
	}
	return paiDER, paaDER
}

func TestApplianceIdentity(t *testing.T) {
	f := newFixture(t)
	pai, paa := testPKI(t)
	id, err := NewApplianceIdentity("appliance-1", f.appliance.id.Recipient(), f.appliance.signer.Public(), pai, paa)
	if err != nil {
		t.Fatal(err)
	}
	if len(strings.Fields(id.Fingerprint)) != 8 {
		t.Fatalf("fingerprint %q: want 8 groups", id.Fingerprint)
	}
	path := filepath.Join(t.TempDir(), "appliance.id")
	if err := id.Write(path); err != nil {
		t.Fatal(err)
	}
	if err := id.Write(path); err == nil {
		t.Fatal("Write overwrote an existing appliance.id")
	}
	got, err := ReadApplianceIdentity(path)
	if err != nil {
		t.Fatal(err)
	}
	if *got != *id {
		t.Fatal("read back differs")
	}
	otherPAI, otherPAA := testPKI(t)
	for name, mutate := range map[string]func(a *ApplianceIdentity){
		"version":            func(a *ApplianceIdentity) { a.Version = 2 },
		"name":               func(a *ApplianceIdentity) { a.Name = "Bad Name" },
		"age_recipient":      func(a *ApplianceIdentity) { a.AgeRecipient = "age1xyz" },
		"ed25519_public_key": func(a *ApplianceIdentity) { a.Ed25519PublicKey = "AAAA" },
		"note_verifier":      func(a *ApplianceIdentity) { a.NoteVerifier = f.station.name + "+00000000+AQ==" },
		"fingerprint":        func(a *ApplianceIdentity) { a.Fingerprint = "0000 0000 0000 0000 0000 0000 0000 0000" },
		"pai_pem":            func(a *ApplianceIdentity) { a.PAIPEM = "not pem" },
		"pai_pem is not signed by paa_pem": func(a *ApplianceIdentity) {
			b, _ := NewApplianceIdentity("appliance-1", f.appliance.id.Recipient(), f.appliance.signer.Public(), otherPAI, otherPAA)
			a.PAIPEM = b.PAIPEM
		},
		"fingerprint ": func(a *ApplianceIdentity) { // a swapped key keeps a stale fingerprint
			a.AgeRecipient = f.other.id.Recipient().String()
		},
	} {
		t.Run(name, func(t *testing.T) {
			a := *id
			mutate(&a)
			err := a.Validate()
			if err == nil || !strings.Contains(err.Error(), strings.TrimSpace(name)) {
				t.Fatalf("Validate: %v, want an error naming %s", err, name)
			}
		})
	}
	// Unknown fields are refused.
	os.WriteFile(path+"2", []byte(`{"version":1,"extra":true}`), 0o644)
	if _, err := ReadApplianceIdentity(path + "2"); err == nil || !strings.Contains(err.Error(), "extra") {
		t.Fatalf("unknown field: %v", err)
	}
}

func TestStationIdentity(t *testing.T) {
	f := newFixture(t)
	s, err := NewStationIdentity("station-1", f.station.id.Recipient(), f.station.signer.Public(), "FFF1", "8000")
	if err != nil {
		t.Fatal(err)
	}
	a, _ := NewStationIdentity("station-1", f.station.id.Recipient(), f.other.signer.Public(), "FFF1", "8000")
	if a.Fingerprint == s.Fingerprint {
		t.Fatal("fingerprint does not depend on the signing key")
	}
	bad := *s
	bad.VID = "fff1"
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "vid") {
		t.Fatalf("lowercase vid: %v", err)
	}
	if _, err := ParseStationIdentity(strings.NewReader(`{"version":1} {}`)); err == nil {
		t.Fatal("trailing data accepted")
	}
}
