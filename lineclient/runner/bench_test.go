package runner

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dacline/dacline/lineclient/sim"
	"github.com/dacline/dacline/lineclient/station"
)

// BenchmarkPorts measures modules per hour with the simulator's real timings
// (key generation, 115200 baud writes, eFuse burns) on 1 port and on 16
// ports, two modules per jig, swapped as an operator would: the next module
// goes on a jig as soon as the previous one is through its step. Keygen and
// finishing are timed, each from the start of the run to the last module
// through it (not to the end of the run: the idle timeout that ends it is
// generous, so a loaded machine cannot end a phase before its modules are
// through, and is not counted); the appliance's part is not. The target is a
// 16-port rate of at least 15× the 1-port rate.
func BenchmarkPorts(b *testing.B) {
	const perJig = 2
	var rate1, rate16 float64
	for range b.N {
		rate1 = portsRate(b, 1, perJig)
		rate16 = portsRate(b, 16, perJig)
	}
	b.ReportMetric(rate1, "modules/h-1port")
	b.ReportMetric(rate16, "modules/h-16ports")
	b.ReportMetric(rate16/rate1, "ratio-16/1")
}

func portsRate(b *testing.B, jigs, perJig int) float64 {
	r := newBenchRig(b, sim.Options{Count: jigs, Timing: sim.TimingReal, Seed: uint64(jigs)})
	ports := r.sim.Ports()
	// Module IDs: jig j holds 1000+j*perJig+k in turn.
	moduleOn := func(j, k int) int { return 1000 + j*perJig + k }
	portIndex := map[string]int{}
	for i, p := range ports {
		portIndex[p] = i
	}
	phase := func(trigger Step) time.Duration {
		var mu sync.Mutex
		next := make([]int, jigs)
		for j := range jigs {
			if err := r.sim.Jig(j).Insert(moduleOn(j, 0)); err != nil {
				b.Fatal(err)
			}
			next[j] = 1
		}
		start := time.Now()
		var last time.Time
		cfg := Config{Ports: ports, Open: openPTY, UntilIdle: true, IdleTimeout: 5 * time.Second,
			Events: func(e Event) {
				if e.Step != trigger || e.Err != nil || e.Result != "ok" {
					return
				}
				mu.Lock()
				defer mu.Unlock()
				last = time.Now()
				j := portIndex[e.Port]
				if next[j] < perJig {
					id := moduleOn(j, next[j])
					next[j]++
					go r.sim.Jig(j).Insert(id) // the operator puts the next module on
				}
			}}
		run, err := New(cfg, r.prov)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := run.Run(context.Background(), nil); err != nil {
			b.Fatal(err)
		}
		return last.Sub(start)
	}
	t1 := phase(StepKeygen)
	if n := r.states()[station.StateKeyGenerated]; n != jigs*perJig {
		b.Fatalf("%d ports: %d of %d CSRs taken (%v)", jigs, n, jigs*perJig, r.states())
	}
	r.answerBatch("b1")
	t2 := phase(StepDone)
	n := r.states()[station.StateDone]
	if n != jigs*perJig {
		b.Fatalf("%d ports: %d of %d modules done (%v)", jigs, n, jigs*perJig, r.states())
	}
	return float64(n) / (t1 + t2).Hours()
}

// BenchmarkStationCPU measures the station's own CPU time per module with
// the simulator's fast timing: the station runs in a child process (this
// test binary) on 16 ports, and its user+system time, from the kernel's
// accounting of the child, is divided by the modules it finished
// (ms-cpu/module, gross). The baseline is the same child run on the same 16
// ports with no module on them for the same idle timeout (process start,
// opening ports, idle polling); net = gross minus that baseline per run.
func BenchmarkStationCPU(b *testing.B) {
	const jigs, rounds = 16, 3
	var perModule, net, empty time.Duration
	for range b.N {
		r := newBenchRig(b, sim.Options{Count: jigs, Timing: sim.TimingFast, Seed: 77})
		dir := r.writeChildFiles(b)
		r.store.Close()
		var cpu time.Duration
		child := func(idle string) time.Duration {
			cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.bench=^$")
			cmd.Env = append(os.Environ(), childEnv+"=1", "DACLINE_CHILD_DIR="+dir,
				"DACLINE_CHILD_PORTS="+strings.Join(r.sim.Ports(), ","), "DACLINE_CHILD_IDLE="+idle)
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("station: %v\n%s", err, out)
			}
			return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		}
		for round := range rounds {
			if round > 0 {
				for j := range jigs {
					r.sim.Jig(j).Insert(2000 + round*jigs + j)
				}
			}
			cpu += child("300ms")
			r.reopen(b, dir)
			r.answerBatch(fmt.Sprintf("b%d", round))
			r.store.Close()
			cpu += child("300ms")
		}
		r.reopen(b, dir)
		done := r.states()[station.StateDone]
		r.store.Close()
		if done != jigs*rounds {
			b.Fatalf("%d modules done, want %d", done, jigs*rounds)
		}
		perModule = cpu / time.Duration(done)
		for j := range jigs {
			r.sim.Jig(j).Remove()
		}
		empty = 0
		for range 3 {
			empty += child("300ms")
		}
		empty /= 3
		net = (cpu - time.Duration(2*rounds)*empty) / time.Duration(done)
	}
	b.ReportMetric(float64(perModule.Microseconds())/1000, "ms-cpu/module-gross")
	b.ReportMetric(float64(net.Microseconds())/1000, "ms-cpu/module-net")
	b.ReportMetric(float64(empty.Microseconds())/1000, "ms-cpu/empty-run")
}

func newBenchRig(b *testing.B, opts sim.Options) *rig {
	opts.StateDir = b.TempDir()
	return newRigTB(b, opts)
}

func (r *rig) writeChildFiles(tb testing.TB) string {
	dir := filepath.Dir(r.storePath)
	for name, data := range map[string][]byte{"pai.der": r.pki.PAI.Raw, "paa.der": r.pki.PAA.Raw, "cd.der": r.prov.CD} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	return dir
}

func (r *rig) reopen(tb testing.TB, dir string) {
	st, err := station.OpenFile(filepath.Join(dir, "station.db"))
	if err != nil {
		tb.Fatal(err)
	}
	r.store = st
	r.prov.Store = st
}
