package firmware_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dacline/dacline/lineclient/station"
	"github.com/dacline/dacline/lineclient/transport"
	"github.com/dacline/dacline/shared/lineproto"
	"github.com/dacline/dacline/shared/testenv"
)

// factory is an appliance (SoftHSM2, its own CLI) and one enrolled station
// (the lineclient CLI) in a temporary directory, as TestEndToEnd in
// lineclient/cmd/lineclient sets them up.
type factory struct {
	t                     *testing.T
	work, app, lineclient string
	env                   []string
}

var (
	goBuilds   sync.Mutex
	goBuildDir string
	goBuilt    = map[string]string{}
)

// goBuild builds a Go program once per test binary (into a directory removed
// by TestMain) and returns its path.
func goBuild(t testing.TB, name, pkg string) string {
	t.Helper()
	goBuilds.Lock()
	defer goBuilds.Unlock()
	if p, ok := goBuilt[pkg]; ok {
		return p
	}
	if goBuildDir == "" {
		dir, err := os.MkdirTemp("", "dacline-fw-go-")
		if err != nil {
			t.Fatal(err)
		}
		goBuildDir = dir
	}
	out := filepath.Join(goBuildDir, name)
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=readonly")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", pkg, err, b)
	}
	goBuilt[pkg] = out
	return out
}

func newFactory(t *testing.T) *factory {
	testenv.RequireFile(t, "/usr/lib/softhsm/libsofthsm2.so", "SoftHSM2 (libsofthsm2.so)")
	testenv.RequireTool(t, "softhsm2-util")
	work := t.TempDir()
	f := &factory{t: t, work: work}
	f.app = goBuild(t, "appliance", "github.com/dacline/dacline/appliance/cmd/appliance")
	f.lineclient = goBuild(t, "lineclient", "github.com/dacline/dacline/lineclient/cmd/lineclient")
	softhsm := filepath.Join(work, "softhsm")
	os.MkdirAll(filepath.Join(softhsm, "tokens"), 0o700)
	os.WriteFile(filepath.Join(softhsm, "softhsm2.conf"), []byte("directories.tokendir = "+filepath.Join(softhsm, "tokens")+"\nobjectstore.backend = file\nlog.level = ERROR\n"), 0o600)
	f.env = append(os.Environ(), "SOFTHSM2_CONF="+filepath.Join(softhsm, "softhsm2.conf"), "DACLINE_HSM_PIN=1234-e2e-pin",
		"DACLINE_OFFICER=Alice Officer", "DACLINE_HOME=")
	f.appliance("init", "--new-softhsm-token", "--name", "appliance-1")
	f.appliance("paa", "create-test", "--vid", "FFF1")
	f.appliance("pai", "create-test", "--vid", "FFF1", "--pid", "8000")
	f.appliance("cd", "create-test", "--vid", "FFF1", "--pid", "8000", "--out", "cd.der")
	f.appliance("identity", "--out", "appliance.id")
	os.WriteFile(filepath.Join(work, "policy.json"), []byte(`{"version": 1, "max_batch_size": 1000,
  "dac": {"common_name": "dacline DAC {serial}"},
  "stations": [{"name": "line-1", "products": [{"vid": "FFF1", "pids": ["8000"]}], "max_dacs": 100}]}`), 0o600)
	f.appliance("policy", "set", "policy.json")
	for _, d := range []string{"usb", "out"} {
		os.MkdirAll(filepath.Join(work, d), 0o700)
	}
	f.line("init", "--appliance", "appliance.id", "--vid", "FFF1", "--pid", "8000", "--cd", "cd.der", "--name", "line-1",
		"--vendor-name", "dacline test vendor", "--product-name", "C firmware bulb")
	f.line("enroll", "--out", "usb")
	enr, _ := filepath.Glob(filepath.Join(work, "usb", "enrollment-line-1-*.age"))
	if len(enr) != 1 {
		t.Fatalf("enrollment bundles: %v", enr)
	}
	f.appliance("station", "enroll", "--yes", enr[0])
	return f
}

func (f *factory) run(prog string, args ...string) string {
	f.t.Helper()
	cmd := exec.Command(prog, args...)
	cmd.Dir, cmd.Env = f.work, f.env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		f.t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", filepath.Base(prog), strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}

func (f *factory) appliance(args ...string) string {
	return f.run(f.app, append([]string{"--home", "appliance-home"}, args...)...)
}

func (f *factory) line(args ...string) string {
	return f.run(f.lineclient, append([]string{"--home", "station-home"}, args...)...)
}

// lineRun runs `lineclient run` on the modules' ports until the line is idle.
func (f *factory) lineRun(mods []*module) string {
	args := []string{"run"}
	for _, m := range mods {
		args = append(args, "--port", m.Path)
	}
	return f.line(append(args, "--until-idle", "--idle-timeout", "1s")...)
}

// ceremony carries the CSR batch to the appliance and the DAC batch back.
func (f *factory) ceremony(n int) {
	f.t.Helper()
	if out := f.line("batch", "export", "--out", "usb"); !strings.Contains(out, fmt.Sprintf(": %d CSRs", n)) {
		f.t.Fatalf("export: %s", out)
	}
	csrs, _ := filepath.Glob(filepath.Join(f.work, "usb", "csr-batch-line-1-*.age"))
	if len(csrs) != 1 {
		f.t.Fatalf("csr bundles: %v", csrs)
	}
	f.appliance("sign", "--out", "out", csrs[0])
	dacs, _ := filepath.Glob(filepath.Join(f.work, "out", "dac-batch-appliance-1-*.age"))
	if len(dacs) != 1 {
		f.t.Fatalf("dac bundles: %v", dacs)
	}
	if out := f.line("batch", "import", dacs[0]); !strings.Contains(out, fmt.Sprintf(": %d DACs, 0 refused, 0 not returned", n)) {
		f.t.Fatalf("import: %s", out)
	}
}

// waitFile polls path until cond holds for its bytes; false after a minute.
func waitFile(path string, cond func([]byte) bool) bool {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(path); err == nil && cond(b) {
			return true
		}
		time.Sleep(2 * time.Millisecond)
	}
	return false
}

const modules = 8

// TestStationProvisionsCModules is a factory day on C firmware: `lineclient
// run` takes the CSRs of eight dacline-module processes over their PTYs, the
// ceremony signs them, and a second run writes, attests and locks them —
// while two modules lose power mid-step (SIGKILL: one during the credential
// writes, one between lock steps). Restarted on their files they are the
// same chips, and a third run finishes them. Then every station invariant
// holds and every flash image reads back as the ESP formats say.
func TestStationProvisionsCModules(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the firmware, appliance and lineclient")
	}
	bin := buildFirmware(t)
	f := newFactory(t)
	os.MkdirAll(filepath.Join(f.work, "chips"), 0o700)
	mods := make([]*module, modules)
	for i := range mods {
		mods[i] = startModule(t, bin, filepath.Join(f.work, "chips", fmt.Sprintf("chip-%d", i)),
			"--mac", fmt.Sprintf("02:DA:C1:0F:00:%02X", i))
	}
	if out := f.lineRun(mods); !strings.Contains(out, fmt.Sprintf("%d csrs taken", modules)) {
		t.Fatalf("first run:\n%s", out)
	}
	keys := make([][]byte, modules)
	for i, m := range mods {
		keys[i] = keyEntry(t, m.Dir)
	}
	f.ceremony(modules)

	// Run 2 with two power cuts: chip 0 when its factory NVS is first
	// written (credential writes under way), chip 1 once its first lock
	// step has burned (LOCK 2–4 still to come).
	cut := make(chan int, 2)
	var runEnded atomic.Bool
	go func() {
		if !waitFile(filepath.Join(mods[0].Dir, "flash.bin"), func(b []byte) bool {
			return len(b) > 0x3E0000 && b[0x3E0000] != 0xFF
		}) {
			t.Error("chip 0: no factory NVS write seen")
			return
		}
		if runEnded.Load() {
			t.Error("chip 0 lost power only after the run had ended")
		}
		mods[0].Kill()
		cut <- 0
		if !waitFile(filepath.Join(mods[1].Dir, "efuse.bin"), func(b []byte) bool { return len(b) > 0 && b[0] != 0 }) {
			t.Error("chip 1: no lock step burned")
			return
		}
		if runEnded.Load() {
			t.Error("chip 1 lost power only after the run had ended")
		}
		mods[1].Kill()
		cut <- 1
	}()
	f.lineRun(mods)
	runEnded.Store(true)
	for range 2 {
		select {
		case i := <-cut:
			mods[i] = restart(t, bin, mods[i].Dir) // power back on: the same chip
		case <-time.After(30 * time.Second):
			t.Fatal("a power cut never happened")
		}
	}
	out := f.lineRun(mods)
	st := f.status()
	if st.Total != modules || st.States["done"] != modules {
		t.Fatalf("after the third run %+v\n%s", st, out)
	}

	// The ESP-formats engineer's inspector reads every image as an esp-matter device would:
	// partition table, every TLV and NVS CRC, DAC → PAI → PAA, the stored key vs the DAC,
	// the CD's signature, the onboarding data against the manifest row.
	f.line("manifest", "--out", "manifest.csv")
	for _, m := range mods {
		out := f.line("module", "inspect", filepath.Join(m.Dir, "flash.bin"), "--paa", "appliance-home/paa.pem",
			"--cd-signer", "cd-signer-cert.pem", "--manifest", "manifest.csv")
		if !strings.Contains(out, "ok") {
			t.Errorf("module inspect %s:\n%s", m.Dir, out)
		}
	}

	store, err := station.OpenFile(filepath.Join(f.work, "station-home", "station.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if v, err := store.CheckInvariants(); err != nil || len(v) > 0 {
		t.Fatalf("invariants: %v %v", err, v)
	}
	for i, m := range mods {
		c := dial(t, m.Path, lineproto.ClientOptions{})
		id, err := c.Identify(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		if id.State != lineproto.StateLocked || id.LockMask != lineproto.LockMaskAll || id.DebugEnabled {
			t.Errorf("chip %d: %+v", i, id)
		}
		if !bytes.Equal(keyEntry(t, m.Dir), keys[i]) {
			t.Errorf("chip %d: the key entry changed after its CSR was taken", i)
		}
		checkFlash(t, store, m.Dir, id)
	}
}

// restart powers a chip on again. PTY numbers are global: a station of
// another test on this machine that keeps retrying a path it lost may hold
// the number the new PTY got; then the chip is restarted on another PTY.
func restart(t *testing.T, bin, dir string) *module {
	for range 5 {
		m := startModule(t, bin, dir)
		p, err := transport.Open(m.Path, transport.Config{})
		if err == nil {
			p.Close()
			return m
		}
		t.Logf("%s: %v; restarting on another PTY", m.Path, err)
		m.Kill()
	}
	t.Fatal("no free PTY for a restarted chip")
	return nil
}

type status struct {
	Total  int            `json:"total"`
	States map[string]int `json:"states"`
}

func (f *factory) status() status {
	var st status
	if err := json.Unmarshal([]byte(f.line("status", "--json", "--check")), &st); err != nil {
		f.t.Fatal(err)
	}
	return st
}

// keyEntry is the PRIV_KEY TLV entry at the start of esp_secure_cert.
func keyEntry(t *testing.T, dir string) []byte {
	b, err := os.ReadFile(filepath.Join(dir, "flash.bin"))
	if err != nil {
		t.Fatal(err)
	}
	sc := b[0xD000 : 0xD000+0x2000]
	if len(sc) < 12 || sc[8] != 2 {
		t.Fatalf("%s: no PRIV_KEY entry first in esp_secure_cert", dir)
	}
	n := int(sc[10]) | int(sc[11])<<8
	return bytes.Clone(sc[:12+(n+15)/16*16+4])
}
