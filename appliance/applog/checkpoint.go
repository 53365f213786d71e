package applog

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/dacline/dacline/appliance/internal/boltmem"
	"github.com/dacline/dacline/shared/auditlog"
)

// Sentinel errors of Checkpoint; each means "do not sign, a person must look".
var (
	// ErrRollback: the log is shorter than a checkpoint already signed — the
	// database was restored from an older backup or truncated.
	ErrRollback = errors.New("audit log rolled back")
	// ErrFork: the log's entries do not extend the last signed checkpoint.
	ErrFork = auditlog.ErrFork
	// ErrOriginChanged: the signer's name differs from the log's origin.
	ErrOriginChanged = errors.New("audit log origin changed")
	// ErrDamaged: a stored entry no longer hashes to its stored leaf hash.
	ErrDamaged = errors.New("audit log store damaged")
)

// Checkpoint signs a checkpoint of the whole log with s (its name is the
// log's origin) and persists it as the latest. Before signing it proves that
// the log extends the latest checkpoint already signed (kept in the database
// and, when configured, in the mirror file); if not, it refuses with
// ErrRollback or ErrFork and signs nothing. When nothing was appended since
// the latest checkpoint it returns that checkpoint unchanged.
func (l *Log) Checkpoint(s note.Signer) (signed []byte, err error) {
	mirrored, err := l.readMirror()
	if err != nil {
		return nil, err
	}
	var anchored []byte
	if l.opts.Anchor != nil {
		if anchored, err = l.opts.Anchor.Load(); err != nil {
			return nil, err
		}
	}
	err = l.db.Update(func(tx *bbolt.Tx) error {
		cb := tx.Bucket([]byte(BucketCheckpoint))
		hr := hashReader{tx.Bucket([]byte(BucketHashes))}
		n := sizeTx(tx)
		root, err := tlog.TreeHash(n, hr)
		if err != nil {
			return fmt.Errorf("audit log: root of %d entries: %w", n, err)
		}
		next := auditlog.Checkpoint{Origin: s.Name(), Size: n, Root: root}

		for _, prior := range []struct {
			where  string
			signed []byte
		}{{"database", cb.Get(keyLatest)}, {"mirror file " + l.opts.CheckpointMirror, mirrored}, {"token anchor", anchored}} {
			if prior.signed == nil {
				continue
			}
			if err := extends(next, prior.signed, hr); err != nil {
				return fmt.Errorf("refusing to sign checkpoint of %d entries (latest checkpoint in %s): %w", n, prior.where, err)
			}
		}
		if l.opts.Anchor != nil && anchored == nil && cb.Get(keyLatest) != nil && !l.opts.NewAnchor {
			return fmt.Errorf("refusing to sign checkpoint of %d entries: %w, though the log has signed checkpoints", n, ErrNoAnchor)
		}
		// The entries this checkpoint adds must hash to the leaves the tree
		// was built from (older ones are covered by the consistency proof).
		var from int64
		if latest := cb.Get(keyLatest); latest != nil {
			c, _ := auditlog.SplitSigned(latest)
			from = c.Size
		}
		if err := checkLeaves(tx, from, n); err != nil {
			return fmt.Errorf("refusing to sign checkpoint of %d entries: %w", n, err)
		}
		if latest := cb.Get(keyLatest); latest != nil {
			if c, _ := auditlog.SplitSigned(latest); c == next {
				signed = append([]byte(nil), latest...)
				return nil // nothing appended since: no new signature
			}
		}

		signed, err = note.Sign(&note.Note{Text: string(next.Text())}, s)
		if err != nil {
			return fmt.Errorf("audit log: signing checkpoint: %w", err)
		}
		if err := cb.Put(keyLatest, signed); err != nil {
			return err
		}
		seq, err := cb.NextSequence()
		if err != nil {
			return err
		}
		return cb.Put(historyKey(int64(seq)), signed)
	})
	if err != nil {
		return nil, err
	}
	// Record in the database first, then the mirror: a crash in between
	// leaves the mirror one checkpoint behind, which the next call repairs
	// (the database checkpoint extends it).
	if err := l.writeMirror(signed); err != nil {
		return signed, err
	}
	// Then the anchor on the token: it is never ahead of the database.
	if err := l.storeAnchor(signed); err != nil {
		return signed, err
	}
	return signed, nil
}

// extends checks that next (computed from the stored hashes) extends the
// signed checkpoint prior.
func extends(next auditlog.Checkpoint, prior []byte, hr hashReader) error {
	pc, err := auditlog.SplitSigned(prior)
	if err != nil {
		return fmt.Errorf("stored checkpoint unreadable: %w", err)
	}
	switch {
	case pc.Origin != next.Origin:
		return fmt.Errorf("%w: signed as %q, now %q", ErrOriginChanged, pc.Origin, next.Origin)
	case pc.Size > next.Size:
		return fmt.Errorf("%w: the log has %d entries but a checkpoint of %d was signed (database restored from an older backup?)",
			ErrRollback, next.Size, pc.Size)
	case pc.Size == 0:
		return nil
	case pc.Size == next.Size:
		if pc.Root != next.Root {
			return fmt.Errorf("%w: %d entries hash to %s, the signed checkpoint says %s", ErrFork, next.Size, next, pc)
		}
		return nil
	}
	proof, err := tlog.ProveTree(next.Size, pc.Size, hr)
	if err != nil {
		return fmt.Errorf("consistency proof %d→%d: %w", pc.Size, next.Size, err)
	}
	if err := tlog.CheckTree(proof, next.Size, next.Root, pc.Size, pc.Root); err != nil {
		return fmt.Errorf("%w: entries 0..%d no longer hash to the signed checkpoint %s", ErrFork, pc.Size-1, pc)
	}
	return nil
}

// checkLeaves rehashes entries from..to-1 and compares with the stored
// leaves. After a large ceremony that is every entry it added, so the pages
// read are released as it goes (boltmem.ReleaseAbove).
func checkLeaves(tx *bbolt.Tx, from, to int64) error {
	hr := hashReader{tx.Bucket([]byte(BucketHashes))}
	return forEachTx(tx, from, to, func(seq int64, entry []byte) error {
		if (seq-from)%1024 == 1023 {
			boltmem.ReleaseAbove(tx, 64<<20)
		}
		leaf, err := hr.ReadHashes([]int64{tlog.StoredHashIndex(0, seq)})
		if err != nil {
			return err
		}
		if tlog.RecordHash(entry) != leaf[0] {
			return fmt.Errorf("%w: entry %d does not hash to its stored leaf", ErrDamaged, seq)
		}
		return nil
	})
}

// Latest returns the latest signed checkpoint, or nil before the first.
func (l *Log) Latest() (signed []byte, err error) {
	err = l.db.View(func(tx *bbolt.Tx) error {
		if v := tx.Bucket([]byte(BucketCheckpoint)).Get(keyLatest); v != nil {
			signed = append([]byte(nil), v...)
		}
		return nil
	})
	return signed, err
}

// Checkpoints returns every signed checkpoint, oldest first.
func (l *Log) Checkpoints() (all [][]byte, err error) {
	err = l.db.View(func(tx *bbolt.Tx) error {
		all = checkpointsTx(tx)
		return nil
	})
	return all, err
}

func checkpointsTx(tx *bbolt.Tx) [][]byte {
	var all [][]byte
	c := tx.Bucket([]byte(BucketCheckpoint)).Cursor()
	for k, v := c.Seek([]byte{prefixHistory}); k != nil && k[0] == prefixHistory; k, v = c.Next() {
		all = append(all, append([]byte(nil), v...))
	}
	return all
}

func historyKey(n int64) []byte { return append([]byte{prefixHistory}, be64(n)...) }

func (l *Log) readMirror() ([]byte, error) {
	if l.opts.CheckpointMirror == "" {
		return nil, nil
	}
	data, err := os.ReadFile(l.opts.CheckpointMirror)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("audit log: checkpoint mirror: %w", err)
	}
	return data, nil
}

// writeMirror replaces the mirror file atomically: temp file, fsync, rename,
// fsync the directory.
func (l *Log) writeMirror(signed []byte) error {
	path := l.opts.CheckpointMirror
	if path == "" {
		return nil
	}
	if cur, err := os.ReadFile(path); err == nil && bytes.Equal(cur, signed) {
		return nil
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".checkpoint-*")
	if err != nil {
		return fmt.Errorf("audit log: checkpoint mirror: %w", err)
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(signed); err != nil {
		f.Close()
		return fmt.Errorf("audit log: checkpoint mirror: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("audit log: checkpoint mirror: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("audit log: checkpoint mirror: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("audit log: checkpoint mirror: %w", err)
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return nil
	}
	defer d.Close()
	return d.Sync()
}
