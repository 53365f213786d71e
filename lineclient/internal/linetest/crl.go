package linetest

import (
	"crypto/rand"
	"crypto/x509"
	"math/big"
	"testing"
	"time"
)

// CRL is a CRL of the test PAI with the given number, revoking serials.
func (p *PKI) CRL(t testing.TB, number int64, serials ...*big.Int) []byte {
	t.Helper()
	var entries []x509.RevocationListEntry
	for _, s := range serials {
		entries = append(entries, x509.RevocationListEntry{SerialNumber: s, RevocationTime: time.Now(), ReasonCode: 5})
	}
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(number), ThisUpdate: time.Now(),
		NextUpdate: time.Now().Add(24 * time.Hour), RevokedCertificateEntries: entries}, p.PAI, p.paiKey)
	if err != nil {
		t.Fatal(err)
	}
	return der
}
