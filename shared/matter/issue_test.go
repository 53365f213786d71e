package matter

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dacline/dacline/shared/testenv"
)

func TestIssueChainValidates(t *testing.T) {
	paa, pai, dac := testChain(t)
	if err := ValidateChainAt(dac.cert, pai.cert, paa.cert, testTime); err != nil {
		t.Fatalf("library-built chain fails validation: %v", err)
	}
	for name, der := range map[string][]byte{"paa": paa.der, "pai": pai.der, "dac": dac.der} {
		if len(der) > MaxCertDER {
			t.Errorf("%s is %d bytes", name, len(der))
		}
	}
	// VID/PID are UTF8Strings: OID 1.3.6.1.4.1.37244.2.1 followed by tag 0x0C.
	vidOID := []byte{0x06, 0x0A, 0x2B, 0x06, 0x01, 0x04, 0x01, 0x82, 0xA2, 0x7C, 0x02, 0x01, 0x0C, 0x04, 'F', 'F', 'F', '1'}
	if !bytes.Contains(dac.cert.RawSubject, vidOID) {
		t.Errorf("DAC subject does not carry VID FFF1 as UTF8String: %X", dac.cert.RawSubject)
	}
	// notAfter 99991231235959Z as GeneralizedTime.
	if !bytes.Contains(dac.der, []byte("\x18\x0f99991231235959Z")) {
		t.Errorf("DAC does not carry the no-expiry GeneralizedTime")
	}
	// Exact extension encodings Matter wants.
	for _, want := range [][]byte{
		{0x06, 0x03, 0x55, 0x1d, 0x13, 0x01, 0x01, 0xff, 0x04, 0x02, 0x30, 0x00},             // BC critical, empty (cA FALSE)
		{0x06, 0x03, 0x55, 0x1d, 0x0f, 0x01, 0x01, 0xff, 0x04, 0x04, 0x03, 0x02, 0x07, 0x80}, // KU critical digitalSignature
	} {
		if !bytes.Contains(dac.der, want) {
			t.Errorf("DAC lacks extension encoding % X", want)
		}
	}
	if !bytes.Contains(pai.der, []byte{0x30, 0x06, 0x01, 0x01, 0xff, 0x02, 0x01, 0x00}) {
		t.Errorf("PAI basicConstraints is not cA TRUE pathLen 0")
	}
}

func TestIssueChainOpenSSLVerify(t *testing.T) {
	testenv.RequireTool(t, "openssl")
	paa, pai, dac := testChain(t)
	dir := t.TempDir()
	write := func(name string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, EncodePEM(der), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	paaF, paiF, dacF := write("paa.pem", paa.der), write("pai.pem", pai.der), write("dac.pem", dac.der)
	out, err := exec.Command("openssl", "verify", "-x509_strict", "-attime", "1717243200", "-CAfile", paaF, "-untrusted", paiF, dacF).CombinedOutput()
	if err != nil || !strings.Contains(string(out), ": OK") {
		t.Fatalf("openssl verify failed: %v\n%s", err, out)
	}
	out, err = exec.Command("openssl", "verify", "-partial_chain", "-CAfile", paiF, dacF).CombinedOutput()
	if err != nil || !strings.Contains(string(out), ": OK") {
		t.Fatalf("openssl verify -partial_chain failed: %v\n%s", err, out)
	}
	// And a chain openssl must refuse: the DAC against a foreign PAA.
	other, _, _ := testChain(t)
	otherF := write("other.pem", other.der)
	if out, err := exec.Command("openssl", "verify", "-CAfile", otherF, "-untrusted", paiF, dacF).CombinedOutput(); err == nil {
		t.Fatalf("openssl accepted a chain under a foreign PAA:\n%s", out)
	}
}

func TestIssueRefusesBadInputs(t *testing.T) {
	paa, pai, _ := testChain(t)
	nb := time.Date(2023, 6, 1, 0, 0, 0, 0, time.UTC)
	key := newKey(t)
	good := Subject{CommonName: "x", VID: 0xFFF1, PID: 0x8000, HasVID: true, HasPID: true}

	tmpl, err := DACTemplate(nextSerial(), good, nb, NoExpiry, &key.PublicKey, pai.cert)
	if err != nil {
		t.Fatal(err)
	}
	// Wrong signer: the PAA key cannot sign under the PAI.
	if _, err := IssueCertificate(tmpl, pai.cert, &key.PublicKey, paa.key, DAC); err == nil {
		t.Error("issued a DAC with a signer that is not the PAI key")
	}
	// DAC under a PAA (not a PAI).
	if _, err := IssueCertificate(tmpl, paa.cert, &key.PublicKey, paa.key, DAC); err == nil {
		t.Error("issued a DAC directly under a PAA")
	}
	// VID mismatch with the PAI.
	bad := good
	bad.VID = 0xFFF2
	tmpl2, _ := DACTemplate(nextSerial(), bad, nb, NoExpiry, &key.PublicKey, pai.cert)
	if _, err := IssueCertificate(tmpl2, pai.cert, &key.PublicKey, pai.key, DAC); RuleOf(err) != "chain.dacVendorIdMismatch" {
		t.Errorf("VID mismatch: got %v", err)
	}
	// PID mismatch with a PAI that carries a PID.
	bad = good
	bad.PID = 0x8001
	tmpl3, _ := DACTemplate(nextSerial(), bad, nb, NoExpiry, &key.PublicKey, pai.cert)
	if _, err := IssueCertificate(tmpl3, pai.cert, &key.PublicKey, pai.key, DAC); RuleOf(err) != "chain.dacProductIdMismatch" {
		t.Errorf("PID mismatch: got %v", err)
	}
	// notBefore before the PAI existed.
	tmpl4, _ := DACTemplate(nextSerial(), good, nb.AddDate(-5, 0, 0), NoExpiry, &key.PublicKey, pai.cert)
	if _, err := IssueCertificate(tmpl4, pai.cert, &key.PublicKey, pai.key, DAC); RuleOf(err) != "chain.paiNotValidAtIssuance" {
		t.Errorf("issuance before PAI validity: got %v", err)
	}
	// Template tampered after construction.
	tmpl5, _ := DACTemplate(nextSerial(), good, nb, NoExpiry, &key.PublicKey, pai.cert)
	tmpl5.SubjectKeyId = tmpl5.SubjectKeyId[:8]
	if _, err := IssueCertificate(tmpl5, pai.cert, &key.PublicKey, pai.key, DAC); RuleOf(err) != "dac.subjectKeyId.length" {
		t.Errorf("short SKID: got %v", err)
	}
	tmpl6, _ := DACTemplate(nextSerial(), good, nb, NoExpiry, &key.PublicKey, pai.cert)
	tmpl6.SerialNumber = nil
	if _, err := IssueCertificate(tmpl6, pai.cert, &key.PublicKey, pai.key, DAC); RuleOf(err) != "dac.serialNumber" {
		t.Errorf("missing serial: got %v", err)
	}
	// Templates refuse bad subjects up front.
	if _, err := DACTemplate(nextSerial(), Subject{CommonName: "x", VID: 0xFFF1, HasVID: true}, nb, NoExpiry, &key.PublicKey, pai.cert); err == nil {
		t.Error("DAC template without PID accepted")
	}
	if _, err := PAATemplate(nextSerial(), good, nb, NoExpiry, &key.PublicKey); err == nil {
		t.Error("PAA template with PID accepted")
	}
}

func TestSerialFromRandom(t *testing.T) {
	for _, n := range []int{0, 7, 20} {
		if _, err := SerialFromRandom(make([]byte, n)); err == nil {
			t.Errorf("accepted %d bytes", n)
		}
	}
	if _, err := SerialFromRandom(make([]byte, 16)); err == nil {
		t.Error("accepted all-zero bytes")
	}
	b := bytes.Repeat([]byte{0xFF}, 19)
	s, err := SerialFromRandom(b)
	if err != nil || serialOctets(s) != 20 {
		t.Errorf("19 x 0xFF: %v, %d octets", err, serialOctets(s))
	}
}

// faultySigner is the PAI key with a fault: it signs something else, or
// flips a bit of a good signature, as a failing token could.
type faultySigner struct {
	key   *ecdsa.PrivateKey
	fault func(digest []byte) []byte
}

func (s faultySigner) Public() crypto.PublicKey { return &s.key.PublicKey }
func (s faultySigner) Sign(_ io.Reader, digest []byte, _ crypto.SignerOpts) ([]byte, error) {
	return s.fault(digest), nil
}

// TestIssueCatchesBadSignature: IssueCertificate verifies the signature
// once, through x509.CreateCertificate (with the signer's public key, which
// must be the parent's), so a signer that does not verify its own output
// (hsm X509Signer) cannot get a bad signature into a certificate.
func TestIssueCatchesBadSignature(t *testing.T) {
	_, pai, _ := testChain(t)
	nb := time.Date(2023, 6, 1, 0, 0, 0, 0, time.UTC)
	key := newKey(t)
	good := Subject{CommonName: "x", VID: 0xFFF1, PID: 0x8000, HasVID: true, HasPID: true}
	for name, fault := range map[string]func([]byte) []byte{
		"other digest": func([]byte) []byte {
			d := sha256.Sum256([]byte("something else"))
			s, _ := ecdsa.SignASN1(rand.Reader, pai.key, d[:])
			return s
		},
		"flipped bit": func(d []byte) []byte {
			s, _ := ecdsa.SignASN1(rand.Reader, pai.key, d)
			s[len(s)-3] ^= 1
			return s
		},
		"another key": func(d []byte) []byte {
			s, _ := ecdsa.SignASN1(rand.Reader, newKey(t), d)
			return s
		},
		"garbage": func([]byte) []byte { return []byte{0x30, 0x00} },
	} {
		tmpl, err := DACTemplate(nextSerial(), good, nb, NoExpiry, &key.PublicKey, pai.cert)
		if err != nil {
			t.Fatal(err)
		}
		der, err := IssueCertificate(tmpl, pai.cert, &key.PublicKey, faultySigner{pai.key, fault}, DAC)
		if err == nil || !strings.Contains(err.Error(), "signature") {
			t.Errorf("%s: issued a DAC with a bad signature (%d bytes DER, err %v)", name, len(der), err)
		}
	}
	// The same signer without a fault issues a DAC that verifies.
	tmpl, _ := DACTemplate(nextSerial(), good, nb, NoExpiry, &key.PublicKey, pai.cert)
	ok := faultySigner{pai.key, func(d []byte) []byte { s, _ := ecdsa.SignASN1(rand.Reader, pai.key, d); return s }}
	cert, err := IssueParsed(tmpl, pai.cert, &key.PublicKey, ok, DAC)
	if err != nil {
		t.Fatal(err)
	}
	if err := cert.CheckSignatureFrom(pai.cert); err != nil {
		t.Errorf("issued DAC does not verify with the PAI: %v", err)
	}
}
