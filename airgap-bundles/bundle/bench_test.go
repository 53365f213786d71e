package bundle

import (
	"bufio"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"filippo.io/age"
)

// peakRSS resets (clear_refs 5) or reads the process's peak resident set (VmHWM) in MB.
func resetPeakRSS() { os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

func peakRSSMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// csrLine is a csrs.jsonl line of realistic size (a P-256 PKCS#10 CSR is ~230 bytes DER).
func csrLine(w io.Writer, i int) {
	fmt.Fprintf(w, "{\"id\":\"mod-%08d\",\"csr\":\"%s%08d\"}\n", i, strings.Repeat("MIIBDzCBtgIBADBUMQswCQYDVQQGEwJVUzEX", 9), i)
}

// BenchmarkBundle100kCSRs writes and reads a csr-batch of 100,000 CSRs through real
// files, and reports MB/s of each against a baseline measured in the same run (copying
// and hashing the same payload file), plus the peak RSS of each phase.
//
// DACLINE_BENCH_CSRS overrides the count (e.g. 1000000 to check the 1M-CSR memory bound).
func BenchmarkBundle100kCSRs(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("DACLINE_BENCH_CSRS")); err == nil && v > 0 {
		n = v
	}
	f := newFixture(b)
	dir := b.TempDir()
	for i := 0; i < b.N; i++ {
		os.RemoveAll(dir)
		os.MkdirAll(dir, 0o700)

		// Baseline: write the payload file, then copy+hash it (disk and SHA-256 speed).
		src := filepath.Join(dir, "csrs.jsonl")
		sf, _ := os.Create(src)
		bw := bufio.NewWriter(sf)
		for j := range n {
			csrLine(bw, j)
		}
		bw.Flush()
		sf.Close()
		fi, _ := os.Stat(src)
		size := float64(fi.Size()) / 1e6
		b.StartTimer()
		t0 := nowSeconds()
		in, _ := os.Open(src)
		out, _ := os.Create(src + ".copy")
		h := sha256.New()
		io.Copy(io.MultiWriter(out, h), in)
		out.Sync()
		in.Close()
		out.Close()
		baseline := size / (nowSeconds() - t0)

		// Write: spool + seal + atomic durable write with hash read-back.
		resetPeakRSS()
		t0 = nowSeconds()
		bl, err := NewBuilder(Header{Kind: KindCSRBatch, Sender: f.station.name, Counts: map[string]int64{"csrs": int64(n)}}, dir)
		if err != nil {
			b.Fatal(err)
		}
		fw, _ := bl.Create("csrs.jsonl")
		w := bufio.NewWriterSize(fw, 64<<10)
		for j := range n {
			csrLine(w, j)
		}
		w.Flush()
		if err := fw.Close(); err != nil {
			b.Fatal(err)
		}
		out2 := filepath.Join(dir, "out")
		os.Mkdir(out2, 0o700)
		path, _, err := bl.WriteToDir(out2, WriteOptions{Signer: f.station.signer, Recipient: f.appliance.id.Recipient()})
		if err != nil {
			b.Fatal(err)
		}
		bl.Close()
		writeMBs := size / (nowSeconds() - t0)
		writeRSS := peakRSSMB()

		// Read: decrypt to temp, verify, then stream every line.
		resetPeakRSS()
		t0 = nowSeconds()
		bd, err := ReadFile(path, ReadOptions{Identities: []age.Identity{f.appliance.id}, Resolve: f.resolve, TempDir: dir})
		if err != nil {
			b.Fatal(err)
		}
		r, _ := bd.Open("csrs.jsonl")
		sc := bufio.NewScanner(r)
		lines := 0
		for sc.Scan() {
			lines++
		}
		bd.Close()
		if lines != n {
			b.Fatalf("read %d lines", lines)
		}
		readMBs := size / (nowSeconds() - t0)
		readRSS := peakRSSMB()
		b.StopTimer()

		b.ReportMetric(size, "payload-MB")
		b.ReportMetric(baseline, "baseline-MB/s")
		b.ReportMetric(writeMBs, "write-MB/s")
		b.ReportMetric(readMBs, "read-MB/s")
		b.ReportMetric(writeMBs/baseline, "write-x-baseline")
		b.ReportMetric(readMBs/baseline, "read-x-baseline")
		b.ReportMetric(writeRSS, "write-peakRSS-MB")
		b.ReportMetric(readRSS, "read-peakRSS-MB")
	}
}
