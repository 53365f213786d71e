package ceremony

import (
	"context"
	"crypto"
	"crypto/x509"
	"io"
	"strings"
	"sync/atomic"
	"testing"

	"go.etcd.io/bbolt"

	"github.com/dacline/dacline/appliance/issuance"
)

// faultySigner is the PAI's X509Signer with one fault: its n-th signature
// has a flipped bit, as a failing token could produce. X509Signer does not
// verify its own output, so this is the case where only the verification
// inside x509.CreateCertificate stands between the fault and a DAC.
type faultySigner struct {
	crypto.Signer
	calls, n atomic.Int64
}

func (s *faultySigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	sig, err := s.Signer.Sign(r, digest, opts)
	if err == nil && s.calls.Add(1) == s.n.Load() {
		sig[len(sig)-1] ^= 0x01
	}
	return sig, err
}

// TestBadTokenSignatureIsNeverCommitted: a bad token signature stops the
// ceremony; nothing signed with it is committed, every DAC that is verifies
// with the PAI, and the same bundle run again with a working token finishes.
func TestBadTokenSignatureIsNeverCommitted(t *testing.T) {
	f := newFixture(t)
	in, out := t.TempDir(), t.TempDir()
	path := f.writeBatch(in, mustID(t), make([]csrSpec, 40))

	r := f.runner()
	bad := &faultySigner{Signer: f.paiKey.X509Signer()}
	bad.n.Store(20)
	r.Issuer.Signer = bad
	_, err := r.Run(context.Background(), f.open(path), Options{OutDir: out})
	if err == nil || !strings.Contains(err.Error(), "signature") {
		t.Fatalf("ceremony with a bad token signature: %v, want a signature error", err)
	}
	verifyStored := func() int {
		n := 0
		f.db.View(func(tx *bbolt.Tx) error {
			return issuance.Ceremonies(tx, func(c *issuance.Ceremony) error {
				return issuance.BatchDACs(tx, c.BatchID, func(d *issuance.DACRecord) error {
					n++
					cert := mustCert(t, d.DER)
					if err := cert.CheckSignatureFrom(f.pai); err != nil {
						t.Errorf("committed dac %d does not verify with the PAI: %v", d.Index, err)
					}
					return nil
				})
			})
		})
		return n
	}
	if n := verifyStored(); n >= 20 {
		t.Errorf("%d DACs committed, the 20th signature was bad", n)
	}
	res, err := f.sign(path, out)
	if err != nil {
		t.Fatalf("resume with a working token: %v", err)
	}
	if res.Issued != 40 || verifyStored() != 40 {
		t.Fatalf("after resume: %+v", res)
	}
}

func mustCert(t testing.TB, der []byte) *x509.Certificate {
	t.Helper()
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
