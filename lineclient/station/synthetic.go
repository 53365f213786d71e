package station

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"go.etcd.io/bbolt"
)

// BuildSynthetic fills an empty store at path with n finished modules in
// batches of batchSize, the way the transitions would leave them (records,
// CSR/DAC/onboarding blobs, every index and counter), but in large
// unsynced transactions. It exists for benchmarks and load tests of status
// and manifest over millions of modules; the station never calls it.
func BuildSynthetic(path string, n, batchSize int) error {
	s, err := OpenFile(path)
	if err != nil {
		return err
	}
	defer s.Close()
	s.db.NoSync = true
	defer func() { s.db.NoSync = false }()
	now := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	ob, _ := json.Marshal(&Onboarding{Passcode: 20202021, Discriminator: 3840, Salt: make([]byte, 32), Iterations: 1000,
		Verifier: make([]byte, 97), SerialNumber: "0000000000000000", RotatingID: make([]byte, 16)})
	// Keys are inserted in order (bbolt's fast path); the SPKI index, whose
	// keys are hashes, is sorted first and written in a second pass.
	type spkiEntry struct{ spki, mac string }
	spkis := make([]spkiEntry, 0, n)
	const chunk = 100000
	for start := 0; start < n; start += chunk {
		err := s.db.Update(func(tx *bbolt.Tx) error {
			for _, b := range allBuckets {
				tx.Bucket(b).FillPercent = 0.95
			}
			for i := start; i < min(n, start+chunk); i++ {
				mac := fmt.Sprintf("02:00:%02x:%02x:%02x:%02x", byte(i>>24), byte(i>>16), byte(i>>8), byte(i))
				batch := fmt.Sprintf("%032x", i/batchSize)
				if i%batchSize == 0 {
					b := &Batch{ID: batch, State: BatchConsumed, Count: min(batchSize, n-i), CreatedAt: now, WrittenAt: now,
						ConsumedAt: now, ReturnID: fmt.Sprintf("r%031x", i/batchSize), DACs: min(batchSize, n-i)}
					if err := putBatch(tx, b); err != nil {
						return err
					}
				}
				spki := sha256.Sum256([]byte(mac))
				dac := []byte("synthetic dac " + mac)
				dsum := sha256.Sum256(dac)
				pass := uint32(10000000 + i%80000000)
				if !validSyntheticPasscode(pass) {
					pass++
				}
				m := &Module{MAC: mac, State: StateDone, ChipModel: "ESP32-C3", Firmware: "mfg-1.0", Port: "/dev/ttyUSB0",
					SPKISHA256: hex.EncodeToString(spki[:]), VID: 0xFFF1, PID: 0x8000,
					SerialNumber: fmt.Sprintf("%016X", i), Passcode: pass, Discriminator: uint16(i % 4096),
					BatchID: batch, DACSerial: fmt.Sprintf("%016X", i+1), DACSHA256: hex.EncodeToString(dsum[:]),
					CredentialsSHA256: hex.EncodeToString(dsum[:]), WriteAttempts: 1, LockAttempts: 1,
					IdentifiedAt: now, KeyGeneratedAt: now, ExportedAt: now, DACReceivedAt: now, WrittenAt: now,
					AttestedAt: now, LockingAt: now, LockedAt: now, DoneAt: now, UpdatedAt: now}
				if err := putModule(tx, m); err != nil {
					return err
				}
				spkis = append(spkis, spkiEntry{m.SPKISHA256, mac})
				for _, kv := range [][3][]byte{
					{bucketCSR, []byte(mac), []byte("synthetic csr")},
					{bucketDAC, []byte(mac), dac},
					{bucketOnboarding, []byte(mac), ob},
					{bucketByBatch, batchIndexKey(batch, mac), nil},
					{bucketByState, stateIndexKey(StateDone, mac), nil},
				} {
					if err := tx.Bucket(kv[0]).Put(kv[1], kv[2]); err != nil {
						return err
					}
				}
				counts := tx.Bucket(bucketCounts)
				if err := addCounter(counts, stateCounterKey(StateDone), 1); err != nil {
					return err
				}
				if err := addCounter(counts, batchCounterKey(batch, StateDone), 1); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	sort.Slice(spkis, func(i, j int) bool { return spkis[i].spki < spkis[j].spki })
	for start := 0; start < len(spkis); start += chunk {
		err := s.db.Update(func(tx *bbolt.Tx) error {
			b := tx.Bucket(bucketBySPKI)
			b.FillPercent = 0.95
			for _, e := range spkis[start:min(len(spkis), start+chunk)] {
				if err := b.Put([]byte(e.spki), []byte(e.mac)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return s.db.Sync()
}

func validSyntheticPasscode(p uint32) bool {
	switch p {
	case 11111111, 22222222, 33333333, 44444444, 55555555, 66666666, 77777777, 88888888, 12345678, 87654321:
		return false
	}
	return true
}
