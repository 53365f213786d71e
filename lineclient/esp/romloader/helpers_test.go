package romloader

import (
	"errors"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/term"

	"github.com/dacline/dacline/lineclient/transport"
)

// rig is an emulated chip behind a real pseudo-terminal and a client on
// the other end through go.bug.st/serial.
type rig struct {
	srv    *Server
	flash  *MemFlash
	client *Client
	port   *transport.Port
}

func newRig(t *testing.T, cfg ServerConfig) *rig {
	t.Helper()
	master, slave, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	fd, err := syscall.Dup(int(master.Fd()))
	master.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.SetNonblock(fd, true); err != nil {
		t.Fatal(err)
	}
	if _, err := term.MakeRaw(int(slave.Fd())); err != nil {
		t.Fatal(err)
	}
	m := os.NewFile(uintptr(fd), "ptmx")
	if cfg.Flash == nil {
		cfg.Flash = NewMemFlash(FlashSize)
	}
	if cfg.Chip.Name == "" {
		cfg.Chip, _ = ChipByName("ESP32-C3")
	}
	r := &rig{flash: cfg.Flash.(*MemFlash)}
	write := func(b []byte) {
		_ = m.SetWriteDeadline(time.Now().Add(2 * time.Second))
		_, _ = m.Write(b)
	}
	r.srv = NewServer(cfg, write)
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			_ = m.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			n, err := m.Read(buf)
			if n > 0 {
				r.srv.Feed(buf[:n])
			}
			if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
				return
			}
		}
	}()
	p, err := transport.Open(slave.Name(), transport.Config{})
	if err != nil {
		t.Fatal(err)
	}
	r.port = p
	r.client = NewClient(p)
	r.client.Timeout = 300 * time.Millisecond
	t.Cleanup(func() {
		p.Close()
		m.Close()
		<-done
		slave.Close()
	})
	return r
}

func chip(t *testing.T, name string) Chip {
	t.Helper()
	c, err := ChipByName(name)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
