package runner

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Display shows a run to the operator. On a terminal it redraws one status
// line per port (module, step, result) and a totals line with the rate; to a
// file or pipe it prints one plain line per event and a totals line now and
// then, so logs stay readable.
type Display struct {
	w     io.Writer
	tty   bool
	mu    sync.Mutex
	ports []string
	lines map[string]string
	drawn int
	last  time.Time
}

// NewDisplay returns a display for ports on w.
func NewDisplay(w io.Writer, ports []string, tty bool) *Display {
	d := &Display{w: w, tty: tty, ports: ports, lines: map[string]string{}}
	for _, p := range ports {
		d.lines[p] = "waiting for a module"
	}
	return d
}

func describe(ev Event) string {
	mod := ev.MAC
	if mod == "" {
		mod = "-"
	}
	res := ev.Result
	if ev.Err != nil && res == "" {
		res = ev.Err.Error()
	}
	if ev.Result == "port lost" && ev.Err != nil {
		res = "port lost: " + ev.Err.Error()
	}
	st := ""
	if ev.State != 0 {
		st = " [" + ev.State.String() + "]"
	}
	return fmt.Sprintf("%-17s %-14s %s%s", mod, ev.Step, res, st)
}

// Event records an event (safe for concurrent use).
func (d *Display) Event(ev Event) {
	d.mu.Lock()
	defer d.mu.Unlock()
	line := describe(ev)
	d.lines[ev.Port] = line
	if !d.tty {
		fmt.Fprintf(d.w, "%s %s %s\n", ev.Time.UTC().Format("15:04:05.000"), ev.Port, line)
	}
}

// Tick redraws (terminal) or prints the totals every 30 s (plain).
func (d *Display) Tick(t Totals) {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := time.Now()
	if !d.tty {
		if now.Sub(d.last) >= 30*time.Second {
			fmt.Fprintln(d.w, totalsLine(t, now))
			d.last = now
		}
		return
	}
	var b strings.Builder
	if d.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", d.drawn) // back to the top of the block
	}
	width := 0
	for _, p := range d.ports {
		width = max(width, len(p))
	}
	for _, p := range d.ports {
		fmt.Fprintf(&b, "\x1b[2K%-*s  %s\n", width, p, d.lines[p])
	}
	fmt.Fprintf(&b, "\x1b[2K%s\n", totalsLine(t, now))
	d.drawn = len(d.ports) + 1
	io.WriteString(d.w, b.String())
}

// Final prints the totals once more.
func (d *Display) Final(t Totals) {
	d.mu.Lock()
	tty := d.tty
	d.mu.Unlock()
	if tty {
		d.Tick(t)
		return
	}
	fmt.Fprintln(d.w, totalsLine(t, time.Now()))
}

func totalsLine(t Totals, now time.Time) string {
	el := now.Sub(t.Started).Truncate(time.Second)
	return fmt.Sprintf("totals: %d modules seen, %d csrs taken, %d written, %d attested, %d done, %d failed, %d retried steps; %s elapsed, %.0f modules/hour, %.0f csrs/hour",
		t.Modules, t.CSRs, t.Written, t.Attested, t.Done, t.Failed, t.Errors, el, t.Rate(now), t.CSRRate(now))
}

// Notice prints a message the operator must keep seeing (the Ctrl-C
// message). On a terminal it replaces the status block, which is drawn
// again below it by the next Tick, so a redraw never overwrites it.
func (d *Display) Notice(msg string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.tty {
		fmt.Fprintln(d.w, msg)
		return
	}
	var b strings.Builder
	if d.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", d.drawn)
		for range d.drawn {
			b.WriteString("\x1b[2K\n")
		}
		fmt.Fprintf(&b, "\x1b[%dA", d.drawn)
	}
	fmt.Fprintf(&b, "\x1b[2K%s\n", msg)
	d.drawn = 0 // the next redraw starts below the message
	io.WriteString(d.w, b.String())
}
