package auditlog

import (
	"crypto/ed25519"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// benchN is the export size for BenchmarkVerifyExport: 100,000 by default,
// DACLINE_AUDIT_BENCH_N=1000000 for the one-million-entry figure.
func benchN(b *testing.B) int64 {
	if s := os.Getenv("DACLINE_AUDIT_BENCH_N"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 10 {
			b.Fatalf("DACLINE_AUDIT_BENCH_N=%q: want a number ≥ 10", s)
		}
		return n
	}
	return 100_000
}

// syntheticInitKey is the verifier key of testKey(_, 1), recorded by the
// synthetic log's appliance-init.
var syntheticInitKey = func() string {
	vk, err := VerifierKey(testOrigin, ed25519.NewKeyFromSeed(bytesOf(1, 32)).Public().(ed25519.PublicKey))
	if err != nil {
		panic(err)
	}
	return vk
}()

// syntheticEntry is entry i of a factory's log: appliance-init, enrollments,
// then ceremonies of 1,000 DACs over four stations.
func syntheticEntry(i int64) Entry {
	const batch = 1002 // started + 1000 DACs + finished
	var e Entry
	switch {
	case i == 0:
		e = &ApplianceInit{Appliance: "lab", NoteVerifier: syntheticInitKey}
	case i < 5:
		e = stationEntry(fmt.Sprintf("line-%d", i-1), "ffff-0000", "st", i)
	default:
		j := i - 5
		b, k := j/batch, j%batch
		st, id := fmt.Sprintf("line-%d", b%4), fmt.Sprintf("batch-%06d", b)
		switch k {
		case 0:
			e = &CeremonyStarted{BatchID: id, BundleSHA256: hashHex("bundle", b), Officer: "Ada", PolicySHA256: hashHex("policy"), Station: st}
		case batch - 1:
			e = &CeremonyFinished{BatchID: id, Issued: batch - 2, Station: st}
		default:
			d := dacEntry(st, id, int(j), int(k-1))
			e = d
		}
	}
	e.SetHeader(i, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i)*time.Millisecond))
	return e
}

// writeSyntheticExport writes an export of n entries with a checkpoint
// every 100,000 entries and at the end; entries are generated twice (tree,
// then file) so memory stays flat.
func writeSyntheticExport(b *testing.B, dir string, n int64) {
	_, s, _ := testKey(b, 1)
	var tree MemoryTree
	var signed [][]byte
	sign := func(size int64) {
		root, _ := tree.Root(size)
		c, err := note.Sign(&note.Note{Text: string(Checkpoint{testOrigin, size, root}.Text())}, s)
		if err != nil {
			b.Fatal(err)
		}
		signed = append(signed, c)
	}
	for i := int64(0); i < n; i++ {
		data, err := Marshal(syntheticEntry(i))
		if err != nil {
			b.Fatal(err)
		}
		tree.AppendLeaf(tlog.RecordHash(data))
		if (i+1)%100_000 == 0 && i+1 != n {
			sign(i + 1)
		}
	}
	sign(n)
	err := WriteExport(dir, Export{
		Info:        ExportInfo{Version: ExportVersion, Origin: testOrigin, TreeSize: n},
		Checkpoints: signed,
		Entries: func(emit func([]byte) error) error {
			for i := int64(0); i < n; i++ {
				data, _ := Marshal(syntheticEntry(i))
				if err := emit(data); err != nil {
					return err
				}
			}
			return nil
		},
	})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkVerifyExport verifies a synthetic export end to end (signatures,
// canonical decoding, Merkle roots, ledger) and reports entries/s, heap per
// entry, and the ratio to the baseline of only reading and leaf-hashing the
// same file, measured in the same run.
func BenchmarkVerifyExport(b *testing.B) {
	n := benchN(b)
	dir := filepath.Join(b.TempDir(), "export")
	writeSyntheticExport(b, dir, n)
	_, _, v := testKey(b, 1)

	// Baseline: stream the file and hash every line, nothing else.
	start := time.Now()
	x, err := OpenExport(dir)
	if err != nil {
		b.Fatal(err)
	}
	var lines int64
	x.Entries(func(line []byte, _ int64) error { tlog.RecordHash(line); lines++; return nil })
	base := time.Since(start)

	var heap uint64
	testHookVerified = func() {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		heap = max(heap, ms.HeapAlloc)
	}
	defer func() { testHookVerified = nil }()
	b.ResetTimer()
	var elapsed time.Duration
	cpu0 := cpuTime()
	for b.Loop() {
		runtime.GC()
		t0 := time.Now()
		x, err := OpenExport(dir)
		if err != nil {
			b.Fatal(err)
		}
		r, err := Verify(x, VerifyOptions{Verifier: v})
		if err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(t0) // includes the hook's GC: a conservative figure
		if !r.OK() || r.TreeSize != n {
			b.Fatalf("synthetic export did not verify: %v", r.Discrepancies[:min(3, len(r.Discrepancies))])
		}
		runtime.KeepAlive(r)
	}
	cpu := (cpuTime() - cpu0).Seconds() / float64(b.N)
	per := elapsed.Seconds() / float64(b.N)
	// CPU seconds are what a shared machine cannot inflate: entries per CPU
	// second, times the cores an auditor's machine has, is its rate.
	b.ReportMetric(float64(n)/cpu, "entries/cpu-s")
	b.ReportMetric(float64(n)/per, "entries/s")
	b.ReportMetric(float64(lines)/base.Seconds(), "baseline-hash-only-entries/s")
	b.ReportMetric(per/base.Seconds(), "x-baseline")
	b.ReportMetric(float64(heap)/float64(n), "live-heap-B/entry")
	b.Logf("verified %d entries in %.2fs wall, %.2fs CPU (%.0f entries/s, %.0f entries per CPU-second); hash-only baseline %.2fs; live heap %d MB",
		n, per, cpu, float64(n)/per, float64(n)/cpu, base.Seconds(), heap>>20)
}

// cpuTime is the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
