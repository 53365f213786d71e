package applog

import (
	"errors"
	"fmt"

	"go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/dacline/dacline/shared/auditlog"
)

// The anchor: the newest signed checkpoint, kept outside the database and
// outside the home (in the token, appliance/home/anchor.go), so that a home
// restored from an older backup is recognised before anything is signed.
//
// Record, act, record: Checkpoint commits a checkpoint in the database, then
// writes the mirror file, then the anchor. A process killed in between
// leaves the home newer than the anchor, which CheckAnchor accepts (the log
// extends it) and the next checkpoint repairs. A home older than the anchor
// — or one whose log does not contain the anchored one — is refused.

// Anchor is where the newest signed checkpoint is kept outside the database.
type Anchor interface {
	// Load returns the anchored signed checkpoint, or nil when there is none.
	Load() ([]byte, error)
	// Store replaces it with signed, which extends it.
	Store(signed []byte) error
}

var (
	// ErrBehindAnchor: the log is shorter than the anchored checkpoint, or
	// does not contain it: the home was restored from an older backup.
	ErrBehindAnchor = errors.New("audit log is older than the anchor on the token")
	// ErrNoAnchor: the log has entries but the token holds no anchor.
	ErrNoAnchor = errors.New("no audit log anchor on the token")
)

// AnchorState is what CheckAnchor found.
type AnchorState struct {
	Anchored auditlog.Checkpoint // the anchored checkpoint
	LogSize  int64               // entries in the home's log
}

// CheckAnchor proves the log is not older than the anchor: its size is at
// least the anchored size and its first anchored-size entries hash to the
// anchored root (a tlog consistency proof from the anchored tree to the
// whole log). Without an anchor, a log with entries is refused (deleting the
// anchor must not bypass the check).
func (l *Log) CheckAnchor() (*AnchorState, error) {
	if l.opts.Anchor == nil {
		return nil, errors.New("audit log: no anchor configured")
	}
	signed, err := l.opts.Anchor.Load()
	if err != nil {
		return nil, err
	}
	st := &AnchorState{}
	err = l.db.View(func(tx *bbolt.Tx) error {
		st.LogSize = sizeTx(tx)
		if signed == nil {
			if st.LogSize > 0 {
				return fmt.Errorf("%w: the log has %d entries; an appliance whose log has entries always has an anchor", ErrNoAnchor, st.LogSize)
			}
			return nil
		}
		a, err := auditlog.SplitSigned(signed)
		if err != nil {
			return fmt.Errorf("audit log anchor unreadable: %w", err)
		}
		st.Anchored = a
		if st.LogSize < a.Size {
			return fmt.Errorf("%w: the token's anchor expects a log of at least %d entries (checkpoint %s), this home's log has %d",
				ErrBehindAnchor, a.Size, a, st.LogSize)
		}
		hr := hashReader{tx.Bucket([]byte(BucketHashes))}
		root, err := tlog.TreeHash(st.LogSize, hr)
		if err != nil {
			return fmt.Errorf("audit log: root of %d entries: %w", st.LogSize, err)
		}
		if err := extends(auditlog.Checkpoint{Origin: a.Origin, Size: st.LogSize, Root: root}, signed, hr); err != nil {
			return fmt.Errorf("%w: the token's anchor expects a log of at least %d entries that extends checkpoint %s; this home's log of %d entries does not (%v)",
				ErrBehindAnchor, a.Size, a, st.LogSize, err)
		}
		return nil
	})
	if err != nil {
		return st, err
	}
	return st, nil
}

// storeAnchor records signed as the anchor after Checkpoint committed it,
// unless the anchor already holds it.
func (l *Log) storeAnchor(signed []byte) error {
	if l.opts.Anchor == nil {
		return nil
	}
	cur, err := l.opts.Anchor.Load()
	if err != nil {
		return err
	}
	if string(cur) == string(signed) {
		return nil
	}
	if err := l.opts.Anchor.Store(signed); err != nil {
		return fmt.Errorf("audit log: checkpoint committed, but the token's anchor was not updated: %w", err)
	}
	return nil
}
