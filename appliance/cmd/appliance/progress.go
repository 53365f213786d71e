package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// newProgress shows ceremony progress on w: a bar with count, rate and ETA on
// a terminal, a plain line every few seconds otherwise (logs, CI).
func newProgress(w *os.File) interface {
	Start(total, done int)
	Add(n int)
	Finish()
} {
	if term.IsTerminal(int(w.Fd())) {
		return &barProgress{w: w}
	}
	return &lineProgress{w: w, every: 5 * time.Second}
}

type barProgress struct {
	w   io.Writer
	bar *progressbar.ProgressBar
}

func (p *barProgress) Start(total, done int) {
	p.bar = progressbar.NewOptions(total,
		progressbar.OptionSetWriter(p.w),
		progressbar.OptionSetDescription("signing"),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("DACs"),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetWidth(30),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(p.w) }),
	)
	p.bar.Set(done)
}

func (p *barProgress) Add(n int) { p.bar.Add(n) }
func (p *barProgress) Finish() {
	if p.bar != nil && !p.bar.IsFinished() {
		p.bar.Exit()
		fmt.Fprintln(p.w)
	}
}

type lineProgress struct {
	w                 io.Writer
	every             time.Duration
	total, done, base int
	start, last       time.Time
}

func (p *lineProgress) Start(total, done int) {
	p.total, p.done, p.base = total, done, done
	p.start, p.last = time.Now(), time.Now()
	if done > 0 {
		fmt.Fprintf(p.w, "signing: resuming at %d/%d DACs\n", done, total)
	} else {
		fmt.Fprintf(p.w, "signing: %d DACs to issue\n", total)
	}
}

func (p *lineProgress) Add(n int) {
	p.done += n
	if time.Since(p.last) >= p.every {
		p.last = time.Now()
		p.print()
	}
}

func (p *lineProgress) print() {
	el := time.Since(p.start).Seconds()
	rate := 0.0
	if el > 0 {
		rate = float64(p.done-p.base) / el
	}
	eta := "?"
	if rate > 0 {
		eta = (time.Duration(float64(p.total-p.done)/rate) * time.Second).Round(time.Second).String()
	}
	fmt.Fprintf(p.w, "signing: %d/%d DACs (%.0f/s, ETA %s)\n", p.done, p.total, rate, eta)
}

func (p *lineProgress) Finish() {}
