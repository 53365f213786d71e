package runner

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/dacline/dacline/lineclient/station"
	"github.com/dacline/dacline/shared/lineproto"
)

// maxStepsPerVisit bounds the steps one module gets in a row (a module
// takes at most about eight; more means something keeps undoing them).
const maxStepsPerVisit = 16

// worker owns one port for the whole run.
func (r *Runner) worker(ctx context.Context, quit <-chan struct{}, path string) error {
	var (
		port    Port
		client  *lineproto.Client
		current string // MAC on the jig, "" when empty
		lost    bool
	)
	closePort := func() {
		if port != nil {
			port.Close()
			port, client = nil, nil
		}
	}
	defer closePort()
	wait := func(d time.Duration) bool {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-quit:
			return false
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		}
	}
	for {
		select {
		case <-quit:
			return nil
		case <-ctx.Done():
			return nil
		default:
		}
		if port == nil {
			p, err := r.cfg.Open(path)
			if err != nil {
				if !lost {
					r.emit(Event{Port: path, Result: "port lost", Err: err})
					lost = true
				}
				if !wait(r.cfg.ReopenDelay) {
					return nil
				}
				continue
			}
			c, err := lineproto.NewClient(p, r.cfg.Client)
			if err != nil {
				p.Close()
				return fmt.Errorf("port %s: %w", path, err)
			}
			port, client = p, c
			if lost {
				r.emit(Event{Port: path, Result: "port back"})
				lost = false
			}
		}
		id, err := client.Identify(ctx)
		if err != nil {
			if errors.Is(err, lineproto.ErrTimeout) || errors.Is(err, context.Canceled) {
				if current != "" {
					r.emit(Event{Port: path, MAC: current, Step: StepIdentify, Result: "removed"})
					current = ""
				}
				if !wait(r.cfg.EmptyPoll) {
					return nil
				}
				continue
			}
			// Anything else is the line itself (the device went away).
			r.emit(Event{Port: path, MAC: current, Result: "port lost", Err: err})
			current, lost = "", true
			closePort()
			if !wait(r.cfg.ReopenDelay) {
				return nil
			}
			continue
		}
		mac := FormatMAC(id.ChipID)
		if mac != current {
			if current != "" {
				r.emit(Event{Port: path, MAC: current, Step: StepIdentify, Result: "removed"})
			}
			current = mac
			r.emit(Event{Port: path, MAC: mac, Step: StepIdentify, Result: "inserted"})
		}
		settled, fatal := r.visit(ctx, quit, client, path, id)
		if fatal != nil {
			return fmt.Errorf("port %s: %w", path, fatal)
		}
		if settled {
			if !wait(r.cfg.SettledPoll) {
				return nil
			}
		} else if !wait(r.cfg.EmptyPoll) { // a step failed: pause, then look again
			return nil
		}
	}
}

// visit gives the module on the jig its steps until it is settled, a step
// fails, or a stop is requested. It reports whether the module is settled,
// and a fatal error (see stationFault) that ends the whole run.
func (r *Runner) visit(ctx context.Context, quit <-chan struct{}, c *lineproto.Client, path string, id *lineproto.IdentifyResponse) (bool, error) {
	settled, err := r.visitSteps(ctx, quit, c, path, id)
	if err != nil && stationFault(err) {
		return false, err
	}
	return settled, nil
}

// stationFault reports an error of the station itself rather than of the
// module or the line: its disk is full (or read-only). Retrying cannot help
// and every port would hit it, so the run stops and says so (issue 12,
// item 8) instead of polling the module again and again.
func stationFault(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) || errors.Is(err, syscall.EROFS)
}

func (r *Runner) visitSteps(ctx context.Context, quit <-chan struct{}, c *lineproto.Client, path string, id *lineproto.IdentifyResponse) (bool, error) {
	mac := FormatMAC(id.ChipID)
	for range maxStepsPerVisit {
		r.stepping(path, true)
		out, err := r.prov.next(ctx, c, path, id)
		if err != nil || out.worked {
			// A step that worked, or failed on a transient error (timeout,
			// noise, a module pulled mid-step), leaves work behind: the port
			// is not idle, or --until-idle would end a run with modules half
			// done. Marked before the step stops counting as running.
			r.busy(path)
		}
		r.stepping(path, false)
		ev := Event{Port: path, MAC: mac, Step: out.step, Result: "ok", Err: err}
		if ev.Step == "" {
			ev.Step = StepIdentify
		}
		if out.module != nil {
			ev.State = out.module.State
		}
		if err == nil && !out.worked {
			// Nothing to do (waiting for its batch, done, failed): reported
			// once per state, not on every poll.
			ev.Result = "nothing to do"
			if out.module != nil && out.module.State == station.StateFailed {
				ev.Result = "failed earlier: " + string(out.module.Reason)
			}
			r.emitSettled(ev)
			return true, nil
		}
		if err != nil {
			ev.Result = err.Error()
		}
		r.emit(ev)
		if err != nil {
			return errors.Is(err, errModuleFailed), err
		}
		if out.settled {
			return true, nil
		}
		select {
		case <-quit:
			return true, nil
		default:
		}
		// Look again: the next step is decided on fresh facts.
		if id, err = c.Identify(ctx); err != nil {
			return false, nil
		}
		if FormatMAC(id.ChipID) != mac {
			return false, nil
		}
	}
	return false, nil
}

// emitSettled reports a waiting or failed module only when its state changed
// since it was last reported on that port.
func (r *Runner) emitSettled(ev Event) {
	key := ev.Port + "|" + ev.MAC
	r.mu.Lock()
	if r.lastSettled == nil {
		r.lastSettled = map[string]station.State{}
	}
	prev, ok := r.lastSettled[key]
	r.lastSettled[key] = ev.State
	r.mu.Unlock()
	if ok && prev == ev.State {
		return
	}
	r.emit(ev)
}
