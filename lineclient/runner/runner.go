package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/dacline/dacline/lineclient/station"
	"github.com/dacline/dacline/lineclient/transport"
	"github.com/dacline/dacline/shared/lineproto"
)

// ErrTooManyPorts: one station drives at most transport.MaxPorts jigs (the
// simulator serves as many at most); run more stations for more jigs.
var ErrTooManyPorts = fmt.Errorf("a station drives at most %d ports", transport.MaxPorts)

// Port is an open serial line (go.bug.st/serial.Port satisfies it).
type Port interface {
	io.ReadWriteCloser
	SetReadTimeout(time.Duration) error
}

// Config configures a run.
type Config struct {
	Ports []string
	// Open opens a port (lineclient/transport.Open in production and tests).
	Open func(path string) (Port, error)
	// UntilIdle ends the run once every port has had nothing to do for
	// IdleTimeout (a port that cannot be opened counts as idle).
	UntilIdle   bool
	IdleTimeout time.Duration // default 10s
	// EmptyPoll is how often an empty jig is asked IDENTIFY (default 200ms);
	// SettledPoll how often a module with nothing to do is (default 500ms),
	// to notice it being taken off.
	EmptyPoll, SettledPoll time.Duration
	// ReopenDelay is the pause before reopening a port that failed (default 1s).
	ReopenDelay time.Duration
	// Client tunes the protocol client.
	Client lineproto.ClientOptions
	// Events receives every event (optional). Calls are serialised; the
	// callback must not block long, it holds up every port.
	Events func(Event)
}

// Event is one thing that happened on a port.
type Event struct {
	Time   time.Time
	Port   string
	MAC    string // "" when no module is on the jig
	Step   Step
	State  station.State // the module's state after the step
	Result string        // "ok", "inserted", "removed", "port lost", or the error
	Err    error
}

// Totals count what a run did.
type Totals struct {
	Started  time.Time
	Modules  int // distinct modules seen
	CSRs     int // CSRs taken
	Written  int
	Attested int
	Done     int // modules finished (locked and verified) in this run
	Failed   int // modules moved to failed in this run
	Errors   int // steps that did not complete (retried later)
	// FirstWork is when this run first did a step on a module (zero
	// before): rates count from there, not from the start, so the minutes
	// before the first module is put on a jig do not lower them.
	FirstWork time.Time
}

// Rate is modules finished per hour by this run, over the time it has
// been doing work.
func (t Totals) Rate(now time.Time) float64 { return t.perHour(t.Done, now) }

// CSRRate is CSRs taken per hour by this run, over the same time.
func (t Totals) CSRRate(now time.Time) float64 { return t.perHour(t.CSRs, now) }

func (t Totals) perHour(n int, now time.Time) float64 {
	if t.FirstWork.IsZero() {
		return 0
	}
	el := now.Sub(t.FirstWork).Hours()
	if el <= 0 {
		return 0
	}
	return float64(n) / el
}

// Runner runs one worker per port.
type Runner struct {
	cfg  Config
	prov *Provisioner

	mu     sync.Mutex
	totals Totals
	seen   map[string]bool
	idle   map[string]time.Time // port → last time it did work
	active map[string]bool      // port → a step is running on it now

	lastSettled map[string]station.State
	eventsMu    sync.Mutex
}

// New checks the configuration.
func New(cfg Config, prov *Provisioner) (*Runner, error) {
	if len(cfg.Ports) == 0 {
		return nil, errors.New("run: no ports given")
	}
	if len(cfg.Ports) > transport.MaxPorts {
		return nil, fmt.Errorf("run: %d ports given: %w", len(cfg.Ports), ErrTooManyPorts)
	}
	dup := map[string]bool{}
	for _, p := range cfg.Ports {
		if dup[p] {
			return nil, fmt.Errorf("run: port %s given twice", p)
		}
		dup[p] = true
	}
	if prov.PAI == nil || prov.PAA == nil {
		return nil, errors.New("run: the station has no pai/paa trust anchors")
	}
	if len(prov.CD) == 0 {
		return nil, errors.New("run: the station has no certification declaration to write")
	}
	if cfg.Open == nil {
		return nil, errors.New("run: no port opener")
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = 10 * time.Second
	}
	if cfg.EmptyPoll == 0 {
		cfg.EmptyPoll = 200 * time.Millisecond
	}
	if cfg.SettledPoll == 0 {
		cfg.SettledPoll = 500 * time.Millisecond
	}
	if cfg.ReopenDelay == 0 {
		cfg.ReopenDelay = time.Second
	}
	return &Runner{cfg: cfg, prov: prov, seen: map[string]bool{}, idle: map[string]time.Time{}, active: map[string]bool{}}, nil
}

// Totals returns the counts so far.
func (r *Runner) Totals() Totals {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.totals
}

// Run drives every port until stop is closed (workers finish their current
// step) or, with UntilIdle, until all ports are idle. ctx cancels I/O at
// once (a second Ctrl-C); stop is the polite one.
func (r *Runner) Run(ctx context.Context, stop <-chan struct{}) (Totals, error) {
	now := time.Now()
	r.mu.Lock()
	r.totals = Totals{Started: now}
	for _, p := range r.cfg.Ports {
		r.idle[p] = now
	}
	r.mu.Unlock()

	quit := make(chan struct{})
	var once sync.Once
	closeQuit := func() { once.Do(func() { close(quit) }) }
	go func() {
		select {
		case <-stop:
		case <-ctx.Done():
		case <-quit:
		}
		closeQuit()
	}()
	if r.cfg.UntilIdle {
		go r.watchIdle(quit, closeQuit)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(r.cfg.Ports))
	for i, p := range r.cfg.Ports {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = r.worker(ctx, quit, p)
			if errs[i] != nil && stationFault(errs[i]) {
				closeQuit() // a fault of the station (disk full) stops every port
			}
		}()
	}
	wg.Wait()
	closeQuit()
	return r.Totals(), errors.Join(errs...)
}

func (r *Runner) watchIdle(quit <-chan struct{}, closeQuit func()) {
	t := time.NewTicker(r.cfg.IdleTimeout / 10)
	defer t.Stop()
	for {
		select {
		case <-quit:
			return
		case now := <-t.C:
			r.mu.Lock()
			all := true
			for p, last := range r.idle {
				// A port in the middle of a step is never idle, however long
				// the step takes (a slow line, a loaded machine).
				if r.active[p] || now.Sub(last) < r.cfg.IdleTimeout {
					all = false
				}
			}
			r.mu.Unlock()
			if all {
				closeQuit()
				return
			}
		}
	}
}

func (r *Runner) busy(port string) {
	r.mu.Lock()
	r.idle[port] = time.Now()
	r.mu.Unlock()
}

// stepping marks port as running a step (on) or not (off).
func (r *Runner) stepping(port string, on bool) {
	r.mu.Lock()
	r.active[port] = on
	r.mu.Unlock()
}

func (r *Runner) emit(ev Event) {
	ev.Time = time.Now()
	r.mu.Lock()
	t := &r.totals
	if ev.MAC != "" && !r.seen[ev.MAC] {
		r.seen[ev.MAC] = true
		t.Modules++
	}
	if ev.MAC != "" && t.FirstWork.IsZero() {
		t.FirstWork = ev.Time
	}
	if ev.Err != nil && !errors.Is(ev.Err, errModuleFailed) {
		t.Errors++
	} else if ev.Err == nil {
		switch ev.Step {
		case StepKeygen:
			t.CSRs++
		case StepWrite:
			t.Written++
		case StepAttest:
			t.Attested++
		}
	}
	if ev.Step == StepDone && ev.Result == "ok" {
		t.Done++
	}
	if errors.Is(ev.Err, errModuleFailed) {
		t.Failed++
	}
	r.mu.Unlock()
	if r.cfg.Events != nil {
		r.eventsMu.Lock()
		r.cfg.Events(ev)
		r.eventsMu.Unlock()
	}
}
