package runner

import (
	"context"
	"crypto/x509"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dacline/dacline/lineclient/internal/linetest"
	"github.com/dacline/dacline/lineclient/sim"
	"github.com/dacline/dacline/lineclient/station"
)

// The kill test runs the station in a child process (this test binary,
// re-executed) and SIGKILLs it at random instants; after every kill it opens
// the store and checks the invariants against the simulated modules, then
// starts the station again. DACLINE_KILLS sets the number of kills (default
// 20; 'just chaos' runs hundreds).

const childEnv = "DACLINE_RUNNER_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Exit(runChild())
	}
	os.Exit(m.Run())
}

// runChild is the station process: it drives the ports until killed.
func runChild() int {
	dir := os.Getenv("DACLINE_CHILD_DIR")
	st, err := station.OpenFile(filepath.Join(dir, "station.db"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	defer st.Close()
	read := func(name string) *x509.Certificate {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			panic(err)
		}
		c, err := x509.ParseCertificate(b)
		if err != nil {
			panic(err)
		}
		return c
	}
	cd, err := os.ReadFile(filepath.Join(dir, "cd.der"))
	if err != nil {
		panic(err)
	}
	prov := &Provisioner{Store: st, PAI: read("pai.der"), PAA: read("paa.der"), CD: cd, VID: linetest.VID, PID: linetest.PID}
	cfg := Config{Ports: strings.Split(os.Getenv("DACLINE_CHILD_PORTS"), ","), Open: openPTY,
		EmptyPoll: 20 * time.Millisecond, SettledPoll: 50 * time.Millisecond, ReopenDelay: 50 * time.Millisecond}
	if d, err := time.ParseDuration(os.Getenv("DACLINE_CHILD_IDLE")); err == nil {
		// Benchmarks: run until idle, with the production poll intervals.
		cfg.UntilIdle, cfg.IdleTimeout, cfg.EmptyPoll, cfg.SettledPoll = true, d, 0, 0
	}
	r, err := New(cfg, prov)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	_, err = r.Run(context.Background(), nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	return 0
}

func killCount() int {
	if n, err := strconv.Atoi(os.Getenv("DACLINE_KILLS")); err == nil && n > 0 {
		return n
	}
	if testing.Short() {
		return 5
	}
	return 20
}

func TestKillAtRandomInstants(t *testing.T) {
	kills := killCount()
	dir := t.TempDir()
	const jigs = 3
	r := newRig(t, sim.Options{Count: jigs, Timing: sim.TimingFast, Seed: 21})
	r.store.Close() // the child owns the store; the parent opens it between kills
	if err := os.WriteFile(filepath.Join(dir, "pai.der"), r.pki.PAI.Raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "paa.der"), r.pki.PAA.Raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cd.der"), r.prov.CD, 0o600); err != nil {
		t.Fatal(err)
	}
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 1))
	seen := map[station.State]int{} // states modules were caught in by a kill
	t.Logf("kill test: %d kills, seed %d", kills, seed)

	done, killed, round, next := 0, 0, 0, jigs
	batch := 0
	for killed < kills {
		// One station life: start, wait a random instant, SIGKILL.
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childEnv+"=1", "DACLINE_CHILD_DIR="+dir,
			"DACLINE_CHILD_PORTS="+strings.Join(r.sim.Ports(), ","))
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rng.IntN(250)) * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		killed++
		if strings.Contains(stderr.String(), "child:") {
			t.Fatalf("station process failed: %s", stderr.String())
		}

		st, err := station.OpenFile(filepath.Join(dir, "station.db"))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatalf("after kill %d: store: %v", killed, err)
		}
		r.store = st
		v, err := st.CheckInvariants()
		if err != nil || len(v) > 0 {
			t.Fatalf("after kill %d: %v\n%s", killed, err, strings.Join(v, "\n"))
		}
		for _, mi := range r.sim.Modules() {
			checkModule(t, st, mi)
		}
		if t.Failed() {
			t.Fatalf("after kill %d: module invariants broken", killed)
		}
		states := r.states()
		for s, n := range states {
			if s != station.StateDone {
				seen[s] += n
			}
		}
		// Move the factory along: a batch back when every module on the jigs
		// has its CSR taken; fresh modules when every one is done.
		switch {
		case states[station.StateKeyGenerated] > 0 && states[station.StateIdentified] == 0:
			batch++
			r.answerBatch(fmt.Sprintf("b%d", batch))
		case states[station.StateIdentified]+states[station.StateKeyGenerated]+states[station.StateExported]+
			states[station.StateDACReceived]+states[station.StateWriting]+states[station.StateCredentialsWritten]+
			states[station.StateAttested]+states[station.StateLocking]+states[station.StateLocked] == 0 && len(states) > 0:
			done = states[station.StateDone]
			round++
			for j := range jigs {
				if err := r.sim.Jig(j).Insert(next); err != nil {
					t.Fatal(err)
				}
				next++
			}
		}
		st.Close()
	}
	st, err := station.OpenFile(filepath.Join(dir, "station.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r.store = st
	t.Logf("kill test: %d kills, %d rounds of %d modules, %d done, final states %v; caught mid-way: %v", killed, round, jigs, done, r.states(), seen)
	if round == 0 && kills >= 20 {
		t.Errorf("no round of modules finished in %d station lives", killed)
	}
}
