package lineproto

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"testing"
)

func TestCheckCSR(t *testing.T) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{SignatureAlgorithm: x509.ECDSAWithSHA256}, k)
	csr, _ := x509.ParseCertificateRequest(der)
	good := GenerateKeyResponse{CSR: der, SPKIHash: sha256.Sum256(csr.RawSubjectPublicKeyInfo)}
	if _, err := good.CheckCSR(); err != nil {
		t.Fatal(err)
	}
	k384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	der384, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, k384)
	sha384, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{SignatureAlgorithm: x509.ECDSAWithSHA384}, k)
	tampered := append([]byte(nil), der...)
	tampered[len(tampered)-5] ^= 1
	cases := map[string]GenerateKeyResponse{
		"p-384 key":     {CSR: der384},
		"sha-384":       {CSR: sha384, SPKIHash: good.SPKIHash},
		"bad signature": {CSR: tampered, SPKIHash: good.SPKIHash},
		"wrong spki":    {CSR: der, SPKIHash: [32]byte{1}},
		"not a csr":     {CSR: []byte{0x30, 0}},
	}
	for name, c := range cases {
		if _, err := c.CheckCSR(); !errors.Is(err, ErrCSR) {
			t.Errorf("%s: got %v, want ErrCSR", name, err)
		}
	}
}
