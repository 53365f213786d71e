// Package crashtest makes the ceremony's crash hook (ceremony.CrashHook) for
// tests: the process kills itself with SIGKILL at the n-th arrival at a named
// point, the way a power cut would stop it — no deferred function runs, no
// buffer is flushed. Only tests import it: the appliance program never sets
// the hook. Tests that run the appliance as a separate process pass the spec
// in DACLINE_TEST_CRASH_AT and install the hook in their TestMain.
package crashtest

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// Env is the variable the test binaries read the spec from (in their
// TestMain; no program reads it).
const Env = "DACLINE_TEST_CRASH_AT"

// Hook returns a crash hook for spec "point[:n]": the n-th (default first)
// arrival at point prints one line naming it on stderr, then SIGKILLs the
// process.
func Hook(spec string) (func(point string), error) {
	name, count, hasCount := strings.Cut(spec, ":")
	n := 1
	if hasCount {
		v, err := strconv.Atoi(count)
		if err != nil || v < 1 {
			return nil, fmt.Errorf("crash point %q: the count must be a positive integer", spec)
		}
		n = v
	}
	if name == "" {
		return nil, fmt.Errorf("crash point %q: no point named", spec)
	}
	var mu sync.Mutex
	seen := 0
	return func(point string) {
		if point != name {
			return
		}
		mu.Lock()
		seen++
		hit := seen == n
		mu.Unlock()
		if hit {
			fmt.Fprintf(os.Stderr, "appliance: test hook %s=%s: killing the process now\n", Env, spec)
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {} // the signal is on its way; never return into the ceremony
		}
	}, nil
}
