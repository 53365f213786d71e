package home

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"time"

	"github.com/dacline/dacline/appliance/hsm"
	"github.com/dacline/dacline/shared/matter"
)

// Sentinel errors of the PKI setup steps.
var (
	// ErrNotTestVID: development PKI is only for the test vendor IDs 0xFFF1–0xFFF4.
	ErrNotTestVID = errors.New("not a test vendor ID (0xFFF1-0xFFF4)")
	// ErrPAAInstalled / ErrPAIInstalled: the certificate is already installed.
	ErrPAAInstalled = errors.New("a PAA certificate is already installed")
	ErrPAIInstalled = errors.New("a PAI certificate is already installed")
	// ErrNoPAA: a PAI needs a PAA and none is installed or given.
	ErrNoPAA = errors.New("no PAA certificate")
	// ErrPAIKeyMismatch: the PAI certifies another key than the token's PAI key.
	ErrPAIKeyMismatch = errors.New("PAI certificate is for another key than the token's PAI key")
)

// Validity of the development certificates. The test PAA, like the CSA's, has
// no well-defined expiry; the test PAI lasts ten years.
const testPAIYears = 10

// serial draws a certificate serial number from the token's RNG.
func (u *Unlocked) serial() (*big.Int, error) {
	b, err := u.Token.Random(16)
	if err != nil {
		return nil, fmt.Errorf("serial number: %w", err)
	}
	return matter.SerialFromRandom(b)
}

func checkTestVID(vid uint16) error {
	if !matter.IsTestVendorID(vid) {
		return fmt.Errorf("vendor ID %04X: %w", vid, ErrNotTestVID)
	}
	return nil
}

// CreateTestPAA generates a PAA key in the token and a self-signed development
// PAA certificate for vid (a test vendor ID), and installs it. Order: key made,
// recorded in config.json, then the certificate; a run interrupted after the
// record resumes with the recorded key.
func (u *Unlocked) CreateTestPAA(vid uint16, now time.Time) (*x509.Certificate, error) {
	if err := checkTestVID(vid); err != nil {
		return nil, fmt.Errorf("create test PAA: %w", err)
	}
	h := u.Home
	if u.PAA != nil {
		return nil, fmt.Errorf("create test PAA: %w (%s)", ErrPAAInstalled, h.Path(PAAFile))
	}
	var key *hsm.Key
	var err error
	if ref := h.Config.Keys.TestPAA; ref != nil {
		if key, err = findKey(u.Token, *ref); err != nil {
			return nil, fmt.Errorf("create test PAA: resume with the recorded key: %w", err)
		}
	} else {
		if key, err = u.Token.GenerateP256(LabelTestPAA); err != nil {
			return nil, fmt.Errorf("create test PAA: %w", err)
		}
		pub, err := encodePublicKey(key.Public())
		if err != nil {
			return nil, err
		}
		h.Config.Keys.TestPAA = &KeyRef{Label: LabelTestPAA, PublicKey: pub}
		if err := h.SaveConfig(); err != nil {
			h.Config.Keys.TestPAA = nil
			if derr := key.Destroy(); derr != nil {
				err = fmt.Errorf("%w; cleanup: %v", err, derr)
			}
			return nil, fmt.Errorf("create test PAA: %w", err)
		}
	}
	serial, err := u.serial()
	if err != nil {
		return nil, fmt.Errorf("create test PAA: %w", err)
	}
	subj := matter.Subject{CommonName: fmt.Sprintf("dacline test PAA %04X", vid), VID: vid, HasVID: true}
	tmpl, err := matter.PAATemplate(serial, subj, now.UTC().Truncate(time.Second), matter.NoExpiry, key.Public())
	if err != nil {
		return nil, fmt.Errorf("create test PAA: %w", err)
	}
	der, err := matter.IssueCertificate(tmpl, nil, key.Public(), key.Signer(), matter.PAA)
	if err != nil {
		return nil, fmt.Errorf("create test PAA: %w", err)
	}
	cert, _ := x509.ParseCertificate(der)
	if err := writeFileNew(h.Path(PAAFile), matter.EncodePEM(der), 0o644); err != nil {
		return nil, fmt.Errorf("create test PAA: %w", err)
	}
	u.PAA = cert
	return cert, nil
}

// CreateTestPAI issues a development PAI for the token's PAI key, signed by the
// test PAA on the same token, and installs it. pid is optional.
func (u *Unlocked) CreateTestPAI(vid uint16, pid *uint16, now time.Time) (*x509.Certificate, error) {
	if err := checkTestVID(vid); err != nil {
		return nil, fmt.Errorf("create test PAI: %w", err)
	}
	h := u.Home
	if u.PAI != nil {
		return nil, fmt.Errorf("create test PAI: %w (%s)", ErrPAIInstalled, h.Path(PAIFile))
	}
	if u.PAA == nil || h.Config.Keys.TestPAA == nil {
		return nil, fmt.Errorf("create test PAI: %w: no test PAA on this appliance", ErrNoPAA)
	}
	paaKey, err := findKey(u.Token, *h.Config.Keys.TestPAA)
	if err != nil {
		return nil, fmt.Errorf("create test PAI: test PAA key: %w", err)
	}
	if paaVID, err := matter.ExtractVIDPID(u.PAA.RawSubject); err == nil && paaVID.HasVID && paaVID.VID != vid {
		return nil, fmt.Errorf("create test PAI: vendor ID %04X differs from the test PAA's %04X", vid, paaVID.VID)
	}
	serial, err := u.serial()
	if err != nil {
		return nil, fmt.Errorf("create test PAI: %w", err)
	}
	subj := matter.Subject{CommonName: fmt.Sprintf("dacline test PAI %04X", vid), VID: vid, HasVID: true}
	if pid != nil {
		subj.PID, subj.HasPID = *pid, true
	}
	nb := now.UTC().Truncate(time.Second)
	tmpl, err := matter.PAITemplate(serial, subj, nb, nb.AddDate(testPAIYears, 0, 0), u.PAIKey.Public(), u.PAA)
	if err != nil {
		return nil, fmt.Errorf("create test PAI: %w", err)
	}
	der, err := matter.IssueCertificate(tmpl, u.PAA, u.PAIKey.Public(), paaKey.Signer(), matter.PAI)
	if err != nil {
		return nil, fmt.Errorf("create test PAI: %w", err)
	}
	cert, _ := x509.ParseCertificate(der)
	if err := u.installPAI(cert); err != nil {
		return nil, fmt.Errorf("create test PAI: %w", err)
	}
	return cert, nil
}

// PAICSR returns a PEM PKCS#10 request, signed by the token's PAI key, for a PAI
// with the Matter subject (vendor ID, optional product ID) to send to a real PAA.
func (u *Unlocked) PAICSR(vid uint16, pid *uint16) ([]byte, error) {
	if vid == 0 {
		return nil, errors.New("pai csr: vendor ID 0 is not a vendor")
	}
	subj := matter.Subject{CommonName: u.Home.Config.Name + " PAI", VID: vid, HasVID: true}
	if pid != nil {
		subj.PID, subj.HasPID = *pid, true
	}
	raw, err := subj.RawSubject()
	if err != nil {
		return nil, fmt.Errorf("pai csr: %w", err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		RawSubject:         raw,
		SignatureAlgorithm: x509.ECDSAWithSHA256,
	}, u.PAIKey.Signer())
	if err != nil {
		return nil, fmt.Errorf("pai csr: %w", err)
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, fmt.Errorf("pai csr: %w", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("pai csr: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), nil
}

// ImportPAI installs a PAI issued by a PAA for the token's PAI key. paaData may
// be nil when a PAA is installed already. The PAI must be a valid Matter PAI,
// certify exactly the token's PAI key, be issued and signed by the PAA, and both
// must be valid at now.
func (u *Unlocked) ImportPAI(paiData, paaData []byte, now time.Time) (*x509.Certificate, error) {
	if u.PAI != nil {
		return nil, fmt.Errorf("import PAI: %w (%s)", ErrPAIInstalled, u.Home.Path(PAIFile))
	}
	pai, err := matter.ParseCertificateAs(paiData, matter.PAI)
	if err != nil {
		return nil, fmt.Errorf("import PAI: %w", err)
	}
	paa := u.PAA
	if paaData != nil {
		given, err := matter.ParseCertificateAs(paaData, matter.PAA)
		if err != nil {
			return nil, fmt.Errorf("import PAI: --paa: %w", err)
		}
		if paa != nil && !bytes.Equal(paa.Raw, given.Raw) {
			return nil, fmt.Errorf("import PAI: the given PAA differs from the installed %s", u.Home.Path(PAAFile))
		}
		paa = given
	}
	if paa == nil {
		return nil, fmt.Errorf("import PAI: %w: none is installed and none was given", ErrNoPAA)
	}
	if eq, ok := pai.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); !ok || !eq.Equal(u.PAIKey.Public()) {
		return nil, fmt.Errorf("import PAI: %w", ErrPAIKeyMismatch)
	}
	if !bytes.Equal(pai.RawIssuer, paa.RawSubject) || !bytes.Equal(pai.AuthorityKeyId, paa.SubjectKeyId) {
		return nil, errors.New("import PAI: the PAI was not issued by this PAA (issuer name or authority key ID differ)")
	}
	if err := pai.CheckSignatureFrom(paa); err != nil {
		return nil, fmt.Errorf("import PAI: PAA signature on the PAI does not verify: %w", err)
	}
	for _, c := range []struct {
		what string
		cert *x509.Certificate
	}{{"PAI", pai}, {"PAA", paa}} {
		if now.Before(c.cert.NotBefore) {
			return nil, fmt.Errorf("import PAI: the %s is not valid before %s", c.what, c.cert.NotBefore.UTC().Format(time.RFC3339))
		}
		if now.After(c.cert.NotAfter) {
			return nil, fmt.Errorf("import PAI: the %s expired at %s", c.what, c.cert.NotAfter.UTC().Format(time.RFC3339))
		}
	}
	paiIDs, err := matter.ExtractVIDPID(pai.RawSubject)
	if err != nil {
		return nil, fmt.Errorf("import PAI: %w", err)
	}
	if paaIDs, err := matter.ExtractVIDPID(paa.RawSubject); err == nil && paaIDs.HasVID && paaIDs.VID != paiIDs.VID {
		return nil, fmt.Errorf("import PAI: PAI %s, PAA %s: a PAA vendor ID must equal the PAI's", paiIDs, paaIDs)
	}
	if u.PAA == nil {
		if err := writeFileNew(u.Home.Path(PAAFile), matter.EncodePEM(paa.Raw), 0o644); err != nil {
			return nil, fmt.Errorf("import PAI: %w", err)
		}
		u.PAA = paa
	}
	if err := u.installPAI(pai); err != nil {
		return nil, fmt.Errorf("import PAI: %w", err)
	}
	return pai, nil
}

// installPAI writes pai.pem and records the PAI's VID/PID in config.json.
func (u *Unlocked) installPAI(pai *x509.Certificate) error {
	ids, err := matter.ExtractVIDPID(pai.RawSubject)
	if err != nil {
		return err
	}
	if err := writeFileNew(u.Home.Path(PAIFile), matter.EncodePEM(pai.Raw), 0o644); err != nil {
		return err
	}
	u.PAI = pai
	u.Home.Config.VID, u.Home.Config.PID = "", ""
	if ids.HasVID {
		u.Home.Config.VID = fmt.Sprintf("%04X", ids.VID)
	}
	if ids.HasPID {
		u.Home.Config.PID = fmt.Sprintf("%04X", ids.PID)
	}
	if err := u.Home.SaveConfig(); err != nil {
		os.Remove(u.Home.Path(PAIFile))
		u.PAI = nil
		return err
	}
	return nil
}
