package runner

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dacline/dacline/lineclient/batch"
	"github.com/dacline/dacline/lineclient/internal/linetest"
	"github.com/dacline/dacline/lineclient/sim"
	"github.com/dacline/dacline/lineclient/station"
	"github.com/dacline/dacline/lineclient/transport"
	"github.com/dacline/dacline/shared/lineproto"
)

func openPTY(path string) (Port, error) { return transport.Open(path, transport.Config{}) }

type rig struct {
	t     testing.TB
	sim   *sim.Sim
	store *station.Store
	pki   *linetest.PKI
	prov  *Provisioner
	log   []Event

	storePath string
}

func newRig(t *testing.T, opts sim.Options) *rig { return newRigTB(t, opts) }

func newRigTB(t testing.TB, opts sim.Options) *rig {
	t.Helper()
	if opts.StateDir == "" {
		opts.StateDir = t.TempDir()
	}
	opts.Logf = func(string, ...any) {}
	s, err := sim.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	storePath := filepath.Join(t.TempDir(), "station.db")
	st, err := station.OpenFile(storePath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	pki := linetest.NewPKI(t)
	checkCD, err := batch.CDCheck(linetest.CD(), linetest.CDSigner())
	if err != nil {
		t.Fatal(err)
	}
	return &rig{t: t, sim: s, store: st, pki: pki, storePath: storePath,
		prov: &Provisioner{Store: st, PAI: pki.PAI, PAA: pki.PAA, CD: linetest.CD(), VID: linetest.VID, PID: linetest.PID, CheckCD: checkCD}}
}

// run drives the given ports until they are idle.
func (r *rig) run(ports []string, idle time.Duration) Totals {
	r.t.Helper()
	var evs []Event
	cfg := Config{Ports: ports, Open: openPTY, UntilIdle: true, IdleTimeout: idle,
		EmptyPoll: 30 * time.Millisecond, SettledPoll: 100 * time.Millisecond, ReopenDelay: 100 * time.Millisecond,
		Events: func(e Event) { evs = append(evs, e) }}
	run, err := New(cfg, r.prov)
	if err != nil {
		r.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	tot, err := run.Run(ctx, nil)
	if err != nil {
		r.t.Fatal(err)
	}
	r.log = append(r.log, evs...)
	return tot
}

// answerBatch plays the appliance for every key-generated module: export,
// issue with the software PKI, import.
func (r *rig) answerBatch(id string) *station.ImportResult {
	r.t.Helper()
	if _, err := r.store.BeginExport(id, 0); err != nil {
		r.t.Fatal(err)
	}
	ret := &station.Return{ReturnID: "ret-" + id, CSRBatchID: id}
	err := r.store.BatchCSRs(id, func(mac, spki string, csr []byte) error {
		dac, err := r.pki.IssueDAC(csr, linetest.VID, linetest.PID)
		if err != nil {
			return err
		}
		c, _ := parseDAC(dac)
		ret.DACs = append(ret.DACs, station.ReturnedDAC{SPKISHA256: c.spki, DER: dac, Serial: c.serial})
		return nil
	})
	if err != nil {
		r.t.Fatal(err)
	}
	res, err := r.store.ImportReturn(ret)
	if err != nil {
		r.t.Fatal(err)
	}
	return res
}

func (r *rig) states() map[station.State]int {
	r.t.Helper()
	out := map[station.State]int{}
	if err := r.store.ForEach(func(m *station.Module) error { out[m.State]++; return nil }); err != nil {
		r.t.Fatal(err)
	}
	return out
}

// checkInvariants checks the store and every simulated module against each
// other: one key per module, a lock only on an attested module whose DAC is
// in the store and on the module.
func (r *rig) checkInvariants() {
	r.t.Helper()
	v, err := r.store.CheckInvariants()
	if err != nil {
		r.t.Fatal(err)
	}
	if len(v) > 0 {
		r.t.Fatalf("store invariants:\n%s", strings.Join(v, "\n"))
	}
	for _, mi := range r.sim.Modules() {
		checkModule(r.t, r.store, mi)
	}
}

func checkModule(t testing.TB, st *station.Store, mi sim.ModuleInfo) {
	t.Helper()
	if mi.KeysGenerated > 1 {
		t.Errorf("module %d generated %d keys", mi.ID, mi.KeysGenerated)
	}
	mac := FormatMAC(mi.MAC)
	m, err := st.Get(mac)
	if err != nil {
		if mi.LockMask != 0 || len(mi.Committed) > 0 {
			t.Errorf("module %s holds credentials or lock fuses but the station has no record", mac)
		}
		return
	}
	if mi.LockMask != 0 {
		eff := m.State
		if eff == station.StateFailed {
			eff = m.FailedFrom
		}
		if eff < station.StateLocking || m.AttestedAt.IsZero() {
			t.Errorf("module %s is locked (mask %04b) but its record is %s (failed from %s), attested at %v", mac, mi.LockMask, m.State, m.FailedFrom, m.AttestedAt)
		}
	}
	if mi.Lying && mi.LockMask != 0 {
		t.Errorf("lying module %s was locked", mac)
	}
	if mi.HasKey && m.SPKISHA256 != "" && m.SPKISHA256 != hexOf(mi.SPKIHash[:]) {
		t.Errorf("module %s: store has key %s, module %x", mac, m.SPKISHA256, mi.SPKIHash)
	}
	if len(mi.DAC) > 0 {
		c, err := st.Credentials(mac)
		if err != nil || string(c.DAC) != string(mi.DAC) {
			t.Errorf("module %s holds a dac the store does not have for it", mac)
		}
	}
	if m.State == station.StateDone && (mi.LockMask != lineproto.LockMaskAll || mi.DebugEnabled) {
		t.Errorf("module %s done in the store but lock mask %04b debug %v", mac, mi.LockMask, mi.DebugEnabled)
	}
}
