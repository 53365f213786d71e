package station

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"go.etcd.io/bbolt"
)

// Status is the station's summary: counts per state, per batch, failures.
type Status struct {
	Total    int            `json:"total"`
	States   map[string]int `json:"states"`
	Reasons  map[string]int `json:"failure_reasons,omitempty"`
	Batches  []BatchStatus  `json:"batches"`
	Failures []Failure      `json:"failures"`
	// FailuresOmitted counts failures not listed because of the limit.
	FailuresOmitted int `json:"failures_omitted,omitzero"`
}

// BatchStatus is one batch with its modules counted by state.
type BatchStatus struct {
	Batch
	States map[string]int `json:"states"`
}

// Failure is one failed module.
type Failure struct {
	MAC        string    `json:"mac"`
	Reason     Reason    `json:"reason"`
	Detail     string    `json:"detail,omitempty"`
	FailedFrom State     `json:"failed_from"`
	FailedAt   time.Time `json:"failed_at"`
	BatchID    string    `json:"batch_id,omitempty"`
}

// Status reads the counters and lists up to maxFailures failed modules (all
// when maxFailures < 0). Its cost does not grow with the number of modules,
// only with batches and listed failures.
func (s *Store) Status(maxFailures int) (*Status, error) {
	st := &Status{States: map[string]int{}, Reasons: map[string]int{}}
	err := safeView(s.db, func(tx *bbolt.Tx) error {
		batchStates := map[string]map[string]int{}
		err := tx.Bucket(bucketCounts).ForEach(func(k, v []byte) error {
			if len(v) != 8 || len(k) < 1 {
				return fmt.Errorf("%w: counter %q", ErrCorrupt, k)
			}
			n := int(binary.BigEndian.Uint64(v))
			switch k[0] {
			case 's':
				if len(k) != 2 {
					return fmt.Errorf("%w: counter %q", ErrCorrupt, k)
				}
				st.States[State(k[1]).String()] = n
				st.Total += n
			case 'b':
				if len(k) < 3 {
					return fmt.Errorf("%w: counter %q", ErrCorrupt, k)
				}
				id := string(k[2:])
				if batchStates[id] == nil {
					batchStates[id] = map[string]int{}
				}
				batchStates[id][State(k[1]).String()] = n
			case 'r':
				st.Reasons[string(k[1:])] = n
			}
			return nil
		})
		if err != nil {
			return err
		}
		err = tx.Bucket(bucketBatches).ForEach(func(k, v []byte) error {
			var b Batch
			if err := json.Unmarshal(v, &b); err != nil {
				return fmt.Errorf("%w: batch record %s: %v", ErrCorrupt, k, err)
			}
			states := batchStates[b.ID]
			if states == nil {
				states = map[string]int{}
			}
			st.Batches = append(st.Batches, BatchStatus{Batch: b, States: states})
			return nil
		})
		if err != nil {
			return err
		}
		sort.Slice(st.Batches, func(i, j int) bool { return st.Batches[i].CreatedAt.Before(st.Batches[j].CreatedAt) })
		return forEachInState(tx, StateFailed, func(m *Module) error {
			if maxFailures >= 0 && len(st.Failures) >= maxFailures {
				st.FailuresOmitted++
				return nil
			}
			st.Failures = append(st.Failures, Failure{MAC: m.MAC, Reason: m.Reason, Detail: m.Detail,
				FailedFrom: m.FailedFrom, FailedAt: m.FailedAt, BatchID: m.BatchID})
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	if st.Failures == nil {
		st.Failures = []Failure{}
	}
	if st.Batches == nil {
		st.Batches = []BatchStatus{}
	}
	return st, nil
}

func forEachInState(tx *bbolt.Tx, state State, fn func(*Module) error) error {
	prefix := []byte{byte(state)}
	mods := tx.Bucket(bucketModules)
	c := tx.Bucket(bucketByState).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		mac := k[1:]
		v := mods.Get(mac)
		if v == nil {
			return fmt.Errorf("%w: index lists %s as %s but it has no record", ErrCorrupt, mac, state)
		}
		m, err := decodeModule(mac, v)
		if err != nil {
			return err
		}
		if m.State != state {
			return fmt.Errorf("%w: index lists %s as %s, record says %s", ErrCorrupt, mac, state, m.State)
		}
		if err := fn(m); err != nil {
			return err
		}
	}
	return nil
}

// ForEachInState calls fn for every module in state, in MAC order, inside
// one read transaction.
func (s *Store) ForEachInState(state State, fn func(*Module) error) error {
	return safeView(s.db, func(tx *bbolt.Tx) error { return forEachInState(tx, state, fn) })
}

// ForEach calls fn for every module in MAC order.
func (s *Store) ForEach(fn func(*Module) error) error {
	return safeView(s.db, func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketModules).ForEach(func(k, v []byte) error {
			m, err := decodeModule(k, v)
			if err != nil {
				return err
			}
			return fn(m)
		})
	})
}
