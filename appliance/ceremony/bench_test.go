package ceremony

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/miekg/pkcs11"

	"github.com/dacline/dacline/airgap-bundles/bundle"
	"github.com/dacline/dacline/appliance/hsm"
	"github.com/dacline/dacline/appliance/hsm/hsmtest"
)

// BenchEnv sets the batch size of BenchmarkCeremony (default 100,000; CI
// runs a smaller one). DACLINE_BENCH_CHUNK and DACLINE_BENCH_WORKERS, when
// set, override the Runner's ChunkSize and Workers for experiments.
const BenchEnv = "DACLINE_BENCH_CSRS"

// BenchmarkCeremony runs one whole ceremony of N CSRs on SoftHSM2 — decrypt
// and verify the csr-batch, check every CSR, sign, record (issuance store and
// audit log), write and encrypt the dac-batch — and prints its DAC rate beside
// the raw single-session C_Sign rate of the same token measured in the same
// run, the ratio of the two, and the peak RSS of the ceremony (VmHWM, reset
// before it starts).
func BenchmarkCeremony(b *testing.B) {
	n := 100_000
	if v := os.Getenv(BenchEnv); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			b.Fatalf("%s=%q: want a positive integer", BenchEnv, v)
		}
	}
	f := newFixture(b)
	in := b.TempDir()
	path := f.writeBatchStream(in, n)
	raw, rawCPU := rawSignRate(b, f, 3*time.Second)

	b.ResetTimer()
	var res *Result
	var elapsed time.Duration
	var peak, peakAnon, peakFile int64
	var cpu time.Duration
	for i := 0; i < b.N; i++ {
		out := b.TempDir()
		f.db.Close()
		f.reopenDB()         // a fresh log each iteration would need a fresh fixture; one iteration is the norm (-benchtime 1x)
		LimitMemory()        // as appliance sign does
		debug.FreeOSMemory() // the fixture's garbage is not the ceremony's
		resetPeakRSS()
		stopSampling := sampleRSS(&peakAnon, &peakFile)
		cpu0 := processCPU()
		t0 := time.Now()
		bt, bnd, err := OpenBatch(path, []age.Identity{f.applID}, f.stations, f.dir)
		if err != nil {
			b.Fatal(err)
		}
		r := f.runner()
		r.ChunkSize = 0 // the default
		if v := os.Getenv("DACLINE_BENCH_CHUNK"); v != "" {
			r.ChunkSize, _ = strconv.Atoi(v)
		}
		if v := os.Getenv("DACLINE_BENCH_WORKERS"); v != "" {
			r.Workers, _ = strconv.Atoi(v)
		}
		res, err = r.Run(context.Background(), bt, Options{OutDir: out})
		bnd.Close()
		if err != nil {
			b.Fatal(err)
		}
		elapsed = time.Since(t0)
		cpu = processCPU() - cpu0
		stopSampling()
		peak = peakRSS()
		if i+1 < b.N {
			b.Fatal("run with -benchtime 1x: a batch can be signed once")
		}
	}
	b.StopTimer()
	rate := float64(res.IssuedNow) / elapsed.Seconds()
	b.ReportMetric(rate, "dacs/s")
	b.ReportMetric(raw, "raw-C_Sign/s")
	b.ReportMetric(rate/raw, "ratio")
	b.ReportMetric(float64(peak)/(1<<20), "peak-MB")
	b.ReportMetric(float64(peakAnon)/(1<<20), "peak-anon-MB")
	b.ReportMetric(float64(peakFile)/(1<<20), "peak-file-MB")
	dacCPU := cpu / time.Duration(max(res.IssuedNow, 1))
	b.ReportMetric(float64(dacCPU.Microseconds()), "cpu-us/dac")
	b.ReportMetric(float64(rawCPU.Microseconds()), "cpu-us/raw-sign")
	fmt.Printf("ceremony: %d CSRs end to end in %s: %.0f DACs/s; raw single-session C_Sign %.0f/s; ratio %.2f (target >= 0.5); issuing phase %.0f DACs/s\n",
		n, elapsed.Round(time.Millisecond), rate, raw, rate/raw, res.SignRate)
	fmt.Printf("ceremony: phases: open %s, check %s, issue %s, bundle %s\n", (elapsed - res.CheckElapsed - res.IssueElapsed - res.WriteElapsed).Round(time.Millisecond),
		res.CheckElapsed.Round(time.Millisecond), res.IssueElapsed.Round(time.Millisecond), res.WriteElapsed.Round(time.Millisecond))
	fmt.Printf("ceremony: CPU time %s (%.2f cores busy on average of %d): %s per DAC; a raw C_Sign costs %s; on %d idle cores the ratio could reach %.2f\n",
		cpu.Round(time.Millisecond), cpu.Seconds()/elapsed.Seconds(), runtime.NumCPU(), dacCPU, rawCPU, runtime.NumCPU(),
		float64(runtime.NumCPU())*rawCPU.Seconds()/dacCPU.Seconds())
	fmt.Printf("ceremony: peak RSS %d MB (VmHWM, counts the bbolt file pages mapped in); sampled every 20 ms: peak anonymous RSS %d MB, peak file-backed RSS %d MB\n",
		peak>>20, peakAnon>>20, peakFile>>20)
}

// writeBatchStream writes an n-CSR batch without holding it in memory.
func (f *fixture) writeBatchStream(dir string, n int) string {
	f.t.Helper()
	bld, err := bundle.NewBuilder(bundle.Header{Kind: bundle.KindCSRBatch, Sender: "line-1",
		Counts: map[string]int64{"csrs": int64(n)}, Labels: map[string]string{"vid": "FFF1", "pid": "8000"}}, f.dir)
	if err != nil {
		f.t.Fatal(err)
	}
	defer bld.Close()
	w, err := bld.Create(bundle.CSRFile)
	if err != nil {
		f.t.Fatal(err)
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	enc := json.NewEncoder(bw)
	// CSRs are made on every CPU, a block at a time, and written in order.
	tmpl := &x509.CertificateRequest{Subject: pkix.Name{CommonName: "module"}}
	const block = 4096
	ders := make([][]byte, block)
	for start := 0; start < n; start += block {
		m := min(block, n-start)
		parallel(m, runtime.NumCPU(), func(i int) {
			k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			ders[i], _ = x509.CreateCertificateRequest(rand.Reader, tmpl, k)
		})
		for i, der := range ders[:m] {
			if der == nil {
				f.t.Fatal("CreateCertificateRequest failed")
			}
			if err := enc.Encode(bundle.CSRLine{ID: fmt.Sprintf("m%07d", start+i), CSR: der}); err != nil {
				f.t.Fatal(err)
			}
		}
	}
	if err := bw.Flush(); err != nil {
		f.t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		f.t.Fatal(err)
	}
	ns, _ := bundle.NewNoteSigner("line-1", f.stationKey)
	path, _, err := bld.WriteToDir(dir, bundle.WriteOptions{Signer: ns, Recipient: f.applID.Recipient()})
	if err != nil {
		f.t.Fatal(err)
	}
	return path
}

// rawSignRate signs SHA-256 digests with the PAI key on one session of its
// own, straight through PKCS#11 (C_SignInit + C_Sign, nothing verified), and
// returns the rate and the process CPU time one signature took.
func rawSignRate(b *testing.B, f *fixture, d time.Duration) (float64, time.Duration) {
	b.Helper()
	p := pkcs11.New(hsm.DefaultModule)
	if p == nil {
		b.Fatal("load pkcs11 module")
	}
	if err := p.Initialize(); err != nil && !isRV(err, pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		b.Fatal(err)
	}
	slots, err := p.GetSlotList(true)
	if err != nil {
		b.Fatal(err)
	}
	var slot uint
	found := false
	for _, s := range slots {
		ti, err := p.GetTokenInfo(s)
		if err == nil && strings.TrimRight(ti.Label, " ") == hsmtest.Label {
			slot, found = s, true
		}
	}
	if !found {
		b.Fatal("test token not found")
	}
	sh, err := p.OpenSession(slot, pkcs11.CKF_SERIAL_SESSION)
	if err != nil {
		b.Fatal(err)
	}
	defer p.CloseSession(sh)
	if err := p.Login(sh, pkcs11.CKU_USER, hsmtest.PIN); err != nil && !isRV(err, pkcs11.CKR_USER_ALREADY_LOGGED_IN) {
		b.Fatal(err)
	}
	if err := p.FindObjectsInit(sh, []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, "pai"),
	}); err != nil {
		b.Fatal(err)
	}
	objs, _, err := p.FindObjects(sh, 1)
	p.FindObjectsFinal(sh)
	if err != nil || len(objs) != 1 {
		b.Fatalf("pai key: %v", err)
	}
	digest := sha256.Sum256([]byte("raw C_Sign baseline"))
	mech := []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_ECDSA, nil)}
	count := 0
	cpu0 := processCPU()
	t0 := time.Now()
	for time.Since(t0) < d {
		if err := p.SignInit(sh, mech, objs[0]); err != nil {
			b.Fatal(err)
		}
		if _, err := p.Sign(sh, digest[:]); err != nil {
			b.Fatal(err)
		}
		count++
	}
	return float64(count) / time.Since(t0).Seconds(), (processCPU() - cpu0) / time.Duration(count)
}

// processCPU is the user + system CPU time of the process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func isRV(err error, rv uint) bool {
	var e pkcs11.Error
	return errors.As(err, &e) && uint(e) == rv
}

// resetPeakRSS resets VmHWM (Linux: write 5 to /proc/self/clear_refs).
func resetPeakRSS() { os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// sampleRSS records the largest RssAnon and RssFile seen until the returned
// stop is called.
func sampleRSS(maxAnon, maxFile *int64) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			if v := procStatus("RssAnon:"); v > *maxAnon {
				*maxAnon = v
			}
			if v := procStatus("RssFile:"); v > *maxFile {
				*maxFile = v

			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); <-finished }
}

// peakRSS reads VmHWM in bytes, 0 when unknown.
func peakRSS() int64 { return procStatus("VmHWM:") }

// procStatus reads a kB field of /proc/self/status in bytes, 0 when unknown.
func procStatus(field string) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, field); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
