package matter

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"testing"
)

func makeCSR(t *testing.T, key crypto.Signer, alg x509.SignatureAlgorithm) []byte {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{OrganizationalUnit: []string{"CSA"}}, SignatureAlgorithm: alg,
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestParseDACCSR(t *testing.T) {
	key := newKey(t)
	good := makeCSR(t, key, x509.ECDSAWithSHA256)
	csr, err := ParseDACCSR(good)
	if err != nil {
		t.Fatal(err)
	}
	if !csr.PublicKey.Equal(&key.PublicKey) {
		t.Error("public key differs")
	}
	spki, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if csr.SPKIHash != sha256.Sum256(spki) {
		t.Error("SPKIHash is not SHA-256 of the DER SubjectPublicKeyInfo")
	}

	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 1024)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	tampered := append([]byte(nil), good...)
	tampered[len(tampered)-80] ^= 0x01 // inside the subject public key or signature
	// Swap in another key's signature: same request body, wrong proof of possession.
	other := makeCSR(t, newKey(t), x509.ECDSAWithSHA256)
	rows := []struct {
		name, rule string
		der        []byte
	}{
		{"p384", "csr.publicKey", makeCSR(t, p384, x509.ECDSAWithSHA384)},
		{"rsa", "csr.publicKey", makeCSR(t, rsaKey, x509.SHA256WithRSA)},
		{"ed25519", "csr.publicKey", makeCSR(t, edKey, x509.PureEd25519)},
		{"sha384", "csr.signatureAlgorithm", makeCSR(t, key, x509.ECDSAWithSHA384)},
		{"trailing", "csr.parse", append(append([]byte(nil), good...), 0)},
		{"truncated", "csr.parse", good[:len(good)-1]},
		{"empty", "csr.parse", nil},
		{"oversize", "csr.size", make([]byte, MaxCSRDER+1)},
		{"garbage", "csr.parse", []byte("-----BEGIN CERTIFICATE REQUEST-----")},
		{"bit flip", "", tampered},
		{"signature swap", "csr.signature", spliceSignature(t, good, other)},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			_, err := ParseDACCSR(r.der)
			if r.rule == "" {
				if err == nil {
					t.Fatal("tampered CSR accepted")
				}
				return
			}
			if RuleOf(err) != r.rule {
				t.Fatalf("got %v, want %q", err, r.rule)
			}
		})
	}
}

// spliceSignature returns a's request info with b's signature.
func spliceSignature(t *testing.T, a, b []byte) []byte {
	ra, err := x509.ParseCertificateRequest(a)
	if err != nil {
		t.Fatal(err)
	}
	rb, _ := x509.ParseCertificateRequest(b)
	var out []byte
	body := append(append([]byte(nil), ra.RawTBSCertificateRequest...), 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02)
	sig := append([]byte{0x00}, rb.Signature...)
	body = append(body, 0x03)
	body = appendLen(body, len(sig))
	body = append(body, sig...)
	out = append([]byte{0x30}, appendLen(nil, len(body))...)
	return append(out, body...)
}

func appendLen(b []byte, n int) []byte {
	switch {
	case n < 0x80:
		return append(b, byte(n))
	case n < 0x100:
		return append(b, 0x81, byte(n))
	default:
		return append(b, 0x82, byte(n>>8), byte(n))
	}
}
