package runner

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/dacline/dacline/lineclient/sim"
	"github.com/dacline/dacline/lineclient/station"
	"github.com/dacline/dacline/lineclient/transport"
)

// TestManyPorts: a station drives as many jigs as the simulator serves
// (transport.MaxPorts, 256 PTYs): the descriptors pass 1024, where a
// select(2)-based read panicked in goselect ("index out of range [16] with
// length 16"). Every module is keyed, then finished.
func TestManyPorts(t *testing.T) {
	if testing.Short() {
		t.Skip("256 PTYs")
	}
	r := newRig(t, sim.Options{Count: transport.MaxPorts, Timing: sim.TimingFast, Seed: 250})
	ports := r.sim.Ports()
	if len(ports) != transport.MaxPorts {
		t.Fatalf("sim serves %d ports", len(ports))
	}
	tot := r.run(ports, 2*time.Second)
	if got := r.states()[station.StateKeyGenerated]; got != len(ports) {
		t.Fatalf("after keygen on %d ports: %v, totals %+v", len(ports), r.states(), tot)
	}
	r.answerBatch("many")
	tot = r.run(ports, 2*time.Second)
	if got := r.states()[station.StateDone]; got != len(ports) {
		t.Fatalf("after finishing on %d ports: %v, totals %+v", len(ports), r.states(), tot)
	}
	r.checkInvariants()
}

// TestPortLimitAgrees: the runner refuses more ports than the simulator
// serves, with the limit in the message, and the simulator refuses more jigs.
func TestPortLimitAgrees(t *testing.T) {
	ports := make([]string, transport.MaxPorts+1)
	for i := range ports {
		ports[i] = fmt.Sprintf("/dev/pts/x%d", i)
	}
	r := newRig(t, sim.Options{Count: 1, Timing: sim.TimingFast})
	_, err := New(Config{Ports: ports, Open: openPTY}, r.prov)
	if !errors.Is(err, ErrTooManyPorts) || err.Error() != fmt.Sprintf("run: %d ports given: a station drives at most %d ports", len(ports), transport.MaxPorts) {
		t.Fatalf("runner with %d ports: %v", len(ports), err)
	}
	if _, err := New(Config{Ports: ports[:transport.MaxPorts], Open: openPTY}, r.prov); err != nil {
		t.Fatalf("runner with %d ports: %v", transport.MaxPorts, err)
	}
	if _, err := sim.Start(sim.Options{Count: transport.MaxPorts + 1}); err == nil {
		t.Fatalf("sim started %d jigs", transport.MaxPorts+1)
	}
}
