package issuance

import (
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"go.etcd.io/bbolt"
)

func key(s string) [32]byte { return sha256.Sum256([]byte(s)) }

func startTwo(t *testing.T, db *bbolt.DB) {
	t.Helper()
	err := db.Update(func(tx *bbolt.Tx) error {
		return StartCeremony(tx, &Ceremony{BatchID: "b1", Station: "line-1", State: StateIssuing, Accepted: 2}, [][32]byte{key("k1"), key("k2")})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestTransitionsCheckTheirFromState walks a ceremony through its life and
// tries every transition from a state it may not start from.
func TestTransitionsCheckTheirFromState(t *testing.T) {
	db := openDB(t)
	startTwo(t, db)
	step := func(name string, fn func(tx *bbolt.Tx) error, want error) {
		t.Helper()
		err := db.Update(fn)
		if want == nil && err != nil || want != nil && !errors.Is(err, want) {
			t.Fatalf("%s: got %v, want %v", name, err, want)
		}
	}
	now := time.Unix(100, 0).UTC()
	step("start again", func(tx *bbolt.Tx) error {
		return StartCeremony(tx, &Ceremony{BatchID: "b1", State: StateIssuing}, nil)
	}, ErrTransition)
	step("seal while issuing", func(tx *bbolt.Tx) error { _, err := SealBundle(tx, "b1", "aa"); return err }, ErrTransition)
	step("finish while issuing", func(tx *bbolt.Tx) error {
		_, _, err := FinishCeremony(tx, "b1", Delivery{FileSHA256: "aa"})
		return err
	}, ErrTransition)
	step("commit 2", func(tx *bbolt.Tx) error {
		c, err := CommitChunk(tx, "b1", 2)
		if err == nil && c.Issued != 2 {
			t.Errorf("issued %d", c.Issued)
		}
		return err
	}, nil)
	step("complete", func(tx *bbolt.Tx) error { _, err := CompleteIssuance(tx, "b1", "cp", 9, now); return err }, nil)
	step("commit after complete", func(tx *bbolt.Tx) error { _, err := CommitChunk(tx, "b1", 1); return err }, ErrTransition)
	step("seal", func(tx *bbolt.Tx) error { _, err := SealBundle(tx, "b1", "aa"); return err }, nil)
	step("finish", func(tx *bbolt.Tx) error {
		_, first, err := FinishCeremony(tx, "b1", Delivery{FileName: "f", FileSHA256: "aa", At: now})
		if !first {
			t.Error("first finish not reported first")
		}
		return err
	}, nil)
	step("finish a copy", func(tx *bbolt.Tx) error {
		c, first, err := FinishCeremony(tx, "b1", Delivery{FileName: "f", FileSHA256: "bb", At: now})
		if first || len(c.OutputCopies) != 1 || c.OutputSHA256 != "aa" {
			t.Errorf("copy: first=%v %+v", first, c)
		}
		return err
	}, nil)
	step("abandon finished", func(tx *bbolt.Tx) error {
		_, err := AbandonCeremony(tx, "b1", Abandonment{Officer: "o", Reason: "r", At: now})
		return err
	}, ErrTransition)
	step("unknown batch", func(tx *bbolt.Tx) error { _, err := CommitChunk(tx, "nope", 1); return err }, ErrNoCeremony)
}

// TestCommitChunkCannotPassAccepted: the count errors of the walk above,
// asserted directly.
func TestCommitChunkCannotPassAccepted(t *testing.T) {
	db := openDB(t)
	startTwo(t, db)
	err := db.Update(func(tx *bbolt.Tx) error { _, err := CommitChunk(tx, "b1", 3); return err })
	if err == nil {
		t.Fatal("3 DACs committed for 2 accepted CSRs")
	}
	err = db.Update(func(tx *bbolt.Tx) error { _, err := CompleteIssuance(tx, "b1", "cp", 9, time.Now()); return err })
	if err == nil {
		t.Fatal("issuance completed with no DAC")
	}
}

// TestReservations: a started ceremony's keys are reserved; another batch
// cannot certify them or reserve them; the DAC's commit and abandon release
// them; abandon is final.
func TestReservations(t *testing.T) {
	db := openDB(t)
	startTwo(t, db)
	other := rec("k1", 9, 0)
	other.Batch = "b2"
	err := db.Update(func(tx *bbolt.Tx) error { return PutDAC(tx, other) })
	if !errors.Is(err, ErrKeyReserved) {
		t.Fatalf("another batch certified a reserved key: %v", err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		return StartCeremony(tx, &Ceremony{BatchID: "b2", State: StateIssuing, Accepted: 1}, [][32]byte{key("k2")})
	})
	if !errors.Is(err, ErrKeyReserved) {
		t.Fatalf("another batch reserved a reserved key: %v", err)
	}
	mine := rec("k1", 1, 0)
	mine.Batch = "b1"
	if err := db.Update(func(tx *bbolt.Tx) error {
		if err := PutDAC(tx, mine); err != nil {
			return err
		}
		_, err := CommitChunk(tx, "b1", 1)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	db.View(func(tx *bbolt.Tx) error {
		if o, _ := ReservedBy(tx, key("k1")); o != "" {
			t.Errorf("k1 still reserved by %s after its DAC", o)
		}
		if o, _ := ReservedBy(tx, key("k2")); o != "b1" {
			t.Errorf("k2 reserved by %q", o)
		}
		if n, _ := StationReserved(tx, "line-1"); n != 1 {
			t.Errorf("station reserved %d, want 1", n)
		}
		return nil
	})
	err = db.Update(func(tx *bbolt.Tx) error {
		_, err := AbandonCeremony(tx, "b1", Abandonment{Officer: "o", Reason: "station lost", At: time.Now()})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	db.View(func(tx *bbolt.Tx) error {
		if o, _ := ReservedBy(tx, key("k2")); o != "" {
			t.Errorf("k2 still reserved by %s after abandon", o)
		}
		if n, _ := StationReserved(tx, "line-1"); n != 0 {
			t.Errorf("abandoned ceremony still reserves %d", n)
		}
		return nil
	})
	err = db.Update(func(tx *bbolt.Tx) error { _, err := CommitChunk(tx, "b1", 1); return err })
	if !errors.Is(err, ErrTransition) {
		t.Fatalf("abandoned ceremony committed: %v", err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		_, err := AbandonCeremony(tx, "b1", Abandonment{Officer: "o", Reason: "again", At: time.Now()})
		return err
	})
	if !errors.Is(err, ErrTransition) {
		t.Fatalf("abandoned twice: %v", err)
	}
}
