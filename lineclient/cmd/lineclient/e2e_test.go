package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/dacline/dacline/lineclient/manifest"
	"github.com/dacline/dacline/lineclient/sim"
	"github.com/dacline/dacline/lineclient/station"
	"github.com/dacline/dacline/shared/lineproto"
	"github.com/dacline/dacline/shared/testenv"
)

// TestEndToEnd is a factory day with the real parts: an appliance on
// SoftHSM2 (its own CLI), the station CLI, and simulated modules on PTYs.
// Keygen on four jigs, modules taken off, batch out on a "stick", the
// ceremony, batch in, modules put back on other jigs and finished; then
// manifest, labels, status, and a replayed bundle refused.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds both programs")
	}
	testenv.RequireFile(t, "/usr/lib/softhsm/libsofthsm2.so", "SoftHSM2 (libsofthsm2.so)")
	testenv.RequireTool(t, "softhsm2-util")
	work := t.TempDir()
	bin := filepath.Join(work, "bin")
	build := func(name, pkg string) string {
		out := filepath.Join(bin, name)
		cmd := exec.Command("go", "build", "-o", out, pkg)
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=readonly")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", pkg, err, b)
		}
		return out
	}
	appliance := build("appliance", "github.com/dacline/dacline/appliance/cmd/appliance")
	lineclient := build("lineclient", "github.com/dacline/dacline/lineclient/cmd/lineclient")
	if out, err := exec.Command(appliance, "sign", "--help").CombinedOutput(); err != nil {
		t.Fatalf("appliance has no working 'sign' command: %v\n%s", err, out)
	}

	softhsm := filepath.Join(work, "softhsm")
	os.MkdirAll(filepath.Join(softhsm, "tokens"), 0o700)
	os.WriteFile(filepath.Join(softhsm, "softhsm2.conf"), []byte("directories.tokendir = "+filepath.Join(softhsm, "tokens")+"\nobjectstore.backend = file\nlog.level = ERROR\n"), 0o600)
	env := append(os.Environ(), "SOFTHSM2_CONF="+filepath.Join(softhsm, "softhsm2.conf"), "DACLINE_HSM_PIN=1234-e2e-pin",
		"DACLINE_OFFICER=Alice Officer", "DACLINE_HOME=")
	run := func(prog string, args ...string) string {
		t.Helper()
		cmd := exec.Command(prog, args...)
		cmd.Dir, cmd.Env = work, env
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", filepath.Base(prog), strings.Join(args, " "), err, out.String(), errb.String())
		}
		return out.String()
	}
	fails := func(prog string, args ...string) string {
		t.Helper()
		cmd := exec.Command(prog, args...)
		cmd.Dir, cmd.Env = work, env
		b, err := cmd.CombinedOutput()
		if err == nil {
			t.Fatalf("%s %s succeeded:\n%s", filepath.Base(prog), strings.Join(args, " "), b)
		}
		return string(b)
	}
	app := func(args ...string) string {
		return run(appliance, append([]string{"--home", "appliance-home"}, args...)...)
	}
	line := func(args ...string) string {
		return run(lineclient, append([]string{"--home", "station-home"}, args...)...)
	}

	// The appliance: token, test PAA/PAI, CD, identity, policy.
	app("init", "--new-softhsm-token", "--name", "appliance-1")
	app("paa", "create-test", "--vid", "FFF1")
	app("pai", "create-test", "--vid", "FFF1", "--pid", "8000")
	app("cd", "create-test", "--vid", "FFF1", "--pid", "8000", "--out", "cd.der")
	app("identity", "--out", "appliance.id")
	os.WriteFile(filepath.Join(work, "policy.json"), []byte(`{"version": 1, "max_batch_size": 1000,
  "dac": {"common_name": "dacline DAC {serial}"},
  "stations": [{"name": "line-1", "products": [{"vid": "FFF1", "pids": ["8000"]}], "max_dacs": 100}]}`), 0o600)
	app("policy", "set", "policy.json")

	// The station, enrolled.
	for _, d := range []string{"usb", "out"} {
		os.MkdirAll(filepath.Join(work, d), 0o700)
	}
	line("init", "--appliance", "appliance.id", "--vid", "FFF1", "--pid", "8000", "--cd", "cd.der", "--name", "line-1")
	line("enroll", "--out", "usb")
	enr, _ := filepath.Glob(filepath.Join(work, "usb", "enrollment-line-1-*.age"))
	if len(enr) != 1 {
		t.Fatalf("enrollment bundles: %v", enr)
	}
	app("station", "enroll", "--yes", enr[0])

	// Four jigs with four modules.
	s, err := sim.Start(sim.Options{Count: 4, Timing: sim.TimingFast, StateDir: filepath.Join(work, "modules"), Seed: 99, Logf: func(string, ...any) {}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ports := []string{}
	for _, p := range s.Ports() {
		ports = append(ports, "--port", p)
	}
	runLine := func() string {
		return line(append(append([]string{"run"}, ports...), "--until-idle", "--idle-timeout", "1s")...)
	}
	out := runLine()
	if !strings.Contains(out, "4 csrs taken") {
		t.Fatalf("first run:\n%s", out)
	}
	for i := range 4 {
		s.Jig(i).Remove()
	}

	// Batch out, ceremony, batch in.
	out = line("batch", "export", "--out", "usb")
	if !strings.Contains(out, ": 4 CSRs") {
		t.Fatalf("export: %s", out)
	}
	csrs, _ := filepath.Glob(filepath.Join(work, "usb", "csr-batch-line-1-*.age"))
	if len(csrs) != 1 {
		t.Fatalf("csr bundles: %v", csrs)
	}
	app("sign", "--out", "out", csrs[0])
	dacs, _ := filepath.Glob(filepath.Join(work, "out", "dac-batch-appliance-1-*.age"))
	if len(dacs) != 1 {
		t.Fatalf("dac bundles: %v", dacs)
	}
	out = line("batch", "import", dacs[0])
	if !strings.Contains(out, ": 4 DACs, 0 refused, 0 not returned") {
		t.Fatalf("import: %s", out)
	}
	if msg := fails(lineclient, "--home", "station-home", "batch", "import", dacs[0]); !strings.Contains(msg, "already") {
		t.Fatalf("replayed bundle: %s", msg)
	}

	// The modules come back, on other jigs, and are finished.
	for i := range 4 {
		if err := s.Jig(i).Insert((i + 2) % 4); err != nil {
			t.Fatal(err)
		}
	}
	out = runLine()
	if !strings.Contains(out, "4 done, 0 failed") {
		t.Fatalf("second run:\n%s", out)
	}
	for _, mi := range s.Modules() {
		if mi.LockMask != lineproto.LockMaskAll || mi.KeysGenerated != 1 || mi.DebugEnabled {
			t.Errorf("module %d: mask %04b keys %d debug %v", mi.ID, mi.LockMask, mi.KeysGenerated, mi.DebugEnabled)
		}
	}

	// Status, manifest, labels.
	var st struct {
		Total  int            `json:"total"`
		States map[string]int `json:"states"`
	}
	if err := json.Unmarshal([]byte(line("status", "--json", "--check")), &st); err != nil {
		t.Fatal(err)
	}
	if st.Total != 4 || st.States["done"] != 4 {
		t.Fatalf("status %+v", st)
	}
	line("manifest", "--out", "manifest.csv")
	f, err := os.Open(filepath.Join(work, "manifest.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := manifest.ReadAll(f)
	f.Close()
	if err != nil || len(rows) != 4 {
		t.Fatalf("manifest: %d rows, %v", len(rows), err)
	}
	line("labels", "--out", "labels.pdf")
	line("labels", "--out", "labels", "--all") // the PDF above recorded them printed
	pngs, _ := filepath.Glob(filepath.Join(work, "labels", "*.png"))
	if len(pngs) != 4 {
		t.Fatalf("%d label images", len(pngs))
	}
	// Every DAC in the manifest passes the appliance's own validator.
	store, err := station.OpenFile(filepath.Join(work, "station-home", "station.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	for _, r := range rows {
		c, err := store.Credentials(r.MAC)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(work, "dac-"+strings.ReplaceAll(r.MAC, ":", "")+".der")
		os.WriteFile(p, c.DAC, 0o600)
		app("cert", "validate", "--type", "dac", "--pai", "appliance-home/pai.pem", "--paa", "appliance-home/paa.pem", "--cd", "cd.der", "--cd-signer", "cd-signer-cert.pem", p)
	}
	if v, err := store.CheckInvariants(); err != nil || len(v) > 0 {
		t.Fatalf("invariants: %v %v", err, v)
	}
	// Every module's flash image is what an esp-matter device reads (e2e_flash_test.go).
	checkModuleImages(t, s, func(args ...string) string { return run(lineclient, args...) })
	_ = runtime.GOOS
}
