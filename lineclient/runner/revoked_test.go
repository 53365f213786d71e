package runner

import (
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"github.com/dacline/dacline/lineclient/sim"
	"github.com/dacline/dacline/lineclient/station"
	"github.com/dacline/dacline/shared/matter"
)

// TestRevokedDACNeverWritten: with a CRL revoking one module's DAC, the
// station fails that module (dac-revoked) before writing anything to it; the
// others are provisioned as usual.
func TestRevokedDACNeverWritten(t *testing.T) {
	r := newRig(t, sim.Options{Count: 3, Timing: sim.TimingFast, Seed: 21})
	r.run(r.sim.Ports(), 300*time.Millisecond)
	r.answerBatch("b1")
	var victim string
	var serial *x509.Certificate
	_ = r.store.ForEachInState(station.StateDACReceived, func(m *station.Module) error {
		if victim == "" {
			c, err := r.store.Credentials(m.MAC)
			if err != nil {
				t.Fatal(err)
			}
			victim = m.MAC
			serial, _ = x509.ParseCertificate(c.DAC)
		}
		return nil
	})
	if victim == "" {
		t.Fatal("no module got a dac")
	}
	crl, err := matter.ParseCRLFrom(r.pki.CRL(t, 1, serial.SerialNumber), r.pki.PAI)
	if err != nil {
		t.Fatal(err)
	}
	r.prov.CRL = crl
	r.run(r.sim.Ports(), 300*time.Millisecond)
	r.checkInvariants()
	m, err := r.store.Get(victim)
	if err != nil {
		t.Fatal(err)
	}
	if m.State != station.StateFailed || m.Reason != station.ReasonDACRevoked || !strings.Contains(m.Detail, "revoked by crl number 1") {
		t.Fatalf("revoked module: %s %s %q", m.State, m.Reason, m.Detail)
	}
	for _, mi := range r.sim.Modules() {
		if FormatMAC(mi.MAC) == victim && (len(mi.DAC) != 0 || len(mi.Committed) != 0) {
			t.Fatalf("the revoked dac (or other credentials) reached module %s", victim)
		}
	}
	if st := r.states(); st[station.StateDone] != 2 {
		t.Fatalf("states %v, want the 2 others done", st)
	}
}
