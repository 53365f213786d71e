// Package bundletest makes throwaway appliance identities for tests of packages that
// exchange bundles (station home, enrollment, ceremony, batch import).
package bundletest

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/dacline/dacline/airgap-bundles/bundle"
)

// Appliance is a software stand-in for an appliance's public identity and its keys.
type Appliance struct {
	ID     *bundle.ApplianceIdentity
	Age    *age.X25519Identity
	Key    ed25519.PrivateKey
	Signer *bundle.NoteSigner
}

// NewAppliance makes an appliance named name with fresh keys and a plain X.509 PAA/PAI
// pair (not Matter-profile certificates).
func NewAppliance(t testing.TB, name string) *Appliance {
	t.Helper()
	a, err := Generate(name)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// Generate is NewAppliance for callers without a testing.TB (testscript setup).
func Generate(name string) (*Appliance, error) {
	ageID, err := age.GenerateX25519Identity()
	if err != nil {
		return nil, err
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	paaKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	paiKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := func(serial int64, cn string) *x509.Certificate {
		return &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
			IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	}
	paaDER, err := x509.CreateCertificate(rand.Reader, tmpl(1, "Test PAA"), tmpl(1, "Test PAA"), &paaKey.PublicKey, paaKey)
	if err != nil {
		return nil, err
	}
	paa, _ := x509.ParseCertificate(paaDER)
	paiDER, err := x509.CreateCertificate(rand.Reader, tmpl(2, "Test PAI"), paa, &paiKey.PublicKey, paaKey)
	if err != nil {
		return nil, err
	}
	id, err := bundle.NewApplianceIdentity(name, ageID.Recipient(), pub, paiDER, paaDER)
	if err != nil {
		return nil, err
	}
	s, err := bundle.NewNoteSigner(name, priv)
	if err != nil {
		return nil, err
	}
	return &Appliance{ID: id, Age: ageID, Key: priv, Signer: s}, nil
}

// WriteFiles writes appliance.id and the age identity file (age-keygen format, 0600)
// into dir, as an auditor or a station test would receive them.
func (a *Appliance) WriteFiles(dir string) error {
	if err := a.ID.Write(filepath.Join(dir, "appliance.id")); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "appliance.agekey"), []byte(a.Age.String()+"\n"), 0o600)
}
