package applog

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	shared "github.com/dacline/dacline/shared/auditlog"
)

const origin = "lab-appliance.dacline"

func h(parts ...any) string {
	s := sha256.Sum256([]byte(fmt.Sprint(parts...)))
	return hex.EncodeToString(s[:])
}

// fixture is a log in a real bbolt file with an Ed25519 key standing in for
// the HSM key (the adapter only needs a crypto.Signer).
type fixture struct {
	dir    string
	dbPath string
	db     *bbolt.DB
	log    *Log
	signer note.Signer
	vkey   string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{dir: dir, dbPath: filepath.Join(dir, "appliance.db")}
	priv := ed25519.NewKeyFromSeed(make([]byte, 32))
	var err error
	if f.signer, err = shared.NoteSigner(origin, priv); err != nil {
		t.Fatal(err)
	}
	if f.vkey, err = shared.VerifierKey(origin, priv.Public().(ed25519.PublicKey)); err != nil {
		t.Fatal(err)
	}
	f.open(t)
	return f
}

func (f *fixture) open(t *testing.T) {
	t.Helper()
	db, err := bbolt.Open(f.dbPath, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f.db = db
	clock := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	f.log, err = Open(db, Options{
		CheckpointMirror: filepath.Join(f.dir, "checkpoint"),
		Now: func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			clock = clock.Add(time.Second)
			return clock
		},
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) reopen(t *testing.T) {
	t.Helper()
	f.db.Close()
	f.open(t)
}

func dac(k int, station, batch string) *shared.DACIssued {
	return &shared.DACIssued{BatchID: batch, DACSHA256: h("dac", k), Index: k, PID: 0x8000,
		Serial: shared.SerialHex(big.NewInt(int64(1000 + k))), SPKISHA256: h("spki", k), Station: station, VID: 0xFFF1}
}

// ceremony appends what a ceremony would, then checkpoints.
func (f *fixture) ceremony(t *testing.T, batch string, n, first int) (signed []byte, seqs []int64) {
	t.Helper()
	if _, err := f.log.Append(&shared.CeremonyStarted{BatchID: batch, BundleSHA256: h(batch), Officer: "Ada",
		PolicySHA256: h("policy"), Station: "line-1"}); err != nil {
		t.Fatal(err)
	}
	for k := first; k < first+n; k++ {
		// The ceremony's pattern: issuance record and log entry in one transaction.
		err := f.db.Update(func(tx *bbolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists([]byte("issuance"))
			if err != nil {
				return err
			}
			i, err := f.log.AppendTx(tx, dac(k, "line-1", batch))
			if err != nil {
				return err
			}
			seqs = append(seqs, i)
			return b.Put([]byte(h("spki", k)), []byte(fmt.Sprint(i)))
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// As the ceremony's record-bundle: the bundle written, then the finish.
	if _, err := f.log.Append(&shared.BundleWritten{BatchID: batch, BundleSHA256: h("bundle", batch), FileName: batch + ".dac-batch"},
		&shared.CeremonyFinished{BatchID: batch, Issued: n, Station: "line-1"}); err != nil {
		t.Fatal(err)
	}
	signed, err := f.log.Checkpoint(f.signer)
	if err != nil {
		t.Fatal(err)
	}
	return signed, seqs
}

func (f *fixture) setup(t *testing.T) {
	t.Helper()
	st, err := shared.NewStationEnrolled("line-1", "aaaa", "age1"+strings.Repeat("q", 58),
		ed25519.NewKeyFromSeed(make([]byte, 32)).Public().(ed25519.PublicKey), h("enrollment bundle"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.log.Append(&shared.ApplianceInit{Appliance: "lab", NoteVerifier: f.vkey}, st); err != nil {
		t.Fatal(err)
	}
}

// TestCheckpointVerifiesWithNoteLibrary is the acceptance test: a
// checkpoint written by the appliance verifies with golang.org/x/mod/sumdb/note
// and the published verifier string.
func TestCheckpointVerifiesWithNoteLibrary(t *testing.T) {
	f := newFixture(t)
	f.setup(t)
	signed, _ := f.ceremony(t, "b1", 3, 0)

	v, err := note.NewVerifier(f.vkey)
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		t.Fatalf("note.Open: %v\n%s", err, signed)
	}
	lines := strings.Split(n.Text, "\n")
	if lines[0] != origin || lines[1] != "8" {
		t.Fatalf("checkpoint body %q", n.Text)
	}
	size, _ := f.log.Size()
	var root tlog.Hash
	f.db.View(func(tx *bbolt.Tx) error {
		root, err = tlog.TreeHash(size, hashReader{tx.Bucket([]byte(BucketHashes))})
		return err
	})
	if c, err := shared.OpenCheckpoint(signed, v); err != nil || c.Root != root || c.Size != size {
		t.Fatalf("checkpoint %v %v, want size %d root %v", c, err, size, root)
	}
	// Persisted as the latest, in the history, and in the mirror file.
	if latest, _ := f.log.Latest(); string(latest) != string(signed) {
		t.Error("latest checkpoint not persisted")
	}
	if m, _ := os.ReadFile(filepath.Join(f.dir, "checkpoint")); string(m) != string(signed) {
		t.Error("mirror file not written")
	}
	// Nothing appended: the same checkpoint comes back, no new signature.
	again, err := f.log.Checkpoint(f.signer)
	if err != nil || string(again) != string(signed) {
		t.Fatalf("idempotent checkpoint: %v", err)
	}
	if all, _ := f.log.Checkpoints(); len(all) != 1 {
		t.Fatalf("history has %d checkpoints, want 1", len(all))
	}
}

func TestAppendTxRollsBackWithCaller(t *testing.T) {
	f := newFixture(t)
	f.setup(t)
	boom := errors.New("issuance failed")
	err := f.db.Update(func(tx *bbolt.Tx) error {
		if _, err := f.log.AppendTx(tx, dac(1, "line-1", "b")); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if n, _ := f.log.Size(); n != 2 {
		t.Fatalf("size %d after rolled-back append, want 2", n)
	}
	err = f.db.View(func(tx *bbolt.Tx) error {
		_, err := f.log.AppendTx(tx, dac(1, "line-1", "b"))
		return err
	})
	if err == nil {
		t.Fatal("append in a read-only transaction accepted")
	}
	if _, err := f.log.Append(&shared.DACIssued{}); err == nil {
		t.Fatal("invalid entry appended")
	}
	if n, _ := f.log.Size(); n != 2 {
		t.Fatalf("size %d after invalid append, want 2", n)
	}
}

func TestEntriesDurableAcrossReopen(t *testing.T) {
	f := newFixture(t)
	f.setup(t)
	f.ceremony(t, "b1", 2, 0)
	f.reopen(t)
	n, _ := f.log.Size()
	if n != 7 {
		t.Fatalf("size %d after reopen", n)
	}
	for i := int64(0); i < n; i++ {
		b, err := f.log.Entry(i)
		if err != nil {
			t.Fatal(err)
		}
		e, err := shared.ParseEntry(b)
		if err != nil || e.Header().Seq != i {
			t.Fatalf("entry %d: %v", i, err)
		}
	}
	if _, err := f.log.Entry(n); err == nil {
		t.Fatal("entry past the end")
	}
	// The next checkpoint after reopening extends the old one.
	f.ceremony(t, "b2", 2, 10)
}

func TestProofs(t *testing.T) {
	f := newFixture(t)
	f.setup(t)
	first, seqs1 := f.ceremony(t, "b1", 5, 0)
	second, seqs2 := f.ceremony(t, "b2", 6, 5)
	v, _ := note.NewVerifier(f.vkey)
	for _, tc := range []struct {
		signed []byte
		seqs   []int64
	}{{first, seqs1}, {second, append(seqs1, seqs2...)}} {
		for _, i := range tc.seqs {
			data, err := f.log.TLogProof(i, tc.signed)
			if err != nil {
				t.Fatal(err)
			}
			p, err := shared.ParseProof(data)
			if err != nil {
				t.Fatal(err)
			}
			e, _ := f.log.Entry(i)
			if _, err := shared.VerifyProof(p, tlog.RecordHash(e), v); err != nil {
				t.Fatalf("entry %d: %v", i, err)
			}
		}
	}
	c1, _ := shared.SplitSigned(first)
	c2, _ := shared.SplitSigned(second)
	cp, err := f.log.ConsistencyProof(c1.Size, c2.Size)
	if err != nil {
		t.Fatal(err)
	}
	if err := cp.Verify(c1, c2); err != nil {
		t.Fatal(err)
	}
	if _, err := f.log.TLogProof(c1.Size, first); err == nil {
		t.Fatal("proof for an entry outside the checkpoint")
	}
	if _, err := f.log.InclusionProof(0, c2.Size+1); err == nil {
		t.Fatal("inclusion proof in a tree larger than the log")
	}
	ip, err := f.log.InclusionProof(3, c2.Size)
	if err != nil {
		t.Fatal(err)
	}
	e3, _ := f.log.Entry(3)
	if err := tlog.CheckRecord(ip, c2.Size, c2.Root, 3, tlog.RecordHash(e3)); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	dst.Close()
}

// TestRestoredBackupCannotFork is Sunlight's lesson: after a database is
// restored from an older backup the appliance refuses to sign, whether the
// log is behind the last checkpoint (rollback) or has since diverged (fork).
func TestRestoredBackupCannotFork(t *testing.T) {
	f := newFixture(t)
	f.setup(t)
	f.ceremony(t, "b1", 2, 0)
	backup := filepath.Join(f.dir, "backup.db")
	f.db.Close()
	copyFile(t, f.dbPath, backup)
	f.open(t)
	f.ceremony(t, "b2", 3, 10) // signed: size 13

	// Restore the backup (size 7, its own latest checkpoint of size 7); the
	// mirror file outside the database still holds the size-13 checkpoint.
	f.db.Close()
	copyFile(t, backup, f.dbPath)
	f.open(t)
	_, err := f.log.Checkpoint(f.signer)
	if !errors.Is(err, ErrRollback) || !strings.Contains(err.Error(), "mirror file") {
		t.Fatalf("checkpoint after restore: %v, want ErrRollback naming the mirror", err)
	}
	// Appending different entries until the log is larger: now a fork.
	for k := 0; k < 7; k++ {
		if _, err := f.log.Append(dac(100+k, "line-1", "b9")); err != nil {
			t.Fatal(err)
		}
	}
	_, err = f.log.Checkpoint(f.signer)
	if !errors.Is(err, ErrFork) {
		t.Fatalf("checkpoint of diverged log: %v, want ErrFork", err)
	}
	if latest, _ := f.log.Latest(); latest != nil {
		if c, _ := shared.SplitSigned(latest); c.Size != 7 {
			t.Fatalf("a checkpoint was signed anyway: %v", c)
		}
	}
}

func TestDamagedStoreRefusesToSign(t *testing.T) {
	f := newFixture(t)
	f.setup(t)
	f.ceremony(t, "b1", 2, 0) // 7 entries, checkpointed
	// A stored interior hash (entries 0..3) changes: the tree no longer
	// extends the checkpoint it signed.
	f.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket([]byte(BucketHashes))
		k := be64(tlog.StoredHashIndex(2, 0))
		v := append([]byte(nil), b.Get(k)...)
		v[0] ^= 1
		return b.Put(k, v)
	})
	f.log.Append(dac(50, "line-1", "b2"))
	if _, err := f.log.Checkpoint(f.signer); !errors.Is(err, ErrFork) {
		t.Fatalf("damaged interior hash: %v, want ErrFork", err)
	}

	g := newFixture(t)
	g.setup(t)
	g.ceremony(t, "b1", 2, 0)
	g.log.Append(dac(50, "line-1", "b2"))
	// An entry appended since the checkpoint is edited in place.
	g.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket([]byte(BucketEntries))
		v := strings.Replace(string(b.Get(be64(7))), `"b2"`, `"b3"`, 1)
		return b.Put(be64(7), []byte(v))
	})
	if _, err := g.log.Checkpoint(g.signer); !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "entry 7") {
		t.Fatalf("edited entry: %v, want ErrDamaged naming entry 7", err)
	}
	// A different key name is refused.
	h := newFixture(t)
	h.setup(t)
	h.ceremony(t, "b1", 1, 0)
	h.log.Append(dac(50, "line-1", "b2"))
	other, _ := shared.NoteSigner("other.origin", ed25519.NewKeyFromSeed(make([]byte, 32)))
	if _, err := h.log.Checkpoint(other); !errors.Is(err, ErrOriginChanged) {
		t.Fatalf("origin change: %v, want ErrOriginChanged", err)
	}
}

func TestConcurrentAppends(t *testing.T) {
	f := newFixture(t)
	f.setup(t)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < 10; k++ {
				if _, err := f.log.Append(&shared.PolicyChanged{PolicySHA256: h(g, k)}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if _, err := f.log.Checkpoint(f.signer); err != nil {
		t.Fatal(err)
	}
	if n, _ := f.log.Size(); n != 42 {
		t.Fatalf("size %d", n)
	}
}

// TestProverMatchesTLogProof: one Prover (cached hashes, a tiny cache that
// keeps being emptied, inside a caller's transaction or its own) writes the
// same proofs as TLogProof, in any order, and refuses what TLogProof refuses.
func TestProverMatchesTLogProof(t *testing.T) {
	defer func(n int) { proverCacheMax = n }(proverCacheMax)
	proverCacheMax = 5
	f := newFixture(t)
	f.setup(t)
	_, seqs1 := f.ceremony(t, "b1", 7, 0)
	signed, seqs2 := f.ceremony(t, "b2", 9, 7)
	seqs := append(seqs1, seqs2...)
	p, err := f.log.NewProver(signed)
	if err != nil {
		t.Fatal(err)
	}
	order := append(append([]int64(nil), seqs...), seqs[len(seqs)-1], seqs[0], seqs[3])
	for n, i := range order {
		want, err := f.log.TLogProof(i, signed)
		if err != nil {
			t.Fatal(err)
		}
		var got []byte
		if n%2 == 0 {
			got, err = p.Proof(nil, i)
		} else {
			err = f.db.View(func(tx *bbolt.Tx) (err error) { got, err = p.Proof(tx, i); return err })
		}
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("entry %d: prover gave %q (%v), TLogProof %q", i, got, err, want)
		}
	}
	if _, err := p.Proof(nil, p.Size()); err == nil {
		t.Error("proof of an entry outside the checkpoint")
	}
	if _, err := f.log.NewProver([]byte("not a checkpoint")); err == nil {
		t.Error("prover for garbage")
	}
}
