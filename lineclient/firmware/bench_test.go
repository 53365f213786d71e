package firmware_test

import (
	"bufio"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/dacline/dacline/lineclient/internal/linetest"
	"github.com/dacline/dacline/shared/lineproto"
)

// cpuNS is the CPU time a process's threads have used so far
// (/proc/PID/task/*/schedstat: time on a CPU, in nanoseconds — waits for
// fsync, the PTY or a timer are not in it).
func cpuNS(b *testing.B, pid int) int64 {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	if err != nil || len(tasks) == 0 {
		b.Skipf("no /proc/PID/task/*/schedstat (%v)", err)
	}
	var sum int64
	for _, t := range tasks {
		raw, err := os.ReadFile(t)
		if err != nil {
			continue // a thread that ended meanwhile
		}
		v, err := strconv.ParseInt(strings.Fields(string(raw))[0], 10, 64)
		if err != nil {
			b.Fatal(err)
		}
		sum += v
	}
	return sum
}

// stepCPU is module-side CPU per provisioning step, summed over modules.
type stepCPU struct{ keygen, storage, attest, lock, total int64 }

// provision takes one module on port through the whole station sequence
// (keygen + CSR, every item written and committed, attestation, four lock
// steps) and returns the CPU time the module process (pid) spent on each.
func provision(b *testing.B, pki *linetest.PKI, pid int, port string, sum *stepCPU) {
	c := dial(b, port, lineproto.ClientOptions{})
	cx := ctx(b)
	if _, err := c.Identify(cx); err != nil { // boot work is done before the clock starts
		b.Fatal(err)
	}
	t0 := cpuNS(b, pid)
	gk, err := c.GenerateKey(cx)
	if err != nil {
		b.Fatal(err)
	}
	t1 := cpuNS(b, pid)
	items := credentials(b, pki, gk.CSR)
	for _, it := range lineproto.KnownItems {
		if _, err := c.WriteItem(cx, it, items[it]); err != nil {
			b.Fatal(err)
		}
	}
	t2 := cpuNS(b, pid)
	var nonce [32]byte
	rand.Read(nonce[:])
	if _, err := c.Attest(cx, nonce); err != nil {
		b.Fatal(err)
	}
	t3 := cpuNS(b, pid)
	if err := c.LockAll(cx, nil); err != nil {
		b.Fatal(err)
	}
	t4 := cpuNS(b, pid)
	sum.keygen += t1 - t0
	sum.storage += t2 - t1
	sum.attest += t3 - t2
	sum.lock += t4 - t3
	sum.total += t4 - t0
}

// BenchmarkModuleCPU is the module side's CPU per provisioned module, waits
// excluded: N C-firmware processes (dacline-module, POSIX HAL: flash and
// eFuse files fsynced, a PTY) and, as the baseline in the same run, the Go
// simulator (`lineclient sim --timing fast`, N modules in one process, state
// files fsynced too), each provisioned by the same Go client over its PTY.
func BenchmarkModuleCPU(b *testing.B) {
	const n = 8
	bin := buildFirmware(b)
	work := b.TempDir()
	lc := goBuild(b, "lineclient", "github.com/dacline/dacline/lineclient/cmd/lineclient")
	pki := linetest.NewPKI(b)

	var cSum stepCPU
	for i := range n {
		m := startModule(b, bin, filepath.Join(work, fmt.Sprintf("chip-%d", i)), "--mac", fmt.Sprintf("02:DA:C1:0B:00:%02X", i))
		provision(b, pki, m.cmd.Process.Pid, m.Path, &cSum)
		m.Stop(b)
	}

	sim := exec.Command(lc, "sim", "--count", strconv.Itoa(n), "--timing", "fast", "--state", filepath.Join(work, "sim"))
	out, err := sim.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := sim.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { sim.Process.Signal(os.Interrupt); sim.Wait() }()
	r := bufio.NewReader(out)
	var goSum stepCPU
	ports := []string{}
	for range n {
		line, err := r.ReadString('\n')
		if err != nil {
			b.Fatal(err)
		}
		ports = append(ports, strings.TrimSpace(line))
	}
	for _, p := range ports {
		provision(b, pki, sim.Process.Pid, p, &goSum)
	}

	ms := func(ns int64) float64 { return float64(ns) / 1e6 / n }
	b.ReportMetric(ms(cSum.total), "c-ms-cpu/module")
	b.ReportMetric(ms(goSum.total), "go-ms-cpu/module")
	b.ReportMetric(float64(cSum.total)/float64(goSum.total), "c/go")
	b.ReportMetric(ms(cSum.keygen), "c-keygen+csr-ms")
	b.ReportMetric(ms(cSum.storage), "c-storage-ms")
	b.ReportMetric(ms(cSum.attest), "c-attest-ms")
	b.ReportMetric(ms(cSum.lock), "c-lock-ms")
	b.ReportMetric(ms(goSum.keygen), "go-keygen+csr-ms")
	b.ReportMetric(ms(goSum.storage), "go-storage-ms")
	b.ReportMetric(ms(goSum.attest), "go-attest-ms")
	b.ReportMetric(ms(goSum.lock), "go-lock-ms")
	for range b.N {
	}
}
