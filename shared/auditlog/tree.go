package auditlog

import (
	"fmt"

	"golang.org/x/mod/sumdb/tlog"
)

// MemoryTree is the RFC 6962 tree of a log held as tlog stored hashes in
// memory: about two 32-byte hashes per entry (64 MB for 1,000,000 entries),
// never the entries themselves. Roots, inclusion and consistency proofs for
// any size up to Size() cost O(log n).
type MemoryTree struct {
	hashes []tlog.Hash
	n      int64
}

// Size is the number of leaves appended.
func (t *MemoryTree) Size() int64 { return t.n }

// AppendLeaf adds the leaf hash of the next entry.
func (t *MemoryTree) AppendLeaf(leaf tlog.Hash) error {
	hs, err := tlog.StoredHashesForRecordHash(t.n, leaf, t)
	if err != nil {
		return err
	}
	t.hashes = append(t.hashes, hs...)
	t.n++
	return nil
}

// Leaf returns the leaf hash of entry i.
func (t *MemoryTree) Leaf(i int64) (tlog.Hash, error) {
	hs, err := t.ReadHashes([]int64{tlog.StoredHashIndex(0, i)})
	if err != nil {
		return tlog.Hash{}, err
	}
	return hs[0], nil
}

// ReadHashes implements tlog.HashReader.
func (t *MemoryTree) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(t.hashes)) {
			return nil, fmt.Errorf("stored hash %d not in a tree of %d entries", x, t.n)
		}
		out[i] = t.hashes[x]
	}
	return out, nil
}

// Root is the root hash of the first n entries.
func (t *MemoryTree) Root(n int64) (tlog.Hash, error) {
	if n < 0 || n > t.n {
		return tlog.Hash{}, fmt.Errorf("tree of %d entries has no root at size %d", t.n, n)
	}
	return tlog.TreeHash(n, t)
}
