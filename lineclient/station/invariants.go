package station

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"

	"go.etcd.io/bbolt"
)

// CheckInvariants walks the whole store and returns every violation of the
// package invariants (see the package doc) and of index/counter consistency.
// It reads everything, so it is for tests, the kill test and
// 'lineclient status --check', not for every start.
func (s *Store) CheckInvariants() ([]string, error) {
	var v []string
	bad := func(format string, args ...any) { v = append(v, fmt.Sprintf(format, args...)) }
	err := safeView(s.db, func(tx *bbolt.Tx) error {
		for err := range tx.Check() {
			bad("bbolt check: %v", err)
		}
		mods, dacs, csrs := tx.Bucket(bucketModules), tx.Bucket(bucketDAC), tx.Bucket(bucketCSR)
		bySPKI, byState, byBatch := tx.Bucket(bucketBySPKI), tx.Bucket(bucketByState), tx.Bucket(bucketByBatch)
		stateCount := map[State]int{}
		batchCount := map[string]int{}
		dacOwner := map[string]string{}
		err := mods.ForEach(func(k, raw []byte) error {
			m, err := decodeModule(k, raw)
			if err != nil {
				return err
			}
			mac := m.MAC
			stateCount[m.State]++
			if m.BatchID != "" {
				batchCount[string(batchCounterKey(m.BatchID, m.State))]++
				if byBatch.Get(batchIndexKey(m.BatchID, mac)) == nil {
					bad("%s: missing from by-batch index of %s", mac, m.BatchID)
				}
				if tx.Bucket(bucketBatches).Get([]byte(m.BatchID)) == nil {
					bad("%s: batch %s has no record", mac, m.BatchID)
				}
			}
			if byState.Get(stateIndexKey(m.State, mac)) == nil {
				// Get returns nil for a nil value too; check presence with a cursor.
				c := byState.Cursor()
				if k, _ := c.Seek(stateIndexKey(m.State, mac)); !bytes.Equal(k, stateIndexKey(m.State, mac)) {
					bad("%s: missing from by-state index (%s)", mac, m.State)
				}
			}
			effective := m.State
			if m.State == StateFailed {
				effective = m.FailedFrom
			}
			if effective >= StateKeyGenerated {
				if m.SPKISHA256 == "" || csrs.Get(k) == nil {
					bad("%s: %s without a csr", mac, m.State)
				} else if owner := bySPKI.Get([]byte(m.SPKISHA256)); string(owner) != mac {
					bad("%s: key %s indexed to %q (two keys or shared key)", mac, m.SPKISHA256[:16], owner)
				}
			}
			dac := dacs.Get(k)
			if effective.HasDAC() {
				if dac == nil {
					bad("%s: %s but its dac is missing (dac lost)", mac, m.State)
				} else {
					sum := sha256.Sum256(dac)
					h := hex.EncodeToString(sum[:])
					if h != m.DACSHA256 {
						bad("%s: stored dac does not match its recorded sha-256", mac)
					}
					if other, dup := dacOwner[h]; dup {
						bad("%s: same dac as %s", mac, other)
					}
					dacOwner[h] = mac
				}
			} else if dac != nil {
				bad("%s: dac stored in state %s", mac, m.State)
			}
			if effective >= StateLocking && effective <= StateDone {
				if m.AttestedAt.IsZero() || m.WrittenAt.IsZero() {
					bad("%s: %s without a written and attested dac", mac, m.State)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		_ = bySPKI.ForEach(func(k, mac []byte) error {
			m, err := getModule(tx, string(mac))
			if err != nil || m.SPKISHA256 != string(k) {
				bad("by-spki %s → %s does not match the module record", k, mac)
			}
			return nil
		})
		indexed := map[State]int{}
		_ = byState.ForEach(func(k, _ []byte) error {
			indexed[State(k[0])]++
			return nil
		})
		counts := tx.Bucket(bucketCounts)
		for _, st := range States {
			if indexed[st] != stateCount[st] {
				bad("by-state index has %d %s, records %d", indexed[st], st, stateCount[st])
			}
			if got := counterValue(counts, stateCounterKey(st)); got != stateCount[st] {
				bad("counter %s is %d, records %d", st, got, stateCount[st])
			}
		}
		_ = counts.ForEach(func(k, _ []byte) error {
			if k[0] == 'b' && counterValue(counts, k) != batchCount[string(k)] {
				bad("batch counter %s/%s is %d, records %d", k[2:], State(k[1]), counterValue(counts, k), batchCount[string(k)])
			}
			return nil
		})
		checkLabelsPrinted(tx, bad)
		for k, n := range batchCount {
			if counterValue(counts, []byte(k)) != n {
				bad("batch counter %s/%s missing or wrong", k[2:], State(k[1]))
			}
		}
		return nil
	})
	return v, err
}

func counterValue(b *bbolt.Bucket, key []byte) int {
	v := b.Get(key)
	if len(v) != 8 {
		return 0
	}
	return int(binary.BigEndian.Uint64(v))
}
