package matter

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"math/big"
	"testing"
	"time"
)

// testTime is the fixed "now" of the tests: the SDK test certificates and
// the chains built here are all valid at this instant.
var testTime = time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	der  []byte
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var serialCounter int64 = 0x1000

func nextSerial() *big.Int { serialCounter++; return big.NewInt(serialCounter) }

func mustParse(t testing.TB, der []byte) *x509.Certificate {
	t.Helper()
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// testChain builds PAA (FFF1, no PID) → PAI (FFF1/8000) → DAC (FFF1/8000)
// with the library itself.
func testChain(t testing.TB) (paa, pai, dac testCA) {
	t.Helper()
	nb := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	paa.key = newKey(t)
	tmpl, err := PAATemplate(nextSerial(), Subject{CommonName: "dacline Test PAA", VID: 0xFFF1, HasVID: true}, nb, NoExpiry, &paa.key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if paa.der, err = IssueCertificate(tmpl, nil, &paa.key.PublicKey, paa.key, PAA); err != nil {
		t.Fatal(err)
	}
	paa.cert = mustParse(t, paa.der)

	pai.key = newKey(t)
	tmpl, err = PAITemplate(nextSerial(), Subject{CommonName: "dacline Test PAI", VID: 0xFFF1, PID: 0x8000, HasVID: true, HasPID: true}, nb, NoExpiry, &pai.key.PublicKey, paa.cert)
	if err != nil {
		t.Fatal(err)
	}
	if pai.der, err = IssueCertificate(tmpl, paa.cert, &pai.key.PublicKey, paa.key, PAI); err != nil {
		t.Fatal(err)
	}
	pai.cert = mustParse(t, pai.der)

	dac.key = newKey(t)
	tmpl, err = DACTemplate(nextSerial(), Subject{CommonName: "dacline Test DAC 0001", VID: 0xFFF1, PID: 0x8000, HasVID: true, HasPID: true}, nb.Add(time.Hour), NoExpiry, &dac.key.PublicKey, pai.cert)
	if err != nil {
		t.Fatal(err)
	}
	if dac.der, err = IssueCertificate(tmpl, pai.cert, &dac.key.PublicKey, pai.key, DAC); err != nil {
		t.Fatal(err)
	}
	dac.cert = mustParse(t, dac.der)
	return paa, pai, dac
}

func decodeBase64(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }

func sha256Sum(b []byte) []byte { s := sha256.Sum256(b); return s[:] }

type testCertT = x509.Certificate

func makeCSRF(f *testing.F, key *ecdsa.PrivateKey) []byte {
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{SignatureAlgorithm: x509.ECDSAWithSHA256}, key)
	if err != nil {
		f.Fatal(err)
	}
	return der
}
