package bundle

import (
	"encoding/json"
	"fmt"
	"time"

	"go.etcd.io/bbolt"
)

// ConsumedBucket is the bbolt bucket that holds the batch IDs a receiver has imported.
const ConsumedBucket = "consumed-batches"

// ConsumedStore answers whether a batch ID was already imported. The reader asks it
// before the hash pass; the receiver must still call MarkConsumed inside the bbolt
// transaction that commits the import's effects, which refuses a replay that raced in.
type ConsumedStore interface {
	Consumed(id BatchID) (bool, error)
}

// ConsumedRecord is the value stored for a consumed batch: enough for an auditor to
// tell which bundle it was.
type ConsumedRecord struct {
	Kind         Kind      `json:"kind"`
	Sender       string    `json:"sender"`
	BundleSHA256 string    `json:"bundle_sha256"`
	ConsumedAt   time.Time `json:"consumed_at"`
}

// BoltConsumed is the ConsumedStore over a receiver's bbolt file (bucket "consumed-batches").
type BoltConsumed struct{ DB *bbolt.DB }

// Consumed implements ConsumedStore.
func (s BoltConsumed) Consumed(id BatchID) (bool, error) {
	var used bool
	err := s.DB.View(func(tx *bbolt.Tx) error {
		used = IsConsumed(tx, id)
		return nil
	})
	return used, err
}

// IsConsumed reports whether id is recorded in tx.
func IsConsumed(tx *bbolt.Tx, id BatchID) bool {
	bk := tx.Bucket([]byte(ConsumedBucket))
	return bk != nil && bk.Get(id[:]) != nil
}

// MarkConsumed records b's batch ID in tx, the same read-write transaction that commits
// what the import changes, so a batch is either imported and consumed or neither. It
// returns a *RefusalError with ErrReplay when the ID is already there.
func MarkConsumed(tx *bbolt.Tx, b *Bundle, at time.Time) error {
	id := b.Manifest.BatchID
	bk, err := tx.CreateBucketIfNotExists([]byte(ConsumedBucket))
	if err != nil {
		return fmt.Errorf("mark batch %s consumed: %w", id, err)
	}
	if bk.Get(id[:]) != nil {
		return refuse(ErrReplay, nil, "batch %s from %s", id, b.Manifest.Sender)
	}
	rec, err := json.Marshal(ConsumedRecord{
		Kind: b.Manifest.Kind, Sender: b.Manifest.Sender,
		BundleSHA256: fmt.Sprintf("%x", b.SHA256), ConsumedAt: at.UTC().Truncate(time.Second),
	})
	if err != nil {
		return err
	}
	if err := bk.Put(id[:], rec); err != nil {
		return fmt.Errorf("mark batch %s consumed: %w", id, err)
	}
	return nil
}

// ConsumedRecordOf returns the record of id in tx, or nil.
func ConsumedRecordOf(tx *bbolt.Tx, id BatchID) (*ConsumedRecord, error) {
	bk := tx.Bucket([]byte(ConsumedBucket))
	if bk == nil {
		return nil, nil
	}
	v := bk.Get(id[:])
	if v == nil {
		return nil, nil
	}
	var r ConsumedRecord
	if err := json.Unmarshal(v, &r); err != nil {
		return nil, fmt.Errorf("consumed batch %s: %w", id, err)
	}
	return &r, nil
}
