package runner

import (
	"testing"
	"time"

	"github.com/dacline/dacline/lineclient/sim"
	"github.com/dacline/dacline/lineclient/station"
	"github.com/dacline/dacline/shared/lineproto"
)

// TestRoundTrip: keygen on four jigs, modules taken off, the batch comes back,
// modules put back on other jigs, finished, then the station sees them again
// and does nothing.
func TestRoundTrip(t *testing.T) {
	r := newRig(t, sim.Options{Count: 4, Timing: sim.TimingFast, Seed: 11})
	ports := r.sim.Ports()
	tot := r.run(ports, 700*time.Millisecond)
	if got := r.states()[station.StateKeyGenerated]; got != 4 || tot.CSRs != 4 {
		t.Fatalf("after keygen: %v, totals %+v", r.states(), tot)
	}
	r.checkInvariants()
	for i := range 4 {
		r.sim.Jig(i).Remove()
	}
	res := r.answerBatch("b1")
	if res.DACs != 4 {
		t.Fatalf("import %+v", res)
	}
	for i := range 4 { // back on different jigs
		if err := r.sim.Jig(i).Insert((i + 1) % 4); err != nil {
			t.Fatal(err)
		}
	}
	tot = r.run(ports, 700*time.Millisecond)
	if got := r.states()[station.StateDone]; got != 4 || tot.Done != 4 {
		t.Fatalf("after finishing: %v, totals %+v", r.states(), tot)
	}
	for _, mi := range r.sim.Modules() {
		if mi.LockMask != lineproto.LockMaskAll || mi.State != lineproto.StateLocked {
			t.Errorf("module %d: %s mask %04b", mi.ID, mi.State, mi.LockMask)
		}
	}
	r.checkInvariants()
	// A third pass finds nothing to do.
	tot = r.run(ports, 400*time.Millisecond)
	if tot.Done != 0 || tot.CSRs != 0 || tot.Errors != 0 {
		t.Fatalf("third pass did work: %+v", tot)
	}
}

// TestLyingModule: a module whose CSR key is not the key it attests with
// fails as lying-module and is never locked.
func TestLyingModule(t *testing.T) {
	r := newRig(t, sim.Options{Count: 3, Timing: sim.TimingFast, Seed: 5, Faults: sim.Faults{Lying: 1}})
	r.run(r.sim.Ports(), 600*time.Millisecond)
	r.answerBatch("b1")
	r.run(r.sim.Ports(), 600*time.Millisecond)
	st := r.states()
	if st[station.StateFailed] != 3 {
		t.Fatalf("states %v", st)
	}
	if err := r.store.ForEachInState(station.StateFailed, func(m *station.Module) error {
		if m.Reason != station.ReasonLyingModule {
			t.Errorf("%s failed with %s: %s", m.MAC, m.Reason, m.Detail)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, mi := range r.sim.Modules() {
		if mi.LockMask != 0 {
			t.Errorf("lying module %d locked", mi.ID)
		}
	}
	r.checkInvariants()
}
