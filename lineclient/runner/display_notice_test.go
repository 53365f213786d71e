package runner

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestNoticeIsNotOverwritten: on a terminal, the Ctrl-C message stays on
// screen: the redraw after it moves the cursor up over the status block
// drawn after the message only, never over the message.
func TestNoticeIsNotOverwritten(t *testing.T) {
	var out bytes.Buffer
	d := NewDisplay(&out, []string{"/dev/a", "/dev/b"}, true)
	tot := Totals{Started: time.Now()}
	d.Tick(tot)
	d.Tick(tot)
	out.Reset()
	d.Notice("lineclient: stopping after the current steps (Ctrl-C again to stop now)")
	d.Tick(tot)
	s := out.String()
	i := strings.Index(s, "stopping after the current steps")
	if i < 0 {
		t.Fatalf("no notice in %q", s)
	}
	// After the notice: only the new block (3 lines), with no cursor-up.
	if after := s[i:]; strings.Contains(after, "\x1b[3A") || strings.Count(after, "\n") != 4 {
		t.Fatalf("the redraw after the notice moves over it: %q", after)
	}
	out.Reset()
	d.Tick(tot) // later redraws go back over the block only (3 lines)
	if !strings.HasPrefix(out.String(), "\x1b[3A") {
		t.Fatalf("redraw %q", out.String())
	}
}

// TestRatesCountThisRunsWork: rates start with the first step on a module,
// not with the run, and give CSRs as well as finished modules.
func TestRatesCountThisRunsWork(t *testing.T) {
	start := time.Now()
	tot := Totals{Started: start.Add(-10 * time.Hour), FirstWork: start.Add(-time.Hour), Done: 30, CSRs: 60}
	if r := tot.Rate(start); r < 29.9 || r > 30.1 {
		t.Errorf("done rate %.1f, want 30 (over the hour of work, not the 10 h run)", r)
	}
	if r := tot.CSRRate(start); r < 59.9 || r > 60.1 {
		t.Errorf("csr rate %.1f", r)
	}
	if r := (Totals{Started: start.Add(-time.Hour), Done: 3}).Rate(start); r != 0 {
		t.Errorf("rate before any work: %.1f", r)
	}
	if !strings.Contains(totalsLine(tot, start), "30 modules/hour, 60 csrs/hour") {
		t.Errorf("totals line %q", totalsLine(tot, start))
	}
}
