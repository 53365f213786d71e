package home_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/dacline/dacline/appliance/applog"
	"github.com/dacline/dacline/appliance/home"
	"github.com/dacline/dacline/shared/auditlog"
	"github.com/dacline/dacline/shared/matter"
)

// entries parses the home's whole audit log.
func entries(t *testing.T, h *home.Home) []auditlog.Entry {
	t.Helper()
	l, err := h.AuditLog()
	if err != nil {
		t.Fatal(err)
	}
	n, err := l.Size()
	if err != nil {
		t.Fatal(err)
	}
	var out []auditlog.Entry
	err = l.ForEach(0, n, func(_ int64, b []byte) error {
		e, err := auditlog.ParseEntry(b)
		out = append(out, e)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func ofType[E auditlog.Entry](es []auditlog.Entry) []E {
	var out []E
	for _, e := range es {
		if x, ok := e.(E); ok {
			out = append(out, x)
		}
	}
	return out
}

func spkiSHA256(t *testing.T, b64 string) string {
	der, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(der)
	return hex.EncodeToString(s[:])
}

func certSHA256(c *x509.Certificate) string {
	s := sha256.Sum256(c.Raw)
	return hex.EncodeToString(s[:])
}

// TestInitStartsAuditLog: the new home's log holds appliance-init naming the
// checkpoint key, a key-generated entry per key with the protection
// attributes read back, and a checkpoint that verifies with the note library
// and that key.
func TestInitStartsAuditLog(t *testing.T) {
	dir := newHome(t)
	u := unlock(t, dir)
	h := u.Home
	es := entries(t, h)
	if len(es) != 4 {
		t.Fatalf("%d entries after init, want 4", len(es))
	}
	ai, ok := es[0].(*auditlog.ApplianceInit)
	if !ok || ai.Appliance != "line-1" {
		t.Fatalf("entry 0: %#v, want appliance-init of line-1", es[0])
	}
	keys := ofType[*auditlog.KeyGenerated](es)
	want := map[string]struct{ typ, pub string }{
		home.LabelSigning: {auditlog.KeyTypeEd25519, spkiSHA256(t, h.Config.Keys.Signing.PublicKey)},
		home.LabelPAI:     {auditlog.KeyTypeP256, spkiSHA256(t, h.Config.Keys.PAI.PublicKey)},
		home.LabelAgeWrap: {auditlog.KeyTypeAES256, ""},
	}
	if len(keys) != len(want) {
		t.Fatalf("%d key-generated entries, want %d", len(keys), len(want))
	}
	for _, k := range keys {
		w, ok := want[k.Label]
		if !ok || k.KeyType != w.typ || k.PublicKeySHA256 != w.pub {
			t.Errorf("key-generated %s: type %s pub %s, want %+v", k.Label, k.KeyType, k.PublicKeySHA256, w)
		}
		for attr, v := range map[string]bool{"CKA_TOKEN": true, "CKA_PRIVATE": true, "CKA_SENSITIVE": true,
			"CKA_ALWAYS_SENSITIVE": true, "CKA_EXTRACTABLE": false, "CKA_NEVER_EXTRACTABLE": true, "CKA_LOCAL": true,
			"CKA_MODIFIABLE": false, "CKA_COPYABLE": false} {
			if got, ok := k.Attributes[attr]; !ok || got != v {
				t.Errorf("key %s: %s = %v (present %v), want %v", k.Label, attr, got, ok, v)
			}
		}
	}

	// The first checkpoint, in the database and the mirror, signed by the
	// key appliance-init names.
	l, _ := h.AuditLog()
	signed, err := l.Latest()
	if err != nil || signed == nil {
		t.Fatalf("no checkpoint after init: %v", err)
	}
	mirror, err := os.ReadFile(filepath.Join(dir, applog.CheckpointMirrorFile))
	if err != nil || !bytes.Equal(mirror, signed) {
		t.Fatalf("mirror file: %v", err)
	}
	v, err := note.NewVerifier(ai.NoteVerifier)
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		t.Fatalf("first checkpoint does not verify with the appliance-init key: %v", err)
	}
	if c, err := auditlog.SplitSigned(signed); err != nil || c.Size != 4 || c.Origin != "line-1" {
		t.Fatalf("checkpoint %q: %+v %v", n.Text, c, err)
	}
}

// TestPKISetupLogged: the test PAA key and each installed PAI have their
// entries, naming exactly the installed certificates; refused steps record
// nothing.
func TestPKISetupLogged(t *testing.T) {
	dir := newHome(t)
	u := unlock(t, dir)
	now := time.Now()
	if _, err := u.CreateTestPAA(0x1234, now); err == nil {
		t.Fatal("PAA for a real VID accepted")
	}
	if n := len(entries(t, u.Home)); n != 4 {
		t.Fatalf("refused PAA appended: %d entries", n)
	}
	paa, err := u.CreateTestPAA(0xFFF1, now)
	if err != nil {
		t.Fatal(err)
	}
	pid := uint16(0x8001)
	pai, err := u.CreateTestPAI(0xFFF1, &pid, now)
	if err != nil {
		t.Fatal(err)
	}
	es := entries(t, u.Home)
	if len(es) != 6 {
		t.Fatalf("%d entries, want 6", len(es))
	}
	k, ok := es[4].(*auditlog.KeyGenerated)
	if !ok || k.Label != home.LabelTestPAA || k.KeyType != auditlog.KeyTypeP256 ||
		k.PublicKeySHA256 != spkiSHA256(t, u.Home.Config.Keys.TestPAA.PublicKey) || !k.Attributes["CKA_LOCAL"] {
		t.Fatalf("entry 4: %#v", es[4])
	}
	pi, ok := es[5].(*auditlog.PAIImported)
	if !ok || pi.PAISHA256 != certSHA256(pai) || pi.PAASHA256 != certSHA256(paa) || pi.VID != 0xFFF1 || pi.PID != 0x8001 ||
		pi.Subject != "CN=dacline test PAI FFF1, VID=FFF1, PID=8001" {
		t.Fatalf("entry 5: %#v", es[5])
	}
	if _, err := u.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	// The key appliance-init names is the one appliance.id publishes.
	id, err := u.PublicIdentity()
	if err != nil {
		t.Fatal(err)
	}
	if ai := es[0].(*auditlog.ApplianceInit); id.NoteVerifier != ai.NoteVerifier {
		t.Errorf("appliance.id note verifier %q, log says %q", id.NoteVerifier, ai.NoteVerifier)
	}
	if _, err := u.CreateTestPAI(0xFFF1, nil, now); !errors.Is(err, home.ErrPAIInstalled) {
		t.Fatalf("second PAI: %v", err)
	}
	if n := len(entries(t, u.Home)); n != 6 {
		t.Fatalf("refused PAI appended: %d entries", n)
	}
}

// TestTestPAAResumes plays the two crashes CreateTestPAA must survive without
// ever using a key that is not in the log, and without logging one twice.
func TestTestPAAResumes(t *testing.T) {
	t.Run("after generating, before logging", func(t *testing.T) {
		u := unlock(t, newHome(t))
		orphan, err := u.Token.GenerateP256(home.LabelTestPAA) // the run stopped here
		if err != nil {
			t.Fatal(err)
		}
		if _, err := u.CreateTestPAA(0xFFF1, time.Now()); err != nil {
			t.Fatal(err)
		}
		keys := ofType[*auditlog.KeyGenerated](entries(t, u.Home))
		pub, _ := x509.MarshalPKIXPublicKey(orphan.Public())
		sum := sha256.Sum256(pub)
		if last := keys[len(keys)-1]; len(keys) != 4 || last.Label != home.LabelTestPAA || last.PublicKeySHA256 != hex.EncodeToString(sum[:]) {
			t.Fatalf("the adopted key is not logged exactly once: %d key entries, last %#v", len(keys), last)
		}
	})
	t.Run("after logging, before config.json", func(t *testing.T) {
		u := unlock(t, newHome(t))
		k, err := u.Token.GenerateP256(home.LabelTestPAA)
		if err != nil {
			t.Fatal(err)
		}
		pub, _ := x509.MarshalPKIXPublicKey(k.Public())
		sum := sha256.Sum256(pub)
		l, _ := u.Home.AuditLog()
		if _, err := l.Append(&auditlog.KeyGenerated{Attributes: map[string]bool{"CKA_LOCAL": true}, KeyType: auditlog.KeyTypeP256,
			Label: home.LabelTestPAA, PublicKeySHA256: hex.EncodeToString(sum[:])}); err != nil {
			t.Fatal(err)
		}
		if _, err := u.CreateTestPAA(0xFFF1, time.Now()); err != nil {
			t.Fatal(err)
		}
		if keys := ofType[*auditlog.KeyGenerated](entries(t, u.Home)); len(keys) != 4 {
			t.Fatalf("%d key-generated entries, want 4 (the resumed key logged once)", len(keys))
		}
	})
}

// TestImportPAILogged: an import records pai-imported once, a resumed import
// (entry committed, files not yet installed) does not record it again, and
// a refused import records nothing.
func TestImportPAILogged(t *testing.T) {
	dir := newHome(t)
	u := unlock(t, dir)
	now := time.Now()
	paaKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	paaTmpl, _ := matter.PAATemplate(big.NewInt(1), matter.Subject{CommonName: "ext PAA", VID: 0xFFF2, HasVID: true}, now.Add(-time.Hour), matter.NoExpiry, &paaKey.PublicKey)
	paaDER, err := matter.IssueCertificate(paaTmpl, nil, &paaKey.PublicKey, paaKey, matter.PAA)
	if err != nil {
		t.Fatal(err)
	}
	paa, _ := x509.ParseCertificate(paaDER)
	tmpl, _ := matter.PAITemplate(big.NewInt(2), matter.Subject{CommonName: "ext PAI", VID: 0xFFF2, HasVID: true}, now.Add(-time.Hour), now.AddDate(1, 0, 0), u.PAIKey.Public(), paa)
	paiDER, err := matter.IssueCertificate(tmpl, paa, u.PAIKey.Public(), paaKey, matter.PAI)
	if err != nil {
		t.Fatal(err)
	}
	pai, _ := x509.ParseCertificate(paiDER)

	if _, err := u.ImportPAI(matter.EncodePEM(paiDER), nil, now); !errors.Is(err, home.ErrNoPAA) {
		t.Fatalf("no PAA: %v", err)
	}
	if n := len(entries(t, u.Home)); n != 4 {
		t.Fatalf("refused import appended: %d entries", n)
	}
	// The run that stopped after recording: the entry is there, no file.
	l, _ := u.Home.AuditLog()
	if _, err := l.Append(&auditlog.PAIImported{PAASHA256: certSHA256(paa), PAISHA256: certSHA256(pai),
		Subject: home.DescribeName(pai.RawSubject), VID: 0xFFF2}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, home.PAIFile+".new"), []byte("partial"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := u.ImportPAI(matter.EncodePEM(paiDER), matter.EncodePEM(paaDER), now); err != nil {
		t.Fatal(err)
	}
	imports := ofType[*auditlog.PAIImported](entries(t, u.Home))
	if len(imports) != 1 || imports[0].PID != 0 {
		t.Fatalf("%d pai-imported entries, want 1: %#v", len(imports), imports)
	}
	if _, err := os.Stat(filepath.Join(dir, home.PAIFile+".new")); !os.IsNotExist(err) {
		t.Error("staging file left behind")
	}
	got, err := os.ReadFile(filepath.Join(dir, home.PAIFile))
	if err != nil || !bytes.Equal(got, matter.EncodePEM(paiDER)) {
		t.Fatalf("pai.pem not installed: %v", err)
	}
	opensslVerify(t, dir)
}

// TestCheckpointRefusesRollback: a database restored from a backup older than
// the last checkpoint stops checkpoint signing (the mirror file remembers).
func TestCheckpointRefusesRollback(t *testing.T) {
	dir := newHome(t)
	db := filepath.Join(dir, home.DBFile)
	backup, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	u := unlock(t, dir)
	if _, err := u.CreateTestPAA(0xFFF1, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := u.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	u.Close()
	u.Home.Close()
	if err := os.WriteFile(db, backup, 0o600); err != nil {
		t.Fatal(err)
	}
	u = unlock(t, dir)
	if _, err := u.Checkpoint(); !errors.Is(err, applog.ErrRollback) {
		t.Fatalf("checkpoint over a restored database: %v, want ErrRollback", err)
	}
}
