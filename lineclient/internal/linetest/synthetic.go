package linetest

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/dacline/dacline/lineclient/station"
)

var synthMu sync.Mutex

// SyntheticStore returns the path of a station store with n done modules
// (batches of 10,000), built once and kept in the temporary directory across
// runs (building a million modules takes about a minute). The caller must
// open it read-only in spirit: benchmarks only read.
func SyntheticStore(tb testing.TB, n int) string {
	tb.Helper()
	synthMu.Lock()
	defer synthMu.Unlock()
	path := filepath.Join(os.TempDir(), fmt.Sprintf("dacline-bench-%s-%d.db", sanitize(station.Schema), n))
	if s, err := station.OpenFile(path); err == nil {
		st, err := s.Status(0)
		s.Close()
		if err == nil && st.Total == n {
			return path
		}
	}
	os.Remove(path)
	tmp := path + ".building"
	os.Remove(tmp)
	start := time.Now()
	if err := station.BuildSynthetic(tmp, n, 10_000); err != nil {
		tb.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		tb.Fatal(err)
	}
	tb.Logf("built a %d-module synthetic store in %v (%s, kept for later runs)", n, time.Since(start).Round(time.Millisecond), path)
	return path
}

func sanitize(s string) string {
	out := []byte(s)
	for i, c := range out {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			out[i] = '-'
		}
	}
	return string(out)
}
