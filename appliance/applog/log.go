// Package applog is the appliance's audit log writer: a durable, append-only
// RFC 6962 Merkle log in the appliance's bbolt database, with checkpoints
// signed by the appliance's Ed25519 key (HSM-backed) and the proofs bundles
// and auditors need. The format, proofs and verifier are in shared/auditlog.
//
// # Storage (one bbolt file, three buckets)
//
//	auditlog-entries     key = 8-byte big-endian seq → canonical entry JSON;
//	                     the bucket's sequence is the number of entries
//	auditlog-hashes      key = 8-byte big-endian tlog stored-hash index → 32-byte hash
//	auditlog-checkpoint  "latest" → latest signed checkpoint;
//	                     "c"+8-byte n → n-th signed checkpoint (history, for exports);
//	                     "last-export" → checkpoint of the last export
//
// # Invariants
//
//   - An entry and its stored hashes are written in the same transaction, so
//     the tree always covers exactly the entries. AppendTx runs inside the
//     caller's transaction: the ceremony records an issuance and its log
//     entry atomically.
//   - Entries are never changed or deleted.
//   - The appliance never signs a checkpoint that is not an extension of the
//     latest one it signed (Sunlight's lesson): Checkpoint proves consistency
//     with the persisted checkpoint, and with a mirror file kept outside the
//     database when one is configured, before it signs. A database restored
//     from an old backup therefore stops the log instead of forking it. With
//     an Anchor (anchor.go; the token, outside the home) the same holds for a
//     whole home restored with its mirror file, and CheckAnchor proves it
//     before anything is signed. RestoreTail (restore.go) brings a restored
//     log's missing tail back from a log export, byte for byte.
package applog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/dacline/dacline/shared/auditlog"
)

// Bucket names in the appliance database.
const (
	BucketEntries    = "auditlog-entries"
	BucketHashes     = "auditlog-hashes"
	BucketCheckpoint = "auditlog-checkpoint"
)

var (
	keyLatest     = []byte("latest")
	keyLastExport = []byte("last-export")
	prefixHistory = byte('c')
)

// Options tune a Log.
type Options struct {
	// CheckpointMirror is a file outside the database (e.g. in the appliance
	// home, ideally on other media) where the latest signed checkpoint is also
	// written. Checkpoint refuses to sign when the log is not an extension of
	// it, which catches a database restored from an older backup. Empty: no
	// mirror.
	CheckpointMirror string
	// Now is the clock for entry times; time.Now when nil.
	Now func() time.Time
	// Anchor, when set, keeps the newest signed checkpoint outside the home
	// (anchor.go): Checkpoint refuses a log that does not extend it and
	// updates it after each checkpoint; CheckAnchor proves the log is not
	// older than it.
	Anchor Anchor
	// NewAnchor allows Checkpoint to create a missing anchor for a log that
	// already has checkpoints (an appliance from before anchors; the officer
	// command that anchors it says so in the log).
	NewAnchor bool
}

// Log is the appliance audit log over an open bbolt database. It is safe for
// concurrent use (bbolt serializes writers).
type Log struct {
	db   *bbolt.DB
	opts Options
}

// Open creates the log's buckets if needed and returns the log.
func Open(db *bbolt.DB, opts Options) (*Log, error) {
	if db == nil {
		return nil, errors.New("audit log: nil database")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	err := db.Update(func(tx *bbolt.Tx) error {
		for _, name := range []string{BucketEntries, BucketHashes, BucketCheckpoint} {
			if _, err := tx.CreateBucketIfNotExists([]byte(name)); err != nil {
				return fmt.Errorf("creating bucket %s: %w", name, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	return &Log{db: db, opts: opts}, nil
}

// DB is the database the log lives in.
func (l *Log) DB() *bbolt.DB { return l.db }

// AppendTx appends e inside the caller's read-write transaction: it sets the
// entry's seq and time, encodes it canonically, and stores the entry and its
// Merkle hashes. It returns the entry's index (its seq). Nothing is durable
// until the caller's transaction commits; if it rolls back, the entry and the
// caller's own writes vanish together.
func (l *Log) AppendTx(tx *bbolt.Tx, e auditlog.Entry) (index int64, err error) {
	if !tx.Writable() {
		return 0, errors.New("audit log: append needs a read-write transaction")
	}
	eb, hb := tx.Bucket([]byte(BucketEntries)), tx.Bucket([]byte(BucketHashes))
	if eb == nil || hb == nil {
		return 0, errors.New("audit log: buckets missing (log not opened on this database)")
	}
	n := int64(eb.Sequence())
	e.SetHeader(n, l.opts.Now())
	data, err := auditlog.Marshal(e)
	if err != nil {
		return 0, fmt.Errorf("audit log: %w", err)
	}
	return n, appendRaw(eb, hb, n, data)
}

// appendRaw stores data, already canonical, as entry n with its Merkle
// hashes and moves the log's size on.
func appendRaw(eb, hb *bbolt.Bucket, n int64, data []byte) error {
	hashes, err := tlog.StoredHashes(n, data, hashReader{hb})
	if err != nil {
		return fmt.Errorf("audit log: entry %d: %w", n, err)
	}
	if err := eb.Put(be64(n), data); err != nil {
		return fmt.Errorf("audit log: storing entry %d: %w", n, err)
	}
	base := tlog.StoredHashIndex(0, n)
	for i, h := range hashes {
		if err := hb.Put(be64(base+int64(i)), append([]byte(nil), h[:]...)); err != nil {
			return fmt.Errorf("audit log: storing hash of entry %d: %w", n, err)
		}
	}
	if err := eb.SetSequence(uint64(n + 1)); err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	return nil
}

// Append appends entries in one transaction of its own and returns the index
// of the first.
func (l *Log) Append(entries ...auditlog.Entry) (first int64, err error) {
	first = -1
	err = l.db.Update(func(tx *bbolt.Tx) error {
		for _, e := range entries {
			i, err := l.AppendTx(tx, e)
			if err != nil {
				return err
			}
			if first < 0 {
				first = i
			}
		}
		return nil
	})
	return first, err
}

// Size is the number of entries.
func (l *Log) Size() (n int64, err error) {
	err = l.db.View(func(tx *bbolt.Tx) error {
		n = sizeTx(tx)
		return nil
	})
	return n, err
}

func sizeTx(tx *bbolt.Tx) int64 { return int64(tx.Bucket([]byte(BucketEntries)).Sequence()) }

// Entry returns the canonical bytes of entry i.
func (l *Log) Entry(i int64) (data []byte, err error) {
	err = l.db.View(func(tx *bbolt.Tx) error {
		v := tx.Bucket([]byte(BucketEntries)).Get(be64(i))
		if v == nil {
			return fmt.Errorf("audit log: no entry %d (log has %d)", i, sizeTx(tx))
		}
		data = append([]byte(nil), v...)
		return nil
	})
	return data, err
}

// ForEach calls fn with entries from..to-1 in order, inside one read
// transaction. The slice is only valid during the call.
func (l *Log) ForEach(from, to int64, fn func(seq int64, entry []byte) error) error {
	return l.db.View(func(tx *bbolt.Tx) error { return forEachTx(tx, from, to, fn) })
}

func forEachTx(tx *bbolt.Tx, from, to int64, fn func(seq int64, entry []byte) error) error {
	if n := sizeTx(tx); from < 0 || to > n || from > to {
		return fmt.Errorf("audit log: range %d..%d outside a log of %d entries", from, to, n)
	}
	c := tx.Bucket([]byte(BucketEntries)).Cursor()
	want := from
	for k, v := c.Seek(be64(from)); k != nil && want < to; k, v = c.Next() {
		if len(k) != 8 || int64(binary.BigEndian.Uint64(k)) != want {
			return fmt.Errorf("audit log: entry %d missing from the store", want)
		}
		if err := fn(want, v); err != nil {
			return err
		}
		want++
	}
	if want != to {
		return fmt.Errorf("audit log: entry %d missing from the store", want)
	}
	return nil
}

// hashReader reads tlog stored hashes from the hashes bucket.
type hashReader struct{ b *bbolt.Bucket }

func (r hashReader) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		v := r.b.Get(be64(x))
		if len(v) != tlog.HashSize {
			return nil, fmt.Errorf("audit log: stored hash %d missing or damaged", x)
		}
		copy(out[i][:], v)
	}
	return out, nil
}

func be64(n int64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(n))
	return b[:]
}

// CheckpointMirrorFile is the name of the checkpoint mirror in the appliance
// home (see Options.CheckpointMirror).
const CheckpointMirrorFile = "audit-checkpoint.note"

// OpenInHome opens the log of an appliance home: the home's database, and
// the checkpoint mirror file in the home directory. Every command that
// appends or checkpoints (init, station, sign, log export) should open the
// log this way so that they all guard the same mirror.
func OpenInHome(db *bbolt.DB, homeDir string) (*Log, error) {
	return Open(db, Options{CheckpointMirror: filepath.Join(homeDir, CheckpointMirrorFile)})
}
