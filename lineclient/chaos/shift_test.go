package chaos

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dacline/dacline/lineclient/station"
	"github.com/dacline/dacline/lineclient/stationhome"
	"github.com/dacline/dacline/shared/lineproto"
)

// TestFaultyShift runs a shift in rounds on simulated jigs with injected line
// faults, against a real SoftHSM2 appliance: the station takes every module's
// CSR, the batch crosses to the appliance and back, the station writes,
// attests and locks, and the next round puts new modules on the jigs (a new
// simulator with another seed: the modules stay on their jig until the round
// is over, as an operator leaves them while the station is down). The
// station is SIGKILLed at random instants throughout and its store checked
// after every kill. At the end every module's own state, the station store,
// the manifest and the audit log are checked against each other.
func TestFaultyShift(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos: builds and drives the programs")
	}
	jigs := max(envInt(t, "DACLINE_CHAOS_SHIFT_JIGS", 4), 1)
	rounds := max(envInt(t, "DACLINE_CHAOS_SHIFT_ROUNDS", 2), 1)
	kills := envInt(t, "DACLINE_CHAOS_SHIFT_KILLS", 4)
	// Lying modules (CSR key ≠ attestation key) are in scripts/chaos.sh's
	// default; plain `go test` leaves them out until the station lists the
	// DACs of failed modules as unused for the auditor (see the report).
	faults := os.Getenv("DACLINE_CHAOS_FAULTS")
	if faults == "" {
		faults = "noise=0.01,drop=0.01,disconnect=0.01,reboot-during-lock=0.2"
	}
	r := rng(t)
	f := newFactory(t)
	var s *sim

	killed, batches, issued := 0, 0, 0
	// phase runs the station over the jigs: k lives SIGKILLed at a random
	// instant (the store checked after each), then one run until idle.
	phase := func(name string, k int) {
		for range k {
			c := f.cmd("lineclient", f.st, s.runArgs(false)...)
			var stderr strings.Builder
			c.Stderr = &stderr
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Duration(r.IntN(2000)) * time.Millisecond)
			_ = c.Process.Signal(syscall.SIGKILL)
			err := c.Wait()
			if ws, ok := c.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
				t.Fatalf("%s: station exited before the kill: %v\n%s", name, err, clip(stderr.String(), 15))
			}
			killed++
			if _, err := f.stationStatus(); err != nil {
				t.Fatalf("%s: after station kill %d: %v", name, killed, err)
			}
		}
		if _, err := f.try(f.cmd("lineclient", f.st, s.runArgs(true)...)); err != nil {
			t.Fatalf("%s: lineclient run --until-idle: %v", name, err)
		}
	}
	per := func(round int) int { // kills for each of the 2*rounds phases
		return kills/(2*rounds) + btoi(2*round < kills%(2*rounds))
	}
	for round := range rounds {
		s = f.startSim(jigs, faults, r.Uint64()>>1)
		phase(fmt.Sprintf("round %d keygen", round+1), per(round))
		st, err := f.stationStatus()
		if err != nil {
			t.Fatal(err)
		}
		if st.States["key-generated"] > 0 {
			bundle := f.exportBatch()
			batches++
			res := f.sign(bundle)
			issued += res.Issued
			f.lineclient("batch", "import", res.OutputPath)
		}
		phase(fmt.Sprintf("round %d write/attest/lock", round+1), per(round+rounds))
		s.stop()
	}

	// The invariants, from every side.
	var broken []string
	mods, err := readSimModules(s.state)
	if err != nil {
		t.Fatal(err)
	}
	v, locked, lying := f.checkModules(mods)
	broken = append(broken, v...)
	st, err := f.stationStatus()
	if err != nil {
		broken = append(broken, err.Error())
	}
	manifest := filepath.Join(f.dir, "manifest.csv")
	f.lineclient("manifest", "--out", manifest)
	rows, v, err := checkManifest(manifest, mods)
	if err != nil {
		t.Fatal(err)
	}
	broken = append(broken, v...)
	if len(rows) != st.States["done"] || len(rows) != locked {
		broken = append(broken, fmt.Sprintf("%d manifest rows, %d modules done in the station, %d fully locked on the jigs", len(rows), st.States["done"], locked))
		broken = append(broken, f.lockedNotListed(mods, rows)...)
	}
	ents, err := f.logEntries()
	if err != nil {
		t.Fatal(err)
	}
	lg := checkLog(ents)
	broken = append(broken, lg.violations...)
	if lg.issued != issued {
		broken = append(broken, fmt.Sprintf("log has %d DACs, the ceremonies reported %d", lg.issued, issued))
	}
	for mac, dac := range rows { // every deployed DAC was issued, for that module's key
		found := false
		for _, d := range lg.bySPKI {
			found = found || d == dac
		}
		if !found {
			broken = append(broken, fmt.Sprintf("module %s: its DAC %s is not in the log", mac, dac[:16]))
		}
	}
	// No module that took part is left behind: every non-lying module on the
	// jigs is done, or failed with a reason the station recorded.
	if want := len(mods) - lying; st.States["done"]+st.States["failed"] < want {
		broken = append(broken, fmt.Sprintf("%d modules on the jigs (%d lying), station: %v", len(mods), lying, st.States))
	}
	verdict := "log verifies (appliance audit verify with the manifest)"
	if _, err := f.auditVerify("shift", manifest); err != nil {
		broken = append(broken, "audit: "+err.Error())
		verdict = "log export + appliance audit verify FAILED"
	}
	for _, b := range broken {
		t.Error(b)
	}
	if len(broken) > 0 && !strings.Contains(verdict, "FAILED") {
		verdict = fmt.Sprintf("%d INVARIANTS BROKEN", len(broken))
	}
	fc, total := faultCounts(t, filepath.Join(f.dir, "sim.log"))
	t.Logf("chaos: shift survived %d station SIGKILLs and %d injected faults %s (--faults %s) over %d rounds on %d jigs: %d modules, %d done (locked, attested, in the manifest), %d failed %s, %d lying modules never locked; %d batches, %d DACs issued, one per key; %s",
		killed, total, fmtCounts(fc), faults, rounds, jigs, len(mods), st.States["done"], st.States["failed"], fmtCounts(st.Reasons), lying, batches, lg.issued, verdict)
}

// lockedNotListed describes every module the simulator has fully locked
// that is not in the manifest, with its station record.
func (f *factory) lockedNotListed(mods map[string]*simModule, rows map[string]string) []string {
	h, err := stationhome.Open(f.st)
	if err != nil {
		return []string{err.Error()}
	}
	defer h.Close()
	st, err := station.New(h.DB())
	if err != nil {
		return []string{err.Error()}
	}
	var out []string
	for mac, m := range mods {
		if lineproto.LockMask(m.LockMask) != lineproto.LockMaskAll || rows[mac] != "" {
			continue
		}
		colon := strings.Join([]string{mac[0:2], mac[2:4], mac[4:6], mac[6:8], mac[8:10], mac[10:12]}, ":")
		rec, err := st.Get(colon)
		if err != nil {
			out = append(out, fmt.Sprintf("module %s locked on the jig, not in the manifest; station: %v", colon, err))
			continue
		}
		why := "the station failed a module that is locked"
		if rec.State != station.StateFailed {
			why = "the station never finished it"
		}
		out = append(out, fmt.Sprintf("module %s fully locked, not in the manifest: %s; station record: state %s, failed from %s, reason %q, detail %q, lock attempts %d",
			colon, why, rec.State, rec.FailedFrom, rec.Reason, rec.Detail, rec.LockAttempts))
	}
	return out
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// faultCounts counts the simulator's "jig N: fault NAME" lines.
func faultCounts(t testing.TB, path string) (map[string]int, int) {
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	re := regexp.MustCompile(`jig \d+: fault ([a-z-]+)`)
	m, total := map[string]int{}, 0
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		if g := re.FindStringSubmatch(sc.Text()); g != nil {
			m[g[1]]++
			total++
		}
	}
	return m, total
}
