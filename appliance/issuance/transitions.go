package issuance

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.etcd.io/bbolt"
)

// The ceremony's life, one named transition per durable step. Each runs in
// the caller's read-write transaction (so the audit entries that describe it
// commit with it), reads the stored record, checks the state it moves from
// and writes the next. Nothing else writes a ceremony record.
//
//	(none) ──start──▶ issuing ──commit-chunk──▶ issuing
//	issuing ──complete-issuance──▶ issued
//	issued|finished ──seal-bundle──▶ (same state, pending output hash)
//	issued ──finish──▶ finished ──finish──▶ finished (another copy)
//	issuing|issued ──abandon──▶ abandoned
//
// An abandoned ceremony is final: its batch is never resumed and its
// reservations are released.

// StateAbandoned: the officer ended an unfinished ceremony ("abandon"); its
// issued DACs were never delivered and are listed for revocation.
const StateAbandoned = "abandoned"

// ErrTransition is returned when a ceremony is not in a state the named
// transition may start from.
var ErrTransition = errors.New("ceremony transition not allowed")

// ErrKeyReserved is returned by PutDAC for a key that an unfinished ceremony
// of another batch has reserved.
var ErrKeyReserved = errors.New("public key reserved by an unfinished ceremony")

// transition is the one place a ceremony record changes: it loads batchID's
// record, checks its state is one of from, applies fn and stores the result.
func transition(tx *bbolt.Tx, name, batchID string, from []string, fn func(c *Ceremony) error) (*Ceremony, error) {
	c, err := GetCeremony(tx, batchID)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if !slices.Contains(from, c.State) {
		return nil, fmt.Errorf("%s: batch %s: %w from state %s (allowed from %v)", name, batchID, ErrTransition, c.State, from)
	}
	if err := fn(c); err != nil {
		return nil, fmt.Errorf("%s: batch %s: %w", name, batchID, err)
	}
	if err := putCeremony(tx, c); err != nil {
		return nil, err
	}
	return c, nil
}

// StartCeremony is the transition "start": it records a new ceremony in state
// issuing and reserves the keys of its accepted CSRs, so that no other batch
// can certify them while it is unfinished. A batch ID that already has a
// ceremony is refused: start happens once per batch.
func StartCeremony(tx *bbolt.Tx, c *Ceremony, reserve [][32]byte) error {
	if c.BatchID == "" {
		return errors.New("start: ceremony without batch id")
	}
	if _, err := GetCeremony(tx, c.BatchID); err == nil {
		return fmt.Errorf("start: batch %s: %w: a ceremony exists already", c.BatchID, ErrTransition)
	} else if !errors.Is(err, ErrNoCeremony) {
		return err
	}
	if c.State != StateIssuing || c.Issued != 0 {
		return fmt.Errorf("start: batch %s: a new ceremony starts issuing with no DAC, not %s with %d", c.BatchID, c.State, c.Issued)
	}
	if len(reserve) != c.Accepted {
		return fmt.Errorf("start: batch %s: %d keys to reserve for %d accepted CSRs", c.BatchID, len(reserve), c.Accepted)
	}
	rb, err := sub(tx, bucketReserved)
	if err != nil {
		return err
	}
	// Sorted, the reservations append to the B+tree instead of splitting
	// random pages.
	keys := slices.Clone(reserve)
	slices.SortFunc(keys, func(a, b [32]byte) int { return compare32(a, b) })
	for _, k := range keys {
		if owner := rb.Get(k[:]); owner != nil && string(owner) != c.BatchID {
			return fmt.Errorf("start: batch %s: key %x: %w (batch %s)", c.BatchID, k[:8], ErrKeyReserved, owner)
		}
		if err := rb.Put(k[:], []byte(c.BatchID)); err != nil {
			return fmt.Errorf("start: batch %s: reserve key %x: %w", c.BatchID, k[:8], err)
		}
	}
	return putCeremony(tx, c)
}

func compare32(a, b [32]byte) int {
	for i := range a {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

// CommitChunk is the transition "commit-chunk": n more DACs of the batch were
// put into the store (PutDAC, same transaction). The count may never pass the
// accepted CSRs.
func CommitChunk(tx *bbolt.Tx, batchID string, n int) (*Ceremony, error) {
	return transition(tx, "commit-chunk", batchID, []string{StateIssuing}, func(c *Ceremony) error {
		if n < 1 || c.Issued+n > c.Accepted {
			return fmt.Errorf("%d DACs issued, %d more would pass the %d accepted CSRs", c.Issued, n, c.Accepted)
		}
		c.Issued += n
		return nil
	})
}

// CompleteIssuance is the transition "complete-issuance": every accepted CSR
// has its DAC, and the signed checkpoint covering them is recorded.
func CompleteIssuance(tx *bbolt.Tx, batchID string, checkpoint string, size uint64, at time.Time) (*Ceremony, error) {
	return transition(tx, "complete-issuance", batchID, []string{StateIssuing}, func(c *Ceremony) error {
		if c.Issued != c.Accepted {
			return fmt.Errorf("%d DACs issued for %d accepted CSRs", c.Issued, c.Accepted)
		}
		if checkpoint == "" || size == 0 {
			return errors.New("no checkpoint")
		}
		c.State, c.Checkpoint, c.CheckpointSize, c.IssuedAt = StateIssued, checkpoint, size, at
		return nil
	})
}

// SealBundle is the transition "seal-bundle": a return bundle with this file
// hash is about to be renamed into place ("record, act, record").
func SealBundle(tx *bbolt.Tx, batchID, fileSHA256 string) (*Ceremony, error) {
	return transition(tx, "seal-bundle", batchID, []string{StateIssued, StateFinished}, func(c *Ceremony) error {
		if fileSHA256 == "" {
			return errors.New("no bundle hash")
		}
		c.PendingOutputSHA256 = fileSHA256
		return nil
	})
}

// Delivery is what FinishCeremony records about a return bundle on the medium.
type Delivery struct {
	FileName, FileSHA256 string
	// ContentSHA256 is the manifest hash; "" when the bundle was found on the
	// medium after a crash (the hash recorded at the first write stays).
	ContentSHA256 string
	At            time.Time
}

// FinishCeremony is the transition "finish": a return bundle is on the
// medium. The first time it moves issued → finished; a finished ceremony
// written again records the copy. It reports whether this was the first.
func FinishCeremony(tx *bbolt.Tx, batchID string, d Delivery) (c *Ceremony, first bool, err error) {
	c, err = transition(tx, "finish", batchID, []string{StateIssued, StateFinished}, func(c *Ceremony) error {
		c.PendingOutputSHA256 = ""
		if c.State == StateIssued {
			first = true
			c.State, c.OutputName, c.OutputSHA256, c.FinishedAt = StateFinished, d.FileName, d.FileSHA256, d.At
			if d.ContentSHA256 != "" {
				c.ContentSHA256 = d.ContentSHA256
			}
			return nil
		}
		if d.FileSHA256 != c.OutputSHA256 && !slices.Contains(c.OutputCopies, d.FileSHA256) {
			c.OutputCopies = append(slices.Clone(c.OutputCopies), d.FileSHA256)
		}
		return nil
	})
	return c, first, err
}

// Abandonment is what AbandonCeremony records.
type Abandonment struct {
	Officer, Reason string
	At              time.Time
}

// AbandonCeremony is the transition "abandon": the officer ends an unfinished
// ceremony. Its reservations are released (their keys may be certified in
// another batch); the DACs it issued stay in the store — a key is certified
// at most once, even by a DAC that was never delivered — and are listed for
// revocation by the caller.
func AbandonCeremony(tx *bbolt.Tx, batchID string, a Abandonment) (*Ceremony, error) {
	c, err := transition(tx, "abandon", batchID, []string{StateIssuing, StateIssued}, func(c *Ceremony) error {
		if a.Reason == "" {
			return errors.New("a reason is required")
		}
		// PendingOutputSHA256 stays: a return bundle sealed before the
		// abandon may be on a stick, and the officer must be told.
		c.State, c.AbandonedAt, c.AbandonedBy, c.AbandonReason = StateAbandoned, a.At, a.Officer, a.Reason
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := releaseReservations(tx, batchID); err != nil {
		return nil, err
	}
	return c, nil
}

// releaseReservations deletes every reservation held by batchID.
func releaseReservations(tx *bbolt.Tx, batchID string) error {
	rb, err := sub(tx, bucketReserved)
	if err != nil {
		return err
	}
	var mine [][]byte
	err = rb.ForEach(func(k, v []byte) error {
		if string(v) == batchID {
			mine = append(mine, append([]byte(nil), k...))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range mine {
		if err := rb.Delete(k); err != nil {
			return fmt.Errorf("abandon: batch %s: release key %x: %w", batchID, k[:8], err)
		}
	}
	return nil
}

// ReservedBy returns the batch whose unfinished ceremony reserved the key
// with this SPKI hash, or "".
func ReservedBy(tx *bbolt.Tx, spki [32]byte) (string, error) {
	rb, err := sub(tx, bucketReserved)
	if err != nil {
		return "", err
	}
	return string(rb.Get(spki[:])), nil
}

// StationReserved returns how many DACs the station's unfinished ceremonies
// may still issue (accepted CSRs without a DAC yet): with StationIssued, what
// counts against the station's quota.
func StationReserved(tx *bbolt.Tx, station string) (uint64, error) {
	var n uint64
	err := Ceremonies(tx, func(c *Ceremony) error {
		if c.Station == station && c.State == StateIssuing && c.Accepted > c.Issued {
			n += uint64(c.Accepted - c.Issued)
		}
		return nil
	})
	return n, err
}

// putCeremony writes a ceremony record; only the transitions call it.
func putCeremony(tx *bbolt.Tx, c *Ceremony) error {
	b, err := sub(tx, bucketCeremonies)
	if err != nil {
		return err
	}
	v, err := json.Marshal(c)
	if err != nil {
		return err
	}
	if err := b.Put([]byte(c.BatchID), v); err != nil {
		return fmt.Errorf("issuance store: ceremony %s: %w", c.BatchID, err)
	}
	return nil
}
