package applog

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
// proving anything against it. To prove many entries against one
// checkpoint, use NewProver.
func (l *Log) TLogProof(index int64, signedCheckpoint []byte) ([]byte, error) {
	p, err := l.NewProver(signedCheckpoint)
	if err != nil {
		return nil, err
	}
	return p.Proof(nil, index)
}

// Prover writes tlog-proofs of many entries against one signed checkpoint —
// a return bundle's DACs. The checkpoint is parsed and checked against the
// log once, and stored hashes, which never change once written, are cached
// between proofs, so consecutive entries cost a few map lookups each instead
// of a tree walk in bbolt. A Prover is not safe for concurrent use.
type Prover struct {
	l      *Log
	size   int64
	signed []byte
	cache  map[int64]tlog.Hash
}

// proverCacheMax bounds the hash cache (about 1.5 MB); it is emptied when
// full, which consecutive indexes barely notice.
var proverCacheMax = 1 << 15

// NewProver checks that signedCheckpoint describes this log (its tree size
// is at most the log's, its root is this log's root at that size) and
// returns a Prover for it.
func (l *Log) NewProver(signedCheckpoint []byte) (*Prover, error) {
	c, err := auditlog.SplitSigned(signedCheckpoint)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	p := &Prover{l: l, size: c.Size, signed: signedCheckpoint, cache: make(map[int64]tlog.Hash)}
	err = l.db.View(func(tx *bbolt.Tx) error {
		if n := sizeTx(tx); c.Size > n {
			return fmt.Errorf("audit log: checkpoint %s is larger than the log (%d entries)", c, n)
		}
		root, err := tlog.TreeHash(c.Size, p.reader(tx))
		if err != nil {
			return err
		}
		if root != c.Root {
			return fmt.Errorf("audit log: %w: checkpoint %s is not this log's", ErrFork, c)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// Size is the tree size of the checkpoint.
func (p *Prover) Size() int64 { return p.size }

// Proof writes the tlog-proof of entry index. tx is a read (or write)
// transaction on the log's database to read hashes in, or nil to open one.
func (p *Prover) Proof(tx *bbolt.Tx, index int64) ([]byte, error) {
	if index < 0 || index >= p.size {
		return nil, fmt.Errorf("audit log: entry %d is not in the checkpoint of tree size %d", index, p.size)
	}
	var proof tlog.RecordProof
	prove := func(tx *bbolt.Tx) (err error) {
		proof, err = tlog.ProveRecord(p.size, index, p.reader(tx))
		return err
	}
	var err error
	if tx != nil {
		err = prove(tx)
	} else {
		err = p.l.db.View(prove)
	}
	if err != nil {
		return nil, err
	}
	return auditlog.FormatProof(auditlog.Proof{Index: index, Hashes: proof, Checkpoint: p.signed}), nil
}

func (p *Prover) reader(tx *bbolt.Tx) tlog.HashReader {
	return cachingReader{p, hashReader{tx.Bucket([]byte(BucketHashes))}}
}

type cachingReader struct {
	p  *Prover
	hr hashReader
}

func (r cachingReader) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if h, ok := r.p.cache[x]; ok {
			out[i] = h
			continue
		}
		hs, err := r.hr.ReadHashes(indexes[i : i+1])
		if err != nil {
			return nil, err
		}
		if len(r.p.cache) >= proverCacheMax {
			clear(r.p.cache)
		}
		r.p.cache[x] = hs[0]
		out[i] = hs[0]
	}
	return out, nil
}
