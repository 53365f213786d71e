package sim

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	"github.com/dacline/dacline/shared/lineproto"
)

// provisioned returns a module in credentials-written state (memory only).
func provisioned(t testing.TB) *module {
	opts := &Options{Count: 1}
	if err := opts.setDefaults(); err != nil {
		t.Fatal(err)
	}
	m, err := loadModule(0, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	do := func(typ lineproto.Type, b lineproto.Body) result {
		body, _ := b.MarshalBody()
		return m.handle(lineproto.Message{Version: 1, Type: typ, Body: body})
	}
	if r := do(lineproto.TypeGenerateKey, &lineproto.Empty{}); r.status != 0 {
		t.Fatal(r.status)
	}
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "d"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	dac, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &m.key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	verifier := make([]byte, 97)
	verifier[32] = 4
	items := map[lineproto.Item][]byte{
		lineproto.ItemDAC: dac, lineproto.ItemPAI: dac, lineproto.ItemCD: {0x30, 0},
		lineproto.ItemDiscriminator: lineproto.DiscriminatorValue(1), lineproto.ItemVerifier: verifier,
		lineproto.ItemSalt: make([]byte, 16), lineproto.ItemIterations: lineproto.IterationsValue(1000),
		lineproto.ItemSerialNumber: []byte("S"), lineproto.ItemRotatingIDUnique: make([]byte, 16),
		lineproto.ItemVendorID: lineproto.U16Value(0xFFF1), lineproto.ItemProductID: lineproto.U16Value(0x8000),
	}
	for it, v := range items {
		do(lineproto.TypeWriteChunk, &lineproto.WriteChunkRequest{Item: it, Total: uint32(len(v)), Data: v})
		if r := do(lineproto.TypeCommit, &lineproto.CommitRequest{Item: it, Length: uint32(len(v)), SHA256: sha256.Sum256(v)}); r.status != 0 {
			t.Fatalf("commit %s: %s", it, r.status)
		}
	}
	if m.state() != lineproto.StateCredentialsWritten {
		t.Fatalf("state %s", m.state())
	}
	return m
}

// FuzzModuleRequest feeds arbitrary request bodies of every type to a
// provisioned module: it must never panic, every reply must encode, and the
// module must stay in a state the spec allows.
func FuzzModuleRequest(f *testing.F) {
	lock, _ := (&lineproto.LockRequest{Step: 1}).MarshalBody()
	chunk, _ := (&lineproto.WriteChunkRequest{Item: lineproto.ItemSalt, Total: 16, Offset: 0, Data: make([]byte, 16)}).MarshalBody()
	f.Add(uint8(lineproto.TypeLock), lock)
	f.Add(uint8(lineproto.TypeWriteChunk), chunk)
	f.Add(uint8(lineproto.TypeCommit), []byte{1, 1, 0, 6})
	f.Add(uint8(lineproto.TypeAttest), bytes.Repeat([]byte{1}, 35))
	f.Add(uint8(lineproto.TypeGenerateKey), []byte{})
	m := provisioned(f)
	key := m.p.KeyPKCS8
	f.Fuzz(func(t *testing.T, typ uint8, body []byte) {
		m.mu.Lock()
		defer m.mu.Unlock()
		r := m.handle(lineproto.Message{Version: 1, Type: lineproto.Type(typ), RequestID: 1, Body: body})
		if _, err := r.body.MarshalBody(); err != nil {
			t.Fatalf("reply to type 0x%02x does not encode: %v", typ, err)
		}
		if m.p.KeysGenerated != 1 || !bytes.Equal(m.p.KeyPKCS8, key) {
			t.Fatal("key changed")
		}
		if lm := lineproto.LockMask(m.p.LockMask); !lm.Valid() {
			t.Fatalf("lock mask 0x%02x", m.p.LockMask)
		}
		if m.p.LockMask != 0 && m.committedMask() != lineproto.AllItemsMask {
			t.Fatal("lock burned without every item")
		}
	})
}
