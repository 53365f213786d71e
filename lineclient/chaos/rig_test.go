package chaos

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dacline/dacline/appliance/hsm/hsmtest"
	"github.com/dacline/dacline/lineclient/station"
	"github.com/dacline/dacline/lineclient/stationhome"
)

const (
	vid, pid    = "FFF1", "8000"
	stationName = "line-1"
)

// binDir holds the appliance and lineclient programs under test.
var binDir string

func TestMain(m *testing.M) {
	code := func() int {
		if d := os.Getenv("DACLINE_BIN"); d != "" {
			binDir = d
			return m.Run()
		}
		d, err := os.MkdirTemp("", "dacline-chaos-bin")
		if err != nil {
			fmt.Fprintln(os.Stderr, "chaos:", err)
			return 1
		}
		defer os.RemoveAll(d)
		if err := BuildPrograms(d); err != nil {
			fmt.Fprintln(os.Stderr, "chaos:", err)
			return 1
		}
		binDir = d
		return m.Run()
	}()
	os.Exit(code)
}

// BuildPrograms puts the programs under test into dir: lineclient, and as
// `appliance` the appliance's test binary (a link named appliance runs the
// program through testscript, with the ceremony's crash hook installed from
// DACLINE_TEST_CRASH_AT by its TestMain; the appliance program itself has no
// test hook). scripts/chaos.sh builds DACLINE_BIN the same way.
func BuildPrograms(dir string) error {
	if out, err := exec.Command("go", "build", "-o", dir, "github.com/dacline/dacline/lineclient/cmd/lineclient").CombinedOutput(); err != nil {
		return fmt.Errorf("go build lineclient: %v\n%s", err, out)
	}
	if out, err := exec.Command("go", "test", "-c", "-o", filepath.Join(dir, "appliance.test"), "github.com/dacline/dacline/appliance/cmd/appliance").CombinedOutput(); err != nil {
		return fmt.Errorf("go test -c appliance: %v\n%s", err, out)
	}
	return os.Symlink("appliance.test", filepath.Join(dir, "appliance"))
}

// envInt reads a positive integer from the environment, def when unset.
func envInt(t testing.TB, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		t.Fatalf("%s=%q: want a non-negative integer", name, v)
	}
	return n
}

// rng is the test's random source: seed 1 unless DACLINE_CHAOS_SEED says
// otherwise (scripts/chaos.sh draws a fresh one each run), so `go test` picks
// the same modules to lie and the same crash points every time. The seed is
// logged so a failure can be replayed (kill instants still vary with timing).
func rng(t testing.TB) *mrand.Rand {
	seed := uint64(1)
	if v := os.Getenv("DACLINE_CHAOS_SEED"); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("DACLINE_CHAOS_SEED=%q: want a number", v)
		}
		seed = s
	}
	t.Logf("seed %d (replay with DACLINE_CHAOS_SEED=%d)", seed, seed)
	return mrand.New(mrand.NewPCG(seed, 0x6368616f73))
}

// factory is one appliance (SoftHSM2 token in its home), one enrolled station
// and the directory standing in for the USB stick between them.
type factory struct {
	t                         testing.TB
	dir, app, st, usb, pin    string
	paiPEM, paaPEM            []byte
	pai                       *x509.Certificate
	applianceID               string
	commandsRun, commandsFail int
}

func newFactory(t testing.TB) *factory {
	hsmtest.Require(t)
	dir := t.TempDir()
	f := &factory{t: t, dir: dir, app: filepath.Join(dir, "appliance"), st: filepath.Join(dir, "station"),
		usb: filepath.Join(dir, "usb"), pin: filepath.Join(dir, "hsm-pin")}
	if err := os.Mkdir(f.usb, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.pin, []byte(rand.Text()), 0o600); err != nil {
		t.Fatal(err)
	}
	f.appliance("init", "--new-softhsm-token", "--name", "chaos-appliance")
	f.appliance("paa", "create-test", "--vid", vid)
	f.appliance("pai", "create-test", "--vid", vid, "--pid", pid)
	f.applianceID = filepath.Join(f.usb, "appliance.id")
	f.appliance("identity", "--out", f.applianceID)
	f.appliance("cd", "create-test", "--vid", vid, "--pid", pid, "--out", filepath.Join(f.usb, "cd.der"))
	pol := filepath.Join(dir, "policy.json")
	policy := fmt.Sprintf(`{"version":1,"max_batch_size":100000,"dac":{"common_name":"chaos DAC {serial}"},
"stations":[{"name":%q,"products":[{"vid":%q,"pids":[%q]}]}]}`, stationName, vid, pid)
	if err := os.WriteFile(pol, []byte(policy), 0o600); err != nil {
		t.Fatal(err)
	}
	f.appliance("policy", "set", pol)
	f.lineclient("init", "--appliance", f.applianceID, "--vid", vid, "--pid", pid,
		"--cd", filepath.Join(f.usb, "cd.der"), "--name", stationName)
	f.lineclient("enroll", "--out", f.usb)
	f.appliance("station", "enroll", "--yes", f.newest("enrollment-*.age"))
	var err error
	if f.paiPEM, err = os.ReadFile(filepath.Join(f.app, "pai.pem")); err != nil {
		t.Fatal(err)
	}
	if f.paaPEM, err = os.ReadFile(filepath.Join(f.app, "paa.pem")); err != nil {
		t.Fatal(err)
	}
	if f.pai, err = parsePEMCert(f.paiPEM); err != nil {
		t.Fatal(err)
	}
	return f
}

func parsePEMCert(b []byte) (*x509.Certificate, error) {
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return nil, errors.New("no PEM certificate")
		}
		if blk.Type == "CERTIFICATE" {
			return x509.ParseCertificate(blk.Bytes)
		}
	}
}

// cmd builds a command for one of the programs on one of the homes.
func (f *factory) cmd(prog, home string, args ...string) *exec.Cmd {
	c := exec.Command(filepath.Join(binDir, prog), append([]string{"--home", home}, args...)...)
	// TMPDIR inside the test directory: what killed runs leave behind is
	// counted (leftoverTemps) and removed with the test, never in /tmp.
	c.Env = append(os.Environ(), "DACLINE_HSM_PIN_FILE="+f.pin, "DACLINE_OFFICER=chaos officer", "TMPDIR="+f.tmp())
	return c
}

// tmp is the programs' TMPDIR.
func (f *factory) tmp() string {
	d := filepath.Join(f.dir, "tmp")
	if err := os.MkdirAll(d, 0o700); err != nil {
		f.t.Fatal(err)
	}
	return d
}

// leftoverTemps counts what the programs left in their TMPDIR (decrypted
// bundle copies of runs that were killed, among others).
func (f *factory) leftoverTemps() int {
	ents, _ := os.ReadDir(f.tmp())
	return len(ents)
}

// run runs a command and returns stdout; a failure ends the test with stderr.
func (f *factory) run(c *exec.Cmd) string {
	f.t.Helper()
	out, err := f.try(c)
	if err != nil {
		f.t.Fatalf("%s: %v", strings.Join(c.Args[1:], " "), err)
	}
	return out
}

// try runs a command and returns stdout, or an error carrying its stderr.
func (f *factory) try(c *exec.Cmd) (string, error) {
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	f.commandsRun++
	if err := c.Run(); err != nil {
		f.commandsFail++
		return stdout.String(), fmt.Errorf("%w\nstdout:\n%s\nstderr:\n%s", err, clip(stdout.String(), 15), clip(stderr.String(), 15))
	}
	return stdout.String(), nil
}

// clip keeps the first and last n lines of s.
func clip(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > 2*n {
		l = append(append(l[:n:n], fmt.Sprintf("… (%d lines)", len(l)-2*n)), l[len(l)-n:]...)
	}
	return strings.Join(l, "\n")
}

func (f *factory) appliance(args ...string) string {
	f.t.Helper()
	return f.run(f.cmd("appliance", f.app, args...))
}

func (f *factory) lineclient(args ...string) string {
	f.t.Helper()
	return f.run(f.cmd("lineclient", f.st, args...))
}

// newest is the newest file in the USB directory matching pattern.
func (f *factory) newest(pattern string) string {
	f.t.Helper()
	m, _ := filepath.Glob(filepath.Join(f.usb, pattern))
	var best string
	var bt time.Time
	for _, p := range m {
		if fi, err := os.Stat(p); err == nil && (best == "" || fi.ModTime().After(bt)) {
			best, bt = p, fi.ModTime()
		}
	}
	if best == "" {
		f.t.Fatalf("no %s in %s", pattern, f.usb)
	}
	return best
}

// exportBatch writes the station's pending CSRs to a csr-batch bundle and returns its path.
func (f *factory) exportBatch() string {
	f.t.Helper()
	before, _ := filepath.Glob(filepath.Join(f.usb, "csr-batch-*.age"))
	f.lineclient("batch", "export", "--out", f.usb)
	after, _ := filepath.Glob(filepath.Join(f.usb, "csr-batch-*.age"))
	for _, p := range after {
		if !contains(before, p) {
			return p
		}
	}
	f.t.Fatalf("lineclient batch export wrote no new csr-batch in %s", f.usb)
	return ""
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// signResult is the part of `appliance sign --json` the tests read.
type signResult struct {
	Outcome    string `json:"outcome"`
	BatchID    string `json:"batch_id"`
	CSRs       int    `json:"csrs"`
	Accepted   int    `json:"accepted"`
	Refused    int    `json:"refused"`
	IssuedNow  int    `json:"issued_now"`
	Issued     int    `json:"issued"`
	OutputPath string `json:"output_path"`
}

func (f *factory) sign(bundle string) signResult {
	f.t.Helper()
	var r signResult
	out := f.appliance("sign", "--json", "--out", f.usb, bundle)
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		f.t.Fatalf("appliance sign --json: %v\n%s", err, out)
	}
	return r
}

// addSyntheticModules puts n modules with real P-256 keys and CSRs straight
// into the station store in state key-generated, as if the jigs had taken
// their CSRs, and returns the SHA-256 of each SubjectPublicKeyInfo. It lets
// the ceremony tests use batches far larger than the simulator's jigs.
func (f *factory) addSyntheticModules(first, n int) map[[32]byte]string {
	f.t.Helper()
	h, err := stationhome.Open(f.st)
	if err != nil {
		f.t.Fatal(err)
	}
	defer h.Close()
	st, err := station.New(h.DB())
	if err != nil {
		f.t.Fatal(err)
	}
	v, _ := strconv.ParseUint(vid, 16, 16)
	p, _ := strconv.ParseUint(pid, 16, 16)
	keys := map[[32]byte]string{}
	for i := first; i < first+n; i++ {
		mac := fmt.Sprintf("02:da:c1:%02x:%02x:%02x", byte(i>>16), byte(i>>8), byte(i))
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			f.t.Fatal(err)
		}
		der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "module"}}, k)
		if err != nil {
			f.t.Fatal(err)
		}
		spkiDER, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
		spki := sha256.Sum256(spkiDER)
		if _, err := st.Identify(station.Sighting{MAC: mac, ChipModel: "synthetic", Firmware: "0", Port: "none"}); err != nil {
			f.t.Fatal(err)
		}
		ob, err := station.NewOnboarding(0)
		if err != nil {
			f.t.Fatal(err)
		}
		if _, err := st.RecordCSR(mac, station.CSR{DER: der, SPKISHA256: spki, VID: uint16(v), PID: uint16(p)}, ob); err != nil {
			f.t.Fatal(err)
		}
		keys[spki] = mac
	}
	return keys
}

// sim is a running `lineclient sim`.
type sim struct {
	cmd    *exec.Cmd
	ports  []string
	stderr *os.File
	state  string
}

func (f *factory) startSim(jigs int, faults string, seed uint64) *sim {
	f.t.Helper()
	state := filepath.Join(f.dir, "sim-state")
	logf, err := os.OpenFile(filepath.Join(f.dir, "sim.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		f.t.Fatal(err)
	}
	args := []string{"sim", "--count", strconv.Itoa(jigs), "--timing", "fast", "--state", state,
		"--seed", strconv.FormatUint(seed, 10), "--verbose"}
	if faults != "" {
		args = append(args, "--faults", faults)
	}
	c := exec.Command(filepath.Join(binDir, "lineclient"), args...)
	c.Stderr = logf
	out, err := c.StdoutPipe()
	if err != nil {
		f.t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		f.t.Fatal(err)
	}
	s := &sim{cmd: c, stderr: logf, state: state}
	f.t.Cleanup(func() { s.stop() })
	sc := bufio.NewScanner(out)
	for len(s.ports) < jigs && sc.Scan() {
		s.ports = append(s.ports, strings.TrimSpace(sc.Text()))
	}
	if len(s.ports) < jigs {
		f.t.Fatalf("simulator printed %d of %d ports", len(s.ports), jigs)
	}
	go io.Copy(io.Discard, out)
	return s
}

// stop ends the simulator with SIGTERM (it saves every module's state).
func (s *sim) stop() {
	if s.cmd.ProcessState != nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	_ = s.cmd.Wait()
	s.stderr.Close()
}

// runArgs are the `lineclient run` arguments for every jig.
func (s *sim) runArgs(untilIdle bool) []string {
	args := []string{"run"}
	for _, p := range s.ports {
		args = append(args, "--port", p)
	}
	if untilIdle {
		args = append(args, "--until-idle", "--idle-timeout", "1500ms")
	}
	return args
}
