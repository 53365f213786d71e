package station

import (
	"encoding/binary"
	"fmt"
	"time"

	"go.etcd.io/bbolt"
)

// bucketLabels records which finished modules' labels were printed: mac →
// time printed (Unix nanoseconds, big-endian). It is created by the first
// record (stores made before it existed open unchanged) and is not one of
// allBuckets: a store without it has printed no label.
var bucketLabels = []byte("labels-printed")

// RecordLabelsPrinted records that the labels of macs were printed
// ("record-labels-printed"), all in one transaction. Callers record after
// the label file is written and durable: a print that fails before leaves no
// record and is printed again next time (a label twice, never none). Every
// module must be done; otherwise nothing is recorded. Printing a label again
// keeps its first time.
func (s *Store) RecordLabelsPrinted(macs []string) error {
	now := s.now()
	err := safeUpdate(s.db, func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketLabels)
		if err != nil {
			return err
		}
		for _, mac := range macs {
			m, err := getModule(tx, mac)
			if err != nil {
				return err
			}
			if m.State != StateDone {
				return fmt.Errorf("module %s is %s: %w: only finished modules have labels", mac, m.State, ErrTransition)
			}
			if b.Get([]byte(mac)) != nil {
				continue
			}
			if err := b.Put([]byte(mac), binary.BigEndian.AppendUint64(nil, uint64(now.UnixNano()))); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record-labels-printed (%d modules): %w", len(macs), err)
	}
	return nil
}

// LabelsPrinted returns when each module's label was first printed.
func (s *Store) LabelsPrinted() (map[string]time.Time, error) {
	out := map[string]time.Time{}
	err := safeView(s.db, func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketLabels)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			if len(v) != 8 {
				return fmt.Errorf("%w: printed-label record of %s has %d bytes", ErrCorrupt, k, len(v))
			}
			out[string(k)] = time.Unix(0, int64(binary.BigEndian.Uint64(v))).UTC()
			return nil
		})
	})
	return out, err
}

// checkLabelsPrinted adds a violation for every printed-label record that
// names no finished module.
func checkLabelsPrinted(tx *bbolt.Tx, bad func(string, ...any)) {
	b := tx.Bucket(bucketLabels)
	if b == nil {
		return
	}
	_ = b.ForEach(func(k, v []byte) error {
		m, err := getModule(tx, string(k))
		switch {
		case err != nil:
			bad("label printed for %s, which has no record", k)
		case m.State != StateDone:
			bad("label printed for %s, which is %s", k, m.State)
		case len(v) != 8:
			bad("printed-label record of %s has %d bytes", k, len(v))
		}
		return nil
	})
}
