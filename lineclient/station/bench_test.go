package station_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/dacline/dacline/lineclient/internal/linetest"
	"github.com/dacline/dacline/lineclient/station"
)

// BenchmarkStatus: status over 1,000,000 modules against status over 1,000
// (its baseline): counters and indexes keep the cost flat; what grows is the
// number of batches listed (100 against 1).
func BenchmarkStatus(b *testing.B) {
	small := filepath.Join(b.TempDir(), "small.db")
	if err := station.BuildSynthetic(small, 1000, 10_000); err != nil {
		b.Fatal(err)
	}
	big := linetest.SyntheticStore(b, 1_000_000)
	measure := func(path string) time.Duration {
		s, err := station.OpenFile(path)
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		start := time.Now()
		st, err := s.Status(20)
		if err != nil {
			b.Fatal(err)
		}
		if st.Total == 0 {
			b.Fatal("empty status")
		}
		return time.Since(start)
	}
	b.ResetTimer()
	var base, full time.Duration
	for range b.N {
		base += measure(small)
		full += measure(big)
	}
	b.ReportMetric(float64(base.Microseconds())/float64(b.N)/1000, "ms/status-1k")
	b.ReportMetric(float64(full.Microseconds())/float64(b.N)/1000, "ms/status-1M")
	b.ReportMetric(float64(full)/float64(base), "ratio-1M/1k")
}
