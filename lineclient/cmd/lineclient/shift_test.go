package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dacline/dacline/lineclient/manifest"
	"github.com/dacline/dacline/lineclient/sim"
	"github.com/dacline/dacline/lineclient/station"
	"github.com/dacline/dacline/lineclient/stationhome"
	"github.com/dacline/dacline/shared/testenv"
)

// factory is an appliance on SoftHSM2 and an enrolled station, both driven
// through their built programs in one work directory.
type factory struct {
	t                     *testing.T
	work                  string
	appliance, lineclient string
	env                   []string
}

func newFactory(t *testing.T) *factory { return newFactoryBatch(t, 1000) }

// newFactoryBatch is newFactory with a policy whose max_batch_size is maxBatch.
func newFactoryBatch(t *testing.T, maxBatch int) *factory {
	t.Helper()
	if testing.Short() {
		t.Skip("builds both programs")
	}
	testenv.RequireFile(t, "/usr/lib/softhsm/libsofthsm2.so", "SoftHSM2 (libsofthsm2.so)")
	testenv.RequireTool(t, "softhsm2-util")
	f := &factory{t: t, work: t.TempDir()}
	build := func(name, pkg string) string {
		out := filepath.Join(f.work, "bin", name)
		cmd := exec.Command("go", "build", "-o", out, pkg)
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=readonly")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", pkg, err, b)
		}
		return out
	}
	f.appliance = build("appliance", "github.com/dacline/dacline/appliance/cmd/appliance")
	f.lineclient = build("lineclient", "github.com/dacline/dacline/lineclient/cmd/lineclient")
	softhsm := filepath.Join(f.work, "softhsm")
	os.MkdirAll(filepath.Join(softhsm, "tokens"), 0o700)
	os.WriteFile(filepath.Join(softhsm, "softhsm2.conf"), []byte("directories.tokendir = "+filepath.Join(softhsm, "tokens")+"\nobjectstore.backend = file\nlog.level = ERROR\n"), 0o600)
	f.env = append(os.Environ(), "SOFTHSM2_CONF="+filepath.Join(softhsm, "softhsm2.conf"), "DACLINE_HSM_PIN=1234-e2e-pin",
		"DACLINE_OFFICER=Alice Officer", "DACLINE_HOME=")
	for _, d := range []string{"usb", "out"} {
		os.MkdirAll(filepath.Join(f.work, d), 0o700)
	}
	f.app("init", "--new-softhsm-token", "--name", "appliance-1")
	f.app("paa", "create-test", "--vid", "FFF1")
	f.app("pai", "create-test", "--vid", "FFF1", "--pid", "8000")
	f.app("cd", "create-test", "--vid", "FFF1", "--pid", "8000", "--out", "cd.der")
	f.app("identity", "--out", "appliance.id")
	os.WriteFile(filepath.Join(f.work, "policy.json"), []byte(`{"version": 1, "max_batch_size": `+strconv.Itoa(maxBatch)+`,
  "dac": {"common_name": "dacline DAC {serial}"},
  "stations": [{"name": "line-1", "products": [{"vid": "FFF1", "pids": ["8000"]}], "max_dacs": 100}]}`), 0o600)
	f.app("policy", "set", "policy.json")
	f.line("init", "--appliance", "appliance.id", "--vid", "FFF1", "--pid", "8000", "--cd", "cd.der", "--name", "line-1")
	f.line("enroll", "--out", "usb")
	enr, _ := filepath.Glob(filepath.Join(f.work, "usb", "enrollment-line-1-*.age"))
	if len(enr) != 1 {
		t.Fatalf("enrollment bundles: %v", enr)
	}
	f.app("station", "enroll", "--yes", enr[0])
	return f
}

func (f *factory) exec(prog string, args ...string) (string, string, error) {
	cmd := exec.Command(prog, args...)
	cmd.Dir, cmd.Env = f.work, f.env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

func (f *factory) must(prog string, args ...string) string {
	f.t.Helper()
	out, errs, err := f.exec(prog, args...)
	if err != nil {
		f.t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", filepath.Base(prog), strings.Join(args, " "), err, out, errs)
	}
	return out
}

func (f *factory) app(args ...string) string {
	f.t.Helper()
	return f.must(f.appliance, append([]string{"--home", "appliance-home"}, args...)...)
}

func (f *factory) line(args ...string) string {
	f.t.Helper()
	return f.must(f.lineclient, append([]string{"--home", "station-home"}, args...)...)
}

// sign runs the ceremony on the newest csr-batch bundle and returns the
// dac-batch bundle.
func (f *factory) sign(csr string) string {
	f.t.Helper()
	before, _ := filepath.Glob(filepath.Join(f.work, "out", "dac-batch-*.age"))
	f.app("sign", "--out", "out", csr)
	after, _ := filepath.Glob(filepath.Join(f.work, "out", "dac-batch-*.age"))
	if len(after) != len(before)+1 {
		f.t.Fatalf("dac bundles before %v after %v", before, after)
	}
	seen := map[string]bool{}
	for _, b := range before {
		seen[b] = true
	}
	for _, a := range after {
		if !seen[a] {
			return a
		}
	}
	panic("unreachable")
}

type statusJSON struct {
	Total  int            `json:"total"`
	States map[string]int `json:"states"`
}

func (f *factory) status() statusJSON {
	f.t.Helper()
	var st statusJSON
	if err := json.Unmarshal([]byte(f.line("status", "--json")), &st); err != nil {
		f.t.Fatal(err)
	}
	return st
}

// waitState waits until at least n modules are in state (status goes
// through the running process).
func (f *factory) waitState(state string, n int) {
	f.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		st := f.status()
		if st.States[state] >= n {
			return
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("waited for %d modules %s: %+v", n, state, st)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitFor waits until the status (through the running process) satisfies ok.
func (f *factory) waitFor(what string, ok func(statusJSON) bool) {
	f.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		st := f.status()
		if ok(st) {
			return
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("waited for %s: %+v", what, st)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestShiftExchangeWhileRunning is a shift in which the line never stops:
// one `lineclient run` process drives four jigs from start to end while
// batches go out and come back, and status, manifest, labels and dacs
// export are read, all through the run's control socket.
func TestShiftExchangeWhileRunning(t *testing.T) {
	f := newFactory(t)
	s, err := sim.Start(sim.Options{Count: 4, Timing: sim.TimingFast, StateDir: filepath.Join(f.work, "modules"), Seed: 18, Logf: func(string, ...any) {}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	args := []string{"--home", "station-home", "run"}
	for _, p := range s.Ports() {
		args = append(args, "--port", p)
	}
	run := exec.Command(f.lineclient, args...)
	run.Dir, run.Env = f.work, f.env
	var runOut, runErr bytes.Buffer
	run.Stdout, run.Stderr = &runOut, &runErr
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- run.Wait() }()
	defer func() {
		if run.ProcessState == nil {
			run.Process.Kill()
		}
	}()
	alive := func(when string) {
		t.Helper()
		select {
		case err := <-exited:
			t.Fatalf("%s: lineclient run exited: %v\nstdout:\n%s\nstderr:\n%s", when, err, runOut.String(), runErr.String())
		default:
		}
	}
	sock := filepath.Join(f.work, "station-home", stationhome.ControlSocket)
	for i := 0; ; i++ {
		if fi, err := os.Stat(sock); err == nil {
			if fi.Mode().Perm() != 0o600 {
				t.Fatalf("control socket mode %04o, want 0600", fi.Mode().Perm())
			}
			break
		}
		alive("waiting for the control socket")
		if i > 100 {
			t.Fatal("no control socket")
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Modules 0-3 get keys; then 4-7 go on the jigs and the first batch
	// goes out while they are being keyed.
	f.waitState("key-generated", 4)
	for i := range 4 {
		if err := s.Jig(i).Insert(4 + i); err != nil {
			t.Fatal(err)
		}
	}
	out := f.line("batch", "export", "--out", "usb")
	alive("after export")
	if !strings.Contains(out, "wrote batch") {
		t.Fatalf("export: %s", out)
	}
	csrs, _ := filepath.Glob(filepath.Join(f.work, "usb", "csr-batch-line-1-*.age"))
	if len(csrs) != 1 {
		t.Fatalf("csr bundles: %v", csrs)
	}
	dacs := f.sign(csrs[0])
	if out := f.line("batch", "import", dacs); !strings.Contains(out, "0 refused, 0 not returned") {
		t.Fatalf("import: %s", out)
	}
	alive("after import")
	// A bundle imported twice is refused by the running process too.
	if _, errs, err := f.exec(f.lineclient, "--home", "station-home", "batch", "import", dacs); err == nil || !strings.Contains(errs, "already") {
		t.Fatalf("replayed bundle through the control socket: %v\n%s", err, errs)
	}

	// Modules 4-7 keyed (each CSR recorded: a module taken off between its
	// key and the reply would be keyed only when it comes back); 0-3 come
	// back and are finished by the same run.
	f.waitFor("every module keyed", func(st statusJSON) bool { return st.Total == 8 && st.States["identified"] == 0 })
	st := f.status()
	waiting := st.States["key-generated"]
	for i := range 4 {
		if err := s.Jig(i).Insert(i); err != nil {
			t.Fatal(err)
		}
	}
	f.waitState("done", 4)
	// The second batch: whatever the first left out.
	if waiting > 0 || f.status().States["key-generated"] > 0 {
		out := f.line("batch", "export", "--out", "usb")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		f.line("batch", "import", f.sign(lines[len(lines)-1]))
	}
	for i := range 4 {
		if err := s.Jig(i).Insert(4 + i); err != nil {
			t.Fatal(err)
		}
	}
	f.waitState("done", 8)
	alive("after the second batch")

	// Reports while the line runs.
	if out := f.line("manifest", "--out", "manifest.csv"); !strings.Contains(out, "wrote 8 rows") {
		t.Fatalf("manifest: %s", out)
	}
	fh, err := os.Open(filepath.Join(f.work, "manifest.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := manifest.ReadAll(fh)
	fh.Close()
	if err != nil || len(rows) != 8 {
		t.Fatalf("manifest: %d rows, %v", len(rows), err)
	}
	if out := f.line("labels", "--out", "labels.pdf"); !strings.Contains(out, "wrote 8 labels") {
		t.Fatalf("labels: %s", out)
	}
	if _, err := os.Stat(filepath.Join(f.work, "labels.pdf")); err != nil {
		t.Fatalf("labels written relative to the client's directory: %v", err)
	}
	alive("after the reports")
	// A command that must not run inside run is not forwarded: a second run
	// is refused, and the first keeps going.
	if _, errs, err := f.exec(f.lineclient, "--home", "station-home", "run", "--port", s.Ports()[0], "--until-idle"); err == nil ||
		!strings.Contains(errs, "in use") {
		t.Fatalf("second run: %v\n%s", err, errs)
	}
	alive("after a second run was refused")

	// Ctrl-C: the run stops, once, at a safe point.
	run.Process.Signal(syscall.SIGINT)
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("run after Ctrl-C: %v\n%s", err, runErr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not stop after Ctrl-C")
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Fatalf("control socket left behind: %v", err)
	}
	// The same commands now open the store themselves.
	st = f.status()
	if st.Total != 8 || st.States["done"] != 8 {
		t.Fatalf("status after the shift: %+v", st)
	}
	store, err := station.OpenFile(filepath.Join(f.work, "station-home", "station.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if v, err := store.CheckInvariants(); err != nil || len(v) > 0 {
		t.Fatalf("invariants: %v %v", err, v)
	}
}
