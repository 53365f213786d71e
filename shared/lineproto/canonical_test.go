package lineproto

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"

	"github.com/dacline/dacline/shared/matter/csrtest"
)

// Issue 12 item 2: the host's §5.2 check refuses a CSR whose key is not in
// canonical DER, even when the reply's digest is that of the very bytes
// (a module lying consistently), as shared/matter does on both sides.
func TestCheckCSRNonCanonicalKey(t *testing.T) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for _, v := range []string{csrtest.ExtraParameter, csrtest.TrailingBytes} {
		der, spki, err := csrtest.NonCanonical(k, v)
		if err != nil {
			t.Fatal(err)
		}
		r := GenerateKeyResponse{CSR: der, SPKIHash: sha256.Sum256(spki)}
		if _, err := r.CheckCSR(); !errors.Is(err, ErrCSR) || !strings.Contains(err.Error(), "canonical") {
			t.Errorf("%s: got %v, want ErrCSR naming the encoding", v, err)
		}
	}
	der, spki, err := csrtest.NonCanonical(k, "")
	if err != nil {
		t.Fatal(err)
	}
	r := GenerateKeyResponse{CSR: der, SPKIHash: sha256.Sum256(spki)}
	if _, err := r.CheckCSR(); err != nil {
		t.Fatalf("canonical control: %v", err)
	}
}
