package sim_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"testing"
	"time"

	"github.com/dacline/dacline/lineclient/sim"
	"github.com/dacline/dacline/shared/lineproto"
)

// provision runs the station's sequence: keygen, DAC from the CA, every
// item, attestation, lock. It returns the first error.
func provision(ctx context.Context, t testing.TB, c *lineproto.Client, ca *testCA, serialNo string) error {
	kg, err := c.GenerateKey(ctx)
	if err != nil {
		return fmt.Errorf("keygen: %w", err)
	}
	dac := ca.issue(t, kg.CSR)
	creds := credentials(ca, serialNo)
	creds[lineproto.ItemDAC] = dac
	for _, it := range lineproto.AllItems {
		if _, err := c.WriteItem(ctx, it, creds[it]); err != nil {
			return err
		}
	}
	var nonce [32]byte
	rand.Read(nonce[:])
	ar, err := c.Attest(ctx, nonce)
	if err != nil {
		return fmt.Errorf("attest: %w", err)
	}
	if err := lineproto.VerifyAttestation(dac, nonce, ar); err != nil {
		return err
	}
	return c.LockAll(ctx, nil)
}

var faultyClient = lineproto.ClientOptions{
	Attempts: 10,
	Backoff:  5 * time.Millisecond,
	Timeouts: map[lineproto.Type]time.Duration{
		lineproto.TypeIdentify: 60 * time.Millisecond, lineproto.TypeGenerateKey: 200 * time.Millisecond,
		lineproto.TypeWriteChunk: 60 * time.Millisecond, lineproto.TypeCommit: 60 * time.Millisecond,
		lineproto.TypeReadDigests: 60 * time.Millisecond, lineproto.TypeAttest: 60 * time.Millisecond,
		lineproto.TypeLock: 60 * time.Millisecond, lineproto.TypeReboot: 60 * time.Millisecond,
	},
}

// TestRetriesRecoverFromFaults provisions modules on a line with noise,
// dropped bytes, lost and late replies, mid-frame disconnects and resets
// during lock, and checks every module ends locked, with one key, and in
// no state the spec forbids; and that the faults did happen.
func TestRetriesRecoverFromFaults(t *testing.T) {
	faults, err := sim.ParseFaults("noise=0.08,drop=0.08,silent=0.05,slow=0.03,disconnect=0.02,reboot-during-lock=0.3")
	if err != nil {
		t.Fatal(err)
	}
	s := startSim(t, sim.Options{Count: 3, Seed: 11, Faults: faults, SlowDelay: 250 * time.Millisecond})
	ca := newTestCA(t)
	ctx := ctxT(t)
	errs := make(chan error, 3)
	for i, port := range s.Ports() {
		c, _ := dial(t, port, faultyClient)
		go func() {
			var err error
			// A module may still refuse a whole sequence if a fault hits the
			// same command ten times in a row; the station starts over.
			for range 3 {
				if err = provision(ctx, t, c, ca, fmt.Sprintf("SN-%d", i)); err == nil || !errors.Is(err, lineproto.ErrTimeout) {
					break
				}
			}
			errs <- err
		}()
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Errorf("provision: %v", err)
		}
	}
	injected := map[string]int{}
	for i := range 3 {
		m, _ := s.Module(i)
		checkInvariants(t, m)
		if m.State != lineproto.StateLocked {
			t.Errorf("module %d ended %s", i, m.State)
		}
		for k, v := range s.Jig(i).Stats().Faults {
			injected[k] += v
		}
	}
	t.Logf("faults injected: %v", injected)
	for _, f := range []string{"noise", "drop", "silent"} {
		if injected[f] == 0 {
			t.Errorf("no %s fault was injected: the test proves nothing about it", f)
		}
	}
}

// TestLyingModuleIsCaught: a module whose CSR key is not its attestation key
// takes its DAC but fails attestation.
func TestLyingModuleIsCaught(t *testing.T) {
	s := startSim(t, sim.Options{Count: 1, Seed: 3, Faults: sim.Faults{Lying: 1}})
	c, _ := dial(t, s.Ports()[0], lineproto.ClientOptions{})
	err := provision(ctxT(t), t, c, newTestCA(t), "SN-LIE")
	if !errors.Is(err, lineproto.ErrAttestation) {
		t.Fatalf("lying module: got %v, want ErrAttestation", err)
	}
	m, _ := s.Module(0)
	if !m.Lying || m.LockMask != 0 {
		t.Fatalf("lying module: lying=%v lock=0x%02x", m.Lying, m.LockMask)
	}
}

// TestRandomSequencesKeepInvariants throws random commands, valid and
// not, with faults and resets, at modules and checks after every step that
// each module is in a state the spec allows and that the module never
// contradicts what it answered.
func TestRandomSequencesKeepInvariants(t *testing.T) {
	faults, _ := sim.ParseFaults("noise=0.03,drop=0.03,silent=0.03,disconnect=0.01,reboot-during-lock=0.2")
	for seed := uint64(1); seed <= 3; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			s := startSim(t, sim.Options{Count: 1, Seed: seed, Faults: faults, SlowDelay: 100 * time.Millisecond})
			c, _ := dial(t, s.Ports()[0], faultyClient)
			ctx := ctxT(t)
			ca := newTestCA(t)
			r := mrand.New(mrand.NewPCG(seed, 99))
			jig := s.Jig(0)
			current := 0
			var csr []byte
			for step := range 100 {
				op := r.IntN(11)
				var err error
				switch op {
				case 0:
					_, err = c.Identify(ctx)
				case 1:
					var kg *lineproto.GenerateKeyResponse
					kg, err = c.GenerateKey(ctx)
					if err == nil {
						csr = kg.CSR
					}
				case 2, 3, 4: // a valid item (DAC from the last CSR seen)
					creds := credentials(ca, "SN-R")
					if csr != nil {
						creds[lineproto.ItemDAC] = ca.issue(t, csr)
					}
					it := lineproto.AllItems[r.IntN(len(lineproto.AllItems))]
					if v, ok := creds[it]; ok {
						_, err = c.WriteItem(ctx, it, v)
					}
				case 5: // write everything
					if csr != nil {
						creds := credentials(ca, "SN-R")
						creds[lineproto.ItemDAC] = ca.issue(t, csr)
						for _, it := range lineproto.AllItems {
							if _, err = c.WriteItem(ctx, it, creds[it]); err != nil {
								break
							}
						}
					}
				case 6: // garbage chunk
					_, err = c.WriteChunk(ctx, &lineproto.WriteChunkRequest{Item: lineproto.Item(r.IntN(12)), Total: uint32(r.IntN(900)), Offset: uint32(r.IntN(600)), Data: []byte{1, 2, 3}})
				case 7:
					var nonce [32]byte
					_, err = c.Attest(ctx, nonce)
				case 8:
					var lr *lineproto.LockResponse
					st := lineproto.LockStep(1 + r.IntN(4))
					lr, err = c.Lock(ctx, st)
					if err == nil {
						if m, _ := s.Module(current); !m.LockMask.Has(st) || lr.LockMask&^m.LockMask != 0 {
							t.Fatalf("step %d: module answered lock %s ok but holds mask 0x%02x", step, st, m.LockMask)
						}
					}
				case 9:
					err = c.Reboot(ctx)
				case 10: // take the module off and put it (or another) back
					jig.Remove()
					current = r.IntN(2)
					if err := jig.Insert(current); err != nil {
						t.Fatal(err)
					}
					csr = nil
				}
				// ErrModuleChanged: the module put on by op 10 booted during a
				// command meant for the one identified before (not resent).
				if err != nil && !errors.Is(err, lineproto.ErrRefused) && !errors.Is(err, lineproto.ErrTimeout) &&
					!errors.Is(err, lineproto.ErrInvalidItem) && !errors.Is(err, lineproto.ErrModuleChanged) {
					t.Fatalf("step %d op %d: unexpected error class: %v", step, op, err)
				}
				for id := range 2 {
					m, _ := s.Module(id)
					checkInvariants(t, m)
				}
				if t.Failed() {
					t.Fatalf("invariant broken at step %d (op %d)", step, op)
				}
			}
			for id := range 2 {
				m, _ := s.Module(id)
				t.Logf("module %d ended %s (history %v, boots %d)", id, m.State, m.History, m.Boots)
			}
		})
	}
}

func TestParseFaults(t *testing.T) {
	f, err := sim.ParseFaults("noise=0.01,drop=0.01,disconnect=0.001,reboot-during-lock=0.05,slow=0.01,silent=0.01,lying=0")
	if err != nil {
		t.Fatal(err)
	}
	if f.Noise != 0.01 || f.Disconnect != 0.001 || f.RebootDuringLock != 0.05 || f.Lying != 0 {
		t.Fatalf("%+v", f)
	}
	if g, err := sim.ParseFaults(f.String()); err != nil || g != f {
		t.Fatalf("String round trip: %+v %v", g, err)
	}
	for _, bad := range []string{"nois=0.1", "noise", "noise=1.5", "noise=-0.1", "noise=NaN", "noise=0.1,noise=0.2", "noise=abc", ",", "noise=0.1,"} {
		if _, err := sim.ParseFaults(bad); !errors.Is(err, sim.ErrFaultSpec) {
			t.Errorf("ParseFaults(%q) = %v, want ErrFaultSpec", bad, err)
		}
	}
	if f, err := sim.ParseFaults(""); err != nil || f != (sim.Faults{}) {
		t.Fatalf("empty spec: %+v %v", f, err)
	}
}
