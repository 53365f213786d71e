package sim_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	"github.com/dacline/dacline/lineclient/sim"
	"github.com/dacline/dacline/lineclient/transport"
	"github.com/dacline/dacline/shared/lineproto"
)

// testCA issues DACs for CSRs, standing in for the appliance.
type testCA struct {
	key  *ecdsa.PrivateKey
	cert *x509.Certificate
	der  []byte
}

func newTestCA(t testing.TB) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sim test PAI"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, MaxPathLenZero: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{key: key, cert: cert, der: der}
}

func (ca *testCA) issue(t testing.TB, csrDER []byte) []byte {
	t.Helper()
	csr, err := x509.ParseCertificateRequest(csrDER)
	if err != nil {
		t.Fatalf("parse csr: %v", err)
	}
	if err := csr.CheckSignature(); err != nil {
		t.Fatalf("csr signature: %v", err)
	}
	return ca.issueFor(t, csr.PublicKey)
}

func (ca *testCA) issueFor(t testing.TB, pub any) []byte {
	t.Helper()
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: "sim test DAC"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, pub, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// credentials returns every item except the DAC, with plausible values.
func credentials(ca *testCA, serialNo string) map[lineproto.Item][]byte {
	verifier := make([]byte, 97)
	verifier[32] = 0x04
	rand.Read(verifier[33:])
	salt := make([]byte, 32)
	rand.Read(salt)
	uid := make([]byte, 16)
	rand.Read(uid)
	cd := append([]byte{0x30, 0x82, 0x02, 0x00}, make([]byte, 0x200)...) // > one chunk
	return map[lineproto.Item][]byte{
		lineproto.ItemPAI:              ca.der,
		lineproto.ItemCD:               cd,
		lineproto.ItemDiscriminator:    lineproto.DiscriminatorValue(3840),
		lineproto.ItemVerifier:         verifier,
		lineproto.ItemSalt:             salt,
		lineproto.ItemIterations:       lineproto.IterationsValue(10000),
		lineproto.ItemSerialNumber:     []byte(serialNo),
		lineproto.ItemRotatingIDUnique: uid,
		lineproto.ItemVendorID:         lineproto.U16Value(0xFFF1),
		lineproto.ItemProductID:        lineproto.U16Value(0x8000),
	}
}

func startSim(t testing.TB, opts sim.Options) *sim.Sim {
	t.Helper()
	s, err := sim.Start(opts)
	if err != nil {
		t.Fatalf("start sim: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close sim: %v", err)
		}
	})
	return s
}

// dial opens a jig's PTY with go.bug.st/serial, as a station does.
func dial(t testing.TB, path string, opts lineproto.ClientOptions) (*lineproto.Client, *transport.Port) {
	t.Helper()
	p, err := transport.Open(path, transport.Config{})
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() { p.Close() })
	c, err := lineproto.NewClient(p, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c, p
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// checkInvariants asserts what docs/line-protocol.md §7 allows a module to be.
func checkInvariants(t testing.TB, m sim.ModuleInfo) {
	t.Helper()
	if m.KeysGenerated > 1 {
		t.Errorf("module %d generated %d keys", m.ID, m.KeysGenerated)
	}
	if m.HasKey != (m.KeysGenerated == 1) {
		t.Errorf("module %d: has key %v but generated %d", m.ID, m.HasKey, m.KeysGenerated)
	}
	if !m.LockMask.Valid() {
		t.Errorf("module %d: lock mask 0x%02x is not a prefix of the burn order", m.ID, m.LockMask)
	}
	if m.DebugEnabled == m.LockMask.Has(lineproto.LockFlashEncryption) {
		t.Errorf("module %d: debug %v with lock mask 0x%02x", m.ID, m.DebugEnabled, m.LockMask)
	}
	if len(m.Committed) > 0 && !m.HasKey {
		t.Errorf("module %d: credentials without a key", m.ID)
	}
	if m.LockMask != 0 {
		for _, it := range lineproto.AllItems {
			if _, ok := m.Committed[it]; !ok {
				t.Errorf("module %d: lock steps burned without %s committed", m.ID, it)
			}
		}
		if m.DAC == nil {
			t.Errorf("module %d: locked without a dac", m.ID)
		} else if c, err := x509.ParseCertificate(m.DAC); err != nil || !c.PublicKey.(*ecdsa.PublicKey).Equal(m.PublicKey) {
			t.Errorf("module %d: locked with a dac for another key", m.ID)
		}
	}
	for i := 1; i < len(m.History); i++ {
		if m.History[i] != m.History[i-1]+1 {
			t.Errorf("module %d: state went %s → %s (history %v)", m.ID, m.History[i-1], m.History[i], m.History)
		}
	}
	if n := len(m.History); n > 0 && m.History[n-1] != m.State {
		t.Errorf("module %d: history ends in %s, state is %s", m.ID, m.History[n-1], m.State)
	}
}
