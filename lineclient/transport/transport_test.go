package transport

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/term"

	"github.com/dacline/dacline/shared/testenv"
)

func newPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, s, err := pty.Open()
	if err != nil {
		testenv.Missing(t, "no pty: %v", err)
	}
	t.Cleanup(func() { m.Close(); s.Close() })
	return m, s
}

// TestOpenPTY: the factory code path opens a pseudo-terminal, flushes stale
// input, honours the read timeout and carries bytes both ways.
func TestOpenPTY(t *testing.T) {
	m, s := newPTY(t)
	term.MakeRaw(int(s.Fd()))
	m.Write([]byte("stale bytes from before the station started"))
	time.Sleep(20 * time.Millisecond)
	p, err := Open(s.Name(), Config{ReadTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	buf := make([]byte, 64)
	t0 := time.Now()
	n, err := p.Read(buf)
	if err != nil || n != 0 {
		t.Fatalf("stale input not flushed: %q %v", buf[:n], err)
	}
	if d := time.Since(t0); d < 40*time.Millisecond || d > time.Second {
		t.Fatalf("read timeout took %v", d)
	}
	m.Write([]byte{0x00, 0xFF, 0x11})
	got := 0
	for got < 3 {
		k, err := p.Read(buf[got:])
		if err != nil || k == 0 {
			t.Fatalf("read: %d %v", k, err)
		}
		got += k
	}
	if buf[0] != 0 || buf[1] != 0xFF || buf[2] != 0x11 {
		t.Fatalf("bytes changed on the way: % x", buf[:3])
	}
	if _, err := p.Write([]byte{0x00, 0x0A, 0x0D}); err != nil {
		t.Fatal(err)
	}
	back := make([]byte, 3)
	m.SetReadDeadline(time.Now().Add(time.Second))
	if _, err := m.Read(back); err != nil || back[1] != 0x0A || back[2] != 0x0D {
		t.Fatalf("raw mode broke bytes: % x %v", back, err)
	}

	// Modem lines: a PTY has none, which is not an error.
	if ok, err := ResetModule(p); ok || err != nil {
		t.Fatalf("ResetModule on a pty: supported=%v err=%v", ok, err)
	}

	// A second station on the same port is refused.
	if _, err := Open(s.Name(), Config{}); !errors.Is(err, ErrPortBusy) {
		t.Fatalf("second open: %v", err)
	}
	// Closing releases it.
	p.Close()
	p2, err := Open(s.Name(), Config{})
	if err != nil {
		t.Fatalf("open after close: %v", err)
	}
	p2.Close()
}

func TestOpenMissingPort(t *testing.T) {
	_, err := Open("/dev/does-not-exist-dacline", Config{})
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing port: %v", err)
	}
}
