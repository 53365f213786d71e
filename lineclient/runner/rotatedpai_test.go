package runner

import (
	"crypto/sha256"
	"testing"
	"time"

	"github.com/dacline/dacline/lineclient/sim"
	"github.com/dacline/dacline/lineclient/station"
	"github.com/dacline/dacline/shared/lineproto"
)

// TestRotatedPAIWrittenToModules: DACs issued by a PAI the appliance rotated
// to (accepted at import, kept as one of OtherPAIs) are written with that
// PAI, not the station's first one, and pass the commissioner's checks.
func TestRotatedPAIWrittenToModules(t *testing.T) {
	r := newRig(t, sim.Options{Count: 2, Timing: sim.TimingFast, Seed: 17})
	ports := r.sim.Ports()
	r.run(ports, 700*time.Millisecond)
	for i := range 2 {
		r.sim.Jig(i).Remove()
	}
	r.pki.RotatePAI(t) // the station's PAI (r.prov.PAI) is the old one
	r.prov.OtherPAIs = append(r.prov.OtherPAIs, r.pki.PAI)
	if res := r.answerBatch("b1"); res.DACs != 2 {
		t.Fatalf("import %+v", res)
	}
	for i := range 2 {
		if err := r.sim.Jig(i).Insert(i); err != nil {
			t.Fatal(err)
		}
	}
	tot := r.run(ports, 700*time.Millisecond)
	if got := r.states()[station.StateDone]; got != 2 || tot.Done != 2 {
		t.Fatalf("after finishing: %v, totals %+v", r.states(), tot)
	}
	want := sha256.Sum256(r.pki.PAI.Raw)
	for _, mi := range r.sim.Modules() {
		if mi.Committed[lineproto.ItemPAI] != want {
			t.Errorf("module %d: the PAI written is not the rotated PAI that issued its DAC", mi.ID)
		}
	}
	r.checkInvariants()
}
