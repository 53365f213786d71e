package applog

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/note"

	shared "github.com/dacline/dacline/shared/auditlog"
)

// memAnchor is an Anchor outside the database, as the token's data object
// is: restoring the database does not restore it.
type memAnchor struct{ signed []byte }

func (a *memAnchor) Load() ([]byte, error)     { return a.signed, nil }
func (a *memAnchor) Store(signed []byte) error { a.signed = append([]byte(nil), signed...); return nil }

func (f *fixture) anchored(t *testing.T, a *memAnchor) {
	t.Helper()
	var err error
	f.log, err = Open(f.db, Options{CheckpointMirror: filepath.Join(f.dir, "checkpoint"), Anchor: a})
	if err != nil {
		t.Fatal(err)
	}
}

// TestAnchorRefusesRestoredDatabase: the anchor follows every checkpoint; a
// database restored from an earlier copy (mirror file restored with it, as a
// whole-home restore does) is refused with the expected and found sizes;
// a database ahead of the anchor (killed between the commit and the anchor
// update) is accepted.
func TestAnchorRefusesRestoredDatabase(t *testing.T) {
	f := newFixture(t)
	a := &memAnchor{}
	f.anchored(t, a)
	if _, err := f.log.CheckAnchor(); err != nil {
		t.Fatalf("empty log without anchor: %v", err)
	}
	f.setup(t)
	f.anchored(t, a)
	if _, err := f.log.Checkpoint(f.signer); err != nil {
		t.Fatal(err)
	}
	f.ceremony(t, "b1", 2, 0)
	backupDB, backupMirror := filepath.Join(f.dir, "backup.db"), filepath.Join(f.dir, "backup.mirror")
	f.db.Close()
	copyFile(t, f.dbPath, backupDB)
	copyFile(t, filepath.Join(f.dir, "checkpoint"), backupMirror)
	f.open(t)
	f.anchored(t, a)
	f.ceremony(t, "b2", 3, 10)
	want, _ := shared.SplitSigned(a.signed)
	if st, err := f.log.CheckAnchor(); err != nil || st.Anchored.Size != want.Size {
		t.Fatalf("current home: %+v %v", st, err)
	}

	// Whole-home restore: database and mirror file from the backup.
	f.db.Close()
	copyFile(t, backupDB, f.dbPath)
	copyFile(t, backupMirror, filepath.Join(f.dir, "checkpoint"))
	f.open(t)
	f.anchored(t, a)
	n, _ := f.log.Size()
	_, err := f.log.CheckAnchor()
	if !errors.Is(err, ErrBehindAnchor) || !strings.Contains(err.Error(), "at least 13 entries") || !strings.Contains(err.Error(), "has 7") || n != 7 || want.Size != 13 {
		t.Fatalf("restored home: %v (size %d, anchor %d)", err, n, want.Size)
	}
	// Appending past the anchored size does not help: the log forked.
	for k := 0; k < 8; k++ {
		f.log.Append(dac(200+k, "line-1", "b9"))
	}
	if _, err := f.log.CheckAnchor(); !errors.Is(err, ErrBehindAnchor) {
		t.Fatalf("forked log: %v", err)
	}
	if _, err := f.log.Checkpoint(f.signer); err == nil {
		t.Fatal("forked log signed a checkpoint")
	}

	// A deleted anchor does not bypass the check.
	if _, err := Open(f.db, Options{Anchor: &memAnchor{}}); err != nil {
		t.Fatal(err)
	}
	l, _ := Open(f.db, Options{Anchor: &memAnchor{}})
	if _, err := l.CheckAnchor(); !errors.Is(err, ErrNoAnchor) {
		t.Fatalf("no anchor: %v", err)
	}
	if _, err := l.Checkpoint(f.signer); !errors.Is(err, ErrNoAnchor) {
		t.Fatalf("checkpoint without anchor: %v", err)
	}
}

// TestAnchorBehindHomeIsAccepted: killed after the database commit and
// before the anchor update, the home is newer than the anchor.
func TestAnchorBehindHomeIsAccepted(t *testing.T) {
	f := newFixture(t)
	a := &memAnchor{}
	f.setup(t)
	f.anchored(t, a)
	f.ceremony(t, "b1", 2, 0)
	old := append([]byte(nil), a.signed...)
	f.ceremony(t, "b2", 2, 10)
	a.signed = old // the anchor update of the second checkpoint never happened
	if _, err := f.log.CheckAnchor(); err != nil {
		t.Fatalf("home ahead of the anchor: %v", err)
	}
	f.log.Append(dac(99, "line-1", "b3"))
	if _, err := f.log.Checkpoint(f.signer); err != nil {
		t.Fatal(err)
	}
	if c, _ := shared.SplitSigned(a.signed); c.Size != 13 {
		t.Fatalf("anchor not repaired: size %d", c.Size)
	}
}

// TestRestoreTailCatchesUpWithAnchor: a log export made after the backup
// brings back exactly the missing entries, byte for byte; an export that
// does not continue the home's log changes nothing.
func TestRestoreTailCatchesUpWithAnchor(t *testing.T) {
	f := newFixture(t)
	a := &memAnchor{}
	f.setup(t)
	f.anchored(t, a)
	f.ceremony(t, "b1", 2, 0)
	backupDB := filepath.Join(f.dir, "backup.db")
	f.db.Close()
	copyFile(t, f.dbPath, backupDB)
	f.open(t)
	f.anchored(t, a)
	f.ceremony(t, "b2", 3, 10)
	exp := filepath.Join(f.dir, "export")
	if _, err := f.log.ExportDir(exp, f.signer); err != nil {
		t.Fatal(err)
	}
	var entries [][]byte
	n, _ := f.log.Size()
	f.log.ForEach(0, n, func(_ int64, e []byte) error { entries = append(entries, append([]byte(nil), e...)); return nil })

	f.db.Close()
	copyFile(t, backupDB, f.dbPath)
	f.open(t)
	f.anchored(t, a)
	x, err := shared.OpenExport(exp)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := note.NewVerifier(f.vkey)
	var seen []shared.Type
	res, err := f.log.RestoreTail(x, v, func(_ *bbolt.Tx, e shared.Entry) error { seen = append(seen, e.EntryType()); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if res.Before != 7 || res.After != n || len(seen) != int(n-7) || seen[0] != shared.TypeCeremonyStarted {
		t.Fatalf("restore %+v, entries %v", res, seen)
	}
	for i, want := range entries {
		got, _ := f.log.Entry(int64(i))
		if string(got) != string(want) {
			t.Fatalf("entry %d restored as %s, was %s", i, got, want)
		}
	}
	if _, err := f.log.CheckAnchor(); err != nil {
		t.Fatalf("after restore: %v", err)
	}
	if _, err := f.log.Checkpoint(f.signer); err != nil {
		t.Fatalf("checkpoint after restore: %v", err)
	}

	// Another appliance's history (a diverged log) is refused whole.
	g := newFixture(t)
	g.setup(t)
	g.ceremony(t, "zz", 4, 50)
	g.ceremony(t, "zy", 4, 60)
	before, _ := g.log.Size()
	if _, err := g.log.RestoreTail(x, v, func(*bbolt.Tx, shared.Entry) error { return nil }); !errors.Is(err, ErrRestoreMismatch) {
		t.Fatalf("diverged log: %v", err)
	}
	if after, _ := g.log.Size(); after != before {
		t.Fatalf("a refused restore changed the log: %d → %d", before, after)
	}
}
