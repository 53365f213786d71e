package chaos

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestApplianceRestore restores the appliance from an earlier copy — first
// appliance.db alone, then the whole home — and runs `appliance sign` again
// on a batch signed since the copy was taken. Both times the run is refused
// before any DAC is issued (the token's log anchor is newer than the home),
// naming the expected and found log sizes. The officer then follows the
// runbook (docs/security-officer.md, "Backup and restore"): `appliance log
// restore --from` the latest log export. Afterwards the batch is still not
// signed twice, a new batch is signed, and every invariant holds: one DAC per
// key, the station's quota, the audit log verifies.
//
// The development token lives in the home (tokens/); it stands in for the
// HSM, which no backup of the home contains, so it is kept out of the
// restore.
func TestApplianceRestore(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos: builds and drives the programs")
	}
	n := max(envInt(t, "DACLINE_CHAOS_CEREMONY_CSRS", 300)/3, 1)
	f := newFactory(t)
	// The quota has room for exactly two batches: a second set of DACs for
	// the first batch's keys would show as a refused third batch, or more.
	pol := filepath.Join(f.dir, "policy-quota.json")
	if err := os.WriteFile(pol, []byte(fmt.Sprintf(`{"version":1,"max_batch_size":100000,"dac":{"common_name":"chaos DAC {serial}"},
"stations":[{"name":%q,"max_dacs":%d,"products":[{"vid":%q,"pids":[%q]}]}]}`, stationName, 2*n, vid, pid)), 0o600); err != nil {
		t.Fatal(err)
	}
	f.appliance("policy", "set", pol)

	backup := filepath.Join(f.dir, "backup-home")
	if err := copyHome(f.app, backup); err != nil {
		t.Fatal(err)
	}

	// Signed after the backup, delivered, and exported at the end of the session.
	keys := f.addSyntheticModules(0, n)
	first := f.exportBatch()
	if r := f.sign(first); r.Issued != n {
		t.Fatalf("first batch: %+v", r)
	}
	f.lineclient("batch", "import", f.newest("dac-batch-*.age"))
	export := filepath.Join(f.dir, "export")
	if err := os.Mkdir(export, 0o700); err != nil {
		t.Fatal(err)
	}
	f.appliance("log", "export", "--out", export)
	entries, err := f.logEntries()
	if err != nil {
		t.Fatal(err)
	}
	want := len(entries)

	refused := 0
	for _, what := range []string{"appliance.db", "whole home"} {
		if what == "appliance.db" {
			if err := copyFile(filepath.Join(backup, "appliance.db"), filepath.Join(f.app, "appliance.db")); err != nil {
				t.Fatal(err)
			}
		} else if err := restoreHome(backup, f.app); err != nil {
			t.Fatal(err)
		}
		before, err := f.logEntries()
		if err != nil {
			t.Fatal(err)
		}
		dacs, _ := filepath.Glob(filepath.Join(f.usb, "dac-batch-*.age"))
		out, err := f.try(f.cmd("appliance", f.app, "sign", "--json", "--out", f.usb, first))
		if err == nil {
			t.Fatalf("%s restored: the signed batch was signed again:\n%s", what, out)
		}
		out = err.Error()
		wantMsg := fmt.Sprintf("expects a log of at least %d entries", want)
		if !strings.Contains(out, "older than the anchor on the token") || !strings.Contains(out, wantMsg) ||
			!strings.Contains(out, fmt.Sprintf("this home's log has %d", len(before))) {
			t.Fatalf("%s restored: refusal does not name the expected %d and found %d entries:\n%s", what, want, len(before), out)
		}
		after, err := f.logEntries()
		if err != nil {
			t.Fatal(err)
		}
		now, _ := filepath.Glob(filepath.Join(f.usb, "dac-batch-*.age"))
		if len(after) != len(before) || len(now) != len(dacs) {
			t.Fatalf("%s restored: the refused run recorded %d entries and wrote %d bundles", what, len(after)-len(before), len(now)-len(dacs))
		}
		refused++
	}

	// The runbook: the missing tail from the latest log export.
	out := f.appliance("log", "restore", "--from", export)
	if !strings.Contains(out, "anchor check: OK") {
		t.Fatalf("log restore:\n%s", out)
	}
	if _, err := f.try(f.cmd("appliance", f.app, "sign", "--json", "--out", f.usb, first)); err == nil || !strings.Contains(err.Error(), "ceremony rebuilt from a log export") {
		t.Fatalf("after the restore the first batch was not refused: %v", err)
	}
	maps.Copy(keys, f.addSyntheticModules(n, n))
	if r := f.sign(f.exportBatch()); r.Issued != n || r.Refused != 0 {
		t.Fatalf("second batch after the restore: %+v", r)
	}
	f.lineclient("batch", "import", f.newest("dac-batch-*.age"))

	// Invariants: one DAC per key, every key of both batches certified, the
	// quota, and the auditor's verifier.
	entries, err = f.logEntries()
	if err != nil {
		t.Fatal(err)
	}
	s := checkLog(entries)
	if len(s.violations) > 0 {
		t.Fatalf("log after the restore:\n  %s", strings.Join(s.violations, "\n  "))
	}
	if s.issued != 2*n || len(s.bySPKI) != len(keys) {
		t.Fatalf("%d DACs for %d keys, want %d", s.issued, len(keys), 2*n)
	}
	for k := range keys {
		if _, ok := s.bySPKI[fmt.Sprintf("%x", k)]; !ok {
			t.Fatalf("key %x has no DAC", k[:8])
		}
	}
	if _, err := f.try(f.cmd("appliance", f.app, "sign", "--json", "--out", f.usb, f.exportExtra())); err == nil || !strings.Contains(err.Error(), "station quota exceeded") {
		t.Fatalf("quota of %d not enforced after the restore: %v", 2*n, err)
	}
	if rep, err := f.auditVerify("after-restore"); err != nil {
		t.Fatalf("audit after the restore: %v\n%s", err, rep)
	}
	t.Logf("chaos: appliance restore survived: %d restores (appliance.db, whole home) refused before any DAC, log restored from the export, %d DACs for %d keys, quota %d held, audit OK",
		refused, s.issued, len(keys), 2*n)
}

// exportExtra adds one module and exports it in a batch of its own.
func (f *factory) exportExtra() string {
	f.addSyntheticModules(1<<20, 1)
	return f.exportBatch()
}

// copyHome copies an appliance home except its development token (tokens/,
// softhsm2.conf): the stand-in for the HSM, which a backup never holds.
func copyHome(src, dst string) error {
	ents, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dst, 0o700); err != nil {
		return err
	}
	for _, e := range ents {
		if e.Name() == "tokens" || e.Name() == "softhsm2.conf" || e.Name() == "tmp" {
			continue
		}
		if e.IsDir() {
			if err := copyTree(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
				return err
			}
			continue
		}
		if err := copyFile(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// restoreHome replaces everything in the home but the token by the backup.
func restoreHome(backup, home string) error {
	ents, err := os.ReadDir(home)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if e.Name() == "tokens" || e.Name() == "softhsm2.conf" {
			continue
		}
		if err := os.RemoveAll(filepath.Join(home, e.Name())); err != nil {
			return err
		}
	}
	return copyHome(backup, home)
}

// copyFile copies one file, keeping its mode.
func copyFile(src, dst string) error {
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, fi.Mode().Perm())
}
