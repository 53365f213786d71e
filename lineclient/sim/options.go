package sim

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dacline/dacline/lineclient/transport"
)

// Timing selects how long the virtual modules take.
type Timing int

const (
	// TimingFast answers as fast as the PTY carries bytes: for tests.
	TimingFast Timing = iota
	// TimingReal takes a real module's times: key generation ~300 ms, bytes
	// paced at the line rate (115200 baud, 10 bits a byte), flash commits a
	// few ms, eFuse burns 20–50 ms per step, boot ~150 ms.
	TimingReal
)

// ParseTiming parses "real" or "fast".
func ParseTiming(s string) (Timing, error) {
	switch s {
	case "fast":
		return TimingFast, nil
	case "real":
		return TimingReal, nil
	}
	return 0, fmt.Errorf("timing %q: want real or fast", s)
}

func (t Timing) String() string {
	if t == TimingReal {
		return "real"
	}
	return "fast"
}

// Faults are injection rates in [0,1]. Noise, Drop, Disconnect, Slow and
// Silent apply per frame (in either direction for Noise and Drop, per reply
// for the others); RebootDuringLock per LOCK request; Lying per module,
// decided once from the seed so the same module always lies or never does.
type Faults struct {
	Noise            float64 // one byte of a frame flipped
	Drop             float64 // one byte of a frame lost
	Disconnect       float64 // the reply is cut mid-frame and the module resets
	RebootDuringLock float64 // the module resets during a LOCK, before or after the burn
	Slow             float64 // the reply comes SlowDelay late
	Silent           float64 // the command runs but no reply is sent
	Lying            float64 // the module's CSR is for a different key than it attests with
}

// faultNames maps the --faults spelling to a field.
var faultNames = map[string]func(*Faults) *float64{
	"noise":              func(f *Faults) *float64 { return &f.Noise },
	"drop":               func(f *Faults) *float64 { return &f.Drop },
	"disconnect":         func(f *Faults) *float64 { return &f.Disconnect },
	"reboot-during-lock": func(f *Faults) *float64 { return &f.RebootDuringLock },
	"slow":               func(f *Faults) *float64 { return &f.Slow },
	"silent":             func(f *Faults) *float64 { return &f.Silent },
	"lying":              func(f *Faults) *float64 { return &f.Lying },
}

// ErrFaultSpec reports a malformed --faults value.
var ErrFaultSpec = errors.New("fault spec")

// ParseFaults parses "name=rate,name=rate". Names are noise, drop,
// disconnect, reboot-during-lock, slow, silent, lying; rates are decimals in
// [0,1]. Unknown or repeated names, and rates out of range, are errors. The
// empty string means no faults.
func ParseFaults(spec string) (Faults, error) {
	var f Faults
	if strings.TrimSpace(spec) == "" {
		return f, nil
	}
	seen := map[string]bool{}
	for _, part := range strings.Split(spec, ",") {
		name, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return Faults{}, fmt.Errorf("%w: %q is not name=rate", ErrFaultSpec, part)
		}
		field, known := faultNames[name]
		if !known {
			return Faults{}, fmt.Errorf("%w: unknown fault %q (known: %s)", ErrFaultSpec, name, strings.Join(FaultNames(), ", "))
		}
		if seen[name] {
			return Faults{}, fmt.Errorf("%w: fault %q given twice", ErrFaultSpec, name)
		}
		seen[name] = true
		r, err := strconv.ParseFloat(val, 64)
		if err != nil || math.IsNaN(r) || r < 0 || r > 1 {
			return Faults{}, fmt.Errorf("%w: %s rate %q is not a number in [0,1]", ErrFaultSpec, name, val)
		}
		*field(&f) = r
	}
	return f, nil
}

// FaultNames lists the names ParseFaults accepts.
func FaultNames() []string {
	var n []string
	for k := range faultNames {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// String renders f in the ParseFaults syntax (zero rates left out).
func (f Faults) String() string {
	var parts []string
	for _, name := range FaultNames() {
		if r := *faultNames[name](&f); r != 0 {
			parts = append(parts, name+"="+strconv.FormatFloat(r, 'g', -1, 64))
		}
	}
	return strings.Join(parts, ",")
}

// Options configure a simulator.
type Options struct {
	// Count is the number of jigs (pseudo-terminals). At least 1.
	Count int
	// ModulesPerJig is how many modules pass through each jig in turn
	// (default 1). Jig j holds modules j*K … j*K+K-1; a module that is locked
	// and has then answered SwapPolls IDENTIFY requests in a row (no other
	// command in between) is taken off and the next one is put on. The last
	// module stays on the jig.
	ModulesPerJig int
	// SwapPolls is how many IDENTIFY polls a locked module answers, with
	// nothing else asked of it, before it is swapped (default 3). It stands
	// for the operator, who takes a module off when the station shows it
	// done: a station that polls a settled module (every 500 ms by default)
	// has read the lock state back by then, and one that is stopped or
	// killed polls nothing, so no module leaves its jig unverified. Only
	// replies sent without an injected fault count (the station got them).
	SwapPolls int
	// SwapWaiting also swaps a module waiting for its batch (key generated,
	// nothing written) after SwapPolls polls, for one of the jig's modules
	// not keyed yet; and a locked module for the next one of the jig's
	// modules that is not locked, going round: modules taken off while they
	// waited come back once the others are done. With ModulesPerJig K, every
	// module gets its key in the first run (4 jigs of 3: 12 CSRs).
	SwapWaiting bool
	// StateDir keeps one JSON file per module (module-<mac>.json) so a module
	// taken off and put back, or a restarted simulator, is the same module.
	// Empty: state lives in memory only.
	StateDir string
	Timing   Timing
	Faults   Faults
	// Seed derives the modules' MACs, which modules lie and the fault dice.
	Seed uint64
	// SlowDelay is how late a "slow" reply comes (default 1.5s).
	SlowDelay time.Duration
	// KeyStorage is where new modules keep their key: KeyPlaintext
	// (default), KeyEFuse or KeyDerived (keystorage.go); it decides what
	// their esp_secure_cert partition holds.
	KeyStorage string
	// ChipModel and Firmware are what IDENTIFY reports; ChipModel is also
	// the chip the ROM loader emulates (Download).
	ChipModel, Firmware string
	// Download starts the modules in the chip's ROM loader (download.go).
	Download Download
	// Logf, if set, receives one line per module event (insert, remove,
	// reboot, fault). Never key material.
	Logf func(format string, args ...any)
}

func (o *Options) setDefaults() error {
	if o.Count < 1 {
		return fmt.Errorf("sim: count %d: need at least one module", o.Count)
	}
	if o.Count > transport.MaxPorts {
		// The station's limit: a simulator larger than one station can
		// drive would only test what no line runs.
		return fmt.Errorf("sim: count %d: at most %d jigs (transport.MaxPorts, what one station drives)", o.Count, transport.MaxPorts)
	}
	if o.ModulesPerJig == 0 {
		o.ModulesPerJig = 1
	}
	if o.ModulesPerJig < 0 || o.ModulesPerJig > 100000 {
		return fmt.Errorf("sim: modules per jig %d out of range 1..100000", o.ModulesPerJig)
	}
	if err := checkKeyStorage(o.KeyStorage); err != nil {
		return err
	}
	if o.SwapPolls <= 0 {
		o.SwapPolls = 3
	}
	if o.SlowDelay <= 0 {
		o.SlowDelay = 1500 * time.Millisecond
	}
	if o.ChipModel == "" {
		o.ChipModel = "ESP32-C3"
	}
	if o.Firmware == "" {
		o.Firmware = "dacline-sim-mfg 1.0"
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	return nil
}
