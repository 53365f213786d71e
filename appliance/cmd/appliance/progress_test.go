package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestBarProgress(t *testing.T) {
	var buf bytes.Buffer
	p := &barProgress{w: &buf}
	p.Start(100, 20)
	p.Add(30)
	time.Sleep(150 * time.Millisecond)
	p.Add(50)
	p.Finish()
	if !strings.Contains(buf.String(), "signing") || !strings.Contains(buf.String(), "100/100") {
		t.Fatalf("bar output: %q", buf.String())
	}
}

func TestLineProgress(t *testing.T) {
	var buf bytes.Buffer
	p := &lineProgress{w: &buf, every: 0}
	p.Start(10, 4)
	p.Add(3)
	p.Finish()
	out := buf.String()
	if !strings.Contains(out, "resuming at 4/10 DACs") || !strings.Contains(out, "signing: 7/10 DACs (") {
		t.Fatalf("line output: %q", out)
	}
}
