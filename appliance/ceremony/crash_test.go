package ceremony

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"
	"go.etcd.io/bbolt"

	"github.com/dacline/dacline/airgap-bundles/bundle"
	"github.com/dacline/dacline/appliance/applog"
	"github.com/dacline/dacline/appliance/ceremony/crashtest"
	"github.com/dacline/dacline/appliance/hsm"
	"github.com/dacline/dacline/appliance/hsm/hsmtest"
	"github.com/dacline/dacline/appliance/issuance"
	"github.com/dacline/dacline/appliance/policy"
	"github.com/dacline/dacline/shared/auditlog"
)

// childEnv makes the test binary run one ceremony from a spec file and exit:
// the crash tests run it as a subprocess so the process can really die.
const childEnv = "DACLINE_CEREMONY_TEST_CHILD"

// childSpec is everything a child process needs to run the fixture's ceremony.
type childSpec struct {
	SoftHSMConf, Token, PIN string
	DB, PAI, PAA            string
	ApplianceAgeIdentity    string
	StationKey              []byte
	StationRecipient        string
	Policy                  []byte
	Bundle, Out, Temp       string
	ChunkSize               int
}

func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		if at := os.Getenv(crashtest.Env); at != "" {
			hook, err := crashtest.Hook(at)
			if err != nil {
				fmt.Fprintln(os.Stderr, "child:", err)
				os.Exit(2)
			}
			CrashHook = hook
		}
		if err := runChild(spec); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func runChild(path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var s childSpec
	if err := json.Unmarshal(raw, &s); err != nil {
		return err
	}
	tok, err := hsm.Open(hsm.Config{ModulePath: hsm.DefaultModule, TokenLabel: s.Token, SoftHSMConf: s.SoftHSMConf}, []byte(s.PIN))
	if err != nil {
		return err
	}
	defer tok.Close()
	paiKey, err := tok.FindKey("pai")
	if err != nil {
		return err
	}
	edKey, err := tok.FindKey("appliance")
	if err != nil {
		return err
	}
	pai, err := readCert(s.PAI)
	if err != nil {
		return err
	}
	paa, err := readCert(s.PAA)
	if err != nil {
		return err
	}
	db, err := bbolt.Open(s.DB, 0o600, &bbolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return err
	}
	defer db.Close()
	lg, err := applog.Open(db, applog.Options{})
	if err != nil {
		return err
	}
	pol, err := policy.Parse(s.Policy)
	if err != nil {
		return err
	}
	ns, err := bundle.NewNoteSigner("appliance", edKey.Signer())
	if err != nil {
		return err
	}
	ls, err := auditlog.NoteSigner("appliance", edKey.Signer())
	if err != nil {
		return err
	}
	id, err := age.ParseX25519Identity(s.ApplianceAgeIdentity)
	if err != nil {
		return err
	}
	b, bnd, err := OpenBatch(s.Bundle, []age.Identity{id}, stationMap{"line-1": {key: s.StationKey, rcpt: s.StationRecipient}}, s.Temp)
	if err != nil {
		return err
	}
	defer bnd.Close()
	r := &Runner{DB: db, Policy: pol, PolicySHA256: sha256.Sum256(s.Policy),
		Issuer: Issuer{PAI: pai, PAA: paa, Signer: paiKey.X509Signer(), Random: tok.Random},
		Log:    AuditRecorder{Log: lg, Signer: ls}, Appliance: ns, TempDir: s.Temp, ChunkSize: s.ChunkSize, Officer: "crash test officer"}
	res, err := r.Run(context.Background(), b, Options{OutDir: s.Out})
	if err != nil {
		return err
	}
	fmt.Printf("issued_now=%d issued=%d outcome=%s\n", res.IssuedNow, res.Issued, res.Outcome)
	return nil
}

func readCert(path string) (*x509.Certificate, error) {
	der, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// spec persists the fixture for a child process and closes the fixture's
// database so the child can open it (bbolt takes a file lock).
func (f *fixture) spec(bundlePath, out string, chunk int) string {
	f.t.Helper()
	write := func(name string, data []byte) string {
		p := filepath.Join(f.dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			f.t.Fatal(err)
		}
		return p
	}
	s := childSpec{
		SoftHSMConf: os.Getenv("SOFTHSM2_CONF"), Token: hsmtest.Label, PIN: hsmtest.PIN,
		DB: f.db.Path(), PAI: write("pai.der", f.pai.Raw), PAA: write("paa.der", f.paa.Raw),
		ApplianceAgeIdentity: f.applID.String(), StationKey: f.stations["line-1"].key,
		StationRecipient: f.stations["line-1"].rcpt, Policy: f.policyRaw,
		Bundle: bundlePath, Out: out, Temp: f.dir, ChunkSize: chunk,
	}
	raw, _ := json.Marshal(s)
	return write("child.json", raw)
}

func (f *fixture) closeDB() {
	f.t.Helper()
	if err := f.db.Close(); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) reopenDB() {
	f.t.Helper()
	db, err := bbolt.Open(filepath.Join(f.dir, "appliance.db"), 0o600, &bbolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		f.t.Fatal(err)
	}
	f.db = db
	f.t.Cleanup(func() { db.Close() })
	if f.log, err = applog.Open(db, applog.Options{}); err != nil {
		f.t.Fatal(err)
	}
}

func child(t *testing.T, spec, crashAt string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+spec)
	if crashAt != "" {
		cmd.Env = append(cmd.Env, crashtest.Env+"="+crashAt)
	}
	return cmd
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// TestResumeAfterCrash kills the ceremony at each named point, runs it again
// to the end, and checks exactly-once issuance and a consistent log.
func TestResumeAfterCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess crash tests")
	}
	const n, chunk = 70, 16 // 5 chunks: 16,16,16,16,6
	for _, point := range []string{
		"after-start",     // before the first commit
		"before-commit:1", // first chunk signed, lost
		"after-commit:3",  // mid-batch
		"before-commit:5", // last chunk signed, lost
		"after-commit:5",  // after the last DAC, before the checkpoint is recorded
		"after-issued",    // checkpoint recorded, no bundle yet
		"bundle-write:40", // during the bundle write
		"after-bundle",    // bundle on the medium, not yet recorded
	} {
		t.Run(point, func(t *testing.T) {
			f := newFixture(t)
			in, out := t.TempDir(), t.TempDir()
			path := f.writeBatch(in, mustID(t), make([]csrSpec, n))
			spec := f.spec(path, out, chunk)
			f.closeDB()

			cmd := child(t, spec, point)
			outb, err := cmd.CombinedOutput()
			if code := exitCode(err); code != 137 {
				t.Fatalf("crash run exited %d, want 137:\n%s", code, outb)
			}
			if !strings.Contains(string(outb), "test hook") {
				t.Fatalf("crash run did not stop at the hook:\n%s", outb)
			}
			f.reopenDB()
			checkStore(t, f.db)
			f.closeDB()

			outb, err = child(t, spec, "").CombinedOutput()
			if err != nil {
				t.Fatalf("resume: %v\n%s", err, outb)
			}
			f.reopenDB()
			checkStore(t, f.db)
			checkLog(t, f, n)
			ents, _ := filepath.Glob(filepath.Join(out, "dac-batch-*.age"))
			if len(ents) != 1 {
				t.Fatalf("%d return bundles in the output, want 1", len(ents))
			}
			r := f.readReturn(ents[0])
			if len(r.dacs) != n {
				t.Fatalf("%d dacs", len(r.dacs))
			}
			f.checkDACs(r)
		})
	}
}

// checkLog checks the audit log after a (possibly interrupted) ceremony:
// exactly one dac-issued entry per accepted CSR index, one ceremony-started,
// one ceremony-finished, and every logged DAC is in the store.
func checkLog(t *testing.T, f *fixture, n int) {
	t.Helper()
	size, err := f.log.Size()
	if err != nil {
		t.Fatal(err)
	}
	count := map[auditlog.Type]int{}
	idx := map[int]int{}
	err = f.log.ForEach(0, size, func(seq int64, data []byte) error {
		e, err := auditlog.ParseEntry(data)
		if err != nil {
			return err
		}
		count[e.EntryType()]++
		if d, ok := e.(*auditlog.DACIssued); ok {
			idx[d.Index]++
			var spki [32]byte
			if b, err := hex.DecodeString(d.SPKISHA256); err != nil || copy(spki[:], b) != 32 {
				t.Errorf("log entry %d: bad spki hash %q", seq, d.SPKISHA256)
			}
			return f.db.View(func(tx *bbolt.Tx) error {
				rec, err := issuance.DACBySPKI(tx, spki)
				if err != nil || rec == nil || rec.LogIndex != uint64(seq) {
					t.Errorf("log entry %d: dac for csr %d not in the store as this entry", seq, d.Index)
				}
				return nil
			})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if count[auditlog.TypeDACIssued] != n || len(idx) != n {
		t.Errorf("%d dac-issued entries for %d distinct csrs, want %d", count[auditlog.TypeDACIssued], len(idx), n)
	}
	if count[auditlog.TypeCeremonyStarted] != 1 || count[auditlog.TypeCeremonyFinished] != 1 {
		t.Errorf("entries: %v", count)
	}
}

// TestSIGKILL kills a running ceremony with a real SIGKILL while DACs are
// being committed, then resumes it.
func TestSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess crash tests")
	}
	const n = 600
	f := newFixture(t)
	in, out := t.TempDir(), t.TempDir()
	path := f.writeBatch(in, mustID(t), make([]csrSpec, n))
	spec := f.spec(path, out, 8)
	f.closeDB()

	cmd := child(t, spec, "")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill once some DACs are committed: poll the database file's size.
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if fi, err := os.Stat(filepath.Join(f.dir, "appliance.db")); err == nil && fi.Size() > 256<<10 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	err := cmd.Wait()
	if code := exitCode(err); code != 137 {
		t.Logf("child exited %d before the kill (it finished first)", code)
	}
	f.reopenDB()
	checkStore(t, f.db)
	var issued int
	f.db.View(func(tx *bbolt.Tx) error {
		return issuance.Ceremonies(tx, func(c *issuance.Ceremony) error { issued = c.Issued; return nil })
	})
	t.Logf("killed with %d of %d DACs committed", issued, n)
	f.closeDB()
	if outb, err := child(t, spec, "").CombinedOutput(); err != nil {
		t.Fatalf("resume: %v\n%s", err, outb)
	}
	f.reopenDB()
	checkStore(t, f.db)
	checkLog(t, f, n)
	ents, _ := filepath.Glob(filepath.Join(out, "dac-batch-*.age"))
	if len(ents) != 1 {
		t.Fatalf("%d return bundles", len(ents))
	}
	r := f.readReturn(ents[0])
	if len(r.dacs) != n {
		t.Fatalf("%d dacs", len(r.dacs))
	}
	_ = ed25519.PublicKey(nil)
}
