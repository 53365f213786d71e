package runner

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dacline/dacline/lineclient/sim"
	"github.com/dacline/dacline/lineclient/station"
)

// TestLineFaults: noise, dropped bytes, replies cut mid-frame, silent and slow
// replies and reboots during lock on every jig; every module still ends done,
// and nothing breaks the invariants.
func TestLineFaults(t *testing.T) {
	f, err := sim.ParseFaults("noise=0.05,drop=0.05,disconnect=0.03,silent=0.03,reboot-during-lock=0.2")
	if err != nil {
		t.Fatal(err)
	}
	r := newRig(t, sim.Options{Count: 4, Timing: sim.TimingFast, Seed: 3, Faults: f, SlowDelay: 200 * time.Millisecond})
	r.run(r.sim.Ports(), 1500*time.Millisecond)
	r.checkInvariants()
	r.answerBatch("b1")
	r.run(r.sim.Ports(), 1500*time.Millisecond)
	if st := r.states(); st[station.StateDone] != 4 {
		t.Fatalf("states %v", st)
	}
	r.checkInvariants()
}

// TestPulledMidWrite: the module is taken off its jig while credentials are
// being written, and put back; the write starts again and the module finishes.
func TestPulledMidWrite(t *testing.T) {
	r := newRig(t, sim.Options{Count: 1, Timing: sim.TimingReal, Seed: 9})
	ports := r.sim.Ports()
	r.run(ports, 600*time.Millisecond)
	r.answerBatch("b1")

	mac := ""
	_ = r.store.ForEach(func(m *station.Module) error { mac = m.MAC; return nil })
	var wg sync.WaitGroup
	stop := make(chan struct{})
	pulled := false
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			m, err := r.store.Get(mac)
			if err == nil && m.State == station.StateWriting && !pulled {
				time.Sleep(40 * time.Millisecond) // some chunks are on the module
				r.sim.Jig(0).Remove()
				pulled = true
				// Off the jig for longer than the client's retries last.
				time.Sleep(2500 * time.Millisecond)
				if err := r.sim.Jig(0).Insert(0); err != nil {
					t.Error(err)
				}
				return
			}
		}
	}()
	r.run(ports, 4*time.Second)
	close(stop)
	wg.Wait()
	if !pulled {
		t.Fatal("the module was never seen in state writing")
	}
	m, _ := r.store.Get(mac)
	if m.State != station.StateDone || m.WriteAttempts < 2 {
		t.Fatalf("module %s: %s after %d write attempts", mac, m.State, m.WriteAttempts)
	}
	cut := false
	for _, e := range r.log {
		cut = cut || (e.Step == StepWrite && e.Err != nil) || e.Result == "removed"
	}
	if !cut {
		t.Error("no failed write step and no 'removed' event: the pull was not noticed")
	}
	r.checkInvariants()
}

// TestPortDisappears: the simulator goes away mid-run (its PTYs close); the
// run reports the lost ports, stays up, and ends idle; a new simulator on
// the same module state finishes the modules.
func TestPortDisappears(t *testing.T) {
	stateDir := t.TempDir()
	r := newRig(t, sim.Options{Count: 2, Timing: sim.TimingFast, Seed: 4, StateDir: stateDir})
	ports := r.sim.Ports()
	r.run(ports, 600*time.Millisecond)
	r.answerBatch("b1")

	var mu sync.Mutex
	var evs []Event
	run, err := New(Config{Ports: ports, Open: openPTY, UntilIdle: true, IdleTimeout: time.Second,
		EmptyPoll: 30 * time.Millisecond, SettledPoll: 100 * time.Millisecond, ReopenDelay: 100 * time.Millisecond,
		Events: func(e Event) {
			mu.Lock()
			evs = append(evs, e)
			mu.Unlock()
			if e.Step == StepWrite && e.Err == nil {
				go r.sim.Close() // the USB hub goes away mid-run
			}
		}}, r.prov)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := run.Run(ctx, nil); err != nil {
		t.Fatal(err)
	}
	lost := 0
	for _, e := range evs {
		if e.Result == "port lost" {
			lost++
			if e.Err == nil || !strings.Contains(e.Err.Error(), "") {
				t.Errorf("port lost without an error: %+v", e)
			}
		}
	}
	if lost == 0 {
		t.Fatal("no port reported lost")
	}
	if v, _ := r.store.CheckInvariants(); len(v) > 0 {
		t.Fatalf("%v", v)
	}
	// Same modules on a new simulator (new PTY paths).
	s2, err := sim.Start(sim.Options{Count: 2, Timing: sim.TimingFast, Seed: 4, StateDir: stateDir, Logf: func(string, ...any) {}})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	r.sim = s2
	r.run(s2.Ports(), 700*time.Millisecond)
	if st := r.states(); st[station.StateDone] != 2 {
		t.Fatalf("states %v", st)
	}
	r.checkInvariants()
}
