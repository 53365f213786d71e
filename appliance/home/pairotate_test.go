package home_test

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dacline/dacline/appliance/home"
	"github.com/dacline/dacline/appliance/hsm"
	"github.com/dacline/dacline/shared/auditlog"
	"github.com/dacline/dacline/shared/matter"
)

// TestRotatePAIKilledCanBeRerun: `pai rotate` killed at each step leaves a
// state the next run finishes, with one key, one key-generated entry and
// one pending PAI.
func TestRotatePAIKilledCanBeRerun(t *testing.T) {
	for _, point := range []string{"rotate-journal", "rotate-key", "half:rotate-key", "rotate-logged"} {
		t.Run(point, func(t *testing.T) {
			dir := newHome(t)
			kill, half := strings.CutPrefix(point, "half:")
			if !half {
				kill = point
			}
			killAt(t, "rotate", kill, dir, pin)
			const label = home.LabelPAI + "-2"
			if half {
				h, err := home.Open(dir)
				if err != nil {
					t.Fatal(err)
				}
				u, err := h.OpenToken(pin)
				if err != nil {
					t.Fatal(err)
				}
				k, err := u.Token.FindKey(label)
				if err != nil {
					t.Fatal(err)
				}
				if n, err := u.Token.DestroyObjects(hsm.KeyPairRefs(label, k.ID())[1]); err != nil || n != 1 {
					t.Fatalf("destroy public half: %d, %v", n, err)
				}
				u.Close()
				h.Close()
			}
			u := unlock(t, dir)
			got, csr, err := u.RotatePAI(0xFFF1, nil)
			if err != nil {
				t.Fatalf("re-run after a kill at %s: %v", point, err)
			}
			if got != label || len(csr) == 0 {
				t.Fatalf("label %q, csr %d bytes", got, len(csr))
			}
			if _, err := os.Stat(filepath.Join(dir, ".pai-rotate.journal")); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("journal left: %v", err)
			}
			n := 0
			for _, k := range ofType[*auditlog.KeyGenerated](entries(t, u.Home)) {
				if k.Label == label {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("%d key-generated entries for %s", n, label)
			}
			if len(u.Home.Config.PAIs) != 1 || u.Home.Config.PAIs[0].Label != label {
				t.Fatalf("config pais: %+v", u.Home.Config.PAIs)
			}
			if _, err := u.PAIKeyFor(label); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// issueFromTestPAA certifies the key of a PAI CSR with the test PAA on the token.
func issueFromTestPAA(t *testing.T, u *home.Unlocked, csrPEM []byte, serial int64, days int) []byte {
	t.Helper()
	blk, _ := pem.Decode(csrPEM)
	csr, err := x509.ParseCertificateRequest(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	paaKey, err := u.Token.FindKey(home.LabelTestPAA)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := matter.ExtractVIDPID(csr.RawSubject)
	if err != nil {
		t.Fatal(err)
	}
	subj := matter.Subject{CommonName: csr.Subject.CommonName, VID: ids.VID, HasVID: true, PID: ids.PID, HasPID: ids.HasPID}
	nb := u.PAA.NotBefore.Add(time.Duration(serial) * time.Second) // distinct, after the PAA's
	tmpl, err := matter.PAITemplate(big.NewInt(serial), subj, nb, nb.AddDate(0, 0, days), csr.PublicKey, u.PAA)
	if err != nil {
		t.Fatal(err)
	}
	der, err := matter.IssueCertificate(tmpl, u.PAA, csr.PublicKey, paaKey.X509Signer(), matter.PAI)
	if err != nil {
		t.Fatal(err)
	}
	return matter.EncodePEM(der)
}

// TestSeveralPAIs: choosing, renewing and retiring PAIs, and the refusals
// that change nothing.
func TestSeveralPAIs(t *testing.T) {
	dir := newHome(t)
	u := unlock(t, dir)
	h := u.Home
	now := time.Now().Add(-time.Hour)
	if _, err := u.CreateTestPAA(0xFFF1, now); err != nil {
		t.Fatal(err)
	}
	if _, err := u.CreateTestPAI(0xFFF1, nil, now); err != nil { // FFF1, every PID
		t.Fatal(err)
	}
	now = time.Now().Add(time.Hour) // imports are checked at now
	pid := uint16(0x8001)
	label, csr, err := u.RotatePAI(0xFFF1, &pid)
	if err != nil {
		t.Fatal(err)
	}
	// Pending: it signs nothing yet.
	if v, err := h.ChoosePAI(0xFFF1, 0x8001, ""); err != nil || v.Label != home.LabelPAI {
		t.Fatalf("pending PAI chosen: %v %v", v, err)
	}
	if _, err := h.ChoosePAI(0xFFF1, 0x8001, label); !errors.Is(err, home.ErrNoPAI) {
		t.Fatalf("mapped to a pending PAI: %v", err)
	}
	if _, _, err := u.ImportPAIWith(issueFromTestPAA(t, u, csr, 900, 30), nil, home.ImportOptions{Label: home.LabelPAI}, now); err == nil ||
		!strings.Contains(err.Error(), "not \"dacline-pai\"") {
		t.Fatalf("--label of another PAI: %v", err)
	}
	if _, _, err := u.ImportPAIWith(issueFromTestPAA(t, u, csr, 901, 30), nil, home.ImportOptions{}, now); err != nil {
		t.Fatal(err)
	}
	// A PID-specific PAI wins over the whole-VID one; a mapping wins over both.
	for _, c := range []struct {
		pid    uint16
		mapped string
		want   string
	}{{0x8001, "", label}, {0x8000, "", home.LabelPAI}, {0x8001, home.LabelPAI, home.LabelPAI}} {
		v, err := h.ChoosePAI(0xFFF1, c.pid, c.mapped)
		if err != nil || v.Label != c.want {
			t.Errorf("ChoosePAI(FFF1, %04X, %q) = %v, %v; want %s", c.pid, c.mapped, v, err, c.want)
		}
	}
	if _, err := h.ChoosePAI(0xFFF2, 0x8000, ""); !errors.Is(err, home.ErrNoPAIForProduct) {
		t.Errorf("FFF2: %v", err)
	}
	if _, err := h.ChoosePAI(0xFFF1, 0x8000, "dacline-pai-9"); !errors.Is(err, home.ErrUnknownPAI) {
		t.Errorf("unknown label: %v", err)
	}

	// Renewal of the rotated PAI with a longer validity.
	csr2, err := u.PAICSRFor(label, 0xFFF1, &pid)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, "pai-"+label+".pem"))
	renewed := issueFromTestPAA(t, u, csr2, 902, 3650)
	if _, _, err := u.ImportPAIWith(renewed, nil, home.ImportOptions{Renew: true}, now); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "pai-"+label+".pem"))
	if string(after) != string(renewed) {
		t.Fatal("the renewed certificate is not installed")
	}
	hist, _ := filepath.Glob(filepath.Join(dir, home.PAIHistoryDir, label+"-*.pem"))
	if len(hist) != 1 {
		t.Fatalf("history: %v", hist)
	}
	if kept, _ := os.ReadFile(hist[0]); string(kept) != string(before) {
		t.Fatal("the old certificate is not kept")
	}
	if n := len(ofType[*auditlog.PAIRenewed](entries(t, h))); n != 1 {
		t.Fatalf("%d pai-renewed entries", n)
	}

	// Retire it: not chosen any more, no certificate imported onto it, no CSR.
	if _, err := u.RetirePAI(label); err != nil {
		t.Fatal(err)
	}
	if v, err := h.ChoosePAI(0xFFF1, 0x8001, ""); err != nil || v.Label != home.LabelPAI {
		t.Fatalf("after retirement: %v %v", v, err)
	}
	if _, err := h.ChoosePAI(0xFFF1, 0x8001, label); !errors.Is(err, home.ErrPAIRetired) {
		t.Fatalf("mapped to a retired PAI: %v", err)
	}
	size := len(entries(t, h))
	if _, _, err := u.ImportPAIWith(issueFromTestPAA(t, u, csr2, 903, 3650), nil, home.ImportOptions{Renew: true}, now); !errors.Is(err, home.ErrPAIRetired) {
		t.Fatalf("import onto a retired PAI: %v", err)
	}
	if _, err := u.PAICSRFor(label, 0xFFF1, &pid); !errors.Is(err, home.ErrPAIRetired) {
		t.Fatalf("csr of a retired PAI: %v", err)
	}
	if _, err := u.RetirePAI(label); !errors.Is(err, home.ErrPAIRetired) {
		t.Fatalf("retired twice: %v", err)
	}
	if got := len(entries(t, h)); got != size {
		t.Fatalf("refusals appended %d entries", got-size)
	}
	// config.json says the same after reopening.
	h2 := h.Config
	if !h2.PAIs[0].Retired {
		t.Fatal("retirement not in config")
	}
}
