package station

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"go.etcd.io/bbolt"
)

// Recovery an operator can do: cancel a batch the appliance refused, retry a
// module that failed for a transient cause. Both are logged in the store —
// the cancelled batch's record keeps its modules, time and reason; every
// retry is kept in the retries bucket — so the station record tells what was
// done and why.

// BatchCancelled: the batch was cancelled (CancelBatch); its modules went
// back to key-generated with the same CSR, and nothing it returns is taken.
const BatchCancelled BatchState = "cancelled"

// Errors of recovery.
var (
	ErrNotRetriable = errors.New("module may not be retried")
	ErrCancel       = errors.New("batch may not be cancelled")
)

// CancelRecord is what a cancelled batch's record keeps.
type CancelRecord struct {
	At      time.Time `json:"at"`
	Reason  string    `json:"reason"`
	Modules []string  `json:"modules"` // the modules sent back to key-generated
}

// CheckReasonText checks an operator's reason: one line, 1..200 printable
// characters.
func CheckReasonText(s string) error {
	s = strings.TrimSpace(s)
	if s == "" {
		return errors.New("reason is empty")
	}
	if len(s) > 200 {
		return fmt.Errorf("reason is %d bytes, at most 200", len(s))
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("reason holds the non-printable character %q", r)
		}
	}
	return nil
}

// CancelBatch ("cancel-batch") takes back a batch the appliance refused as a
// whole. A batch not answered yet (pending-write or written): every module
// of it goes back from exported to key-generated with the same CSR. A batch
// answered with refusals only (no DAC issued): its modules refused by the
// appliance go back the same way. Either way the batch becomes cancelled:
// a return bundle for it is refused at import, and the modules leave in the
// next export, or several with --limit. A batch for which a DAC was issued is
// never cancelled.
func (s *Store) CancelBatch(id, reason string) (*Batch, error) {
	if err := CheckReasonText(reason); err != nil {
		return nil, fmt.Errorf("cancel-batch (batch %s): %w", id, err)
	}
	var out *Batch
	err := safeUpdate(s.db, func(tx *bbolt.Tx) error {
		b, err := getBatch(tx, id)
		if err != nil {
			return err
		}
		var want func(m *Module) bool
		switch {
		case b.State == BatchCancelled:
			return fmt.Errorf("%w: it was cancelled at %s", ErrCancel, b.Cancel.At.Format(time.RFC3339))
		case b.State == BatchConsumed && b.DACs > 0:
			return fmt.Errorf("%w: the appliance issued %d DACs for it (bundle %s); they are in the store", ErrCancel, b.DACs, b.ReturnID)
		case b.State == BatchConsumed:
			want = func(m *Module) bool {
				return m.State == StateFailed && m.FailedFrom == StateExported && m.Reason == ReasonRefusedByAppliance && m.DACSerial == ""
			}
		default:
			want = func(m *Module) bool { return m.State == StateExported }
		}
		macs, err := batchMembers(tx, id)
		if err != nil {
			return err
		}
		now := s.now()
		rec := &CancelRecord{At: now, Reason: strings.TrimSpace(reason)}
		for _, mac := range macs {
			m, err := getModule(tx, mac)
			if err != nil {
				return err
			}
			if !want(m) {
				continue
			}
			old := m.State
			m.State, m.BatchID, m.ExportedAt, m.UpdatedAt = StateKeyGenerated, "", time.Time{}, now
			m.FailedFrom, m.Reason, m.Detail, m.FailedAt = StateUnknown, "", "", time.Time{}
			if err := reindex(tx, mac, old, id, m); err != nil {
				return err
			}
			if err := putModule(tx, m); err != nil {
				return err
			}
			rec.Modules = append(rec.Modules, mac)
		}
		if len(rec.Modules) == 0 {
			return fmt.Errorf("%w: none of its modules can go back to waiting", ErrCancel)
		}
		b.State, b.Cancel = BatchCancelled, rec
		out = b
		return putBatch(tx, b)
	})
	if err != nil {
		return nil, fmt.Errorf("cancel-batch (batch %s): %w", id, err)
	}
	return out, nil
}

func batchMembers(tx *bbolt.Tx, id string) ([]string, error) {
	prefix := batchIndexKey(id, "")
	var macs []string
	c := tx.Bucket(bucketByBatch).Cursor()
	for k, _ := c.Seek(prefix); k != nil && len(k) >= len(prefix) && string(k[:len(prefix)]) == string(prefix); k, _ = c.Next() {
		macs = append(macs, string(k[len(prefix):]))
	}
	return macs, nil
}

// bucketRetries keeps every retry of a module: mac → JSON []Retry. Created
// by the first retry (stores made before it open unchanged), like
// labels-printed, and not one of allBuckets.
var bucketRetries = []byte("retries")

// Retry is one operator retry of a failed module.
type Retry struct {
	At         time.Time `json:"at"`
	Reason     string    `json:"reason"`      // the operator's
	Failed     Reason    `json:"failed"`      // the failure it undid
	FailedFrom State     `json:"failed_from"` // the state it went back to
	Detail     string    `json:"detail,omitempty"`
}

// retriable are the failures a retry may undo: those where the module holds
// only what this station wrote to it, for this module (its own key, its own
// DAC, confirmed by digest), and the fault was the jig's or the line's. A
// failure that may mean the module carries another chip's key or
// credentials (lying-module, foreign-module, duplicate-key, key-lost,
// credentials-mismatch, attestation-failed, dac-rejected) is never retried;
// refused-by-appliance and not-returned are undone with CancelBatch.
var retriable = map[Reason]bool{
	ReasonLockFailed: true,
}

// Retriable reports whether a failure with this reason may be retried.
func Retriable(r Reason) bool { return retriable[r] }

// RetryModule ("retry-module") puts a failed module back into the state it
// failed from, so the next time it is on a jig the station takes the step
// again. Only a retriable failure, and never twice for the same reason
// text: each retry needs a new reason (compared without case and spacing).
func (s *Store) RetryModule(mac, reason string) (*Module, error) {
	if err := CheckReasonText(reason); err != nil {
		return nil, fmt.Errorf("retry-module (%s): %w", mac, err)
	}
	reason = strings.TrimSpace(reason)
	var out *Module
	err := safeUpdate(s.db, func(tx *bbolt.Tx) error {
		m, err := getModule(tx, mac)
		if err != nil {
			return err
		}
		if m.State != StateFailed {
			return fmt.Errorf("%w: it is %s, not failed", ErrNotRetriable, m.State)
		}
		if !retriable[m.Reason] {
			return fmt.Errorf("%w: it failed %s, which a retry never undoes (%s)", ErrNotRetriable, m.Reason, whyNot(m.Reason))
		}
		if m.FailedFrom != StateLocking && m.FailedFrom != StateLocked {
			return fmt.Errorf("%w: it failed %s from %s, not while locking", ErrNotRetriable, m.Reason, m.FailedFrom)
		}
		b, err := tx.CreateBucketIfNotExists(bucketRetries)
		if err != nil {
			return err
		}
		var past []Retry
		if v := b.Get([]byte(mac)); v != nil {
			if err := json.Unmarshal(v, &past); err != nil {
				return fmt.Errorf("%w: retries of %s: %v", ErrCorrupt, mac, err)
			}
		}
		for _, p := range past {
			if sameReason(p.Reason, reason) {
				return fmt.Errorf("%w: it was retried for %q at %s already; a new retry needs a new reason", ErrNotRetriable, p.Reason, p.At.Format(time.RFC3339))
			}
		}
		now := s.now()
		past = append(past, Retry{At: now, Reason: reason, Failed: m.Reason, FailedFrom: m.FailedFrom, Detail: m.Detail})
		v, err := json.Marshal(past)
		if err != nil {
			return err
		}
		if err := b.Put([]byte(mac), v); err != nil {
			return err
		}
		m.State, m.UpdatedAt = m.FailedFrom, now
		m.FailedFrom, m.Reason, m.Detail, m.FailedAt = StateUnknown, "", "", time.Time{}
		if err := reindex(tx, mac, StateFailed, m.BatchID, m); err != nil {
			return err
		}
		out = m
		return putModule(tx, m)
	})
	if err != nil {
		return nil, fmt.Errorf("retry-module (%s): %w", mac, err)
	}
	return out, nil
}

// Retries returns the retries of a module, oldest first.
func (s *Store) Retries(mac string) ([]Retry, error) {
	var out []Retry
	err := safeView(s.db, func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketRetries)
		if b == nil {
			return nil
		}
		if v := b.Get([]byte(mac)); v != nil {
			if err := json.Unmarshal(v, &out); err != nil {
				return fmt.Errorf("%w: retries of %s: %v", ErrCorrupt, mac, err)
			}
		}
		return nil
	})
	return out, err
}

func sameReason(a, b string) bool {
	return strings.EqualFold(strings.Join(strings.Fields(a), " "), strings.Join(strings.Fields(b), " "))
}

func whyNot(r Reason) string {
	switch r {
	case ReasonRefusedByAppliance, ReasonNotReturned:
		return "no DAC came back: cancel its batch with 'lineclient batch cancel' instead"
	case ReasonLyingModule, ReasonForeignModule, ReasonDuplicateKey, ReasonKeyLost, ReasonCredentialsMismatch, ReasonAttestationFailed, ReasonDACRejected:
		return "the module may carry another chip's key or credentials"
	}
	return "not a transient cause"
}
