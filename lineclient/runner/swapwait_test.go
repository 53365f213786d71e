package runner

import (
	"testing"
	"time"

	"github.com/dacline/dacline/lineclient/sim"
	"github.com/dacline/dacline/lineclient/station"
)

// TestSwapAtWaitForBatch: with SwapWaiting, the simulator takes a module
// off while it waits for its batch and puts on one not keyed yet, so 4 jigs
// of 3 modules give 12 CSRs in one run (before: 4, the first module of each
// jig, since only locked modules were swapped); after the batch, the modules
// taken off come back round and every one is finished in one more run.
func TestSwapAtWaitForBatch(t *testing.T) {
	const jigs, perJig = 4, 3
	r := newRig(t, sim.Options{Count: jigs, ModulesPerJig: perJig, SwapPolls: 1, SwapWaiting: true,
		Timing: sim.TimingFast, Seed: 21})
	tot := r.run(r.sim.Ports(), time.Second)
	if st := r.states(); tot.CSRs != jigs*perJig || st[station.StateKeyGenerated] != jigs*perJig {
		t.Fatalf("first run: %d CSRs, states %v; want %d", tot.CSRs, st, jigs*perJig)
	}
	r.answerBatch("b1")
	r.run(r.sim.Ports(), 2*time.Second)
	r.checkInvariants()
	if st := r.states(); st[station.StateDone] != jigs*perJig {
		t.Fatalf("after the batch: states %v, want %d done", st, jigs*perJig)
	}
	for _, m := range r.sim.Modules() {
		if m.KeysGenerated != 1 {
			t.Errorf("module %d generated %d keys", m.ID, m.KeysGenerated)
		}
	}
}
