package home_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dacline/dacline/appliance/home"
	"github.com/dacline/dacline/appliance/hsm"
	"github.com/dacline/dacline/appliance/hsm/hsmtest"
	"github.com/dacline/dacline/shared/auditlog"
)

// The crash tests run set-up in a child process (this test binary again,
// TestSetupKillHelper) that SIGKILLs itself at a named crashPoint, then run
// it again in the parent, as an officer would after a power cut. These
// variables are read by this test file only; production code has no hook
// but the crashPoint variable the test replaces inside the child.
const (
	killAtEnv   = "SETUPCRASH_KILL_AT"
	killDirEnv  = "SETUPCRASH_DIR"
	killModeEnv = "SETUPCRASH_MODE" // init-token, init-new, paa
	killPINEnv  = "SETUPCRASH_PIN"
)

func TestSetupKillHelper(t *testing.T) {
	at := os.Getenv(killAtEnv)
	if at == "" {
		t.Skip("runs only as the child of a crash test")
	}
	restore := home.SetCrashPoint(func(p string) {
		if p == at {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			time.Sleep(time.Minute)
		}
	})
	defer restore()
	dir, p := os.Getenv(killDirEnv), []byte(os.Getenv(killPINEnv))
	var err error
	switch os.Getenv(killModeEnv) {
	case "init-token":
		err = home.Init(dir, home.InitOptions{Name: "line-1", TokenLabel: hsmtest.Label, PIN: p})
	case "init-new":
		err = home.Init(dir, home.InitOptions{Name: "line-1", TokenLabel: "dacline", NewSoftHSMToken: true, PIN: p})
	case "paa":
		h, oerr := home.Open(dir)
		if oerr != nil {
			t.Fatal(oerr)
		}
		u, oerr := h.OpenToken(p)
		if oerr != nil {
			t.Fatal(oerr)
		}
		_, err = u.CreateTestPAA(0xFFF1, time.Now())
	case "rotate": // pairotate_test.go
		h, oerr := home.Open(dir)
		if oerr != nil {
			t.Fatal(oerr)
		}
		u, oerr := h.OpenToken(p)
		if oerr != nil {
			t.Fatal(oerr)
		}
		_, _, err = u.RotatePAI(0xFFF1, nil)
	}
	t.Fatalf("set-up ran past kill point %q: %v", at, err)
}

// killAt runs set-up in a child process killed at point.
func killAt(t *testing.T, mode, point, dir string, p []byte) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestSetupKillHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), killAtEnv+"="+point, killDirEnv+"="+dir, killModeEnv+"="+mode, killPINEnv+"="+string(p))
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || !ee.Sys().(syscall.WaitStatus).Signaled() || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child was not killed at %q: %v\n%s", point, err, out)
	}
}

func staleInits(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(filepath.Dir(dir), "."+filepath.Base(dir)+".init-*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestInitKilledOnTokenCanBeRerun: appliance init on an existing token,
// killed at each point where it leaves something behind, is run again and
// succeeds; the re-run removes exactly the objects and directories the killed
// run left. A kill inside key generation (one half of a key pair made) is
// cleaned up too.
func TestInitKilledOnTokenCanBeRerun(t *testing.T) {
	hsmtest.Require(t)
	for _, point := range []string{"journal", "key:" + home.LabelSigning, "key:" + home.LabelPAI, "half:" + home.LabelPAI,
		"key:" + home.LabelAgeWrap, "log", "config", "published"} {
		t.Run(point, func(t *testing.T) {
			_, _, tokPIN := hsmtest.NewSoftHSMToken(t)
			p := []byte(tokPIN)
			dir := filepath.Join(t.TempDir(), "appliance")
			kill := point
			if label, ok := strings.CutPrefix(point, "half:"); ok {
				kill = "key:" + label
			}
			killAt(t, "init-token", kill, dir, p)
			if strings.HasPrefix(point, "half:") {
				// A kill inside C_GenerateKeyPair: only the private half made it.
				tok, err := hsm.Open(hsm.Config{TokenLabel: hsmtest.Label}, p)
				if err != nil {
					t.Fatal(err)
				}
				k, err := tok.FindKey(home.LabelPAI)
				if err != nil {
					t.Fatal(err)
				}
				if n, err := tok.DestroyObjects(hsm.KeyPairRefs(home.LabelPAI, k.ID())[1]); err != nil || n != 1 {
					t.Fatalf("destroy public half: %d, %v", n, err)
				}
				tok.Close()
			}
			if point == "published" {
				if len(staleInits(t, dir)) != 0 {
					t.Fatal("a published home left its temporary directory")
				}
				err := home.Init(dir, home.InitOptions{Name: "line-1", TokenLabel: hsmtest.Label, PIN: p})
				if !errors.Is(err, home.ErrHomeExists) {
					t.Fatalf("re-run over a published home: %v", err)
				}
			} else {
				if len(staleInits(t, dir)) != 1 {
					t.Fatalf("the killed run left %v", staleInits(t, dir))
				}
				if err := home.Init(dir, home.InitOptions{Name: "line-1", TokenLabel: hsmtest.Label, PIN: p}); err != nil {
					t.Fatalf("re-run after a kill at %s: %v", point, err)
				}
			}
			if s := staleInits(t, dir); len(s) != 0 {
				t.Fatalf("left after the re-run: %v", s)
			}
			// FindKey/FindAESKey refuse a label held by two objects: the
			// keys are exactly the home's.
			u := unlockWith(t, dir, p)
			if _, err := u.Token.FindAESKey(home.LabelAgeWrap); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestInitKilledWithNewTokenCanBeRerun: the same with --new-softhsm-token,
// whose token lives in the temporary home.
func TestInitKilledWithNewTokenCanBeRerun(t *testing.T) {
	hsmtest.Require(t)
	for _, point := range []string{"journal", "token", "key:" + home.LabelPAI, "log", "config"} {
		t.Run(point, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "appliance")
			killAt(t, "init-new", point, dir, pin)
			if len(staleInits(t, dir)) != 1 {
				t.Fatalf("the killed run left %v", staleInits(t, dir))
			}
			if err := home.Init(dir, home.InitOptions{Name: "line-1", TokenLabel: "dacline", NewSoftHSMToken: true, PIN: pin}); err != nil {
				t.Fatalf("re-run after a kill at %s: %v", point, err)
			}
			if s := staleInits(t, dir); len(s) != 0 {
				t.Fatalf("left after the re-run: %v", s)
			}
			unlockWith(t, dir, pin)
		})
	}
}

// TestInitCleanupSparesAnotherAppliance: a killed init on a token another
// appliance uses removes nothing of that appliance's: its journal names key
// IDs no object of the other appliance has, so the re-run destroys nothing
// and stops on the label as before.
func TestInitCleanupSparesAnotherAppliance(t *testing.T) {
	_, _, tokPIN := hsmtest.NewSoftHSMToken(t)
	p := []byte(tokPIN)
	a := filepath.Join(t.TempDir(), "appliance-a")
	if err := home.Init(a, home.InitOptions{Name: "line-a", TokenLabel: hsmtest.Label, PIN: p}); err != nil {
		t.Fatal(err)
	}
	b := filepath.Join(t.TempDir(), "appliance-b")
	killAt(t, "init-token", "journal", b, p)
	err := home.Init(b, home.InitOptions{Name: "line-b", TokenLabel: hsmtest.Label, PIN: p})
	if !errors.Is(err, hsm.ErrLabelExists) {
		t.Fatalf("init on a token in use: %v", err)
	}
	u := unlockWith(t, a, p)
	if _, err := u.Token.FindAESKey(home.LabelAgeWrap); err != nil {
		t.Fatalf("appliance a lost its keys: %v", err)
	}
	if s := staleInits(t, b); len(s) != 0 {
		t.Fatalf("left: %v", s)
	}
}

// TestInitRefusesKilledInitOnAnotherToken: a journal naming another token is
// not cleaned up with this one; init says which token to use.
func TestInitRefusesKilledInitOnAnotherToken(t *testing.T) {
	_, _, tokPIN := hsmtest.NewSoftHSMToken(t)
	dir := filepath.Join(t.TempDir(), "appliance")
	stale := filepath.Join(filepath.Dir(dir), ".appliance.init-123")
	if err := os.Mkdir(stale, 0o700); err != nil {
		t.Fatal(err)
	}
	j := `{"version":1,"module":"/usr/lib/other.so","token_label":"other","keys":[{"label":"dacline-pai","id":"00112233445566778899aabbccddeeff"}]}`
	if err := os.WriteFile(filepath.Join(stale, home.InitJournalFile), []byte(j), 0o600); err != nil {
		t.Fatal(err)
	}
	err := home.Init(dir, home.InitOptions{Name: "line-1", TokenLabel: hsmtest.Label, PIN: []byte(tokPIN)})
	if !errors.Is(err, home.ErrKilledInitElsewhere) || !strings.Contains(err.Error(), `"other"`) {
		t.Fatalf("got %v", err)
	}
	if _, err := os.Stat(stale); err != nil {
		t.Fatal("the other token's journal was removed")
	}
}

// TestCreateTestPAAKilledCanBeRerun: paa create-test killed at each point is
// run again and installs one PAA, with exactly one key-generated entry for
// its key; a key pair half made is destroyed and made again.
func TestCreateTestPAAKilledCanBeRerun(t *testing.T) {
	for _, point := range []string{"paa-journal", "paa-key", "half:paa-key", "paa-logged", "paa-config"} {
		t.Run(point, func(t *testing.T) {
			dir := newHome(t)
			kill, half := strings.CutPrefix(point, "half:")
			if !half {
				kill = point
			}
			killAt(t, "paa", kill, dir, pin)
			if half {
				h, err := home.Open(dir)
				if err != nil {
					t.Fatal(err)
				}
				u, err := h.OpenToken(pin)
				if err != nil {
					t.Fatal(err)
				}
				k, err := u.Token.FindKey(home.LabelTestPAA)
				if err != nil {
					t.Fatal(err)
				}
				if n, err := u.Token.DestroyObjects(hsm.KeyPairRefs(home.LabelTestPAA, k.ID())[1]); err != nil || n != 1 {
					t.Fatalf("destroy public half: %d, %v", n, err)
				}
				u.Close()
				h.Close()
			}
			u := unlock(t, dir)
			if _, err := u.CreateTestPAA(0xFFF1, time.Now()); err != nil {
				t.Fatalf("re-run after a kill at %s: %v", point, err)
			}
			if _, err := os.Stat(filepath.Join(dir, home.TestPAAJournalFile)); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("journal left: %v", err)
			}
			n := 0
			for _, k := range ofType[*auditlog.KeyGenerated](entries(t, u.Home)) {
				if k.Label == home.LabelTestPAA {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("%d key-generated entries for the test PAA key", n)
			}
			if _, err := u.Token.FindKey(home.LabelTestPAA); err != nil {
				t.Fatal(err)
			}
		})
	}
}
