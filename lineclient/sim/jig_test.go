package sim_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dacline/dacline/lineclient/sim"
	"github.com/dacline/dacline/shared/lineproto"
)

// TestStatePersistsAcrossRestart: a module taken off the line (simulator
// stopped) and put back is the same module: same MAC, same key, same CSR,
// same credentials, and GENERATE_KEY does not make a new key.
func TestStatePersistsAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t)
	opts := sim.Options{Count: 1, Seed: 5, StateDir: dir}

	s1, err := sim.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	c, p := dial(t, s1.Ports()[0], lineproto.ClientOptions{})
	ctx := ctxT(t)
	kg, err := c.GenerateKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dac := ca.issue(t, kg.CSR)
	if _, err := c.WriteItem(ctx, lineproto.ItemDAC, dac); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Lock(ctx, lineproto.LockFlashEncryption); lineproto.StatusOf(err) != lineproto.StatusCredentialsMissing {
		t.Fatalf("lock with only a dac: %v", err)
	}
	id1, _ := c.Identify(ctx)
	p.Close()
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}

	files, _ := filepath.Glob(filepath.Join(dir, "module-*.json"))
	if len(files) != 1 {
		t.Fatalf("state files %v", files)
	}
	if fi, _ := os.Stat(files[0]); fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file mode %v", fi.Mode().Perm())
	}
	if tmp, _ := filepath.Glob(filepath.Join(dir, ".module-*")); len(tmp) != 0 {
		t.Fatalf("temporary files left: %v", tmp)
	}

	s2 := startSim(t, opts)
	c2, _ := dial(t, s2.Ports()[0], lineproto.ClientOptions{})
	id2, err := c2.Identify(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if id2.ChipID != id1.ChipID || id2.KeySPKIHash != id1.KeySPKIHash || id2.State != lineproto.StateKeyGenerated || len(id2.Digests) != 1 {
		t.Fatalf("after restart: %+v\nbefore: %+v", id2, id1)
	}
	kg2, err := c2.GenerateKey(ctx)
	if err != nil || kg2.NewKey || !bytes.Equal(kg2.CSR, kg.CSR) {
		t.Fatalf("keygen after restart: new=%v err=%v", kg2.NewKey, err)
	}
	if m, _ := s2.Module(0); m.KeysGenerated != 1 || m.Boots != 2 {
		t.Fatalf("keys %d boots %d", m.KeysGenerated, m.Boots)
	}
	// A different seed is a different batch of modules.
	if m, _ := s2.Module(1); m.MAC == [6]byte(id1.ChipID) {
		t.Fatal("module 1 has module 0's mac")
	}
}

func TestCorruptStateFileIsAnError(t *testing.T) {
	dir := t.TempDir()
	s := startSim(t, sim.Options{Count: 1, Seed: 5, StateDir: dir})
	m, _ := s.Module(3)
	name := filepath.Join(dir, "module-"+strings.ToLower(hexMAC(m.MAC))+".json")
	if err := os.WriteFile(name, []byte(`{"format_version":1,"mac":"`+hexMAC(m.MAC)+`","lock_mask":5}`), 0o600); err != nil {
		t.Fatal(err)
	}
	s2 := startSim(t, sim.Options{Count: 1, Seed: 5, StateDir: dir})
	if _, err := s2.Module(3); err == nil || !strings.Contains(err.Error(), "lock mask") {
		t.Fatalf("corrupt lock mask: %v", err)
	}
}

func hexMAC(m [6]byte) string {
	const h = "0123456789abcdef"
	var b strings.Builder
	for _, x := range m {
		b.WriteByte(h[x>>4])
		b.WriteByte(h[x&15])
	}
	return b.String()
}

func kgMAC(t *testing.T, s *sim.Sim, id int) [6]byte {
	t.Helper()
	m, err := s.Module(id)
	if err != nil {
		t.Fatal(err)
	}
	return m.MAC
}

// TestRemoveAndInsert: an empty jig is silent; inserting another module
// answers with its identity; putting the first back finds its key again.
func TestRemoveAndInsert(t *testing.T) {
	s := startSim(t, sim.Options{Count: 2, Seed: 9})
	c, _ := dial(t, s.Ports()[0], lineproto.ClientOptions{Attempts: 2, Timeouts: map[lineproto.Type]time.Duration{lineproto.TypeIdentify: 50 * time.Millisecond}})
	ctx := ctxT(t)
	kg, err := c.GenerateKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	j := s.Jig(0)
	j.Remove()
	if _, ok := j.Current(); ok {
		t.Fatal("jig not empty after Remove")
	}
	if _, err := c.Identify(ctx); !errors.Is(err, lineproto.ErrTimeout) {
		t.Fatalf("identify on an empty jig: %v", err)
	}
	if err := j.Insert(7); err != nil {
		t.Fatal(err)
	}
	id, err := c.Identify(ctx)
	m7, _ := s.Module(7)
	if err != nil || id.ChipID != m7.MAC || id.KeyPresent {
		t.Fatalf("module 7: %+v %v", id, err)
	}
	if err := s.Jig(1).Insert(7); err == nil {
		t.Fatal("module 7 inserted into two jigs at once")
	}
	if err := j.Insert(0); err != nil {
		t.Fatal(err)
	}
	// Module 0's BOOT event names another chip than the last IDENTIFY
	// (module 7): a host identifies the new module before anything else
	// (a command sent without that ends with ErrModuleChanged).
	if id, err := c.Identify(ctx); err != nil || id.ChipID != kgMAC(t, s, 0) {
		t.Fatalf("identify after putting module 0 back: %+v %v", id, err)
	}
	kg2, err := c.GenerateKey(ctx)
	if err != nil || kg2.NewKey || kg2.SPKIHash != kg.SPKIHash {
		t.Fatalf("module 0 back on the jig: new=%v err=%v", kg2.NewKey, err)
	}
	if err := s.Jig(1).Insert(7); err != nil {
		t.Fatalf("module 7 after leaving jig 0: %v", err)
	}
}

// TestModulesPerJigSwapsLockedModules: with two modules per jig, the
// second replaces the first once it is locked and has answered SwapPolls
// IDENTIFY polls in a row — however long the line stays quiet before that,
// and however fast the polls come.
func TestModulesPerJigSwapsLockedModules(t *testing.T) {
	s := startSim(t, sim.Options{Count: 1, ModulesPerJig: 2, SwapPolls: 3, Seed: 2})
	c, _ := dial(t, s.Ports()[0], lineproto.ClientOptions{})
	ctx := ctxT(t)
	if err := provision(ctx, t, c, newTestCA(t), "SN-A"); err != nil {
		t.Fatal(err)
	}
	m0, _ := s.Module(0)
	m1, _ := s.Module(1)
	// Idle time alone swaps nothing: a station that is down polls nothing,
	// and its module stays on the jig.
	time.Sleep(1500 * time.Millisecond)
	if id, _ := s.Jig(0).Current(); id != 0 {
		t.Fatalf("module %d on the jig after an idle line, want 0 (not swapped)", id)
	}
	// Another command resets the count: two polls, a READ_DIGESTS, two polls.
	for _, read := range []bool{false, false, true, false, false} {
		var err error
		if read {
			_, err = c.ReadDigests(ctx)
		} else {
			var id *lineproto.IdentifyResponse
			id, err = c.Identify(ctx)
			if err == nil && id.ChipID != m0.MAC {
				t.Fatalf("swapped before %d polls in a row", 3)
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	// The third poll in a row is answered by module 0; the next one is module 1.
	if id, err := c.Identify(ctx); err != nil || id.ChipID != m0.MAC {
		t.Fatalf("third poll: %+v %v", id, err)
	}
	id, err := c.Identify(ctx)
	if err != nil || id.ChipID != m1.MAC || id.State != lineproto.StateUnprovisioned {
		t.Fatalf("after swap: %+v %v", id, err)
	}
	if err := provision(ctx, t, c, newTestCA(t), "SN-B"); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		c.Identify(ctx)
	}
	if cur, ok := s.Jig(0).Current(); !ok || cur != 1 {
		t.Fatalf("last module should stay on the jig, got %d %v", cur, ok)
	}
}

// TestRealTiming checks the real-timing knobs are in force: key generation
// takes hundreds of milliseconds and a 600-byte write at 115200 baud more
// than the ~50 ms the bytes need on the wire.
func TestRealTiming(t *testing.T) {
	if testing.Short() {
		t.Skip("real timing")
	}
	s := startSim(t, sim.Options{Count: 1, Seed: 4, Timing: sim.TimingReal})
	c, _ := dial(t, s.Ports()[0], lineproto.ClientOptions{})
	ctx := ctxT(t)
	c.Identify(ctx) // may absorb the power-on BOOT
	t0 := time.Now()
	kg, err := c.GenerateKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(t0); d < 300*time.Millisecond {
		t.Fatalf("real keygen took %v", d)
	}
	dac := newTestCA(t).issue(t, kg.CSR)
	t0 = time.Now()
	if _, err := c.WriteItem(ctx, lineproto.ItemDAC, dac); err != nil {
		t.Fatal(err)
	}
	if d, wire := time.Since(t0), time.Duration(len(dac))*10*time.Second/115200; d < wire {
		t.Fatalf("writing %d bytes took %v, less than the wire time %v", len(dac), d, wire)
	}
}
