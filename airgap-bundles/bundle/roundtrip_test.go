package bundle

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"filippo.io/age"
	"go.etcd.io/bbolt"
)

func TestRoundTripCSRBatch(t *testing.T) {
	f := newFixture(t)
	csrs := csrLines(50)
	raw := seal(t, Header{Kind: KindCSRBatch, BatchID: fixedID(1), Created: fixedTime, Counts: map[string]int64{"csrs": 50},
		Labels: map[string]string{"vid": "FFF1", "pid": "8000"}},
		f.station, f.appliance.id.Recipient(), payloadFile{"csrs.jsonl", csrs})
	b, err := Read(bytes.NewReader(raw), f.applianceOpts(t))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	m := b.Manifest
	if m.Kind != KindCSRBatch || m.Sender != "station-1" || m.BatchID != fixedID(1) || !m.Created.Equal(fixedTime) ||
		m.Recipient != f.appliance.id.Recipient().String() || m.Counts["csrs"] != 50 || m.Labels["vid"] != "FFF1" {
		t.Fatalf("manifest %+v", m)
	}
	if len(m.Files) != 1 || *m.Files[0].Lines != 50 || m.Files[0].Size != int64(len(csrs)) {
		t.Fatalf("files %+v", m.Files)
	}
	if got := readAll(t, b)["csrs.jsonl"]; got != csrs {
		t.Fatalf("csrs.jsonl differs")
	}
	if !b.Encrypted || !bytes.Equal(b.SignerKey, f.station.signer.Public()) {
		t.Fatal("encrypted/signer key not reported")
	}
	if _, err := b.Open("manifest.json"); err == nil {
		t.Fatal("Open(manifest.json) must not be a payload file")
	}
}

func TestSignedOnlyOnlyForLogExport(t *testing.T) {
	f := newFixture(t)
	raw := seal(t, Header{Kind: KindLogExport, Created: fixedTime}, f.appliance, nil, payloadFile{"log.jsonl", "{}\n"})
	b, err := Read(bytes.NewReader(raw), ReadOptions{Resolve: f.resolve, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	if b.Encrypted || b.Manifest.Recipient != "" {
		t.Fatal("signed-only bundle reported as encrypted")
	}

	h := Header{Kind: KindCSRBatch, Sender: f.station.name}
	bl, _ := NewBuilder(h, t.TempDir())
	defer bl.Close()
	bl.AddFile("csrs.jsonl", bytes.NewReader(nil))
	if _, err := bl.Seal(new(bytes.Buffer), f.station.signer, nil); !errors.Is(err, ErrNotEncrypted) {
		t.Fatalf("sealing a signed-only csr-batch: %v", err)
	}
}

func TestWrongRecipient(t *testing.T) {
	f := newFixture(t)
	raw := seal(t, Header{Kind: KindCSRBatch}, f.station, f.other.id.Recipient(), payloadFile{"csrs.jsonl", csrLines(2)})
	_, err := Read(bytes.NewReader(raw), f.applianceOpts(t))
	wantRefused(t, err, ErrWrongRecipient)
	o := f.applianceOpts(t)
	o.Identities = nil
	_, err = Read(bytes.NewReader(raw), o)
	wantRefused(t, err, ErrWrongRecipient)
}

func TestUnenrolledAndRevokedSigner(t *testing.T) {
	f := newFixture(t)
	raw := seal(t, Header{Kind: KindCSRBatch}, f.other, f.appliance.id.Recipient(), payloadFile{"csrs.jsonl", csrLines(2)})
	_, err := Read(bytes.NewReader(raw), f.applianceOpts(t))
	wantRefused(t, err, ErrUnknownSender)
	if !errors.Is(err, errNotEnrolled) {
		t.Fatalf("resolver's reason lost: %v", err)
	}

	raw = seal(t, Header{Kind: KindCSRBatch}, f.station, f.appliance.id.Recipient(), payloadFile{"csrs.jsonl", csrLines(2)})
	f.revoked["station-1"] = true
	_, err = Read(bytes.NewReader(raw), f.applianceOpts(t))
	wantRefused(t, err, ErrUnknownSender)
}

// A station signing with its own key under the name of another enrolled station.
func TestSignerKeyDoesNotMatchName(t *testing.T) {
	f := newFixture(t)
	impostor, _ := NewNoteSigner("station-1", f.other.priv)
	p := &party{name: "station-1", signer: impostor}
	raw := seal(t, Header{Kind: KindCSRBatch}, p, f.appliance.id.Recipient(), payloadFile{"csrs.jsonl", csrLines(2)})
	_, err := Read(bytes.NewReader(raw), f.applianceOpts(t))
	wantRefused(t, err, ErrSignature)
}

func TestUnexpectedKind(t *testing.T) {
	f := newFixture(t)
	raw := seal(t, Header{Kind: KindDACBatch}, f.appliance, f.station.id.Recipient(), payloadFile{"dacs.jsonl", "{}\n"})
	o := f.stationOpts(t)
	o.Kinds = []Kind{KindCSRBatch}
	_, err := Read(bytes.NewReader(raw), o)
	wantRefused(t, err, ErrUnknownKind)
}

// Re-encrypting a bundle signed for the appliance to another receiver is refused: the
// signed manifest names its recipient.
func TestReencryptedToAnotherRecipient(t *testing.T) {
	f := newFixture(t)
	raw := seal(t, Header{Kind: KindCSRBatch}, f.station, f.appliance.id.Recipient(), payloadFile{"csrs.jsonl", csrLines(3)})
	plain := decrypt(t, raw, f.appliance.id)
	re := encrypt(t, plain, f.other.id.Recipient())
	o := f.applianceOpts(t)
	o.Identities = []age.Identity{f.other.id}
	_, err := Read(bytes.NewReader(re), o)
	wantRefused(t, err, ErrRecipientMismatch)
	// And a signed-only copy of an encrypted kind.
	_, err = Read(bytes.NewReader(plain), f.applianceOpts(t))
	wantRefused(t, err, ErrNotEncrypted)
}

func TestReplay(t *testing.T) {
	f := newFixture(t)
	db, err := bbolt.Open(filepath.Join(t.TempDir(), "appliance.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	raw := seal(t, Header{Kind: KindCSRBatch}, f.station, f.appliance.id.Recipient(), payloadFile{"csrs.jsonl", csrLines(3)})
	o := f.applianceOpts(t)
	o.Consumed = BoltConsumed{DB: db}
	b, err := Read(bytes.NewReader(raw), o)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := db.Update(func(tx *bbolt.Tx) error { return MarkConsumed(tx, b, time.Now()) }); err != nil {
		t.Fatal(err)
	}
	_, err = Read(bytes.NewReader(raw), o)
	wantRefused(t, err, ErrReplay)
	// A replay that raced past the reader is caught by MarkConsumed in the import txn.
	err = db.Update(func(tx *bbolt.Tx) error { return MarkConsumed(tx, b, time.Now()) })
	wantRefused(t, err, ErrReplay)
	db.View(func(tx *bbolt.Tx) error {
		rec, err := ConsumedRecordOf(tx, b.Manifest.BatchID)
		if err != nil || rec == nil || rec.Sender != "station-1" || rec.Kind != KindCSRBatch {
			t.Fatalf("consumed record %+v, %v", rec, err)
		}
		return nil
	})
}

func TestTruncated(t *testing.T) {
	f := newFixture(t)
	raw := seal(t, Header{Kind: KindCSRBatch}, f.station, f.appliance.id.Recipient(), payloadFile{"csrs.jsonl", csrLines(2000)})
	for _, n := range []int{0, 10, 30, 100, 200, len(raw) / 2, len(raw) - 65536 - 17, len(raw) - 17, len(raw) - 1} {
		if n < 0 {
			continue
		}
		_, err := Read(bytes.NewReader(raw[:n]), f.applianceOpts(t))
		if err == nil {
			t.Fatalf("truncated to %d of %d bytes: accepted", n, len(raw))
		}
		if n > 0 {
			wantRefused(t, err, nil)
		}
	}
	// Appended bytes.
	_, err := Read(bytes.NewReader(append(bytes.Clone(raw), 0)), f.applianceOpts(t))
	wantRefused(t, err, ErrCiphertext)
}

func TestScryptAndHostileAgeHeaders(t *testing.T) {
	f := newFixture(t)
	plain := decrypt(t, seal(t, Header{Kind: KindCSRBatch}, f.station, f.appliance.id.Recipient(), payloadFile{"csrs.jsonl", csrLines(1)}), f.appliance.id)

	sr, _ := age.NewScryptRecipient("correct horse battery staple")
	sr.SetWorkFactor(10)
	var buf bytes.Buffer
	w, _ := age.Encrypt(&buf, sr)
	w.Write(plain)
	w.Close()
	si, _ := age.NewScryptIdentity("correct horse battery staple")
	o := f.applianceOpts(t)
	o.Identities = append(o.Identities, si)
	_, err := Read(bytes.NewReader(buf.Bytes()), o)
	wantRefused(t, err, ErrAgeHeader)

	// Too many stanzas.
	var rs []age.Recipient
	for range 5 {
		id, _ := age.GenerateX25519Identity()
		rs = append(rs, id.Recipient())
	}
	rs = append(rs, f.appliance.id.Recipient())
	buf.Reset()
	w, _ = age.Encrypt(&buf, rs...)
	w.Write(plain)
	w.Close()
	_, err = Read(bytes.NewReader(buf.Bytes()), f.applianceOpts(t))
	wantRefused(t, err, ErrTooLarge)

	// Oversized header: one huge unknown stanza.
	huge := []byte(ageMagic + "-> grease\n")
	for range 200 {
		huge = append(huge, bytes.Repeat([]byte("A"), 64)...)
		huge = append(huge, '\n')
	}
	huge = append(huge, "\n--- AAAA\n"...)
	_, err = Read(bytes.NewReader(huge), f.applianceOpts(t))
	wantRefused(t, err, ErrTooLarge)
}

func decrypt(t testing.TB, raw []byte, id age.Identity) []byte {
	t.Helper()
	r, err := age.Decrypt(bytes.NewReader(raw), id)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := out.ReadFrom(r); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func encrypt(t testing.TB, plain []byte, r age.Recipient) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, r)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(plain)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestSelfSignedEnrollmentOnly(t *testing.T) {
	f := newFixture(t)
	// Many keys, so some verifier keys contain '+' and '/' in their base64.
	for i := range 20 {
		id, _ := age.GenerateX25519Identity()
		p := &party{name: "station-9", id: id}
		priv := make([]byte, 32)
		priv[0] = byte(i)
		p.priv = ed25519.NewKeyFromSeed(priv)
		p.signer, _ = NewNoteSigner(p.name, p.priv)
		raw := seal(t, Header{Kind: KindEnrollment}, p, f.appliance.id.Recipient(), payloadFile{"station.json", "{}\n"})
		o := ReadOptions{Identities: []age.Identity{f.appliance.id}, SelfSigned: true, TempDir: t.TempDir()}
		b, err := Read(bytes.NewReader(raw), o)
		if err != nil {
			t.Fatalf("key %d: %v", i, err)
		}
		if !bytes.Equal(b.SignerKey, p.signer.Public()) {
			t.Fatal("signer key not reported")
		}
		b.Close()
	}
	raw := seal(t, Header{Kind: KindCSRBatch}, f.other, f.appliance.id.Recipient(), payloadFile{"csrs.jsonl", "{}\n"})
	_, err := Read(bytes.NewReader(raw), ReadOptions{Identities: []age.Identity{f.appliance.id}, SelfSigned: true, TempDir: t.TempDir()})
	wantRefused(t, err, ErrUnknownKind)
}
