package applog

import (
	"bytes"
	"errors"
	"fmt"

	"go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/dacline/dacline/shared/auditlog"
)

// ErrRestoreMismatch: the export does not continue this home's log (an
// entry both hold differs, or the export's entries do not hash to its own
// checkpoint).
var ErrRestoreMismatch = errors.New("log export does not continue this home's log")

// RestoreResult says what RestoreTail did.
type RestoreResult struct {
	Before, After int64               // log size before and after
	Checkpoint    auditlog.Checkpoint // the export's newest checkpoint
}

// RestoreTail brings back the entries a restored home lost, from a log
// export of the same appliance: every entry the home holds must be the
// export's entry at that place (same leaf hash), the export's newest
// checkpoint must verify with v (the appliance's own key) and its root must
// be the root of the log once extended; then the entries after the home's
// last one, up to that checkpoint, are appended byte for byte (their seq
// must be their place), each handed to onEntry in the same transaction (the
// caller rebuilds its own state from them), and that checkpoint becomes the
// database's latest. All in one transaction: a failure changes nothing.
// Entries past the export's newest checkpoint are not restored: nothing
// vouches for them.
func (l *Log) RestoreTail(x *auditlog.ExportDir, v note.Verifier, onEntry func(tx *bbolt.Tx, e auditlog.Entry) error) (*RestoreResult, error) {
	var latest []byte
	var cp auditlog.Checkpoint
	for _, f := range x.Checkpoints {
		c, err := auditlog.OpenCheckpoint(f.Data, v)
		if err != nil {
			return nil, fmt.Errorf("log restore: %s: %s: %w", x.Name, f.Name, err)
		}
		if latest == nil || c.Size > cp.Size {
			latest, cp = f.Data, c
		}
	}
	if latest == nil {
		return nil, fmt.Errorf("log restore: %s holds no checkpoint", x.Name)
	}
	res := &RestoreResult{Checkpoint: cp}
	err := l.db.Update(func(tx *bbolt.Tx) error {
		eb, hb := tx.Bucket([]byte(BucketEntries)), tx.Bucket([]byte(BucketHashes))
		n := sizeTx(tx)
		res.Before, res.After = n, n
		hr := hashReader{hb}
		err := x.Entries(func(line []byte, i int64) error {
			if i >= cp.Size {
				return errStopScan
			}
			if i < n {
				leaf, err := hr.ReadHashes([]int64{tlog.StoredHashIndex(0, i)})
				if err != nil {
					return err
				}
				if tlog.RecordHash(line) != leaf[0] {
					return fmt.Errorf("%w: entry %d differs from the home's entry %d (was something appended to the restored home?)", ErrRestoreMismatch, i, i)
				}
				return nil
			}
			e, err := auditlog.ParseEntry(line)
			if err != nil {
				return fmt.Errorf("%s line %d: %w", x.Name, i+1, err)
			}
			if e.Header().Seq != i {
				return fmt.Errorf("%w: line %d holds seq %d", ErrRestoreMismatch, i+1, e.Header().Seq)
			}
			if err := appendRaw(eb, hb, i, bytes.Clone(line)); err != nil {
				return err
			}
			if err := onEntry(tx, e); err != nil {
				return fmt.Errorf("entry %d (%s): %w", i, e.EntryType(), err)
			}
			res.After = i + 1
			return nil
		})
		if err != nil && !errors.Is(err, errStopScan) {
			return err
		}
		if res.After < cp.Size && n < cp.Size {
			return fmt.Errorf("%w: its checkpoint covers %d entries, it holds %d", ErrRestoreMismatch, cp.Size, res.After)
		}
		if n >= cp.Size {
			return nil // nothing to bring back from this export
		}
		root, err := tlog.TreeHash(cp.Size, hr)
		if err != nil {
			return err
		}
		if root != cp.Root {
			return fmt.Errorf("%w: the restored entries do not hash to the export's checkpoint %s", ErrRestoreMismatch, cp)
		}
		// The export's checkpoints newer than the home's join its history,
		// in signing order; its newest becomes the latest and, as this
		// export was the last one made, the last export's.
		cb := tx.Bucket([]byte(BucketCheckpoint))
		var have int64
		if cur := cb.Get(keyLatest); cur != nil {
			c, _ := auditlog.SplitSigned(cur)
			have = c.Size
		}
		for _, f := range x.Checkpoints {
			c, _ := auditlog.SplitSigned(f.Data)
			if c.Size <= have {
				continue
			}
			seq, err := cb.NextSequence()
			if err != nil {
				return err
			}
			if err := cb.Put(historyKey(int64(seq)), bytes.Clone(f.Data)); err != nil {
				return err
			}
		}
		if err := cb.Put(keyLatest, latest); err != nil {
			return err
		}
		return cb.Put(keyLastExport, latest)
	})
	if err != nil {
		return nil, fmt.Errorf("log restore: %w", err)
	}
	if res.After > res.Before {
		if err := l.writeMirror(latest); err != nil {
			return res, err
		}
	}
	return res, nil
}

var errStopScan = errors.New("stop")
