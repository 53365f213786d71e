package runner

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dacline/dacline/lineclient/sim"
	"github.com/dacline/dacline/lineclient/station"
	"github.com/dacline/dacline/shared/lineproto"
)

// lockedModule provisions one simulated module up to the station's locked
// record (the lock sequence reported done) without verifying it, and returns
// its MAC and the IDENTIFY reply of a fully locked module holding exactly
// the station's credentials.
func lockedModule(t *testing.T, r *rig) (string, *lineproto.IdentifyResponse) {
	t.Helper()
	r.run(r.sim.Ports(), 400*time.Millisecond)
	r.answerBatch("b1")
	var mac string
	_ = r.store.ForEach(func(m *station.Module) error { mac = m.MAC; return nil })
	creds, err := r.store.Credentials(mac)
	if err != nil {
		t.Fatal(err)
	}
	items, err := r.prov.items(creds)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []func(string) (*station.Module, error){r.store.BeginWrite,
		func(m string) (*station.Module, error) {
			return r.store.CredentialsWritten(m, credentialsDigest(items))
		},
		r.store.RecordAttested, r.store.BeginLock, r.store.RecordLocked} {
		if _, err := f(mac); err != nil {
			t.Fatal(err)
		}
	}
	id := &lineproto.IdentifyResponse{ChipModel: "ESP32-C3", Firmware: "t", State: lineproto.StateLocked,
		KeyPresent: true, LockMask: lineproto.LockMaskAll}
	b, _ := hex.DecodeString(strings.ReplaceAll(mac, ":", ""))
	copy(id.ChipID[:], b)
	k, _ := hex.DecodeString(creds.Module.SPKISHA256)
	copy(id.KeySPKIHash[:], k)
	for _, it := range lineproto.AllItems {
		id.Digests = append(id.Digests, lineproto.ItemDigest{Item: it, Length: uint32(len(items[it])), SHA256: sha256.Sum256(items[it])})
	}
	return mac, id
}

// TestLockStateMismatchRelocks: a module the station recorded locked that
// reads back an incomplete lock state (right after a reboot during a burn,
// say) is locked again — relock, LOCK 1–4, read back — not failed for good;
// a read-back that is right then finishes it.
func TestLockStateMismatchRelocks(t *testing.T) {
	r := newRig(t, sim.Options{Count: 1, Timing: sim.TimingFast, Seed: 21})
	mac, good := lockedModule(t, r)
	ctx := context.Background()

	bad := *good
	bad.LockMask, bad.State, bad.DebugEnabled = 0b0011, lineproto.StateLocking, false
	out, err := r.prov.next(ctx, nil, "p", &bad)
	if err == nil || errors.Is(err, errModuleFailed) || !strings.Contains(err.Error(), "locking again") ||
		!strings.Contains(err.Error(), "not burned: rd-dis-write-protect, secure-download") {
		t.Fatalf("incomplete read-back: %v", err)
	}
	if out.module == nil || out.module.State != station.StateLocking || out.settled {
		t.Fatalf("after an incomplete read-back the module must be locking again: %+v", out)
	}
	if _, err := r.store.RecordLocked(mac); err != nil { // the lock sequence ran again
		t.Fatal(err)
	}
	// Another module's answer (a swap) changes nothing.
	other := *good
	other.ChipID[5] ^= 1
	if _, err := r.prov.verifyLock(mac, &other, out.module, nil); err == nil {
		t.Fatal("a reply naming another chip verified the lock")
	}
	out, err = r.prov.next(ctx, nil, "p", good)
	if err != nil || out.module.State != station.StateDone {
		t.Fatalf("read-back complete after a relock: %+v %v", out, err)
	}
	// (The simulated module itself was never written or locked: the replies
	// here are made up, so only the store's invariants are checked.)
	if v, err := r.store.CheckInvariants(); err != nil || len(v) > 0 {
		t.Fatalf("store invariants: %v %v", v, err)
	}
}

// TestLockStateNeverKept: a module that keeps reading back debug enabled
// after every lock sequence fails lock-failed after maxRelocks relocks, with
// a reason that says what is missing and how often it was tried.
func TestLockStateNeverKept(t *testing.T) {
	r := newRig(t, sim.Options{Count: 1, Timing: sim.TimingFast, Seed: 22})
	mac, good := lockedModule(t, r)
	bad := *good
	bad.DebugEnabled = true
	var err error
	var out outcome
	for i := range maxRelocks + 1 {
		out, err = r.prov.next(context.Background(), nil, "p", &bad)
		if i < maxRelocks {
			if err == nil || errors.Is(err, errModuleFailed) {
				t.Fatalf("relock %d: %v", i+1, err)
			}
			if _, err := r.store.RecordLocked(mac); err != nil {
				t.Fatal(err)
			}
		}
	}
	if !errors.Is(err, errModuleFailed) {
		t.Fatalf("after %d relocks: %v, want the module failed", maxRelocks, err)
	}
	m, _ := r.store.Get(mac)
	if m.State != station.StateFailed || m.FailedFrom != station.StateLocked || m.Reason != station.ReasonLockFailed ||
		!strings.Contains(m.Detail, "debug still enabled") || !strings.Contains(m.Detail, "lock attempts") {
		t.Fatalf("failed module %+v (outcome %+v)", m, out)
	}
	if m.LockAttempts != 1+maxRelocks {
		t.Errorf("lock attempts %d, want %d", m.LockAttempts, 1+maxRelocks)
	}
	// (The simulated module itself was never written or locked: the replies
	// here are made up, so only the store's invariants are checked.)
	if v, err := r.store.CheckInvariants(); err != nil || len(v) > 0 {
		t.Fatalf("store invariants: %v %v", v, err)
	}
}

// TestUntilIdleWaitsForRunningStep: --until-idle never ends a run while a
// step is running, however long the step takes compared with the idle
// timeout (a slow line, a loaded machine: BenchmarkPorts once ended with
// "0 of 32 modules done" because every port looked idle during its first,
// long write). Writing the credentials at 115200 baud takes longer than the
// 100 ms idle timeout here; the module must still end done in one run.
func TestUntilIdleWaitsForRunningStep(t *testing.T) {
	r := newRig(t, sim.Options{Count: 1, Timing: sim.TimingReal, Seed: 23})
	r.run(r.sim.Ports(), time.Second)
	r.answerBatch("b1")
	start := time.Now()
	tot := r.run(r.sim.Ports(), 100*time.Millisecond)
	if st := r.states(); st[station.StateDone] != 1 || tot.Done != 1 {
		t.Fatalf("after one run with a 100 ms idle timeout (%v): %v, totals %+v", time.Since(start), st, tot)
	}
}
