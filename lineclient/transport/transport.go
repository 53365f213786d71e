// Package transport opens the serial line to a jig: go.bug.st/serial on a
// USB-UART (/dev/ttyUSB*, /dev/ttyACM*) in the factory, and on the
// simulator's pseudo-terminals in tests — the same code either way.
//
// Invariants: the port is 8N1 without flow control at the configured rate;
// input and output are flushed on open so a frame half-sent before the
// station (re)started is not mistaken for a reply; modem-control lines are
// optional (a PTY answers "inappropriate ioctl" and that is not an error).
package transport

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"go.bug.st/serial"
)

// DefaultBaud is the line rate of docs/line-protocol.md §1.
const DefaultBaud = 115200

// Config says how to open a port. The zero value is 115200 8N1 with a
// 100 ms read timeout.
type Config struct {
	Baud        int
	ReadTimeout time.Duration
}

// ErrPortBusy: another process (another station) holds the port.
var ErrPortBusy = errors.New("serial port busy")

// Port is an open serial line. It is a serial.Port (so it works as the
// io.ReadWriter of lineproto.NewClient: it has SetReadTimeout) that also
// holds an advisory lock on the device, so two stations never drive one jig.
type Port struct {
	serial.Port
	lock *os.File
	path string
}

// Path is the device path the port was opened with.
func (p *Port) Path() string { return p.path }

// Close closes the line and releases the lock.
func (p *Port) Close() error {
	err := p.Port.Close()
	if p.lock != nil {
		p.lock.Close() // closing the descriptor releases the flock
	}
	return err
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
	lock, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOCTTY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("open serial port %s: %w", path, err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
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
	return &Port{Port: p, lock: lock, path: path}, nil
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
