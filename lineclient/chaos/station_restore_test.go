package chaos

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestStationRestore: the station home is restored, mid-shift, from a copy
// taken while every module was dac-received, after the modules were (partly
// or wholly) finished and locked. The station must reconcile each locked
// module from its own read-back (locked, holding the DAC its record shows,
// attesting with it) instead of scrapping it: no good module fails, every
// module ends done, and the invariants hold from every side — the modules'
// own state, the station store, the manifest and the audit log.
func TestStationRestore(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos: builds and drives the programs")
	}
	jigs := max(envInt(t, "DACLINE_CHAOS_RESTORE_JIGS", 8), 1)
	r := rng(t)
	f := newFactory(t)
	s := f.startSim(jigs, "", r.Uint64()>>1)
	f.run(f.cmd("lineclient", f.st, s.runArgs(true)...))
	res := f.sign(f.exportBatch())
	f.lineclient("batch", "import", res.OutputPath)
	st, err := f.stationStatus()
	if err != nil {
		t.Fatal(err)
	}
	if st.States["dac-received"] != jigs {
		t.Fatalf("before the backup: %v", st.States)
	}
	backup := f.dir + "/station-backup"
	if err := copyTree(f.st, backup); err != nil {
		t.Fatal(err)
	}

	// The shift goes on: the station finishes modules and is killed part
	// way (a random instant, or not at all).
	c := f.cmd("lineclient", f.st, s.runArgs(false)...)
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Duration(500+r.IntN(3000)) * time.Millisecond)
	_ = c.Process.Signal(syscall.SIGKILL)
	_ = c.Wait()
	mods, err := readSimModulesLive(f, s)
	if err != nil {
		t.Fatal(err)
	}
	lockedBefore := 0
	for _, m := range mods {
		if m.LockMask != 0 {
			lockedBefore++
		}
	}

	// Restore the station home from the earlier copy.
	if err := os.RemoveAll(f.st); err != nil {
		t.Fatal(err)
	}
	if err := copyTree(backup, f.st); err != nil {
		t.Fatal(err)
	}
	st, err = f.stationStatus()
	if err != nil || st.States["dac-received"] != jigs {
		t.Fatalf("restored station: %v %v", st.States, err)
	}
	f.run(f.cmd("lineclient", f.st, s.runArgs(true)...))
	s.stop()

	var broken []string
	mods, err = readSimModules(s.state)
	if err != nil {
		t.Fatal(err)
	}
	v, locked, _ := f.checkModules(mods)
	broken = append(broken, v...)
	st, err = f.stationStatus()
	if err != nil {
		broken = append(broken, err.Error())
	}
	if st.States["failed"] != 0 || st.States["done"] != jigs || locked != jigs {
		broken = append(broken, fmt.Sprintf("after the restore: station %v, failures %v; %d of %d modules fully locked", st.States, st.Reasons, locked, jigs))
	}
	manifest := f.dir + "/manifest.csv"
	f.lineclient("manifest", "--out", manifest)
	rows, v, err := checkManifest(manifest, mods)
	if err != nil {
		t.Fatal(err)
	}
	broken = append(broken, v...)
	if len(rows.deployed) != jigs || len(rows.unused) != 0 {
		broken = append(broken, fmt.Sprintf("manifest: %d deployed, %d unused; want %d deployed", len(rows.deployed), len(rows.unused), jigs))
	}
	ents, err := f.logEntries()
	if err != nil {
		t.Fatal(err)
	}
	lg := checkLog(ents)
	broken = append(broken, lg.violations...)
	verdict := "log verifies (appliance audit verify with the manifest)"
	if _, err := f.auditVerify("restore", manifest); err != nil {
		broken = append(broken, "audit: "+err.Error())
		verdict = "appliance audit verify FAILED"
	}
	for _, b := range broken {
		t.Error(b)
	}
	if len(broken) > 0 && !strings.Contains(verdict, "FAILED") {
		verdict = fmt.Sprintf("%d INVARIANTS BROKEN", len(broken))
	}
	t.Logf("chaos: station restore survived: home restored from a copy taken with %d modules dac-received after %d were locked; %d reconciled from their own read-back, %d done, %d failed, %d DACs issued, one per key; %s",
		jigs, lockedBefore, lockedBefore, st.States["done"], st.States["failed"], lg.issued, verdict)
}

// readSimModulesLive reads the simulator's module files while it runs (it
// saves a module's state with every change that matters: keys, items, fuses).
func readSimModulesLive(f *factory, s *sim) (map[string]*simModule, error) {
	mods, err := readSimModules(s.state)
	if err != nil && strings.Contains(err.Error(), "no such file") {
		return map[string]*simModule{}, nil
	}
	return mods, err
}
