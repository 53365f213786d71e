package home_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dacline/dacline/appliance/home"
	"github.com/dacline/dacline/appliance/hsm"
	"github.com/dacline/dacline/appliance/hsm/hsmtest"
	"github.com/dacline/dacline/shared/matter"
	"github.com/dacline/dacline/shared/testenv"
)

var pin = []byte("4711-home-test")

// newHome initialises a home with its own SoftHSM2 token inside it.
func newHome(t *testing.T) string {
	t.Helper()
	hsmtest.Require(t)
	dir := filepath.Join(t.TempDir(), "appliance")
	err := home.Init(dir, home.InitOptions{Name: "line-1", TokenLabel: "dacline", NewSoftHSMToken: true, PIN: pin})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func unlock(t *testing.T, dir string) *home.Unlocked {
	t.Helper()
	h, err := home.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	u, err := h.OpenToken(pin)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { u.Close() })
	return u
}

func TestInitLayout(t *testing.T) {
	dir := newHome(t)
	for name, want := range map[string]os.FileMode{
		".": 0o700, home.ConfigFile: 0o600, home.DBFile: 0o600, home.IdentityFile: 0o600, home.SoftHSMConf: 0o600, home.TokensDir: 0o700,
	} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %04o, want %04o", name, fi.Mode().Perm(), want)
		}
	}
	// No temporary directory is left next to the home.
	ents, _ := os.ReadDir(filepath.Dir(dir))
	if len(ents) != 1 {
		t.Errorf("parent holds %d entries, want only the home", len(ents))
	}
	// The sealed identity holds no plaintext key.
	blob, _ := os.ReadFile(filepath.Join(dir, home.IdentityFile))
	if strings.Contains(string(blob), "AGE-SECRET-KEY") {
		t.Fatal("identity.age.enc contains a plaintext age secret key")
	}
	// The SoftHSM2 configuration points into the final home, not the temp dir.
	conf, _ := os.ReadFile(filepath.Join(dir, home.SoftHSMConf))
	if !strings.Contains(string(conf), "directories.tokendir = "+filepath.Join(dir, home.TokensDir)+"\n") {
		t.Errorf("softhsm2.conf:\n%s", conf)
	}

	u := unlock(t, dir)
	id, err := u.AgeIdentity()
	if err != nil {
		t.Fatal(err)
	}
	if id.Recipient().String() != u.Home.Config.AgeRecipient {
		t.Error("age identity does not match the configured recipient")
	}
	if u.Signing.Type() != hsm.KeyEd25519 || u.PAIKey.Type() != hsm.KeyP256 {
		t.Errorf("key types %v %v", u.Signing.Type(), u.PAIKey.Type())
	}
	st, err := u.Status(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Keys) != 3 {
		t.Fatalf("status lists %d keys, want 3", len(st.Keys))
	}
	for _, k := range st.Keys {
		a := k.Attributes
		if !a.Sensitive || !a.AlwaysSensitive || a.Extractable || !a.NeverExtractable || !a.Local {
			t.Errorf("%s key attributes %+v", k.Role, a)
		}
	}
}

func TestInitRefusesExistingHome(t *testing.T) {
	dir := newHome(t)
	err := home.Init(dir, home.InitOptions{Name: "x", TokenLabel: "other", NewSoftHSMToken: true, PIN: pin})
	if !errors.Is(err, home.ErrHomeExists) {
		t.Fatalf("got %v, want ErrHomeExists", err)
	}
	if _, err := home.Open(dir); err != nil {
		t.Fatalf("existing home damaged: %v", err)
	}
}

// TestFailedInitLeavesNothing: init against an existing token with the wrong
// PIN fails without leaving a home, and a rerun with the right PIN succeeds; a
// failure after keys were made destroys them so the rerun finds the labels free.
func TestFailedInitLeavesNothing(t *testing.T) {
	_, label, goodPIN := hsmtest.NewSoftHSMToken(t)
	dir := filepath.Join(t.TempDir(), "appliance")
	opts := home.InitOptions{Name: "line-1", TokenLabel: label, PIN: []byte("wrong")}
	err := home.Init(dir, opts)
	if !errors.Is(err, hsm.ErrPINIncorrect) {
		t.Fatalf("got %v, want ErrPINIncorrect", err)
	}
	ents, _ := os.ReadDir(filepath.Dir(dir))
	if len(ents) != 0 {
		t.Fatalf("failed init left %d entries", len(ents))
	}

	// Occupy the AES key's label so init fails after making two key pairs.
	tok, err := hsm.Open(hsm.Config{TokenLabel: label}, []byte(goodPIN))
	if err != nil {
		t.Fatal(err)
	}
	blocker, err := tok.GenerateAESKey(home.LabelAgeWrap)
	if err != nil {
		t.Fatal(err)
	}
	opts.PIN = []byte(goodPIN)
	err = home.Init(dir, opts)
	if !errors.Is(err, hsm.ErrLabelExists) {
		t.Fatalf("got %v, want ErrLabelExists", err)
	}
	for _, l := range []string{home.LabelSigning, home.LabelPAI} {
		if _, err := tok.FindKey(l); !errors.Is(err, hsm.ErrKeyNotFound) {
			t.Errorf("key %q left behind after failed init: %v", l, err)
		}
	}
	if err := blocker.Destroy(); err != nil {
		t.Fatal(err)
	}
	tok.Close()
	if err := home.Init(dir, opts); err != nil {
		t.Fatalf("rerun: %v", err)
	}
	unlockWith(t, dir, []byte(goodPIN))
}

func unlockWith(t *testing.T, dir string, p []byte) *home.Unlocked {
	h, err := home.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	u, err := h.OpenToken(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { u.Close() })
	return u
}

func TestOpenErrors(t *testing.T) {
	dir := newHome(t)
	h, err := home.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if _, err := home.Open(dir); !errors.Is(err, home.ErrHomeInUse) {
		t.Errorf("second open: got %v, want ErrHomeInUse", err)
	}
	if _, err := h.OpenToken([]byte("nope")); !errors.Is(err, hsm.ErrPINIncorrect) {
		t.Errorf("wrong PIN: got %v", err)
	}
	if _, err := home.Open(filepath.Join(t.TempDir(), "none")); !errors.Is(err, home.ErrNoHome) {
		t.Errorf("missing home: got %v, want ErrNoHome", err)
	}
	// A config recording another PAI public key is refused.
	h.Config.Keys.PAI.PublicKey = h.Config.Keys.Signing.PublicKey
	if _, err := h.OpenToken(pin); !errors.Is(err, home.ErrKeyMismatch) {
		t.Errorf("swapped key: got %v, want ErrKeyMismatch", err)
	}
}

func TestTestPKI(t *testing.T) {
	dir := newHome(t)
	u := unlock(t, dir)
	now := time.Now()
	if _, err := u.CreateTestPAA(0x1234, now); !errors.Is(err, home.ErrNotTestVID) {
		t.Errorf("PAA for VID 1234: got %v, want ErrNotTestVID", err)
	}
	if _, err := u.CreateTestPAI(0xFFF1, nil, now); !errors.Is(err, home.ErrNoPAA) {
		t.Errorf("PAI without PAA: got %v, want ErrNoPAA", err)
	}
	paa, err := u.CreateTestPAA(0xFFF1, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := u.CreateTestPAA(0xFFF1, now); !errors.Is(err, home.ErrPAAInstalled) {
		t.Errorf("second PAA: %v", err)
	}
	if _, err := u.CreateTestPAI(0xFFF2, nil, now); err == nil {
		t.Error("PAI with another VID than the PAA accepted")
	}
	pid := uint16(0x8000)
	pai, err := u.CreateTestPAI(0xFFF1, &pid, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := matter.ValidatePAA(paa); err != nil {
		t.Error(err)
	}
	if err := matter.ValidatePAI(pai); err != nil {
		t.Error(err)
	}
	if err := pai.CheckSignatureFrom(paa); err != nil {
		t.Error(err)
	}
	if u.Home.Config.VID != "FFF1" || u.Home.Config.PID != "8000" {
		t.Errorf("config VID/PID %q/%q", u.Home.Config.VID, u.Home.Config.PID)
	}
	opensslVerify(t, dir)

	id, err := u.PublicIdentity()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(id.NoteVerifier, "line-1+") || len(strings.Fields(id.Fingerprint)) != 8 {
		t.Errorf("identity %+v", id)
	}
}

func opensslVerify(t *testing.T, dir string) {
	t.Helper()
	testenv.RequireTool(t, "openssl")
	out, err := exec.Command("openssl", "verify", "-x509_strict", "-CAfile", filepath.Join(dir, home.PAAFile), filepath.Join(dir, home.PAIFile)).CombinedOutput()
	if err != nil || !strings.Contains(string(out), ": OK") {
		t.Fatalf("openssl verify: %v\n%s", err, out)
	}
}

// TestImportPAI plays a real PAA run elsewhere: a PAA key outside the token
// signs PAIs; only a valid Matter PAI for exactly the token's key is installed.
func TestImportPAI(t *testing.T) {
	dir := newHome(t)
	u := unlock(t, dir)
	csrPEM, err := u.PAICSR(0xFFF1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(csrPEM), "CERTIFICATE REQUEST") {
		t.Fatal("no CSR PEM")
	}

	now := time.Now()
	paaKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	paaTmpl, _ := matter.PAATemplate(big.NewInt(1), matter.Subject{CommonName: "ext PAA", VID: 0xFFF1, HasVID: true}, now.AddDate(-3, 0, 0), matter.NoExpiry, &paaKey.PublicKey)
	paaDER, err := matter.IssueCertificate(paaTmpl, nil, &paaKey.PublicKey, paaKey, matter.PAA)
	if err != nil {
		t.Fatal(err)
	}
	paa, _ := x509.ParseCertificate(paaDER)
	issuePAI := func(pub any, nb, na time.Time) []byte {
		tmpl, err := matter.PAITemplate(big.NewInt(2), matter.Subject{CommonName: "ext PAI", VID: 0xFFF1, HasVID: true}, nb, na, pub, paa)
		if err != nil {
			t.Fatal(err)
		}
		der, err := matter.IssueCertificate(tmpl, paa, pub, paaKey, matter.PAI)
		if err != nil {
			t.Fatal(err)
		}
		return matter.EncodePEM(der)
	}
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	paaPEM := matter.EncodePEM(paaDER)

	if _, err := u.ImportPAI(issuePAI(&otherKey.PublicKey, now.Add(-time.Hour), now.AddDate(1, 0, 0)), paaPEM, now); !errors.Is(err, home.ErrPAIKeyMismatch) {
		t.Errorf("PAI for another key: got %v, want ErrPAIKeyMismatch", err)
	}
	expired := issuePAI(u.PAIKey.Public(), now.AddDate(-2, 0, 0), now.AddDate(-1, 0, 0))
	if _, err := u.ImportPAI(expired, paaPEM, now); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired PAI: got %v", err)
	}
	if _, err := u.ImportPAI(paaPEM, paaPEM, now); err == nil {
		t.Error("a PAA accepted as PAI")
	}
	if _, err := u.ImportPAI(issuePAI(u.PAIKey.Public(), now.Add(-time.Hour), now.AddDate(1, 0, 0)), nil, now); !errors.Is(err, home.ErrNoPAA) {
		t.Errorf("PAI without PAA: got %v, want ErrNoPAA", err)
	}
	otherPAAKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherTmpl, _ := matter.PAATemplate(big.NewInt(3), matter.Subject{CommonName: "ext PAA", VID: 0xFFF1, HasVID: true}, now.Add(-time.Hour), matter.NoExpiry, &otherPAAKey.PublicKey)
	otherPAA, _ := matter.IssueCertificate(otherTmpl, nil, &otherPAAKey.PublicKey, otherPAAKey, matter.PAA)
	good := issuePAI(u.PAIKey.Public(), now.Add(-time.Hour), now.AddDate(1, 0, 0))
	if _, err := u.ImportPAI(good, matter.EncodePEM(otherPAA), now); err == nil {
		t.Error("PAI accepted with a PAA that did not sign it")
	}
	if _, err := os.Stat(filepath.Join(dir, home.PAIFile)); !os.IsNotExist(err) {
		t.Fatal("a refused import left pai.pem behind")
	}
	if _, err := u.ImportPAI(good, paaPEM, now); err != nil {
		t.Fatal(err)
	}
	opensslVerify(t, dir)
	if _, err := u.ImportPAI(good, paaPEM, now); !errors.Is(err, home.ErrPAIInstalled) {
		t.Errorf("second import: got %v", err)
	}
}
