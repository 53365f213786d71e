package runner

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/dacline/dacline/lineclient/sim"
	"github.com/dacline/dacline/lineclient/station"
	"github.com/dacline/dacline/shared/testenv"
)

// Issue 12 item 8: `run --until-idle` on a full station disk reports "no
// space left" and stops, instead of retrying many times a second forever.
// Then, with space again, the same modules resume.
func TestDiskFullStopsTheRun(t *testing.T) {
	r := newRig(t, sim.Options{Count: 3, Timing: sim.TimingFast, Seed: 11})
	disk := testenv.SmallDisk(t, 512<<10)
	st, err := station.OpenFile(filepath.Join(disk, "station.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	r.store, r.prov.Store = st, st
	filler := filepath.Join(disk, "filler")
	fillDisk(t, filler)

	var evs []Event
	cfg := Config{Ports: r.sim.Ports(), Open: openPTY, UntilIdle: true, IdleTimeout: 400 * time.Millisecond,
		EmptyPoll: 5 * time.Millisecond, SettledPoll: 100 * time.Millisecond, ReopenDelay: 100 * time.Millisecond,
		Events: func(e Event) { evs = append(evs, e) }}
	run, err := New(cfg, r.prov)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err = run.Run(ctx, nil)
	if ctx.Err() != nil {
		t.Fatalf("the run did not stop on a full disk: still retrying after 20 s (%d events)", len(evs))
	}
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("run ended with %v, want no space left on device", err)
	}
	failing := 0
	for _, e := range evs {
		if e.Err != nil {
			failing++
		}
	}
	if failing > len(cfg.Ports) {
		t.Fatalf("%d failing steps on %d ports: the run kept retrying", failing, len(cfg.Ports))
	}

	// Space again: the same modules go on (nothing was marked failed).
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	r.run(r.sim.Ports(), 600*time.Millisecond)
	if got := r.states()[station.StateKeyGenerated]; got != 3 {
		t.Fatalf("after the disk was freed: states %v", r.states())
	}
	r.checkInvariants()
}

// fillDisk writes path until the file system is full.
func fillDisk(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			return
		}
	}
}
