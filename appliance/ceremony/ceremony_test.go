package ceremony

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/dacline/dacline/airgap-bundles/bundle"
	"github.com/dacline/dacline/appliance/issuance"
)

func recordHash(entry []byte) tlog.Hash { return tlog.RecordHash(entry) }

func mustID(t testing.TB) bundle.BatchID {
	id, err := bundle.NewBatchID()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestFullCeremonyWithRefusals(t *testing.T) {
	f := newFixture(t)
	in, out := t.TempDir(), t.TempDir()

	// A key certified in an earlier batch.
	old, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if _, err := f.sign(f.writeBatch(in, mustID(t), []csrSpec{{key: old}}), out); err != nil {
		t.Fatal(err)
	}

	dup, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	specs := make([]csrSpec, 40)
	specs[3] = csrSpec{corrupt: true}
	specs[5] = csrSpec{key: rsaKey}
	specs[6] = csrSpec{key: p384}
	specs[7] = csrSpec{vid: "FFF1", pid: "8002"} // policy allows 8000, 8001
	specs[8] = csrSpec{vid: "FFF2", pid: "8000"}
	specs[9] = csrSpec{key: old}
	specs[10] = csrSpec{key: dup}
	specs[11] = csrSpec{key: dup}
	specs[12] = csrSpec{vid: "FFF1", pid: "8001"}
	res, err := f.sign(f.writeBatch(in, mustID(t), specs), out)
	if err != nil {
		t.Fatal(err)
	}
	want := map[uint32]string{3: ReasonBadSignature, 5: ReasonNotP256, 6: ReasonNotP256, 7: ReasonNotAllowed,
		8: ReasonNotAllowed, 9: ReasonAlreadyCertified, 11: ReasonDuplicate}
	if res.Outcome != OutcomeSigned || res.Accepted != 40-len(want) || res.Issued != res.Accepted || res.Refused != len(want) {
		t.Fatalf("result %+v", res)
	}
	r := f.readReturn(res.OutputPath)
	if len(r.dacs) != res.Accepted || len(r.refusals) != len(want) {
		t.Fatalf("return bundle has %d dacs, %d refusals", len(r.dacs), len(r.refusals))
	}
	for _, rf := range r.refusals {
		if want[rf.Index] != rf.Reason {
			t.Errorf("csr %d refused as %s (%s), want %s", rf.Index, rf.Reason, rf.Detail, want[rf.Index])
		}
	}
	for _, d := range r.dacs {
		if _, refused := want[d.Index]; refused {
			t.Errorf("refused csr %d got a dac", d.Index)
		}
		if d.Index == 12 && d.PID != "8001" {
			t.Errorf("csr 12 asked for 8001, dac has %s", d.PID)
		}
	}
	f.checkDACs(r)
	for _, name := range []string{bundle.PAIFile, bundle.PAAFile, bundle.CheckpointFile} {
		if len(r.files[name]) == 0 {
			t.Errorf("return bundle lacks %s", name)
		}
	}
}

func TestBatchLevelRefusals(t *testing.T) {
	f := newFixture(t)
	in, out := t.TempDir(), t.TempDir()

	t.Run("replay of a different batch under a used id", func(t *testing.T) {
		id := mustID(t)
		if _, err := f.sign(f.writeBatch(in, id, make([]csrSpec, 2)), out); err != nil {
			t.Fatal(err)
		}
		other := t.TempDir()
		_, err := f.sign(f.writeBatch(other, id, make([]csrSpec, 2)), out)
		if !errors.Is(err, ErrReplayed) {
			t.Fatalf("got %v, want ErrReplayed", err)
		}
	})
	t.Run("unenrolled station", func(t *testing.T) {
		path := f.writeBatch(in, mustID(t), make([]csrSpec, 1))
		_, _, err := OpenBatch(path, nil, stationMap{}, f.dir)
		if err == nil {
			t.Fatal("batch from an unenrolled station opened")
		}
		_, _, err = OpenBatch(path, nil, f.stations, f.dir)
		if !errors.Is(err, bundle.ErrWrongRecipient) && err == nil {
			t.Fatalf("opened without the appliance identity: %v", err)
		}
	})
	t.Run("station not in policy", func(t *testing.T) {
		f.policyRaw = []byte(strings.Replace(testPolicy, `"line-1"`, `"line-2"`, 1))
		defer func() { f.policyRaw = []byte(testPolicy) }()
		_, err := f.sign(f.writeBatch(in, mustID(t), make([]csrSpec, 1)), out)
		if !errors.Is(err, ErrStationNotInPolicy) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("over max batch size", func(t *testing.T) {
		f.policyRaw = []byte(strings.Replace(testPolicy, `1000000`, `3`, 1))
		defer func() { f.policyRaw = []byte(testPolicy) }()
		_, err := f.sign(f.writeBatch(in, mustID(t), make([]csrSpec, 4)), out)
		if !errors.Is(err, ErrBatchTooLarge) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("over quota", func(t *testing.T) {
		// line-1 has 2 DACs from the replay test; quota 5 leaves 3.
		f.policyRaw = []byte(strings.Replace(testPolicy, `"name": "line-1",`, `"name": "line-1", "max_dacs": 5,`, 1))
		defer func() { f.policyRaw = []byte(testPolicy) }()
		_, err := f.sign(f.writeBatch(in, mustID(t), make([]csrSpec, 4)), out)
		if !errors.Is(err, ErrQuotaExceeded) {
			t.Fatalf("got %v", err)
		}
		if _, err := f.sign(f.writeBatch(in, mustID(t), make([]csrSpec, 3)), out); err != nil {
			t.Fatalf("batch within quota: %v", err)
		}
	})
}

func TestDryRunRecordsNothing(t *testing.T) {
	f := newFixture(t)
	in, out := t.TempDir(), t.TempDir()
	path := f.writeBatch(in, mustID(t), []csrSpec{{}, {corrupt: true}, {}})
	before, _ := f.log.Size()
	res, err := f.runner().Run(context.Background(), f.open(path), Options{DryRun: true, OutDir: out})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != OutcomeChecked || res.Accepted != 2 || res.ByReason[ReasonBadSignature] != 1 {
		t.Fatalf("%+v", res)
	}
	after, _ := f.log.Size()
	ents, _ := os.ReadDir(out)
	if after != before || len(ents) != 0 {
		t.Fatalf("dry run changed the log (%d→%d) or wrote %d files", before, after, len(ents))
	}
	if _, err := f.sign(path, out); err != nil {
		t.Fatalf("real run after a dry run: %v", err)
	}
}

// TestReproduce runs a finished batch again: same payload and manifest, no
// new DAC, only a bundle-written entry in the log.
func TestReproduce(t *testing.T) {
	f := newFixture(t)
	in, out1, out2 := t.TempDir(), t.TempDir(), t.TempDir()
	path := f.writeBatch(in, mustID(t), make([]csrSpec, 20))
	res1, err := f.sign(path, out1)
	if err != nil {
		t.Fatal(err)
	}
	size1, _ := f.log.Size()
	res2, err := f.sign(path, out2)
	if err != nil {
		t.Fatal(err)
	}
	if res2.Outcome != OutcomeReproduced || res2.IssuedNow != 0 {
		t.Fatalf("second run: %+v", res2)
	}
	size2, _ := f.log.Size()
	if size2 != size1+1 {
		t.Fatalf("reproduction appended %d log entries, want 1 (bundle-written)", size2-size1)
	}
	a, b := f.readReturn(res1.OutputPath), f.readReturn(res2.OutputPath)
	if !bytes.Equal(a.manifestRaw, b.manifestRaw) {
		t.Fatalf("manifests differ:\n%s\n%s", a.manifestRaw, b.manifestRaw)
	}
	for name, data := range a.files {
		if !bytes.Equal(data, b.files[name]) {
			t.Errorf("payload %s differs", name)
		}
	}
	if res1.OutputSHA256 == res2.OutputSHA256 {
		t.Error("age ciphertext identical: expected a fresh file key")
	}
	// The same directories again: the files there are recognised, nothing written or logged.
	res3, err := f.sign(path, out1)
	if err != nil || res3.OutputSHA256 != res1.OutputSHA256 {
		t.Fatalf("same stick again: %v %+v", err, res3)
	}
	res4, err := f.sign(path, out2)
	if err != nil || res4.OutputSHA256 != res2.OutputSHA256 {
		t.Fatalf("second stick again: %v %+v", err, res4)
	}
	if size3, _ := f.log.Size(); size3 != size2 {
		t.Fatalf("recognising existing copies appended %d log entries", size3-size2)
	}
	// A foreign file under the name is refused.
	if err := os.WriteFile(filepath.Join(out2, "x"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(res2.OutputPath, 10); err != nil {
		t.Fatal(err)
	}
	if _, err := f.sign(path, out2); !errors.Is(err, ErrOutputExists) {
		t.Fatalf("damaged file under the bundle name: %v", err)
	}
}

// TestInterruptAndResume cancels between commits, then resumes.
func TestInterruptAndResume(t *testing.T) {
	f := newFixture(t)
	in, out := t.TempDir(), t.TempDir()
	path := f.writeBatch(in, mustID(t), make([]csrSpec, 100))
	ctx, cancel := context.WithCancel(context.Background())
	r := f.runner()
	r.Progress = &cancelAfter{n: 40, cancel: cancel}
	res, err := r.Run(ctx, f.open(path), Options{OutDir: out})
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("got %v", err)
	}
	if res.Issued == 0 || res.Issued >= 100 || res.Issued%16 != 0 {
		t.Fatalf("interrupted with %d committed (chunks of 16)", res.Issued)
	}
	res2, err := f.sign(path, out)
	if err != nil {
		t.Fatal(err)
	}
	if res2.Outcome != OutcomeResumed || res2.Issued != 100 || res2.IssuedNow != 100-res.Issued {
		t.Fatalf("resume: %+v", res2)
	}
	rt := f.readReturn(res2.OutputPath)
	if len(rt.dacs) != 100 {
		t.Fatalf("%d dacs", len(rt.dacs))
	}
	f.checkDACs(rt)
	checkStore(t, f.db)
}

type cancelAfter struct {
	n, seen int
	cancel  func()
}

func (c *cancelAfter) Start(int, int) {}
func (c *cancelAfter) Finish()        {}
func (c *cancelAfter) Add(n int) {
	c.seen += n
	if c.seen >= c.n {
		c.cancel()
	}
}

// checkStore asserts the store's invariants hold: one DAC per key, serials
// unique, every batch index at most once, station counts add up.
func checkStore(t testing.TB, db *bbolt.DB) {
	t.Helper()
	err := db.View(func(tx *bbolt.Tx) error {
		total := 0
		err := issuance.Ceremonies(tx, func(c *issuance.Ceremony) error {
			n := 0
			seen := map[uint32]bool{}
			err := issuance.BatchDACs(tx, c.BatchID, func(d *issuance.DACRecord) error {
				if seen[d.Index] {
					t.Errorf("batch %s index %d twice", c.BatchID, d.Index)
				}
				seen[d.Index] = true
				byS, err := issuance.DACBySerial(tx, d.Serial)
				if err != nil || byS == nil || byS.SPKIHash != d.SPKIHash {
					t.Errorf("serial index broken for %X", d.Serial)
				}
				n++
				return nil
			})
			if n != c.Issued {
				t.Errorf("batch %s: %d dacs stored, record says %d", c.BatchID, n, c.Issued)
			}
			total += n
			return err
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestResumeNeedsSamePolicy: an interrupted ceremony resumes only under the
// policy it started with.
func TestResumeNeedsSamePolicy(t *testing.T) {
	f := newFixture(t)
	in, out := t.TempDir(), t.TempDir()
	path := f.writeBatch(in, mustID(t), make([]csrSpec, 40))
	ctx, cancel := context.WithCancel(context.Background())
	r := f.runner()
	r.Progress = &cancelAfter{n: 16, cancel: cancel}
	if _, err := r.Run(ctx, f.open(path), Options{OutDir: out}); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("got %v", err)
	}
	f.policyRaw = []byte(strings.Replace(testPolicy, "1000000", "999999", 1))
	if _, err := f.sign(path, out); !errors.Is(err, ErrPolicyChanged) {
		t.Fatalf("resume under another policy: %v", err)
	}
	f.policyRaw = []byte(testPolicy)
	if res, err := f.sign(path, out); err != nil || res.Issued != 40 {
		t.Fatalf("resume under the original policy: %v %+v", err, res)
	}
}
