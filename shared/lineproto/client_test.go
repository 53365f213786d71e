package lineproto

import (
	"bytes"
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"
)

// fakeModule answers frames on one end of a net.Pipe with reply(req, attempt).
// It is a unit-test stand-in for error paths; the end-to-end tests use the
// simulator through a real PTY (lineclient/sim).
type fakeModule struct {
	mu   sync.Mutex
	ids  []uint32
	conn net.Conn
}

func startFake(t *testing.T, reply func(req Message, n int) [][]byte) (*Client, *fakeModule) {
	t.Helper()
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	f := &fakeModule{conn: b}
	go func() {
		var d Deframer
		buf := make([]byte, 2048)
		n := 0
		for {
			k, err := b.Read(buf)
			if err != nil {
				return
			}
			d.Feed(buf[:k], func(fr FrameResult) {
				if fr.Err != nil {
					return
				}
				m, err := DecodeMessage(fr.Payload)
				if err != nil {
					return
				}
				f.mu.Lock()
				f.ids = append(f.ids, m.RequestID)
				f.mu.Unlock()
				n++
				for _, out := range reply(m, n) {
					b.Write(out)
				}
			})
		}
	}()
	c, err := NewClient(a, ClientOptions{Attempts: 3, Backoff: time.Millisecond,
		Timeouts: map[Type]time.Duration{TypeIdentify: 20 * time.Millisecond, TypeLock: 20 * time.Millisecond}, Baud: 10_000_000})
	if err != nil {
		t.Fatal(err)
	}
	return c, f
}

func reply(t *testing.T, req Message, status Status, body Body) []byte {
	b, err := body.MarshalBody()
	if err != nil {
		t.Fatal(err)
	}
	f, err := MarshalFrame(Message{Version: Version, Type: req.Type, Flags: FlagResponse, Status: status, RequestID: req.RequestID, Body: b})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func identity() *IdentifyResponse {
	return &IdentifyResponse{ChipModel: "ESP32-C3", Firmware: "t", ChipID: [6]byte{1, 2, 3, 4, 5, 6}, DebugEnabled: true}
}

func TestClientRetriesWithSameID(t *testing.T) {
	c, f := startFake(t, func(req Message, n int) [][]byte {
		if n < 3 {
			return nil // lost replies
		}
		stale := req
		stale.RequestID++
		return [][]byte{reply(t, stale, StatusOK, identity()), {0x55, 0x66, 0x00}, reply(t, req, StatusOK, identity())}
	})
	r, err := c.Identify(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if r.ChipID != [6]byte{1, 2, 3, 4, 5, 6} {
		t.Fatalf("chip id %x", r.ChipID)
	}
	f.mu.Lock()
	ids := append([]uint32(nil), f.ids...)
	f.mu.Unlock()
	if len(ids) != 3 || ids[0] != ids[1] || ids[1] != ids[2] {
		t.Fatalf("request ids over attempts: %v", ids)
	}
	if st := c.Stats(); st.Attempts != 3 || st.Stale != 1 || st.BadFrames != 1 {
		t.Fatalf("stats %+v", st)
	}
	// The next command gets a new ID.
	c.Identify(context.Background())
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ids[3] == ids[0] {
		t.Fatal("new command reused the previous request id")
	}
}

func TestClientTimeout(t *testing.T) {
	c, _ := startFake(t, func(Message, int) [][]byte { return nil })
	_, err := c.Identify(context.Background())
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("got %v, want ErrTimeout", err)
	}
	if c.Stats().Attempts != 3 {
		t.Fatalf("attempts %d", c.Stats().Attempts)
	}
}

func TestClientContextCancel(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go func() {
		buf := make([]byte, 1024)
		for {
			if _, err := b.Read(buf); err != nil {
				return
			}
		}
	}()
	c, _ := NewClient(a, ClientOptions{Timeouts: map[Type]time.Duration{TypeGenerateKey: time.Hour}})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	_, err := c.GenerateKey(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(t0) > 2*time.Second {
		t.Fatalf("got %v after %v", err, time.Since(t0))
	}
}

func TestClientRefusalAndBadReply(t *testing.T) {
	c, _ := startFake(t, func(req Message, n int) [][]byte {
		if req.Type == TypeLock {
			return [][]byte{reply(t, req, StatusLockOrder, &Refusal{Detail: "next step is flash-encryption"})}
		}
		return [][]byte{reply(t, req, StatusOK, &LockRequest{Step: 1})} // wrong body for IDENTIFY
	})
	_, err := c.Lock(context.Background(), LockSecureBoot)
	var re *RefusedError
	if !errors.As(err, &re) || re.Status != StatusLockOrder || re.Detail != "next step is flash-encryption" || !errors.Is(err, ErrRefused) {
		t.Fatalf("refusal: %v", err)
	}
	if c.Stats().Attempts != 1 {
		t.Fatal("a refusal was retried")
	}
	if _, err := c.Identify(context.Background()); !errors.Is(err, ErrBadResponse) {
		t.Fatalf("malformed reply: %v", err)
	}
}

func TestClientBootTriggersImmediateRetry(t *testing.T) {
	boot, _ := (&BootEvent{State: StateLocking, Reason: BootWatchdog}).MarshalBody()
	ev, _ := MarshalFrame(Message{Version: 1, Type: TypeBoot, Flags: FlagEvent, Body: boot})
	var seen []BootEvent
	c, _ := startFake(t, func(req Message, n int) [][]byte {
		if n == 1 {
			return [][]byte{ev}
		}
		return [][]byte{reply(t, req, StatusOK, &LockResponse{Step: 1, AlreadyBurned: true, LockMask: 1, State: StateLocking})}
	})
	c.opts.OnBoot = func(e BootEvent) { seen = append(seen, e) }
	c.opts.Timeouts[TypeLock] = time.Hour // only the BOOT event can cause the retry
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := c.Lock(ctx, LockFlashEncryption)
	if err != nil || !r.AlreadyBurned {
		t.Fatalf("lock after boot: %+v %v", r, err)
	}
	if len(seen) != 1 || seen[0].Reason != BootWatchdog {
		t.Fatalf("boot events %+v", seen)
	}
}

func TestNewClientNeedsTimeouts(t *testing.T) {
	var rw struct {
		bytes.Buffer
	}
	if _, err := NewClient(&rw, ClientOptions{}); err == nil {
		t.Fatal("a transport without read timeouts was accepted")
	}
}

func TestWriteItemRejectsInvalidLocally(t *testing.T) {
	c, f := startFake(t, func(Message, int) [][]byte { return nil })
	if _, err := c.WriteItem(context.Background(), ItemIterations, IterationsValue(999)); !errors.Is(err, ErrInvalidItem) {
		t.Fatalf("iterations 999: %v", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.ids) != 0 {
		t.Fatal("an invalid item was sent to the module")
	}
}

// TestClientBootFromAnotherModule: a BOOT event from a chip other than the
// one the last IDENTIFY named means the jig holds another module; the
// command is not resent to it (a LOCK or a WRITE for one module must never
// reach the next), and Do says so. IDENTIFY itself is resent: it is how the
// host learns who is there.
func TestClientBootFromAnotherModule(t *testing.T) {
	other := [6]byte{9, 9, 9, 9, 9, 9}
	boot, _ := (&BootEvent{ChipID: other, State: StateUnprovisioned, Reason: BootPowerOn}).MarshalBody()
	ev, _ := MarshalFrame(Message{Version: 1, Type: TypeBoot, Flags: FlagEvent, Body: boot})
	locks := 0
	c, _ := startFake(t, func(req Message, n int) [][]byte {
		switch req.Type {
		case TypeIdentify:
			if n == 3 { // the second IDENTIFY meets the new module's BOOT first
				return [][]byte{ev}
			}
			id := identity()
			if n > 3 {
				id.ChipID = other
			}
			return [][]byte{reply(t, req, StatusOK, id)}
		case TypeLock:
			locks++
			if locks <= 2 {
				// 1: swapped while the LOCK was on its way; 2: the new
				// module (now identified) reboots during its LOCK.
				return [][]byte{ev}
			}
			return [][]byte{reply(t, req, StatusOK, &LockResponse{Step: 1, LockMask: 1, State: StateLocking})}
		}
		return nil
	})
	c.opts.Timeouts[TypeLock] = time.Hour
	c.opts.Timeouts[TypeIdentify] = time.Hour
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.Identify(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := c.Lock(ctx, LockFlashEncryption)
	if !errors.Is(err, ErrModuleChanged) {
		t.Fatalf("lock across a module swap: %v, want ErrModuleChanged", err)
	}
	if locks != 1 {
		t.Fatalf("LOCK sent %d times; it must not be resent to the new module", locks)
	}
	id, err := c.Identify(ctx)
	if err != nil || id.ChipID != other {
		t.Fatalf("identify after the swap: %+v %v", id, err)
	}
	// A BOOT from the module now known is a plain reboot: resend at once.
	if _, err := c.Lock(ctx, LockFlashEncryption); err != nil || locks != 3 {
		t.Fatalf("lock on the new module across its reboot: %v after %d LOCK frames, want success after 3", err, locks)
	}
}
