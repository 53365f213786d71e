package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dacline/dacline/lineclient/sim"
)

// TestBatchCancelAfterRefusal: the appliance refuses a whole batch (larger
// than its policy allows); the operator cancels it, the same CSRs go out
// again split with --limit, are signed and finish. Every bundle is kept in
// the home's receipts.
func TestBatchCancelAfterRefusal(t *testing.T) {
	f := newFactoryBatch(t, 3)
	s, err := sim.Start(sim.Options{Count: 4, Timing: sim.TimingFast, StateDir: filepath.Join(f.work, "modules"), Seed: 7, Logf: func(string, ...any) {}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var ports []string
	for _, p := range s.Ports() {
		ports = append(ports, "--port", p)
	}
	runLine := func() string {
		return f.line(append(append([]string{"run"}, ports...), "--until-idle", "--idle-timeout", "1s")...)
	}
	if out := runLine(); !strings.Contains(out, "4 csrs taken") {
		t.Fatalf("first run:\n%s", out)
	}
	for i := range 4 {
		s.Jig(i).Remove()
	}
	out := f.line("batch", "export", "--out", "usb")
	if !strings.Contains(out, ": 4 CSRs") {
		t.Fatalf("export: %s", out)
	}
	refused := strings.TrimSpace(out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:])
	batchID := strings.Fields(out)[2]
	batchID = strings.TrimSuffix(batchID, ":")
	if _, errs, err := f.exec(f.appliance, "--home", "appliance-home", "sign", "--out", "out", refused); err == nil || !strings.Contains(errs, "max_batch_size") {
		t.Fatalf("the appliance signed a batch over its policy: %v\n%s", err, errs)
	}
	// Before the cancel the modules are stuck in exported.
	if st := f.status(); st.States["exported"] != 4 {
		t.Fatalf("status before cancel: %+v", st)
	}
	if _, errs, err := f.exec(f.lineclient, "--home", "station-home", "batch", "cancel", batchID); err == nil || !strings.Contains(errs, "reason") {
		t.Fatalf("cancel without a reason: %v %s", err, errs)
	}
	out = f.line("batch", "cancel", batchID, "--reason", "appliance: batch larger than max_batch_size 3")
	if !strings.Contains(out, "4 modules back to waiting") {
		t.Fatalf("cancel: %s", out)
	}
	if st := f.status(); st.States["key-generated"] != 4 || st.States["exported"] != 0 {
		t.Fatalf("status after cancel: %+v", st)
	}
	if _, errs, err := f.exec(f.lineclient, "--home", "station-home", "batch", "export", "--out", "usb", "--rewrite", batchID); err == nil || !strings.Contains(errs, "cancelled") {
		t.Fatalf("rewrite of a cancelled batch: %v %s", err, errs)
	}
	// Split: 3, then 1; both signed and imported.
	for _, want := range []string{": 3 CSRs", ": 1 CSRs"} {
		out := f.line("batch", "export", "--out", "usb", "--limit", "3")
		if !strings.Contains(out, want) {
			t.Fatalf("export: %s", out)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if out := f.line("batch", "import", f.sign(lines[len(lines)-1])); !strings.Contains(out, "0 refused, 0 not returned") {
			t.Fatalf("import: %s", out)
		}
	}
	for i := range 4 {
		if err := s.Jig(i).Insert(i); err != nil {
			t.Fatal(err)
		}
	}
	if out := runLine(); !strings.Contains(out, "4 done, 0 failed") {
		t.Fatalf("second run:\n%s", out)
	}
	// Receipts: the three csr-batch bundles (the refused one too) and the
	// two dac-batch bundles, byte for byte.
	rc, _ := filepath.Glob(filepath.Join(f.work, "station-home", "receipts", "*"))
	if len(rc) != 5 {
		t.Fatalf("receipts: %v", rc)
	}
	for _, r := range rc {
		fi, _ := os.Stat(r)
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("receipt %s mode %04o", r, fi.Mode().Perm())
		}
		var orig string
		if strings.Contains(filepath.Base(r), "csr-batch") {
			orig = filepath.Join(f.work, "usb", filepath.Base(r))
		} else {
			orig = filepath.Join(f.work, "out", filepath.Base(r))
		}
		a, _ := os.ReadFile(r)
		b, err := os.ReadFile(orig)
		if err != nil || string(a) != string(b) {
			t.Errorf("receipt %s differs from %s (%v)", r, orig, err)
		}
	}
}
