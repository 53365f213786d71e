package romloader

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"go.bug.st/serial"
)

// Port is what the client needs of a serial line; a go.bug.st/serial Port
// (and lineclient/transport's) has it.
type Port interface {
	io.ReadWriter
	SetReadTimeout(time.Duration) error
}

// baudSetter is the part of serial.Port that CHANGE_BAUDRATE needs.
type baudSetter interface {
	SetMode(*serial.Mode) error
}

// Errors callers branch on.
var (
	// ErrNoSync: nothing answered SYNC (no module, or not in download mode).
	ErrNoSync = errors.New("no answer to SYNC: is the module in download mode?")
	// ErrTimeout: a command got no valid reply in time.
	ErrTimeout = errors.New("no reply")
	// ErrSecureDownload: the command is not allowed in secure download mode.
	ErrSecureDownload = errors.New("not allowed in secure download mode")
	// ErrUnknownChip: the chip answered with an ID or magic value not in Chips.
	ErrUnknownChip = errors.New("unknown chip")
)

// Timeouts (esptool's defaults, loader.py).
const (
	DefaultTimeout = 3 * time.Second
	syncTimeout    = 100 * time.Millisecond
	// eraseTimeoutPerMB: the ROM erases the whole region on FLASH_BEGIN.
	eraseTimeoutPerMB = 30 * time.Second
	md5TimeoutPerMB   = 8 * time.Second
)

// Client talks to one chip's ROM loader (or esptool's stub, which a caller
// detects by SYNC answering 0).
type Client struct {
	port    Port
	dec     SLIPDecoder
	pending [][]byte
	buf     []byte
	// Stub: the loader answers with 2 status bytes and raw MD5 (esptool's
	// stub); false for a chip's ROM (4 status bytes, MD5 as 32 hex digits).
	Stub bool
	// Chip is set by Detect.
	Chip Chip
	// Security is the last GET_SECURITY_INFO answer (Detect reads it).
	Security    SecurityInfo
	hasSecurity bool
	// SecureDownload is set by Detect from the security info.
	SecureDownload bool
	// Trace, when set, gets one line per command (never data).
	Trace func(format string, args ...any)
	// Timeout is the reply timeout of an ordinary command (DefaultTimeout
	// when zero); erase and MD5 get more, in proportion to the size.
	Timeout time.Duration
	baud    int
}

func (c *Client) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return DefaultTimeout
}

// NewClient wraps an open port (8N1, any baud the ROM auto-detects; 115200
// is usual).
func NewClient(p Port) *Client {
	return &Client{port: p, buf: make([]byte, 4096), baud: 115200}
}

func (c *Client) trace(format string, args ...any) {
	if c.Trace != nil {
		c.Trace(format, args...)
	}
}

// send frames and writes one request.
func (c *Client) send(op Op, data []byte, chk uint32) error {
	pkt, err := Request{Op: op, Checksum: chk, Data: data}.Marshal()
	if err != nil {
		return err
	}
	if _, err := c.port.Write(SLIPEncode(pkt)); err != nil {
		return fmt.Errorf("%s: write: %w", op, err)
	}
	return nil
}

// readResponse waits up to timeout for a response to op; other packets
// (replies to earlier requests, junk) are skipped.
func (c *Client) readResponse(op Op, timeout time.Duration) (Response, error) {
	deadline := time.Now().Add(timeout)
	for {
		for len(c.pending) > 0 {
			p := c.pending[0]
			c.pending = c.pending[1:]
			r, err := ParseResponse(p)
			if err != nil || r.Op != op {
				continue
			}
			return r, nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			return Response{}, fmt.Errorf("%s: %w within %v", op, ErrTimeout, timeout)
		}
		if err := c.port.SetReadTimeout(min(left, 50*time.Millisecond)); err != nil {
			return Response{}, fmt.Errorf("%s: set read timeout: %w", op, err)
		}
		n, err := c.port.Read(c.buf)
		if n > 0 {
			c.dec.Feed(c.buf[:n], func(frame []byte, ferr error) {
				if ferr == nil {
					c.pending = append(c.pending, append([]byte(nil), frame...))
				}
			})
		}
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			return Response{}, fmt.Errorf("%s: read: %w", op, err)
		}
	}
}

// statusLen is the number of status bytes this loader appends.
func (c *Client) statusLen() int {
	if c.Stub {
		return 2
	}
	return 4
}

// Command sends op and returns the reply's value and payload (the data
// before the status bytes, which are checked). respLen is the payload
// length expected, as esptool's check_command takes it.
func (c *Client) Command(op Op, data []byte, chk uint32, respLen int, timeout time.Duration) (uint32, []byte, error) {
	c.flushPending()
	if err := c.send(op, data, chk); err != nil {
		return 0, nil, err
	}
	r, err := c.readResponse(op, timeout)
	if err != nil {
		return 0, nil, err
	}
	// As esptool: status is the two bytes after the payload; a reply too
	// short for both is an error carrying its first status byte.
	if len(r.Data) < respLen+2 {
		if len(r.Data) >= 2 && r.Data[0] != 0 {
			return 0, nil, &StatusError{Op: op, Code: r.Data[1]}
		}
		return 0, nil, fmt.Errorf("%s: %w: reply of %d data bytes, want %d and status", op, ErrPacket, len(r.Data), respLen)
	}
	if r.Data[respLen] != 0 {
		return 0, nil, &StatusError{Op: op, Code: r.Data[respLen+1]}
	}
	c.trace("%s ok", op)
	return r.Value, r.Data[:respLen], nil
}

// flushPending drops decoded frames and unread input, as esptool-js does
// before each command, so a stale reply is never taken for this one's.
func (c *Client) flushPending() {
	c.pending = c.pending[:0]
	if r, ok := c.port.(interface{ ResetInputBuffer() error }); ok {
		_ = r.ResetInputBuffer()
	}
}

// syncPayload is SYNC's data: 07 07 12 20 and 32×0x55.
func syncPayload() []byte {
	b := []byte{0x07, 0x07, 0x12, 0x20}
	for range 32 {
		b = append(b, 0x55)
	}
	return b
}

// Sync sends SYNC until the loader answers (attempts tries, 100 ms each),
// then drains the extra replies the ROM sends. A first reply value of 0
// means esptool's stub is already running.
func (c *Client) Sync(attempts int) error {
	if attempts < 1 {
		attempts = 1
	}
	for i := range attempts {
		c.flushPending()
		c.dec.Reset()
		if err := c.send(OpSync, syncPayload(), 0); err != nil {
			return err
		}
		r, err := c.readResponse(OpSync, syncTimeout)
		if err != nil {
			c.trace("sync attempt %d: %v", i+1, err)
			continue
		}
		c.Stub = r.Value == 0
		// The ROM answers each SYNC up to eight times; drain them.
		for {
			if _, err := c.readResponse(OpSync, syncTimeout); err != nil {
				break
			}
		}
		return nil
	}
	return ErrNoSync
}

// ReadReg reads a 32-bit register (not in secure download mode).
func (c *Client) ReadReg(addr uint32) (uint32, error) {
	if c.SecureDownload {
		return 0, fmt.Errorf("READ_REG 0x%08x: %w", addr, ErrSecureDownload)
	}
	v, _, err := c.Command(OpReadReg, le32(addr), 0, 0, c.timeout())
	return v, err
}

// GetSecurityInfo reads the chip's security summary (20-byte form, or the
// 12-byte form of the ESP32-S2: the length tells them apart).
func (c *Client) GetSecurityInfo() (SecurityInfo, error) {
	c.flushPending()
	if err := c.send(OpGetSecurityInfo, nil, 0); err != nil {
		return SecurityInfo{}, err
	}
	r, err := c.readResponse(OpGetSecurityInfo, c.timeout())
	if err != nil {
		return SecurityInfo{}, err
	}
	n := len(r.Data) - c.statusLen()
	if n < 0 || (n != securityInfoLen && n != securityInfoLenNoChipID) {
		if len(r.Data) >= 2 && r.Data[0] != 0 {
			return SecurityInfo{}, &StatusError{Op: OpGetSecurityInfo, Code: r.Data[1]}
		}
		return SecurityInfo{}, fmt.Errorf("%s: %w: %d data bytes", OpGetSecurityInfo, ErrPacket, len(r.Data))
	}
	if r.Data[n] != 0 {
		return SecurityInfo{}, &StatusError{Op: OpGetSecurityInfo, Code: r.Data[n+1]}
	}
	si, err := ParseSecurityInfo(r.Data[:n])
	if err != nil {
		return SecurityInfo{}, err
	}
	c.Security, c.hasSecurity = si, true
	return si, nil
}

// Detect identifies the chip as esptool does: the chip ID of
// GET_SECURITY_INFO where the chip has it (ESP32-C3 and later), else the
// magic register (ESP32, ESP32-S2); an S2 that refuses READ_REG is in
// secure download mode.
func (c *Client) Detect() (Chip, error) {
	si, err := c.GetSecurityInfo()
	var se *StatusError
	switch {
	case err == nil:
		c.SecureDownload = si.SecureDownload()
		if si.HasChipID {
			chip, ok := ChipByImageID(uint16(si.ChipID))
			if !ok {
				return Chip{}, fmt.Errorf("%w: security info chip ID %d", ErrUnknownChip, si.ChipID)
			}
			c.Chip = chip
			return chip, nil
		}
	case errors.As(err, &se) && se.Unsupported():
		// ESP32: no GET_SECURITY_INFO.
	default:
		return Chip{}, fmt.Errorf("detect chip: %w", err)
	}
	magic, err := c.ReadReg(ChipDetectMagicReg)
	if err != nil {
		if errors.As(err, &se) && se.Unsupported() || errors.Is(err, ErrSecureDownload) {
			chip, _ := ChipByName("ESP32-S2")
			c.Chip, c.SecureDownload = chip, true
			return chip, nil
		}
		return Chip{}, fmt.Errorf("detect chip: %w", err)
	}
	chip, ok := ChipByMagic(magic)
	if !ok {
		return Chip{}, fmt.Errorf("%w: detect register 0x%08x", ErrUnknownChip, magic)
	}
	c.Chip = chip
	return chip, nil
}

// Connect syncs and detects the chip.
func (c *Client) Connect(attempts int) (Chip, error) {
	if err := c.Sync(attempts); err != nil {
		return Chip{}, err
	}
	return c.Detect()
}

// ReadMAC reads the base MAC from eFuse (not in secure download mode).
func (c *Client) ReadMAC() ([6]byte, error) {
	var mac [6]byte
	lo, err := c.ReadReg(c.Chip.MACReg)
	if err != nil {
		return mac, fmt.Errorf("read mac: %w", err)
	}
	hi, err := c.ReadReg(c.Chip.MACReg + 4)
	if err != nil {
		return mac, fmt.Errorf("read mac: %w", err)
	}
	mac = [6]byte{byte(hi >> 8), byte(hi), byte(lo >> 24), byte(lo >> 16), byte(lo >> 8), byte(lo)}
	return mac, nil
}

// SPIAttach attaches the default SPI flash (ROM: two zero words).
func (c *Client) SPIAttach() error {
	data := le32(0)
	if !c.Stub {
		data = append(data, le32(0)...)
	}
	_, _, err := c.Command(OpSPIAttach, data, 0, 0, c.timeout())
	return err
}

// SPISetParams tells the loader the flash geometry (size in bytes; 64 KB
// blocks, 4 KB sectors, 256-byte pages).
func (c *Client) SPISetParams(size uint32) error {
	var data []byte
	for _, v := range []uint32{0, size, 64 * 1024, 4096, 256, 0xFFFF} {
		data = append(data, le32(v)...)
	}
	_, _, err := c.Command(OpSPISetParams, data, 0, 0, c.timeout())
	return err
}

// ChangeBaud switches the loader and then the port to baud.
func (c *Client) ChangeBaud(baud int) error {
	bs, ok := c.port.(baudSetter)
	if !ok {
		return fmt.Errorf("%s: the port cannot change its baud rate", OpChangeBaudrate)
	}
	second := uint32(0)
	if c.Stub {
		second = uint32(c.baud)
	}
	if _, _, err := c.Command(OpChangeBaudrate, append(le32(uint32(baud)), le32(second)...), 0, 0, c.timeout()); err != nil {
		return err
	}
	if err := bs.SetMode(&serial.Mode{BaudRate: baud, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit}); err != nil {
		return fmt.Errorf("%s: set port to %d baud: %w", OpChangeBaudrate, baud, err)
	}
	c.baud = baud
	time.Sleep(50 * time.Millisecond) // as esptool: let the line settle
	c.flushPending()
	c.dec.Reset()
	return nil
}

func le32(v uint32) []byte { return []byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)} }

func words(vs ...uint32) []byte {
	b := make([]byte, 0, 4*len(vs))
	for _, v := range vs {
		b = append(b, le32(v)...)
	}
	return b
}
