package manifest

import (
	"io"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/dacline/dacline/lineclient/internal/linetest"
	"github.com/dacline/dacline/lineclient/station"
)

// BenchmarkManifest1M writes the manifest of 1,000,000 done modules (QR
// payload and manual code computed per row) and compares it with a raw walk
// over the same module records without decoding them (the baseline: the
// cost of reading the data at all).
func BenchmarkManifest1M(b *testing.B) {
	path := linetest.SyntheticStore(b, 1_000_000)
	s, err := station.OpenFile(path)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.ResetTimer()
	var walk, full time.Duration
	rows := 0
	for range b.N {
		start := time.Now()
		n := 0
		err := s.DB().View(func(tx *bbolt.Tx) error {
			return tx.Bucket([]byte("modules")).ForEach(func(k, v []byte) error { n += len(v); return nil })
		})
		if err != nil {
			b.Fatal(err)
		}
		walk += time.Since(start)
		start = time.Now()
		rows, err = Write(io.Discard, s, Options{})
		if err != nil {
			b.Fatal(err)
		}
		full += time.Since(start)
	}
	if rows != 1_000_000 {
		b.Fatalf("%d rows", rows)
	}
	b.ReportMetric(full.Seconds()/float64(b.N), "s/manifest-1M")
	b.ReportMetric(walk.Seconds()/float64(b.N), "s/raw-walk-1M")
	b.ReportMetric(float64(full)/float64(walk), "ratio-manifest/walk")
	b.ReportMetric(float64(rows)*float64(b.N)/full.Seconds(), "rows/s")
}
