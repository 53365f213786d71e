package ceremony

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
)

// CrashEnv names the test hook that kills the process at a named point of the
// ceremony, the way a power cut would: DACLINE_TEST_CRASH_AT=point[:n] makes
// the n-th (default first) arrival at point exit the process with status 137
// (the status of a SIGKILL) without running deferred functions or flushing
// anything. The hook is compiled in always and inert unless the variable is
// set; the resume tests use it to stop at exact points. Points:
//
//	after-start       the ceremony record (plan, refusals) is committed, no DAC yet
//	before-commit:n   DAC chunk n is signed but not committed (its DACs are lost)
//	after-commit:n    DAC chunk n is committed
//	after-issued      every DAC is committed and the checkpoint recorded
//	bundle-write:n    while the return bundle is being built, after n DAC lines
//	after-bundle      the bundle file is on the output medium, not yet recorded
const CrashEnv = "DACLINE_TEST_CRASH_AT"

var crash struct {
	once  sync.Once
	mu    sync.Mutex
	point string
	n     int
	seen  int
}

// crashPoint exits the process if the test hook names this point.
func crashPoint(point string) {
	crash.once.Do(func() {
		v := os.Getenv(CrashEnv)
		if v == "" {
			return
		}
		name, count, ok := strings.Cut(v, ":")
		crash.point, crash.n = name, 1
		if ok {
			if n, err := strconv.Atoi(count); err == nil && n > 0 {
				crash.n = n
			}
		}
	})
	if crash.point == "" || crash.point != point {
		return
	}
	crash.mu.Lock()
	crash.seen++
	hit := crash.seen == crash.n
	crash.mu.Unlock()
	if hit {
		fmt.Fprintf(os.Stderr, "appliance: test hook %s=%s: exiting now\n", CrashEnv, os.Getenv(CrashEnv))
		os.Exit(137)
	}
}
