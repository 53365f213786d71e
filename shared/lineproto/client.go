package lineproto

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// DefaultTimeout is how long the host waits for a reply to a command of type
// t, on top of the time the bytes take on the wire (docs/line-protocol.md §8).
// ClientOptions.Timeouts overrides it per client; nothing changes it for all.
func DefaultTimeout(t Type) time.Duration {
	switch t {
	case TypeGenerateKey:
		return 2 * time.Second
	case TypeLock:
		return 1 * time.Second
	case TypeCommit, TypeAttest:
		return 500 * time.Millisecond
	default: // IDENTIFY, WRITE_CHUNK, READ_DIGESTS, REBOOT
		return 300 * time.Millisecond
	}
}

// ClientOptions tune a Client; the zero value gives the spec's defaults.
type ClientOptions struct {
	// Attempts per command, first try included (default 4).
	Attempts int
	// Timeouts overrides DefaultTimeout per command.
	Timeouts map[Type]time.Duration
	// Baud is the line rate used to add wire time to each timeout (default 115200).
	Baud int
	// Backoff is the pause before a retry (default 20 ms).
	Backoff time.Duration
	// OnBoot is called when the module announces a (re)boot.
	OnBoot func(BootEvent)
}

// Stats counts what happened on the line.
type Stats struct {
	Requests  int // commands issued
	Attempts  int // frames sent (requests + retries)
	BadFrames int // frames dropped for framing, CRC or header errors
	Stale     int // valid frames that answered some other request
	Boots     int // BOOT events seen
}

// readTimeouter is go.bug.st/serial's Port: Read returns (0, nil) on timeout.
type readTimeouter interface {
	SetReadTimeout(time.Duration) error
}

// readDeadliner is net.Conn and *os.File on pollable descriptors.
type readDeadliner interface {
	SetReadDeadline(time.Time) error
}

// pollSlice bounds each blocking read so a cancelled context is noticed.
const pollSlice = 100 * time.Millisecond

// Client speaks the host side of the protocol over one serial line. It sends
// one command at a time; methods are serialised by an internal lock.
type Client struct {
	mu     sync.Mutex
	rw     io.ReadWriter
	opts   ClientOptions
	df     Deframer
	nextID uint32
	buf    []byte
	queue  []FrameResult
	stats  Stats
	// chip is the chip ID of the last IDENTIFY reply (chipKnown once there
	// was one): a BOOT event from another chip ends any other command with
	// ErrModuleChanged instead of resending it to the new module.
	chip      [6]byte
	chipKnown bool
}

// NewClient returns a Client on rw, which must support read timeouts
// (go.bug.st/serial.Port, net.Conn, a pollable *os.File).
func NewClient(rw io.ReadWriter, opts ClientOptions) (*Client, error) {
	_, a := rw.(readTimeouter)
	_, b := rw.(readDeadliner)
	if !a && !b {
		return nil, errors.New("lineproto: transport has no read timeout (need SetReadTimeout or SetReadDeadline)")
	}
	if opts.Attempts <= 0 {
		opts.Attempts = 4
	}
	if opts.Baud <= 0 {
		opts.Baud = 115200
	}
	if opts.Backoff <= 0 {
		opts.Backoff = 20 * time.Millisecond
	}
	var seed [4]byte
	_, _ = rand.Read(seed[:])
	return &Client{rw: rw, opts: opts, nextID: binary.LittleEndian.Uint32(seed[:]), buf: make([]byte, 2048)}, nil
}

// Stats returns a copy of the line counters.
func (c *Client) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

func (c *Client) timeout(t Type, wireBytes int) time.Duration {
	d, ok := c.opts.Timeouts[t]
	if !ok {
		d = DefaultTimeout(t)
	}
	// 10 bit times per byte (8N1), for the request and a longest reply.
	wire := time.Duration(wireBytes+MaxEncodedFrame) * 10 * time.Second / time.Duration(c.opts.Baud)
	return d + wire
}

func (c *Client) newID() uint32 {
	c.nextID++
	if c.nextID == 0 {
		c.nextID++
	}
	return c.nextID
}

// Do sends a request of type t and decodes the reply into resp. It retries
// with the same request ID on timeout, so a module that executed the command
// but lost its reply answers from its reply cache or by idempotency. A BOOT
// event while waiting resends at once — unless it comes from a chip other
// than the one the last IDENTIFY named and t is not IDENTIFY: then the
// module was swapped, and Do returns ErrModuleChanged.
func (c *Client) Do(ctx context.Context, t Type, req, resp Body) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	body, err := req.MarshalBody()
	if err != nil {
		return fmt.Errorf("encode %s request: %w", t, err)
	}
	id := c.newID()
	frame, err := MarshalFrame(Message{Version: Version, Type: t, RequestID: id, Body: body})
	if err != nil {
		return fmt.Errorf("encode %s request: %w", t, err)
	}
	c.stats.Requests++
	timeout := c.timeout(t, len(frame))
	for attempt := 1; attempt <= c.opts.Attempts; attempt++ {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%s request %08x: %w", t, id, err)
		}
		if attempt > 1 {
			if err := sleepCtx(ctx, c.opts.Backoff); err != nil {
				return fmt.Errorf("%s request %08x: %w", t, id, err)
			}
		}
		c.stats.Attempts++
		if _, err := c.rw.Write(frame); err != nil {
			return fmt.Errorf("%s request %08x: write: %w", t, id, err)
		}
		msg, err := c.await(ctx, t, id, time.Now().Add(timeout))
		if errors.Is(err, ErrModuleChanged) {
			return fmt.Errorf("%s request %08x: %w", t, id, err)
		}
		if errors.Is(err, errRetryNow) || errors.Is(err, ErrTimeout) {
			continue
		}
		if err != nil {
			return fmt.Errorf("%s request %08x: %w", t, id, err)
		}
		if msg.Status != StatusOK {
			var r Refusal
			_ = r.UnmarshalBody(msg.Body) // the status is what matters; detail is best effort
			return &RefusedError{Command: t, Status: msg.Status, Detail: r.Detail}
		}
		if msg.Version != Version {
			return fmt.Errorf("%s request %08x: %w: reply version %d", t, id, ErrBadResponse, msg.Version)
		}
		if err := resp.UnmarshalBody(msg.Body); err != nil {
			return fmt.Errorf("%s request %08x: %w: %v", t, id, ErrBadResponse, err)
		}
		return nil
	}
	return fmt.Errorf("%s request %08x: %w after %d attempts of %v", t, id, ErrTimeout, c.opts.Attempts, timeout.Round(time.Millisecond))
}

// errRetryNow: the module rebooted while we waited; resend at once.
var errRetryNow = errors.New("module rebooted")

// await reads frames until the reply to (t, id) arrives or deadline passes.
func (c *Client) await(ctx context.Context, t Type, id uint32, deadline time.Time) (Message, error) {
	for {
		for len(c.queue) > 0 {
			fr := c.queue[0]
			c.queue = c.queue[1:]
			if fr.Err != nil {
				c.stats.BadFrames++
				continue
			}
			m, err := DecodeMessage(fr.Payload)
			if err != nil {
				c.stats.BadFrames++
				continue
			}
			if m.Flags&FlagEvent != 0 && m.Type == TypeBoot {
				c.stats.Boots++
				var ev BootEvent
				evOK := ev.UnmarshalBody(m.Body) == nil
				if evOK && c.opts.OnBoot != nil {
					c.opts.OnBoot(ev)
				}
				if evOK && c.chipKnown && ev.ChipID != c.chip && t != TypeIdentify {
					return Message{}, fmt.Errorf("%w: module %x booted while waiting for the reply of %x", ErrModuleChanged, ev.ChipID, c.chip)
				}
				if t != TypeReboot {
					return Message{}, errRetryNow
				}
				continue
			}
			if !m.IsResponse() || m.RequestID != id || m.Type != t {
				c.stats.Stale++
				continue
			}
			return m, nil
		}
		if err := ctx.Err(); err != nil {
			return Message{}, err
		}
		remaining := time.Until(deadline)
		if remaining <= 0 {
			return Message{}, ErrTimeout
		}
		n, err := c.read(min(remaining, pollSlice))
		if err != nil {
			return Message{}, fmt.Errorf("read: %w", err)
		}
		c.df.Feed(c.buf[:n], func(fr FrameResult) { c.queue = append(c.queue, fr) })
	}
}

// read blocks for at most d and returns (0, nil) when nothing arrived.
func (c *Client) read(d time.Duration) (int, error) {
	switch rw := c.rw.(type) {
	case readTimeouter:
		if err := rw.SetReadTimeout(d); err != nil {
			return 0, err
		}
		return c.rw.Read(c.buf)
	case readDeadliner:
		if err := rw.SetReadDeadline(time.Now().Add(d)); err != nil {
			return 0, err
		}
		n, err := c.rw.Read(c.buf)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return n, nil
		}
		return n, err
	}
	return 0, errors.New("transport has no read timeout")
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Identify asks the module who it is and what it holds. The chip ID it
// names is the module later commands expect (see Do).
func (c *Client) Identify(ctx context.Context) (*IdentifyResponse, error) {
	var r IdentifyResponse
	if err := c.Do(ctx, TypeIdentify, &Empty{}, &r); err != nil {
		return &r, err
	}
	c.mu.Lock()
	c.chip, c.chipKnown = r.ChipID, true
	c.mu.Unlock()
	return &r, nil
}

// GenerateKey has the module generate its key pair (or find the one it has)
// and returns the CSR for it.
func (c *Client) GenerateKey(ctx context.Context) (*GenerateKeyResponse, error) {
	var r GenerateKeyResponse
	return &r, c.Do(ctx, TypeGenerateKey, &Empty{}, &r)
}

// WriteChunk stages one chunk.
func (c *Client) WriteChunk(ctx context.Context, req *WriteChunkRequest) (*WriteChunkResponse, error) {
	var r WriteChunkResponse
	return &r, c.Do(ctx, TypeWriteChunk, req, &r)
}

// Commit makes a staged item durable.
func (c *Client) Commit(ctx context.Context, req *CommitRequest) (*CommitResponse, error) {
	var r CommitResponse
	return &r, c.Do(ctx, TypeCommit, req, &r)
}

// WriteItem writes value in MaxChunk pieces, commits it and checks that the
// module confirms the host's SHA-256 and length. A module that reset during
// the write (its staging is in RAM) answers BAD_OFFSET or INCOMPLETE; the
// item is then written again from offset 0, up to three times.
func (c *Client) WriteItem(ctx context.Context, item Item, value []byte) (*CommitResponse, error) {
	if err := ValidateItem(item, value); err != nil {
		return nil, err
	}
	var err error
	for range 3 {
		var r *CommitResponse
		r, err = c.writeItemOnce(ctx, item, value)
		if s := StatusOf(err); s != StatusBadOffset && s != StatusIncomplete {
			return r, err
		}
	}
	return nil, err
}

func (c *Client) writeItemOnce(ctx context.Context, item Item, value []byte) (*CommitResponse, error) {
	total := uint32(len(value))
	for off := 0; off < len(value); off += MaxChunk {
		end := min(off+MaxChunk, len(value))
		r, err := c.WriteChunk(ctx, &WriteChunkRequest{Item: item, Total: total, Offset: uint32(off), Data: value[off:end]})
		if err != nil {
			return nil, fmt.Errorf("write %s at %d: %w", item, off, err)
		}
		if r.Item != item || r.Received < uint32(end) {
			return nil, fmt.Errorf("write %s at %d: %w: module has %d bytes of %s staged", item, off, ErrBadResponse, r.Received, r.Item)
		}
	}
	sum := sha256.Sum256(value)
	r, err := c.Commit(ctx, &CommitRequest{Item: item, Length: total, SHA256: sum})
	if err != nil {
		return nil, fmt.Errorf("commit %s: %w", item, err)
	}
	if r.Item != item || r.Length != total || r.SHA256 != sum {
		return r, fmt.Errorf("commit %s: %w: module stored %d bytes with sha-256 %x, host wrote %d bytes with %x",
			item, ErrDigestMismatch, r.Length, r.SHA256[:8], total, sum[:8])
	}
	return r, nil
}

// ReadDigests lists what the module has committed.
func (c *Client) ReadDigests(ctx context.Context) (*ReadDigestsResponse, error) {
	var r ReadDigestsResponse
	return &r, c.Do(ctx, TypeReadDigests, &Empty{}, &r)
}

// Attest asks the module to sign nonce with its DAC key. Check the answer
// with VerifyAttestation.
func (c *Client) Attest(ctx context.Context, nonce [32]byte) (*AttestResponse, error) {
	var r AttestResponse
	return &r, c.Do(ctx, TypeAttest, &AttestRequest{Nonce: nonce}, &r)
}

// Lock burns one eFuse step (or reports it burned already).
func (c *Client) Lock(ctx context.Context, step LockStep) (*LockResponse, error) {
	var r LockResponse
	if err := c.Do(ctx, TypeLock, &LockRequest{Step: step}, &r); err != nil {
		return nil, err
	}
	if r.Step != step {
		return nil, fmt.Errorf("lock %s: %w: reply is for %s", step, ErrBadResponse, r.Step)
	}
	return &r, nil
}

// LockAll asks for every step in order, calling report after each; it stops
// at the first failure.
func (c *Client) LockAll(ctx context.Context, report func(*LockResponse)) error {
	for _, s := range LockSteps {
		r, err := c.Lock(ctx, s)
		if err != nil {
			return fmt.Errorf("lock step %d (%s): %w", s, s, err)
		}
		if report != nil {
			report(r)
		}
	}
	return nil
}

// Reboot restarts the module; it answers before it restarts.
func (c *Client) Reboot(ctx context.Context) error {
	return c.Do(ctx, TypeReboot, &Empty{}, &Empty{})
}
