package matter_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"testing"

	"github.com/dacline/dacline/shared/matter"
	"github.com/dacline/dacline/shared/matter/csrtest"
)

// Issue 12 item 2: one key, one encoding. A CSR whose SubjectPublicKeyInfo
// is a valid P-256 key in non-canonical DER is refused (rule csr.spki, a
// malformed CSR), so the SPKI digest that names a key everywhere (the
// appliance's one-DAC-per-key index, the station's duplicate check, the
// module's reported digest) has exactly one value per key.
func TestCSRNonCanonicalSPKIRefused(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	canon, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	for _, v := range []string{csrtest.ExtraParameter, csrtest.TrailingBytes} {
		t.Run(v, func(t *testing.T) {
			der, spki, err := csrtest.NonCanonical(key, v)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(spki, canon) {
				t.Fatal("the variant is canonical after all")
			}
			_, err = matter.ParseDACCSR(der)
			if matter.RuleOf(err) != "csr.spki" {
				t.Fatalf("got %v, want rule csr.spki", err)
			}
		})
	}
	// Control: the same hand-built request with the canonical SPKI.
	der, spki, err := csrtest.NonCanonical(key, "")
	if err != nil {
		t.Fatal(err)
	}
	csr, err := matter.ParseDACCSR(der)
	if err != nil {
		t.Fatalf("canonical control refused: %v", err)
	}
	if !bytes.Equal(spki, canon) || csr.SPKIHash != sha256.Sum256(canon) {
		t.Fatal("canonical control: SPKI digest is not the canonical key's")
	}
}
