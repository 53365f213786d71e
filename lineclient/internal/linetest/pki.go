// Package linetest holds test fixtures for the line client's packages: a
// software attestation PKI built with shared/matter (test VID 0xFFF1), which
// stands in for the appliance in unit and integration tests of the station.
// The end-to-end tests use the real appliance on SoftHSM2 instead.
package linetest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"math/big"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dacline/dacline/shared/matter"
)

// VID and PID of the test product.
const (
	VID uint16 = 0xFFF1
	PID uint16 = 0x8000
)

// PKI is a PAA and PAI with software keys.
type PKI struct {
	PAA, PAI       *x509.Certificate
	paaKey, paiKey *ecdsa.PrivateKey
	serial         atomic.Int64
}

// NewPKI builds a fresh test PAA (VID FFF1) and PAI (FFF1/8000).
func NewPKI(t testing.TB) *PKI {
	t.Helper()
	p := &PKI{}
	p.serial.Store(1000)
	nb := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	var err error
	if p.paaKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	if p.paiKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	tmpl, err := matter.PAATemplate(p.next(), matter.Subject{CommonName: "linetest PAA", VID: VID, HasVID: true}, nb, matter.NoExpiry, &p.paaKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	der, err := matter.IssueCertificate(tmpl, tmpl, &p.paaKey.PublicKey, p.paaKey, matter.PAA)
	if err != nil {
		t.Fatal(err)
	}
	p.PAA, _ = x509.ParseCertificate(der)
	tmpl, err = matter.PAITemplate(p.next(), matter.Subject{CommonName: "linetest PAI", VID: VID, PID: PID, HasVID: true, HasPID: true}, nb, matter.NoExpiry, &p.paiKey.PublicKey, p.PAA)
	if err != nil {
		t.Fatal(err)
	}
	if der, err = matter.IssueCertificate(tmpl, p.PAA, &p.paiKey.PublicKey, p.paaKey, matter.PAI); err != nil {
		t.Fatal(err)
	}
	p.PAI, _ = x509.ParseCertificate(der)
	return p
}

func (p *PKI) next() *big.Int { return big.NewInt(p.serial.Add(1)) }

// IssueDAC certifies the key of a CSR for vid/pid, as the appliance would.
func (p *PKI) IssueDAC(csrDER []byte, vid, pid uint16) ([]byte, error) {
	csr, err := matter.ParseDACCSR(csrDER)
	if err != nil {
		return nil, err
	}
	return p.IssueDACFor(csr.PublicKey, vid, pid)
}

// IssueDACFor certifies any P-256 key.
func (p *PKI) IssueDACFor(pub *ecdsa.PublicKey, vid, pid uint16) ([]byte, error) {
	nb := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	tmpl, err := matter.DACTemplate(p.next(), matter.Subject{CommonName: fmt.Sprintf("linetest DAC %d", p.serial.Load()),
		VID: vid, PID: pid, HasVID: true, HasPID: true}, nb, matter.NoExpiry, pub, p.PAI)
	if err != nil {
		return nil, err
	}
	return matter.IssueCertificate(tmpl, p.PAI, pub, p.paiKey, matter.DAC)
}

var (
	cdOnce   sync.Once
	cdDER    []byte
	cdSigner *x509.Certificate
)

// CD returns a development Certification Declaration for FFF1/8000 (CMS
// signed by CDSigner's throwaway key, certification type 0).
func CD() []byte {
	cdOnce.Do(func() {
		key, certDER, err := matter.NewTestCDSigner(time.Now())
		if err != nil {
			panic(err)
		}
		if cdSigner, err = x509.ParseCertificate(certDER); err != nil {
			panic(err)
		}
		cdDER, err = matter.EncodeCD(matter.CDContent{FormatVersion: 1, VendorID: VID, ProductIDs: []uint16{PID},
			DeviceTypeID: 0x0016, CertificateID: "ZIG20141ZB330001-24", VersionNumber: 1, CertificationType: 0}, cdSigner.SubjectKeyId, key)
		if err != nil {
			panic(err)
		}
	})
	return cdDER
}

// CDSigner returns the certificate CD() is signed by.
func CDSigner() *x509.Certificate {
	CD()
	return cdSigner
}

// RotatePAI replaces the PAI with a new key and certificate from the same
// PAA, as an appliance's `pai rotate` does (the DACs it issues from now on
// chain to the new PAI).
func (p *PKI) RotatePAI(t testing.TB) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	nb := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	tmpl, err := matter.PAITemplate(p.next(), matter.Subject{CommonName: "linetest PAI 2", VID: VID, PID: PID, HasVID: true, HasPID: true}, nb, matter.NoExpiry, &key.PublicKey, p.PAA)
	if err != nil {
		t.Fatal(err)
	}
	der, err := matter.IssueCertificate(tmpl, p.PAA, &key.PublicKey, p.paaKey, matter.PAI)
	if err != nil {
		t.Fatal(err)
	}
	p.PAI, _ = x509.ParseCertificate(der)
	p.paiKey = key
}

// UsePAIOf makes p issue DACs with other's PAI (key and certificate) while
// keeping its own PAA: a PAI the PAA never issued.
func (p *PKI) UsePAIOf(other *PKI) { p.PAI, p.paiKey = other.PAI, other.paiKey }
