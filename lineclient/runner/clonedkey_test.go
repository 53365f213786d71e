package runner

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/term"

	"github.com/dacline/dacline/lineclient/sim"
	"github.com/dacline/dacline/lineclient/station"
	"github.com/dacline/dacline/shared/lineproto"
	"github.com/dacline/dacline/shared/matter/csrtest"
)

// Issue 12 item 2, station side: a module with a cloned key (another
// module's, already recorded) answers GENERATE_KEY with a CSR whose
// SubjectPublicKeyInfo is that key in non-canonical DER, and reports the
// digest of those very bytes everywhere, so every raw-bytes comparison
// agrees with itself. The station must judge the key as the appliance will
// (canonical DER only): the CSR is refused as bad-csr and the module fails,
// never recorded as a new key past the duplicate check.
func TestClonedKeyInOtherEncodingRefused(t *testing.T) {
	for _, variant := range []string{csrtest.ExtraParameter, csrtest.TrailingBytes} {
		t.Run(variant, func(t *testing.T) {
			r := newRig(t, sim.Options{Count: 1, Timing: sim.TimingFast, Seed: 21}) // only its store and PKI are used
			key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)

			// Module A took the key first, honestly.
			canon, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
			csrA, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "A"}}, key)
			if _, err := r.store.Identify(station.Sighting{MAC: "02:da:c1:aa:00:01", ChipModel: "ESP32-C3", Firmware: "1", Port: "none"}); err != nil {
				t.Fatal(err)
			}
			ob, _ := station.NewOnboarding(0)
			if _, err := r.store.RecordCSR("02:da:c1:aa:00:01", station.CSR{DER: csrA, SPKISHA256: sha256.Sum256(canon), VID: r.prov.VID, PID: r.prov.PID}, ob); err != nil {
				t.Fatal(err)
			}

			// Module B: the clone, in another encoding, lying consistently.
			csrB, spkiB, err := csrtest.NonCanonical(key, variant)
			if err != nil {
				t.Fatal(err)
			}
			mod := &clone{mac: [6]byte{0x02, 0xda, 0xc1, 0xbb, 0x00, 0x02}, csr: csrB, digest: sha256.Sum256(spkiB)}
			path := mod.serve(t)

			cfg := Config{Ports: []string{path}, Open: openPTY, UntilIdle: true, IdleTimeout: 500 * time.Millisecond,
				EmptyPoll: 30 * time.Millisecond, SettledPoll: 100 * time.Millisecond, ReopenDelay: 100 * time.Millisecond}
			run, err := New(cfg, r.prov)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if _, err := run.Run(ctx, nil); err != nil {
				t.Fatal(err)
			}
			m, err := r.store.Get("02:da:c1:bb:00:02")
			if err != nil {
				t.Fatal(err)
			}
			if m.State != station.StateFailed || m.Reason != station.ReasonBadCSR {
				t.Fatalf("the clone is %s (%s: %s), want failed bad-csr", m.State, m.Reason, m.Detail)
			}
			if v, err := r.store.CheckInvariants(); err != nil || len(v) > 0 {
				t.Fatalf("store invariants: %v %v", v, err)
			}
		})
	}
}

// clone is a minimal module on a real PTY: it answers IDENTIFY and
// GENERATE_KEY with what a cloning adversary would say, and nothing else.
type clone struct {
	mac    [6]byte
	csr    []byte
	digest [32]byte

	mu     sync.Mutex
	hasKey bool
}

func (c *clone) serve(t *testing.T) string {
	t.Helper()
	master, slave, err := pty.Open()
	if err != nil {
		t.Fatalf("open pty: %v", err)
	}
	if _, err := term.MakeRaw(int(slave.Fd())); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { master.Close(); slave.Close(); <-done })
	go func() {
		defer close(done)
		var d lineproto.Deframer
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			if err != nil {
				return
			}
			d.Feed(buf[:n], func(fr lineproto.FrameResult) {
				if fr.Err == nil {
					c.answer(master, fr.Payload)
				}
			})
		}
	}()
	return slave.Name()
}

func (c *clone) answer(w *os.File, payload []byte) {
	req, err := lineproto.DecodeMessage(payload)
	if err != nil || req.Flags != 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var body interface{ MarshalBody() ([]byte, error) }
	switch req.Type {
	case lineproto.TypeIdentify:
		id := &lineproto.IdentifyResponse{ChipModel: "ESP32-C3", ChipID: c.mac, Firmware: "1", State: lineproto.StateUnprovisioned}
		if c.hasKey {
			id.State, id.KeyPresent, id.KeySPKIHash = lineproto.StateKeyGenerated, true, c.digest
		}
		body = id
	case lineproto.TypeGenerateKey:
		c.hasKey = true
		body = &lineproto.GenerateKeyResponse{CSR: c.csr, NewKey: true, SPKIHash: c.digest}
	default:
		return
	}
	b, err := body.MarshalBody()
	if err != nil {
		return
	}
	frame, err := lineproto.MarshalFrame(lineproto.Message{Version: lineproto.Version, Type: req.Type,
		Flags: lineproto.FlagResponse, RequestID: req.RequestID, Body: b})
	if err == nil {
		w.Write(frame)
	}
}
