package station

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"time"

	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Schema is the marker stored in the meta bucket; a store without it (or with
// another value) is not opened.
const Schema = "dacline-station-state/2"

// Errors callers branch on.
var (
	// ErrCorrupt: the state file cannot be trusted. It is never reset.
	ErrCorrupt = errors.New("station state is corrupt")
	// ErrNotFound: no record for that module or batch.
	ErrNotFound = errors.New("not found")
	// ErrTransition: the requested transition is not in the state machine.
	ErrTransition = errors.New("transition not allowed")
	// ErrKeyChanged: a module presented a CSR for a key other than the one recorded.
	ErrKeyChanged = errors.New("module presented a different key")
	// ErrDuplicateKey: a CSR key is already recorded for another module.
	ErrDuplicateKey = errors.New("key already recorded for another module")
	// ErrInUse: another process holds the state file.
	ErrInUse = errors.New("station state file is in use by another process")
)

// RecoveryHint tells the operator what to do with a corrupt state file.
const RecoveryHint = "do not delete the file: it is the only record of which modules hold which keys and DACs; " +
	"stop every lineclient process, copy station.db aside, then try 'bbolt check station.db' and " +
	"restore the last backup of the station home; modules re-identify on the jig and are reconciled " +
	"against the restored records"

var (
	bucketMeta       = []byte("meta")
	bucketModules    = []byte("modules")    // mac → Module JSON
	bucketCSR        = []byte("csr")        // mac → CSR DER
	bucketDAC        = []byte("dac")        // mac → DAC DER
	bucketOnboarding = []byte("onboarding") // mac → Onboarding JSON
	bucketByState    = []byte("by-state")   // state byte ‖ mac → nil
	bucketBySPKI     = []byte("by-spki")    // SPKI SHA-256 (hex) → mac
	bucketByBatch    = []byte("by-batch")   // batch id ‖ 0x00 ‖ mac → nil
	bucketBatches    = []byte("batches")    // batch id → Batch JSON
	bucketCounts     = []byte("counts")     // counter name → uint64 big-endian
	bucketConsumed   = []byte("consumed")   // return bundle batch id → consumed time
	allBuckets       = [][]byte{bucketMeta, bucketModules, bucketCSR, bucketDAC, bucketOnboarding, bucketByState, bucketBySPKI, bucketByBatch, bucketBatches, bucketCounts, bucketConsumed}
	keySchema        = []byte("schema")
)

// Store is the station state. It is safe for concurrent use by the port workers.
type Store struct {
	db    *bbolt.DB
	owned bool
	now   func() time.Time
}

// OpenFile opens (creating if absent) the state file at path. A file that
// exists but is not a valid state file returns an error wrapping ErrCorrupt.
func OpenFile(path string) (*Store, error) {
	_, statErr := os.Stat(path)
	fresh := errors.Is(statErr, os.ErrNotExist)
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		switch {
		case errors.Is(err, berrors.ErrTimeout):
			return nil, fmt.Errorf("open %s: %w", path, ErrInUse)
		case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum),
			errors.Is(err, berrors.ErrVersionMismatch), errors.Is(err, berrors.ErrInvalidMapping):
			return nil, fmt.Errorf("open %s: %w: %v", path, ErrCorrupt, err)
		}
		if !fresh {
			return nil, fmt.Errorf("open %s: %w: %v", path, ErrCorrupt, err)
		}
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	s, err := open(db, fresh)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	s.owned = true
	return s, nil
}

// New uses an already open bbolt database (the station home's station.db).
// Buckets are created on first use; an existing database must carry the
// schema marker.
func New(db *bbolt.DB) (*Store, error) {
	empty := true
	if err := safeView(db, func(tx *bbolt.Tx) error {
		empty = tx.Bucket(bucketMeta) == nil && tx.Bucket(bucketModules) == nil
		return nil
	}); err != nil {
		return nil, err
	}
	return open(db, empty)
}

func open(db *bbolt.DB, fresh bool) (*Store, error) {
	s := &Store{db: db, now: func() time.Time { return time.Now().UTC() }}
	err := safeUpdate(db, func(tx *bbolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			if !fresh && tx.Bucket(bucketModules) != nil {
				return fmt.Errorf("%w: modules present but no schema marker", ErrCorrupt)
			}
			for _, b := range allBuckets {
				if _, err := tx.CreateBucketIfNotExists(b); err != nil {
					return err
				}
			}
			return tx.Bucket(bucketMeta).Put(keySchema, []byte(Schema))
		}
		if got := string(meta.Get(keySchema)); got != Schema {
			return fmt.Errorf("%w: schema marker is %q, want %q", ErrCorrupt, got, Schema)
		}
		for _, b := range allBuckets {
			if tx.Bucket(b) == nil {
				return fmt.Errorf("%w: bucket %q is missing", ErrCorrupt, b)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Close closes the file if OpenFile opened it.
func (s *Store) Close() error {
	if s.owned {
		return s.db.Close()
	}
	return nil
}

// DB exposes the database for packages that keep their own buckets next to
// the station's (none may write these buckets).
func (s *Store) DB() *bbolt.DB { return s.db }

// SetClock replaces the time source (tests).
func (s *Store) SetClock(now func() time.Time) { s.now = now }

// safeView and safeUpdate turn a bbolt panic on a damaged page into ErrCorrupt:
// a corrupt file must stop the station with a message, not crash it mid-run.
func safeView(db *bbolt.DB, fn func(*bbolt.Tx) error) (err error) {
	defer recoverCorrupt(&err)
	return db.View(fn)
}

func safeUpdate(db *bbolt.DB, fn func(*bbolt.Tx) error) (err error) {
	defer recoverCorrupt(&err)
	return db.Update(fn)
}

func recoverCorrupt(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%w: bbolt: %v", ErrCorrupt, r)
	}
}

// --- counters and indexes, maintained in the transitions' transactions ---

func stateCounterKey(s State) []byte { return []byte{'s', byte(s)} }

func batchCounterKey(batch string, s State) []byte {
	k := make([]byte, 0, 3+len(batch))
	k = append(k, 'b', byte(s))
	return append(k, batch...)
}

func addCounter(b *bbolt.Bucket, key []byte, delta int64) error {
	var v uint64
	if cur := b.Get(key); cur != nil {
		if len(cur) != 8 {
			return fmt.Errorf("%w: counter %q has %d bytes", ErrCorrupt, key, len(cur))
		}
		v = binary.BigEndian.Uint64(cur)
	}
	nv := int64(v) + delta
	if nv < 0 {
		return fmt.Errorf("%w: counter %q would go negative", ErrCorrupt, key)
	}
	if nv == 0 {
		return b.Delete(key)
	}
	return b.Put(key, binary.BigEndian.AppendUint64(nil, uint64(nv)))
}

func stateIndexKey(s State, mac string) []byte {
	k := make([]byte, 0, 1+len(mac))
	return append(append(k, byte(s)), mac...)
}

func batchIndexKey(batch, mac string) []byte {
	k := make([]byte, 0, len(batch)+1+len(mac))
	k = append(k, batch...)
	k = append(k, 0)
	return append(k, mac...)
}

// reindex moves a module's index entries and counters from its old to its new
// (state, batch).
func reindex(tx *bbolt.Tx, mac string, oldState State, oldBatch string, m *Module) error {
	if oldState == m.State && oldBatch == m.BatchID {
		return nil
	}
	byState, counts, byBatch := tx.Bucket(bucketByState), tx.Bucket(bucketCounts), tx.Bucket(bucketByBatch)
	if oldState != StateUnknown {
		if err := byState.Delete(stateIndexKey(oldState, mac)); err != nil {
			return err
		}
		if err := addCounter(counts, stateCounterKey(oldState), -1); err != nil {
			return err
		}
		if oldBatch != "" {
			if err := addCounter(counts, batchCounterKey(oldBatch, oldState), -1); err != nil {
				return err
			}
		}
	}
	if oldBatch != m.BatchID {
		if oldBatch != "" {
			if err := byBatch.Delete(batchIndexKey(oldBatch, mac)); err != nil {
				return err
			}
		}
		if m.BatchID != "" {
			if err := byBatch.Put(batchIndexKey(m.BatchID, mac), nil); err != nil {
				return err
			}
		}
	}
	if err := byState.Put(stateIndexKey(m.State, mac), nil); err != nil {
		return err
	}
	if err := addCounter(counts, stateCounterKey(m.State), 1); err != nil {
		return err
	}
	if m.BatchID != "" {
		if err := addCounter(counts, batchCounterKey(m.BatchID, m.State), 1); err != nil {
			return err
		}
	}
	if m.State == StateFailed && oldState != StateFailed {
		if err := addCounter(counts, reasonCounterKey(m.Reason), 1); err != nil {
			return err
		}
	}
	return nil
}

func reasonCounterKey(r Reason) []byte { return append([]byte{'r'}, r...) }

func getModule(tx *bbolt.Tx, mac string) (*Module, error) {
	v := tx.Bucket(bucketModules).Get([]byte(mac))
	if v == nil {
		return nil, fmt.Errorf("module %s: %w", mac, ErrNotFound)
	}
	return decodeModule([]byte(mac), v)
}

func putModule(tx *bbolt.Tx, m *Module) error {
	b, err := encodeModule(m)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketModules).Put([]byte(m.MAC), b)
}

// change is the body of one named transition: it gets the module's current
// record (State == StateUnknown for a module never seen) and mutates it.
type change func(tx *bbolt.Tx, m *Module) error

// transition runs fn on mac's record in one committed transaction named name,
// checks the state change against the machine, and keeps the indexes right.
func (s *Store) transition(name, mac string, fn change) (*Module, error) {
	if mac == "" {
		return nil, fmt.Errorf("%s: empty module id", name)
	}
	var out *Module
	err := safeUpdate(s.db, func(tx *bbolt.Tx) error {
		m, err := getModule(tx, mac)
		if errors.Is(err, ErrNotFound) {
			m, err = &Module{MAC: mac}, nil
		}
		if err != nil {
			return err
		}
		oldState, oldBatch := m.State, m.BatchID
		if err := fn(tx, m); err != nil {
			return err
		}
		if m.State != oldState && !CanTransition(oldState, m.State) {
			return fmt.Errorf("%w: %s → %s", ErrTransition, oldState, m.State)
		}
		m.UpdatedAt = s.now()
		if err := reindex(tx, mac, oldState, oldBatch, m); err != nil {
			return err
		}
		if err := putModule(tx, m); err != nil {
			return err
		}
		out = m
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s (module %s): %w", name, mac, err)
	}
	return out, nil
}
