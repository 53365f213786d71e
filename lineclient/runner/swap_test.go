package runner

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/dacline/dacline/lineclient/sim"
	"github.com/dacline/dacline/lineclient/station"
)

// TestSwapRightAfterLock: the simulator swaps a locked module for the next
// one after the first IDENTIFY poll that reached the station (SwapPolls 1:
// the fastest operator there is), on a noisy line with reboots during lock,
// so the next module is on the jig as soon as the station has seen the lock
// state once. The station must verify the lock from that one IDENTIFY reply
// (which names the chip), never from a READ_DIGESTS or a second IDENTIFY that
// the next module may answer: no module may fail for what another answered
// (before the fix, "lock mask read back 0000" / "debug is still enabled
// after lock" failed locked modules for good), and every module ends done.
func TestSwapRightAfterLock(t *testing.T) {
	f, err := sim.ParseFaults("noise=0.02,drop=0.02,reboot-during-lock=0.3")
	if err != nil {
		t.Fatal(err)
	}
	const jigs, perJig = 2, 3
	r := newRig(t, sim.Options{Count: jigs, ModulesPerJig: perJig, SwapPolls: 1,
		Timing: sim.TimingFast, Seed: 11, Faults: f})
	for i := range perJig {
		r.run(r.sim.Ports(), time.Second)
		r.answerBatch(fmt.Sprintf("b%d", i+1))
	}
	r.run(r.sim.Ports(), time.Second)
	r.checkInvariants()
	st := r.states()
	_ = r.store.ForEachInState(station.StateFailed, func(m *station.Module) error {
		t.Errorf("module %s failed from %s: %s: %s", m.MAC, m.FailedFrom, m.Reason, m.Detail)
		return nil
	})
	if st[station.StateDone] != jigs*perJig {
		t.Fatalf("states %v, want %d done", st, jigs*perJig)
	}
}

// TestDefaultsSwapModules: with the station's and the simulator's default
// settings (settled modules polled every 500 ms; a locked module swapped
// after 3 polls in a row), a jig fed two modules gets its second one while
// the station runs, in one run: the first is finished, taken off, and the
// second's key is generated. (Before, the simulator waited for 1 s without a
// frame, which the station's polls never allowed: no module was ever swapped.)
func TestDefaultsSwapModules(t *testing.T) {
	if testing.Short() {
		t.Skip("default poll intervals: seconds")
	}
	r := newRig(t, sim.Options{Count: 2, ModulesPerJig: 2, Timing: sim.TimingFast, Seed: 12})
	r.run(r.sim.Ports(), 500*time.Millisecond)
	r.answerBatch("b1")
	cfg := Config{Ports: r.sim.Ports(), Open: openPTY, UntilIdle: true, IdleTimeout: 3 * time.Second}
	run, err := New(cfg, r.prov)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tot, err := run.Run(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	st := r.states()
	if st[station.StateDone] != 2 || st[station.StateKeyGenerated] != 2 || tot.CSRs != 2 {
		t.Fatalf("after one run with default polls: %v, totals %+v; want the 2 first modules done and the 2 next ones keyed", st, tot)
	}
	for j := range 2 {
		if id, _ := r.sim.Jig(j).Current(); id != 2*j+1 {
			t.Errorf("jig %d holds module %d, want %d", j, id, 2*j+1)
		}
	}
	r.checkInvariants()
}
