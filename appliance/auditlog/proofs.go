package auditlog

import (
	"fmt"

	"go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/dacline/dacline/shared/auditlog"
)

// InclusionProof proves entry index is in the tree of the first treeSize
// entries (RFC 6962 audit path, leaf's sibling first). O(log n) reads.
func (l *Log) InclusionProof(index, treeSize int64) (p tlog.RecordProof, err error) {
	err = l.db.View(func(tx *bbolt.Tx) error {
		if n := sizeTx(tx); treeSize > n || index < 0 || index >= treeSize {
			return fmt.Errorf("audit log: no inclusion proof for entry %d in a tree of %d (log has %d)", index, treeSize, n)
		}
		p, err = tlog.ProveRecord(treeSize, index, hashReader{tx.Bucket([]byte(BucketHashes))})
		return err
	})
	return p, err
}

// ConsistencyProof proves the tree of newSize entries extends the tree of
// oldSize entries.
func (l *Log) ConsistencyProof(oldSize, newSize int64) (p auditlog.ConsistencyProof, err error) {
	p = auditlog.ConsistencyProof{Old: oldSize, New: newSize}
	err = l.db.View(func(tx *bbolt.Tx) error {
		if n := sizeTx(tx); oldSize < 0 || oldSize > newSize || newSize > n {
			return fmt.Errorf("audit log: no consistency proof %d→%d (log has %d)", oldSize, newSize, n)
		}
		if oldSize == 0 || oldSize == newSize {
			return nil // the empty proof
		}
		hs, err := tlog.ProveTree(newSize, oldSize, hashReader{tx.Bucket([]byte(BucketHashes))})
		p.Hashes = hs
		return err
	})
	return p, err
}

// TLogProof writes the c2sp.org/tlog-proof@v1 for entry index against the
// signed checkpoint (one this log signed, typically the one made at the end
// of the ceremony). It checks that the checkpoint describes this log before
// proving anything against it.
func (l *Log) TLogProof(index int64, signedCheckpoint []byte) ([]byte, error) {
	c, err := auditlog.SplitSigned(signedCheckpoint)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	var proof tlog.RecordProof
	err = l.db.View(func(tx *bbolt.Tx) error {
		hr := hashReader{tx.Bucket([]byte(BucketHashes))}
		if n := sizeTx(tx); c.Size > n {
			return fmt.Errorf("audit log: checkpoint %s is larger than the log (%d entries)", c, n)
		}
		if index < 0 || index >= c.Size {
			return fmt.Errorf("audit log: entry %d is not in checkpoint %s", index, c)
		}
		root, err := tlog.TreeHash(c.Size, hr)
		if err != nil {
			return err
		}
		if root != c.Root {
			return fmt.Errorf("audit log: %w: checkpoint %s is not this log's", ErrFork, c)
		}
		proof, err = tlog.ProveRecord(c.Size, index, hr)
		return err
	})
	if err != nil {
		return nil, err
	}
	return auditlog.FormatProof(auditlog.Proof{Index: index, Hashes: proof, Checkpoint: signedCheckpoint}), nil
}
