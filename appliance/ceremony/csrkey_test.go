package ceremony

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"testing"

	"github.com/dacline/dacline/shared/matter"
)

func testCSR(t testing.TB, curve elliptic.Curve) []byte {
	t.Helper()
	k, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject:  pkix.Name{CommonName: "module", Organization: []string{"a long organisation name"}},
		DNSNames: []string{"attribute.example"}}, k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// TestCSRPublicKeyMatchesParse: the producer's shortcut finds the same key
// and SubjectPublicKeyInfo hash as the check's full parse, and refuses what
// is not a P-256 request.
func TestCSRPublicKeyMatchesParse(t *testing.T) {
	for range 20 {
		der := testCSR(t, elliptic.P256())
		want, err := matter.ParseDACCSR(der)
		if err != nil {
			t.Fatal(err)
		}
		pub, spki, err := csrPublicKey(der)
		if err != nil {
			t.Fatal(err)
		}
		if !pub.Equal(want.PublicKey) || sha256.Sum256(spki) != want.SPKIHash {
			t.Fatal("key or SPKI hash differs from ParseDACCSR's")
		}
	}
	if _, _, err := csrPublicKey(testCSR(t, elliptic.P384())); err == nil {
		t.Error("P-384 request accepted")
	}
	der := testCSR(t, elliptic.P256())
	for _, bad := range [][]byte{nil, {0x30, 0x00}, der[:40], append([]byte{0x31}, der[1:]...)} {
		if _, _, err := csrPublicKey(bad); err == nil {
			t.Errorf("accepted % x...", bad[:min(len(bad), 8)])
		}
	}
}

// FuzzCSRPublicKey: never panics, and whatever it accepts that Go's parser
// also reads is the same key.
func FuzzCSRPublicKey(f *testing.F) {
	f.Add(testCSR(f, elliptic.P256()))
	f.Add([]byte{0x30, 0x03, 0x30, 0x01, 0x02})
	f.Fuzz(func(t *testing.T, der []byte) {
		pub, spki, err := csrPublicKey(der)
		if err != nil {
			return
		}
		if req, perr := x509.ParseCertificateRequest(der); perr == nil {
			if k, ok := req.PublicKey.(*ecdsa.PublicKey); !ok || !k.Equal(pub) || string(req.RawSubjectPublicKeyInfo) != string(spki) {
				t.Fatal("csrPublicKey and x509.ParseCertificateRequest disagree")
			}
		}
	})
}
