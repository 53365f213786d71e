package runner

import (
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
