package chaos

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// crashPoints are the ceremony's named kill points (appliance/ceremony,
// DACLINE_TEST_CRASH_AT); %d takes a chunk number or a DAC line count.
var crashPoints = []string{"after-start", "before-commit:%d", "after-commit:%d", "after-issued", "bundle-write:%d", "after-bundle"}

// TestCeremonyKills runs ceremony after ceremony and kills `appliance sign`
// at random: half the time with SIGKILL at a random instant of its run, half
// the time at a random named crash point. After every kill the audit log is
// read back and checked; every batch is then finished by running the same
// command again, and its return bundle imported by the station. At the end
// every public key the station sent has exactly one DAC, and the log verifies.
func TestCeremonyKills(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos: builds and drives the programs")
	}
	kills := envInt(t, "DACLINE_CHAOS_CEREMONY_KILLS", 6)
	n := max(envInt(t, "DACLINE_CHAOS_CEREMONY_CSRS", 300), 1)
	const commitEvery = 16
	chunks := (n + commitEvery - 1) / commitEvery
	r := rng(t)
	f := newFactory(t)
	snapshot := f.tokenSnapshot()
	restored := 0

	var (
		killed, sigkills, hooks, batches, runs, reproduced int
		est                                                = 1500 * time.Millisecond // a whole run, updated as runs finish
		allKeys                                            = map[[32]byte]string{}
		caught                                             = map[string]int{}
		points                                             = map[string]int{}
		bundle, lastBundle                                 string
		next                                               int
	)
	hookRE := regexp.MustCompile(`test hook`)
	for killed < kills || bundle != "" {
		if bundle == "" {
			maps.Copy(allKeys, f.addSyntheticModules(next, n))
			next += n
			bundle = f.exportBatch()
			batches++
		}
		c := f.cmd("appliance", f.app, "sign", "--json", "--commit-every", strconv.Itoa(commitEvery), "--out", f.usb, bundle)
		var stdout, stderr strings.Builder
		c.Stdout, c.Stderr = &stdout, &stderr
		mode, point := "none", ""
		if killed < kills {
			if r.IntN(2) == 0 {
				mode = "sigkill"
			} else {
				mode = "hook"
				point = crashPoints[r.IntN(len(crashPoints))]
				switch {
				case strings.HasPrefix(point, "bundle-write"):
					point = fmt.Sprintf(point, 1+r.IntN(n))
				case strings.Contains(point, "%d"):
					point = fmt.Sprintf(point, 1+r.IntN(chunks))
				}
				c.Env = append(c.Env, "DACLINE_TEST_CRASH_AT="+point)
			}
		}
		t0 := time.Now()
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		runs++
		if mode == "sigkill" {
			time.Sleep(time.Duration(r.Int64N(int64(est))))
			_ = c.Process.Signal(syscall.SIGKILL)
		}
		err := c.Wait()
		elapsed := time.Since(t0)
		var ee *exec.ExitError
		switch {
		case err == nil:
			// The run finished (the kill came too late, or the crash point
			// was not on this run's path): the batch is done.
			est = max(elapsed, 200*time.Millisecond)
			var res signResult
			if jerr := json.Unmarshal([]byte(stdout.String()), &res); jerr != nil {
				t.Fatalf("appliance sign --json: %v\n%s", jerr, stdout.String())
			}
			if res.Accepted != n || res.Issued != n || res.Refused != 0 {
				t.Fatalf("batch %d: %d accepted, %d issued, %d refused of %d CSRs (%s)", batches, res.Accepted, res.Issued, res.Refused, n, stdout.String())
			}
			out := f.lineclient("batch", "import", res.OutputPath)
			if !strings.Contains(out, fmt.Sprintf(": %d DACs, 0 refused, 0 not returned", n)) {
				t.Fatalf("batch %d: import: %s", batches, out)
			}
			lastBundle, bundle = bundle, ""
			continue
		case errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signaled() && mode == "sigkill":
			sigkills++
		case errors.As(err, &ee) && killedBySIGKILL(ee) && mode == "hook" && hookRE.MatchString(stderr.String()):
			hooks++
			points[strings.SplitN(point, ":", 2)[0]]++
		case sigkills > 0 && tokenLost(stderr.String()):
			// A SIGKILL landed inside SoftHSM2's non-atomic token rewrite
			// (token_test.go): put the development token back and run again.
			f.restoreToken(snapshot)
			restored++
			continue
		default:
			t.Fatalf("appliance sign (%s %s) failed: %v\nstdout:\n%s\nstderr:\n%s", mode, point, err, stdout.String(), stderr.String())
		}
		killed++

		// After a kill: the log must be whole and consistent as it stands.
		ents, err := f.logEntries()
		if err != nil {
			t.Fatalf("after kill %d (%s %s): %v", killed, mode, point, err)
		}
		s := checkLog(ents)
		if len(s.violations) > 0 {
			t.Fatalf("after kill %d (%s %s): log:\n  %s", killed, mode, point, strings.Join(s.violations, "\n  "))
		}
		cur := 0
		for b, k := range s.batches {
			if !s.finished[b] {
				cur = k
			}
		}
		switch {
		case cur == 0:
			caught["before the first DAC"]++
		case cur < n:
			caught["mid-batch"]++
		default:
			caught["after the last DAC"]++
		}
	}

	// A finished batch run again writes its return bundle again and signs nothing.
	before, err := f.logEntries()
	if err != nil {
		t.Fatal(err)
	}
	res := f.sign(lastBundle)
	if res.IssuedNow != 0 || res.Issued != n {
		t.Fatalf("finished batch run again: issued now %d, issued %d (want 0, %d)", res.IssuedNow, res.Issued, n)
	}
	reproduced++

	// The invariants: one DAC per key, none lost, a consistent log that verifies.
	ents, err := f.logEntries()
	if err != nil {
		t.Fatal(err)
	}
	s := checkLog(ents)
	if len(s.violations) > 0 {
		t.Fatalf("log:\n  %s", strings.Join(s.violations, "\n  "))
	}
	if b := checkLog(before); b.issued != s.issued {
		t.Errorf("re-running a finished batch logged %d more DACs", s.issued-b.issued)
	}
	if s.issued != len(allKeys) {
		t.Errorf("%d DACs issued for %d keys", s.issued, len(allKeys))
	}
	for spki, mac := range allKeys {
		if _, ok := s.bySPKI[hex.EncodeToString(spki[:])]; !ok {
			t.Errorf("module %s: no DAC issued for its key", mac)
		}
	}
	st, err := f.stationStatus()
	if err != nil {
		t.Fatal(err)
	}
	if st.Total != len(allKeys) || st.States["dac-received"] != len(allKeys) {
		t.Errorf("station: %d modules, states %v; want all %d with their DAC received", st.Total, st.States, len(allKeys))
	}
	verdict := "log verifies (appliance audit verify)"
	if _, err := f.auditVerify("final"); err != nil {
		t.Errorf("audit: %v", err)
		verdict = "log export + appliance audit verify FAILED"
	}
	if t.Failed() && verdict == "log verifies (appliance audit verify)" {
		verdict = "INVARIANTS BROKEN (see above)"
	}
	t.Logf("chaos: ceremony survived %d kills (%d SIGKILL at random instants, %d at named crash points %s; caught %s) in %d runs over %d batches of %d CSRs; %d DACs issued for %d keys; station imported every batch; a finished batch run again signed nothing; %s; %d entries left in TMPDIR by killed runs; SoftHSM2 token restored %d times after a kill damaged it",
		killed, sigkills, hooks, fmtCounts(points), fmtCounts(caught), runs+reproduced, batches, n, s.issued, len(allKeys), verdict, f.leftoverTemps(), restored)
}

// fmtCounts prints a count map in a stable order: "a=1 b=2".
func fmtCounts(m map[string]int) string {
	var b strings.Builder
	for i, k := range sortedKeys(m) {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s=%d", k, m[k])
	}
	if b.Len() == 0 {
		return "none"
	}
	return "(" + b.String() + ")"
}

// killedBySIGKILL: the crash hook ends the process with SIGKILL, like a
// power cut (appliance/ceremony/crashtest).
func killedBySIGKILL(ee *exec.ExitError) bool {
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}
