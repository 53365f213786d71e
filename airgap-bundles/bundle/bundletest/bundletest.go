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
	ageID, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
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
		t.Fatal(err)
	}
	paa, _ := x509.ParseCertificate(paaDER)
	paiDER, err := x509.CreateCertificate(rand.Reader, tmpl(2, "Test PAI"), paa, &paiKey.PublicKey, paaKey)
	if err != nil {
		t.Fatal(err)
	}
	id, err := bundle.NewApplianceIdentity(name, ageID.Recipient(), pub, paiDER, paaDER)
	if err != nil {
		t.Fatal(err)
	}
	s, err := bundle.NewNoteSigner(name, priv)
	if err != nil {
		t.Fatal(err)
	}
	return &Appliance{ID: id, Age: ageID, Key: priv, Signer: s}
}
