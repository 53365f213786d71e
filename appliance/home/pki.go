package home

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"strings"
	"time"

	"github.com/dacline/dacline/appliance/hsm"
	"github.com/dacline/dacline/shared/auditlog"
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
// PAA certificate for vid (a test vendor ID), and installs it.
//
// Order (record before use, see audit.go): the key is generated; its
// key-generated entry (attributes read back) is committed to the audit log;
// config.json records it; then the certificate is made and installed. A run
// interrupted anywhere resumes: with the key config.json records, or — when
// it stopped before config.json — with the key an earlier run left on the
// token under the test PAA label, which FindKey accepts only as a key
// generated in the token and never extractable; its entry is recorded unless
// the log has it already. So no key is ever in use without its entry.
func (u *Unlocked) CreateTestPAA(vid uint16, now time.Time) (*x509.Certificate, error) {
	if err := checkTestVID(vid); err != nil {
		return nil, fmt.Errorf("create test PAA: %w", err)
	}
	h := u.Home
	if u.PAA != nil {
		return nil, fmt.Errorf("create test PAA: %w (%s)", ErrPAAInstalled, h.Path(PAAFile))
	}
	key, err := u.testPAAKey()
	if err != nil {
		return nil, fmt.Errorf("create test PAA: %w", err)
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
	der, err := matter.IssueCertificate(tmpl, nil, key.Public(), key.X509Signer(), matter.PAA)
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

// testPAAKey returns the test PAA key, generating, recording and configuring it
// if needed (see CreateTestPAA for the order).
func (u *Unlocked) testPAAKey() (*hsm.Key, error) {
	h := u.Home
	if ref := h.Config.Keys.TestPAA; ref != nil {
		key, err := findKey(u.Token, *ref)
		if err != nil {
			return nil, fmt.Errorf("resume with the recorded key: %w", err)
		}
		// A run killed after config.json named the key left its journal.
		if err := os.Remove(h.Path(testPAAJournalFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		return key, nil
	}
	l, err := h.AuditLog()
	if err != nil {
		return nil, err
	}
	// A killed run recorded the CKA_ID of the key it was making: resume with
	// that key when it is whole, else destroy its halves and start again.
	key, err := u.resumeTestPAAKey()
	if err != nil {
		return nil, err
	}
	generated := false
	if key == nil {
		id := make([]byte, hsm.KeyIDSize)
		if _, err := rand.Read(id); err != nil {
			return nil, err
		}
		if err := writeFileAtomic(h.Path(testPAAJournalFile), []byte(hex.EncodeToString(id)+"\n"), 0o600); err != nil {
			return nil, err
		}
		crashPoint("paa-journal")
		key, err = u.Token.GenerateKeyPairWithID(hsm.KeyP256, LabelTestPAA, id)
		generated = err == nil
		if errors.Is(err, hsm.ErrLabelExists) {
			// An earlier run (of a version without the journal) stopped
			// between generating the key and config.json.
			key, err = u.Token.FindKey(LabelTestPAA)
		}
		if err != nil {
			return nil, err
		}
		crashPoint("paa-key")
	}
	undo := func(err error) error {
		if generated {
			if derr := key.Destroy(); derr != nil {
				err = fmt.Errorf("%w; cleanup: %v", err, derr)
			}
		}
		return err
	}
	if err := recordKeyOnce(l, key); err != nil {
		return nil, undo(err)
	}
	crashPoint("paa-logged")
	// From here on the key is in the log: it is kept even if config.json
	// cannot be written, and the next run resumes with it.
	pub, err := encodePublicKey(key.Public())
	if err != nil {
		return nil, err
	}
	h.Config.Keys.TestPAA = &KeyRef{Label: LabelTestPAA, PublicKey: pub}
	if err := h.SaveConfig(); err != nil {
		h.Config.Keys.TestPAA = nil
		return nil, err
	}
	crashPoint("paa-config")
	// config.json names the key now: the journal is spent.
	if err := os.Remove(h.Path(testPAAJournalFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	return key, nil
}

// testPAAJournalFile holds the hex CKA_ID of the test PAA key while
// `paa create-test` makes it (until config.json names the key).
const testPAAJournalFile = ".test-paa-key.journal"

// resumeTestPAAKey returns the test PAA key a killed run journaled, when the
// token holds it whole; when the run died while the key pair was being made
// (one half on the token, or none), it destroys exactly the objects with the
// journaled label and CKA_ID, removes the journal, and returns nil.
func (u *Unlocked) resumeTestPAAKey() (*hsm.Key, error) {
	b, err := os.ReadFile(u.Home.Path(testPAAJournalFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	id, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(id) != hsm.KeyIDSize {
		// Written atomically, so never torn; refuse rather than guess.
		return nil, fmt.Errorf("%s: not a key id", u.Home.Path(testPAAJournalFile))
	}
	if key, err := u.Token.FindKey(LabelTestPAA); err == nil && bytes.Equal(key.ID(), id) {
		return key, nil
	}
	for _, ref := range hsm.KeyPairRefs(LabelTestPAA, id) {
		if _, err := u.Token.DestroyObjects(ref); err != nil {
			return nil, fmt.Errorf("clean up the test PAA key a killed run left: %w", err)
		}
	}
	if err := os.Remove(u.Home.Path(testPAAJournalFile)); err != nil {
		return nil, err
	}
	return nil, nil
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
	der, err := matter.IssueCertificate(tmpl, u.PAA, u.PAIKey.Public(), paaKey.X509Signer(), matter.PAI)
	if err != nil {
		return nil, fmt.Errorf("create test PAI: %w", err)
	}
	cert, _ := x509.ParseCertificate(der)
	if err := u.installPAI(cert, u.PAA); err != nil {
		return nil, fmt.Errorf("create test PAI: %w", err)
	}
	return cert, nil
}

// PAICSR returns a PEM PKCS#10 request, signed by the token's PAI key, for a PAI
// with the Matter subject (vendor ID, optional product ID) to send to a real PAA.
func (u *Unlocked) PAICSR(vid uint16, pid *uint16) ([]byte, error) {
	return u.paiCSR(u.PAIKey, vid, pid)
}

// paiCSR is PAICSR for the PAI key key.
func (u *Unlocked) paiCSR(key *hsm.Key, vid uint16, pid *uint16) ([]byte, error) {
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
	}, key.X509Signer()) // CreateCertificateRequest verifies the token's signature
	if err != nil {
		return nil, fmt.Errorf("pai csr: %w", err)
	}
	if _, err := x509.ParseCertificateRequest(der); err != nil {
		return nil, fmt.Errorf("pai csr: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), nil
}

// ImportPAI installs a PAI issued by a PAA for the token's PAI key. paaData may
// be nil when a PAA is installed already. The PAI must be a valid Matter PAI,
// certify exactly the token's PAI key, be issued and signed by the PAA, and both
// must be valid at now. It is ImportPAIWith without options.
func (u *Unlocked) ImportPAI(paiData, paaData []byte, now time.Time) (*x509.Certificate, error) {
	cert, _, err := u.ImportPAIWith(paiData, paaData, ImportOptions{}, now)
	return cert, err
}

// checkImportedPAI parses and checks a PAI certificate and the PAA above it
// (the installed one, or paaData when none is installed): Matter PAI and PAA
// profiles, issued and signed by the PAA, both valid at now, the PAA's VID
// (when it has one) the PAI's.
func (u *Unlocked) checkImportedPAI(paiData, paaData []byte, now time.Time) (pai, paa *x509.Certificate, err error) {
	pai, err = matter.ParseCertificateAs(paiData, matter.PAI)
	if err != nil {
		return nil, nil, err
	}
	paa = u.PAA
	if paaData != nil {
		given, err := matter.ParseCertificateAs(paaData, matter.PAA)
		if err != nil {
			return nil, nil, fmt.Errorf("--paa: %w", err)
		}
		if paa != nil && !bytes.Equal(paa.Raw, given.Raw) {
			return nil, nil, fmt.Errorf("the given PAA differs from the installed %s", u.Home.Path(PAAFile))
		}
		paa = given
	}
	if paa == nil {
		return nil, nil, fmt.Errorf("%w: none is installed and none was given", ErrNoPAA)
	}
	if !bytes.Equal(pai.RawIssuer, paa.RawSubject) || !bytes.Equal(pai.AuthorityKeyId, paa.SubjectKeyId) {
		return nil, nil, errors.New("the PAI was not issued by this PAA (issuer name or authority key ID differ)")
	}
	if err := pai.CheckSignatureFrom(paa); err != nil {
		return nil, nil, fmt.Errorf("PAA signature on the PAI does not verify: %w", err)
	}
	for _, c := range []struct {
		what string
		cert *x509.Certificate
	}{{"PAI", pai}, {"PAA", paa}} {
		if now.Before(c.cert.NotBefore) {
			return nil, nil, fmt.Errorf("the %s is not valid before %s", c.what, c.cert.NotBefore.UTC().Format(time.RFC3339))
		}
		if now.After(c.cert.NotAfter) {
			return nil, nil, fmt.Errorf("the %s expired at %s", c.what, c.cert.NotAfter.UTC().Format(time.RFC3339))
		}
	}
	paiIDs, err := matter.ExtractVIDPID(pai.RawSubject)
	if err != nil {
		return nil, nil, err
	}
	if paaIDs, err := matter.ExtractVIDPID(paa.RawSubject); err == nil && paaIDs.HasVID && paaIDs.VID != paiIDs.VID {
		return nil, nil, fmt.Errorf("PAI %s, PAA %s: a PAA vendor ID must equal the PAI's", paiIDs, paaIDs)
	}
	return pai, paa, nil
}

// installPAI installs pai (and paa, when no PAA is installed yet) and records
// the PAI's VID/PID in config.json.
//
// Order (record before use, see audit.go):
//  1. stage: the certificates are written to temporary files and fsynced;
//  2. record: the pai-imported entry is committed to the audit log (not
//     again when the log's last pai-imported entry is this very PAI and
//     PAA: an import resumed after a crash in step 3);
//  3. act: the files are linked into place (never replacing one) — a PAI is
//     in use once pai.pem exists;
//  4. config.json gets the VID/PID.
//
// A crash between 2 and 3 leaves an entry for a PAI that was never installed;
// the next pai-imported entry supersedes it. No PAI is ever in use without
// its entry.
func (u *Unlocked) installPAI(pai, paa *x509.Certificate) (retErr error) {
	h := u.Home
	ids, err := matter.ExtractVIDPID(pai.RawSubject)
	if err != nil {
		return err
	}
	entry, err := paiImportedEntry(pai, paa)
	if err != nil {
		return err
	}
	type staged struct{ tmp, path string }
	var files []staged
	defer func() {
		for _, f := range files {
			os.Remove(f.tmp)
		}
	}()
	stage := func(name string, der []byte) error {
		path := h.Path(name)
		if _, err := os.Lstat(path); err == nil {
			return fmt.Errorf("%s: %w", path, os.ErrExist)
		}
		tmp := path + ".new"
		os.Remove(tmp) // left by an interrupted run
		if err := writeFileNew(tmp, matter.EncodePEM(der), 0o644); err != nil {
			return err
		}
		files = append(files, staged{tmp, path})
		return nil
	}
	if u.PAA == nil {
		if err := stage(PAAFile, paa.Raw); err != nil {
			return err
		}
	}
	if err := stage(PAIFile, pai.Raw); err != nil {
		return err
	}

	l, err := h.AuditLog()
	if err != nil {
		return err
	}
	done, err := lastEntryWith(l, auditlog.TypePAIImported, true,
		`"pai_sha256":"`+entry.PAISHA256+`"`, `"paa_sha256":"`+entry.PAASHA256+`"`)
	if err != nil {
		return err
	}
	if !done {
		if err := appendEntries(l, entry); err != nil {
			return err
		}
	}

	var installed []string
	for _, f := range files {
		if err := os.Link(f.tmp, f.path); err != nil {
			return fmt.Errorf("install %s: %w", f.path, err)
		}
		installed = append(installed, f.path)
	}
	if err := syncDir(h.Dir()); err != nil {
		return err
	}
	h.Config.VID, h.Config.PID = "", ""
	if ids.HasVID {
		h.Config.VID = fmt.Sprintf("%04X", ids.VID)
	}
	if ids.HasPID {
		h.Config.PID = fmt.Sprintf("%04X", ids.PID)
	}
	if err := h.SaveConfig(); err != nil {
		// Uninstall, so that a re-run installs again and config.json agrees
		// with pai.pem; the entry stays and the re-run does not repeat it.
		for _, p := range installed {
			os.Remove(p)
		}
		return err
	}
	if u.PAA == nil {
		u.PAA = paa
	}
	u.PAI = pai
	return nil
}
