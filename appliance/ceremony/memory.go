package ceremony

import (
	"os"
	"runtime/debug"
)

// MemoryLimit is the soft limit LimitMemory gives the Go runtime for a
// ceremony. What a ceremony keeps live is small — the duplicate-key map of
// the check (about 50 MB for 1,000,000 CSRs), chunks in flight — but it
// makes a lot of short-lived garbage (parsing and issuing certificates), and
// with the default GOGC the heap runs to twice what is live before it is
// collected. The limit makes the collector work harder only near it; file
// pages bbolt maps are kept down separately (boltmem.ReleaseAbove).
const MemoryLimit = 160 << 20

// LimitMemory sets the Go runtime's soft memory limit to MemoryLimit
// unless GOMEMLIMIT sets one. Call it once in the process that runs the
// ceremony (appliance sign, the benchmark).
func LimitMemory() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(MemoryLimit)
	}
}
