package matter

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"testing"
	"time"
)

func crlCA(t testing.TB, cn string) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		SubjectKeyId: []byte(cn + "-skid-0123456789")[:20]}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c, k
}

func crlLeaf(t testing.TB, ca *x509.Certificate, key *ecdsa.PrivateKey, serial int64) *x509.Certificate {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "leaf"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c
}

func TestCRLFromIssuerAndRevocation(t *testing.T) {
	pai, key := crlCA(t, "pai")
	other, otherKey := crlCA(t, "other")
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(3), ThisUpdate: time.Now(), NextUpdate: time.Now().Add(time.Hour),
		RevokedCertificateEntries: []x509.RevocationListEntry{{SerialNumber: big.NewInt(7), RevocationTime: time.Now()}}}, pai, key)
	if err != nil {
		t.Fatal(err)
	}
	crl, err := ParseCRLFrom(der, pai)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckNotRevoked(crlLeaf(t, pai, key, 7), crl); !errors.Is(err, ErrRevoked) {
		t.Fatalf("revoked leaf: %v", err)
	}
	if err := CheckNotRevoked(crlLeaf(t, pai, key, 8), crl); err != nil {
		t.Fatalf("good leaf: %v", err)
	}
	if err := CheckNotRevoked(crlLeaf(t, other, otherKey, 7), crl); err == nil || errors.Is(err, ErrRevoked) {
		t.Fatalf("leaf of another issuer: %v", err)
	}
	if _, err := ParseCRLFrom(der, other); err == nil {
		t.Fatal("crl accepted from another issuer")
	}
	bad := append([]byte(nil), der...)
	bad[len(bad)-3] ^= 1
	if _, err := ParseCRLFrom(bad, pai); err == nil {
		t.Fatal("tampered crl accepted")
	}
	if _, err := ParseCRLFrom(EncodePEM(der), pai); err == nil {
		t.Fatal("a CERTIFICATE pem block taken for a crl")
	}
}

func FuzzParseCRLFrom(f *testing.F) {
	pai, key := crlCA(f, "pai")
	der, _ := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(1), ThisUpdate: time.Now(), NextUpdate: time.Now().Add(time.Hour)}, pai, key)
	f.Add(der)
	f.Fuzz(func(t *testing.T, b []byte) {
		ParseCRLFrom(b, pai) //nolint:errcheck // must not panic
	})
}
