package enrollment

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"testing"

	"go.etcd.io/bbolt"

	"github.com/dacline/dacline/appliance/applog"
	"github.com/dacline/dacline/shared/auditlog"
)

// logEntries parses every entry of the registry's audit log.
func logEntries(t *testing.T, r *Registry) []auditlog.Entry {
	t.Helper()
	l, err := applog.Open(r.db, applog.Options{})
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

// TestEnrollAndRevokeAreLogged: each registry change has its entry, written in
// the same transaction, carrying what an auditor needs to recognise the station.
func TestEnrollAndRevokeAreLogged(t *testing.T) {
	app, r := setup(t)
	st, path := newStation(t, app, "line-1")
	p, err := r.Inspect(path, app.Age, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	rec, seq, err := r.EnrollLogged(p)
	if err != nil {
		t.Fatal(err)
	}
	es := logEntries(t, r)
	if len(es) != 1 || seq != 0 {
		t.Fatalf("after enroll: %d entries, seq %d; want 1 entry at seq 0", len(es), seq)
	}
	e, ok := es[0].(*auditlog.StationEnrolled)
	if !ok {
		t.Fatalf("entry 0 is %s, want station-enrolled", es[0].EntryType())
	}
	data, _ := os.ReadFile(path)
	fileSum := sha256.Sum256(data)
	keySum := sha256.Sum256(mustDecode(t, st.Identity.Ed25519PublicKey))
	switch {
	case e.Station != "line-1" || e.Fingerprint != st.Identity.Fingerprint:
		t.Errorf("station/fingerprint %q %q, want line-1 %q", e.Station, e.Fingerprint, st.Identity.Fingerprint)
	case e.AgeRecipient != st.Identity.AgeRecipient:
		t.Errorf("age recipient %q, want %q", e.AgeRecipient, st.Identity.AgeRecipient)
	case e.Ed25519PublicKey != st.Identity.Ed25519PublicKey || e.PublicKeySHA256 != hex.EncodeToString(keySum[:]):
		t.Errorf("key %q / %s does not match the station's", e.Ed25519PublicKey, e.PublicKeySHA256)
	case e.BundleSHA256 != hex.EncodeToString(fileSum[:]) || e.BundleSHA256 != rec.BundleSHA256:
		t.Errorf("bundle sha256 %s, want the file's %x", e.BundleSHA256, fileSum)
	}

	// Refusals record nothing: the log and the registry change together.
	if _, err := enroll(t, r, app, path); err == nil {
		t.Fatal("replayed enrollment accepted")
	}
	if _, err := r.Revoke("line-1", "  "); !errors.Is(err, ErrNoReason) {
		t.Fatalf("revoke without a reason: %v, want ErrNoReason", err)
	}
	if _, err := r.Revoke("nobody", "x"); !errors.Is(err, ErrNotEnrolled) {
		t.Fatalf("revoke unknown: %v", err)
	}
	if n := len(logEntries(t, r)); n != 1 {
		t.Fatalf("refused operations appended entries: %d", n)
	}

	if _, seq, err = r.RevokeLogged("line-1", "laptop stolen"); err != nil || seq != 1 {
		t.Fatalf("revoke: seq %d, %v", seq, err)
	}
	es = logEntries(t, r)
	rv, ok := es[len(es)-1].(*auditlog.StationRevoked)
	if len(es) != 2 || !ok || rv.Station != "line-1" || rv.Reason != "laptop stolen" {
		t.Fatalf("after revoke: %d entries, last %#v", len(es), es[len(es)-1])
	}
	if _, err := r.Revoke("line-1", "again"); !errors.Is(err, ErrRevoked) || len(logEntries(t, r)) != 2 {
		t.Fatalf("second revoke: %v, %d entries", err, len(logEntries(t, r)))
	}
}

// TestLogFailureRollsBackRegistry: when the log cannot take the entry, the
// registry change is rolled back with it.
func TestLogFailureRollsBackRegistry(t *testing.T) {
	app, r := setup(t)
	_, path := newStation(t, app, "line-1")
	// Damage the log: without its hashes bucket AppendTx fails.
	if err := r.db.Update(func(tx *bbolt.Tx) error { return tx.DeleteBucket([]byte(applog.BucketHashes)) }); err != nil {
		t.Fatal(err)
	}
	if _, err := enroll(t, r, app, path); err == nil {
		t.Fatal("enrolled although the audit log refused the entry")
	}
	if _, err := r.Get("line-1"); !errors.Is(err, ErrNotEnrolled) {
		t.Fatalf("station recorded without its log entry: %v", err)
	}
	// The bundle was not consumed either: it enrolls once the log is repaired.
	if _, err := applog.Open(r.db, applog.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := enroll(t, r, app, path); err != nil {
		t.Fatalf("enroll after repair: %v", err)
	}
}

func mustDecode(t *testing.T, s string) []byte {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
