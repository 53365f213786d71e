package firmware_test

import (
	"context"
	"crypto/sha256"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/dacline/dacline/lineclient/internal/linetest"
	"github.com/dacline/dacline/lineclient/transport"
	"github.com/dacline/dacline/shared/lineproto"
)

// resume does what a station does with a module in whatever state it is:
// keygen if there is no key, every item not yet committed, attestation,
// the lock steps. It returns the SPKI digest the module reported (zero if
// the module died first) and the first error.
func resume(cx context.Context, t *testing.T, c *lineproto.Client, pki *linetest.PKI,
	items *map[lineproto.Item][]byte) ([32]byte, error) {
	var spki [32]byte
	id, err := c.Identify(cx)
	if err != nil {
		return spki, err
	}
	if id.LockMask == 0 { // not yet locking: keygen (idempotent) and every item
		gk, err := c.GenerateKey(cx)
		if err != nil {
			return spki, err
		}
		spki = gk.SPKIHash
		if *items == nil {
			*items = credentials(t, pki, gk.CSR)
		}
		for _, it := range lineproto.KnownItems {
			if _, err := c.WriteItem(cx, it, (*items)[it]); err != nil {
				return spki, err
			}
		}
	} else {
		spki = id.KeySPKIHash
	}
	var nonce [32]byte
	if _, err := c.Attest(cx, nonce); err != nil {
		return spki, err
	}
	return spki, c.LockAll(cx, nil)
}

// cuttingPort is the station's port to a module that cuts the module's power
// (SIGKILL) a moment after the host has sent its at-th request frame: the
// module is then in the middle of that command.
type cuttingPort struct {
	*transport.Port
	writes, at int
	delay      time.Duration
	kill       func()
	cut        bool
}

func (p *cuttingPort) Write(b []byte) (int, error) {
	n, err := p.Port.Write(b)
	p.writes++
	if p.writes == p.at {
		p.cut = true
		time.AfterFunc(p.delay, p.kill)
	}
	return n, err
}

func dialCutting(t *testing.T, m *module, at int, delay time.Duration) (*lineproto.Client, *cuttingPort) {
	pt, err := transport.Open(m.Path, transport.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pt.Close() })
	p := &cuttingPort{Port: pt, at: at, delay: delay, kill: m.Kill}
	c, err := lineproto.NewClient(p, lineproto.ClientOptions{Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	return c, p
}

// TestPowerCutsAtRandom provisions C modules and cuts their power (SIGKILL)
// inside a random command of the whole sequence — keygen, chunk writes,
// commits, attestation, lock steps — 0–3 ms after the request was sent, then
// restarts each on its files and lets the station sequence resume. Whatever
// the moment: the key the module first reported is the key it keeps, every
// digest it reports is the digest of what was written, its lock mask is a
// prefix of the order, and it ends locked.
func TestPowerCutsAtRandom(t *testing.T) {
	bin := buildFirmware(t)
	pki := linetest.NewPKI(t)
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 7))
	t.Logf("seed %d", seed)

	// How many requests a whole provisioning sends.
	var calItems map[lineproto.Item][]byte
	cal := startModule(t, bin, filepath.Join(t.TempDir(), "calibration"))
	c, p := dialCutting(t, cal, -1, 0)
	if _, err := resume(ctx(t), t, c, pki, &calItems); err != nil {
		t.Fatal(err)
	}
	total := p.writes
	cal.Stop(t)

	for i := range 12 {
		dir := filepath.Join(t.TempDir(), "chip")
		var items map[lineproto.Item][]byte
		at, delay := 1+rng.IntN(total), time.Duration(rng.IntN(3000))*time.Microsecond
		m := startModule(t, bin, dir)
		c, p := dialCutting(t, m, at, delay)
		first, err := resume(ctx(t), t, c, pki, &items)
		if !p.cut {
			t.Fatalf("chip %d: request %d of %d never sent (%v)", i, at, total, err)
		}
		m.Kill()

		m = startModule(t, bin, dir) // power back on: the same chip
		c = dial(t, m.Path, lineproto.ClientOptions{})
		id, err := c.Identify(ctx(t))
		if err != nil {
			t.Fatalf("chip %d (cut in request %d): identify after the cut: %v", i, at, err)
		}
		checkReported(t, i, id, first, items)
		spki, err := resume(ctx(t), t, c, pki, &items)
		if err != nil {
			t.Fatalf("chip %d (cut in request %d of %d): resume: %v", i, at, total, err)
		}
		if first != ([32]byte{}) && spki != first {
			t.Fatalf("chip %d: the module reports another key after the cut", i)
		}
		id, err = c.Identify(ctx(t))
		if err != nil || id.State != lineproto.StateLocked || id.DebugEnabled {
			t.Fatalf("chip %d: at the end %v %+v", i, err, id)
		}
		checkReported(t, i, id, spki, items)
		m.Stop(t)
	}
}

func checkReported(t *testing.T, chip int, id *lineproto.IdentifyResponse, key [32]byte, items map[lineproto.Item][]byte) {
	t.Helper()
	if key != ([32]byte{}) && id.KeySPKIHash != key {
		t.Fatalf("chip %d: key changed after it was reported", chip)
	}
	switch id.LockMask {
	case 0, 0x01, 0x03, 0x07, 0x0F:
	default:
		t.Fatalf("chip %d: lock mask 0x%02x is not a prefix", chip, id.LockMask)
	}
	for _, d := range id.Digests {
		if items == nil || d.SHA256 != sha256.Sum256(items[d.Item]) || int(d.Length) != len(items[d.Item]) {
			t.Fatalf("chip %d: %s committed with a digest of something never written", chip, d.Item)
		}
	}
}
