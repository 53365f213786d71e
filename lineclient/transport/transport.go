// Package transport opens the serial line to a jig: go.bug.st/serial on a
// USB-UART (/dev/ttyUSB*, /dev/ttyACM*) in the factory, and on the
// simulator's pseudo-terminals in tests — the same code either way.
//
// Invariants: the port is 8N1 without flow control at the configured rate;
// input and output are flushed on open so a frame half-sent before the
// station (re)started is not mistaken for a reply; modem-control lines are
// optional (a PTY answers "inappropriate ioctl" and that is not an error).
//
// Reads and writes go through a descriptor of our own, waited on by the Go
// runtime's poller (epoll), not through go.bug.st/serial's Read: that waits
// with select(2), whose fd_set holds descriptors below 1024 only, and panics
// ("index out of range [16] with length 16") once a station has opened about
// 250 ports (v1.8.0 still does). go.bug.st/serial still sets the line up
// (termios, modem lines, flushing): those apply to the device, whichever
// descriptor reads it. A station drives at most MaxPorts ports.
package transport

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"go.bug.st/serial"
)

// DefaultBaud is the line rate of docs/line-protocol.md §1.
const DefaultBaud = 115200

// MaxPorts is the most jigs one station drives (lineclient run --port) and
// the most the simulator serves (lineclient sim --count): one limit for both.
// Each port costs four descriptors and a worker; the limit is the line's, not
// select(2)'s.
const MaxPorts = 256

// Config says how to open a port. The zero value is 115200 8N1 with a
// 100 ms read timeout.
type Config struct {
	Baud        int
	ReadTimeout time.Duration
}

// Errors callers branch on.
var (
	// ErrPortBusy: another process (another station) holds the port.
	ErrPortBusy = errors.New("serial port busy")
	// ErrPortClosed: the device went away (unplugged, or the other side of a
	// pseudo-terminal closed).
	ErrPortClosed = errors.New("serial port closed")
)

// Port is an open serial line. It is a serial.Port (so it works as the
// io.ReadWriter of lineproto.NewClient: it has SetReadTimeout) that also
// holds an advisory lock on the device, so two stations never drive one jig.
type Port struct {
	serial.Port
	// file is the device opened non-blocking and registered with the
	// runtime poller: it holds the flock and carries every read and write.
	file        *os.File
	readTimeout time.Duration // serial.NoTimeout: block
	path        string
}

// Path is the device path the port was opened with.
func (p *Port) Path() string { return p.path }

// Close closes the line and releases the lock. A Read waiting on the port
// returns an error.
func (p *Port) Close() error {
	ferr := p.file.Close() // wakes a waiting Read; closing releases the flock
	err := p.Port.Close()
	if err == nil && !errors.Is(ferr, os.ErrClosed) {
		err = ferr
	}
	return err
}

// SetReadTimeout sets how long Read waits for a byte (serial.NoTimeout:
// forever). As with go.bug.st/serial, a Read that times out returns 0, nil.
func (p *Port) SetReadTimeout(d time.Duration) error {
	p.readTimeout = d
	return nil
}

// Read reads what the line has, waiting up to the read timeout.
func (p *Port) Read(b []byte) (int, error) {
	deadline := time.Time{}
	if d := p.readTimeout; d != serial.NoTimeout {
		// A deadline already passed fails the read without looking at the
		// line; a zero timeout still takes what is there.
		deadline = time.Now().Add(max(d, time.Millisecond))
	}
	if err := p.file.SetReadDeadline(deadline); err != nil {
		return 0, fmt.Errorf("serial port %s: %w", p.path, err)
	}
	n, err := p.file.Read(b)
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return n, nil
	case err == io.EOF || errors.Is(err, syscall.EIO):
		// A USB-UART unplugged (or a PTY whose other side closed) reads as
		// end of file or EIO: the port is gone.
		return n, fmt.Errorf("serial port %s: %w", p.path, ErrPortClosed)
	case err != nil:
		return n, fmt.Errorf("serial port %s: %w", p.path, err)
	}
	return n, nil
}

// Write writes b to the line.
func (p *Port) Write(b []byte) (int, error) {
	n, err := p.file.Write(b)
	if err != nil {
		return n, fmt.Errorf("serial port %s: %w", p.path, err)
	}
	return n, nil
}

// Open opens path as 8N1 at cfg.Baud, sets the read timeout and discards
// whatever sits in the buffers. A port another process holds gives
// ErrPortBusy. (go.bug.st/serial also sets TIOCEXCL, which root bypasses;
// the flock here does not depend on privileges.)
func Open(path string, cfg Config) (*Port, error) {
	if cfg.Baud == 0 {
		cfg.Baud = DefaultBaud
	}
	if cfg.ReadTimeout == 0 {
		cfg.ReadTimeout = 100 * time.Millisecond
	}
	// Non-blocking, so the runtime poller (epoll, any descriptor number)
	// waits on it; see the package doc.
	lock, err := os.OpenFile(path, os.O_RDWR|syscall.O_NOCTTY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("open serial port %s: %w", path, err)
	}
	if err := flock(lock); err != nil {
		lock.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("open %s: %w (another station holds it)", path, ErrPortBusy)
		}
		return nil, fmt.Errorf("lock serial port %s: %w", path, err)
	}
	p, err := serial.Open(path, &serial.Mode{
		BaudRate: cfg.Baud, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit,
	})
	if err != nil {
		lock.Close()
		var pe *serial.PortError
		if errors.As(err, &pe) && pe.Code() == serial.PortBusy {
			return nil, fmt.Errorf("open %s: %w", path, ErrPortBusy)
		}
		return nil, fmt.Errorf("open serial port %s: %w", path, err)
	}
	if err := p.SetReadTimeout(cfg.ReadTimeout); err != nil {
		p.Close()
		lock.Close()
		return nil, fmt.Errorf("serial port %s: set read timeout: %w", path, err)
	}
	// Flushing is best effort: some drivers do not implement it.
	_ = p.ResetInputBuffer()
	_ = p.ResetOutputBuffer()
	return &Port{Port: p, file: lock, readTimeout: cfg.ReadTimeout, path: path}, nil
}

// flock takes the exclusive advisory lock on f without f.Fd(), which would
// switch the descriptor to blocking mode and take it off the poller.
func flock(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var lerr error
	if err := rc.Control(func(fd uintptr) {
		lerr = syscall.Flock(int(fd), syscall.LOCK_EX|syscall.LOCK_NB)
	}); err != nil {
		return err
	}
	return lerr
}

// ResetModule pulses the auto-reset lines the way ESP dev boards wire them
// (DTR→EN through a transistor pair): RTS asserted holds EN low. It
// returns supported=false, without error, where the port has no modem lines
// (pseudo-terminals, some bridges); the protocol's REBOOT command is the
// portable way to restart a module.
func ResetModule(p serial.Port) (supported bool, err error) {
	if err := p.SetDTR(false); err != nil {
		return false, nil
	}
	if err := p.SetRTS(true); err != nil {
		return false, nil
	}
	time.Sleep(100 * time.Millisecond)
	if err := p.SetRTS(false); err != nil {
		return true, fmt.Errorf("release reset line: %w", err)
	}
	return true, nil
}
