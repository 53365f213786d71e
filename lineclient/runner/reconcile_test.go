package runner

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/dacline/dacline/lineclient/sim"
	"github.com/dacline/dacline/lineclient/station"
	"github.com/dacline/dacline/shared/lineproto"
)

// backupStore copies the open station.db the way a backup does (a read
// transaction's consistent snapshot) to path.
func (r *rig) backupStore(path string) {
	r.t.Helper()
	if err := r.store.DB().View(func(tx *bbolt.Tx) error { return tx.CopyFile(path, 0o600) }); err != nil {
		r.t.Fatal(err)
	}
}

// restoreStore closes station.db, puts the backup in its place and reopens it.
func (r *rig) restoreStore(backup string) {
	r.t.Helper()
	if err := r.store.Close(); err != nil {
		r.t.Fatal(err)
	}
	b, err := os.ReadFile(backup)
	if err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(r.storePath, b, 0o600); err != nil {
		r.t.Fatal(err)
	}
	st, err := station.OpenFile(r.storePath)
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { st.Close() })
	r.store, r.prov.Store = st, st
}

// TestRestoredStationHomeKeepsGoodModules: station.db is restored from a copy
// taken while 16 modules were dac-received, after they were finished and
// locked. Each module is locked, holds the DAC its record shows and attests
// with it: it is reconciled to done from its own read-back, never scrapped
// as locked-without-attestation.
func TestRestoredStationHomeKeepsGoodModules(t *testing.T) {
	const n = 16
	r := newRig(t, sim.Options{Count: n, Timing: sim.TimingFast, Seed: 16})
	ports := r.sim.Ports()
	r.run(ports, 700*time.Millisecond)
	r.answerBatch("b1")
	if got := r.states()[station.StateDACReceived]; got != n {
		t.Fatalf("before the backup: %v", r.states())
	}
	backup := filepath.Join(t.TempDir(), "station.db.backup")
	r.backupStore(backup)

	tot := r.run(ports, 700*time.Millisecond)
	if got := r.states()[station.StateDone]; got != n || tot.Done != n {
		t.Fatalf("after finishing: %v, totals %+v", r.states(), tot)
	}
	r.checkInvariants()

	r.restoreStore(backup)
	if got := r.states()[station.StateDACReceived]; got != n {
		t.Fatalf("restored: %v", r.states())
	}
	r.log = nil
	tot = r.run(ports, 700*time.Millisecond)
	st := r.states()
	if st[station.StateDone] != n || st[station.StateFailed] != 0 || tot.Done != n {
		for _, e := range r.log {
			if e.Err != nil {
				t.Logf("%s %s %s: %v", e.Port, e.MAC, e.Step, e.Err)
			}
		}
		t.Fatalf("after the restore: %v, totals %+v", st, tot)
	}
	for _, mi := range r.sim.Modules() {
		if mi.LockMask != lineproto.LockMaskAll {
			t.Errorf("module %d lock mask %04b", mi.ID, mi.LockMask)
		}
	}
	r.checkInvariants()
}

// TestLockedForeignCredentialsStillFail: a locked module whose record holds a
// DAC but which holds other credentials is not reconciled: it fails
// locked-without-attestation, as the station cannot vouch for it.
func TestLockedForeignCredentialsStillFail(t *testing.T) {
	const n = 2
	r := newRig(t, sim.Options{Count: n, Timing: sim.TimingFast, Seed: 17})
	ports := r.sim.Ports()
	r.run(ports, 700*time.Millisecond)
	r.answerBatch("b1")
	backup := filepath.Join(t.TempDir(), "station.db.backup")
	r.backupStore(backup)
	r.run(ports, 700*time.Millisecond)
	if got := r.states()[station.StateDone]; got != n {
		t.Fatalf("after finishing: %v", r.states())
	}
	r.restoreStore(backup)
	// The restored records now show another DAC than the one each module
	// holds (the two modules' DACs swapped).
	r.swapStoredDACs()
	r.run(ports, 700*time.Millisecond)
	st := r.states()
	if st[station.StateFailed] != n {
		t.Fatalf("modules holding other dacs than their records: %v", st)
	}
	if err := r.store.ForEachInState(station.StateFailed, func(m *station.Module) error {
		if m.Reason != station.ReasonLockedEarly {
			t.Errorf("%s failed with %s: %s", m.MAC, m.Reason, m.Detail)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// swapStoredDACs swaps the DACs (and their recorded digests) of the first two
// modules in station.db.
func (r *rig) swapStoredDACs() {
	r.t.Helper()
	err := r.store.DB().Update(func(tx *bbolt.Tx) error {
		mods, dacs := tx.Bucket([]byte("modules")), tx.Bucket([]byte("dac"))
		var macs, recs, ders [][]byte
		c := mods.Cursor()
		for k, v := c.First(); k != nil && len(macs) < 2; k, v = c.Next() {
			macs, recs = append(macs, bytes.Clone(k)), append(recs, bytes.Clone(v))
			ders = append(ders, bytes.Clone(dacs.Get(k)))
		}
		sum := func(b []byte) []byte { s := sha256.Sum256(b); return []byte(hex.EncodeToString(s[:])) }
		for i, j := range []int{1, 0} {
			rec := bytes.Replace(recs[i], sum(ders[i]), sum(ders[j]), 1)
			if bytes.Equal(rec, recs[i]) {
				return fmt.Errorf("module %s: record does not carry its dac digest", macs[i])
			}
			if err := mods.Put(macs[i], rec); err != nil {
				return err
			}
			if err := dacs.Put(macs[i], ders[j]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		r.t.Fatal(err)
	}
}
