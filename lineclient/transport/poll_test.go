package transport

import (
	"errors"
	"testing"
	"time"

	"go.bug.st/serial"
	"golang.org/x/term"
)

// TestReadWaitsOnThePoller: a Read without timeout waits until bytes come,
// Close wakes a waiting Read with an error, and a line whose other side went
// away reads as ErrPortClosed, not as an endless stream of timeouts.
func TestReadWaitsOnThePoller(t *testing.T) {
	m, s := newPTY(t)
	term.MakeRaw(int(s.Fd()))
	p, err := Open(s.Name(), Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.SetReadTimeout(serial.NoTimeout); err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() {
		buf := make([]byte, 8)
		n, err := p.Read(buf)
		if err == nil && string(buf[:n]) != "hi" {
			err = errors.New("read " + string(buf[:n]))
		}
		got <- err
	}()
	time.Sleep(50 * time.Millisecond)
	m.Write([]byte("hi"))
	if err := <-got; err != nil {
		t.Fatalf("blocking read: %v", err)
	}

	// A zero timeout takes what the line already holds.
	m.Write([]byte("ok"))
	time.Sleep(50 * time.Millisecond)
	if err := p.SetReadTimeout(0); err != nil {
		t.Fatal(err)
	}
	if n, err := p.Read(make([]byte, 8)); n != 2 || err != nil {
		t.Fatalf("zero-timeout read of waiting bytes: %d, %v", n, err)
	}
	p.SetReadTimeout(serial.NoTimeout)

	go func() { _, err := p.Read(make([]byte, 8)); got <- err }()
	time.Sleep(50 * time.Millisecond)
	if err := p.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	select {
	case err := <-got:
		if err == nil {
			t.Fatal("read on a closed port returned no error")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not wake a waiting Read")
	}

	p, err = Open(s.Name(), Config{ReadTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	m.Close()
	if _, err := p.Read(make([]byte, 8)); !errors.Is(err, ErrPortClosed) {
		t.Fatalf("read after the other side closed: %v", err)
	}
}
