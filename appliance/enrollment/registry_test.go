package enrollment

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	"go.etcd.io/bbolt"

	"github.com/dacline/dacline/airgap-bundles/bundle"
	"github.com/dacline/dacline/airgap-bundles/bundle/bundletest"
)

func setup(t *testing.T) (*bundletest.Appliance, *Registry) {
	app := bundletest.NewAppliance(t, "appliance-1")
	db, err := bbolt.Open(filepath.Join(t.TempDir(), "appliance.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	r, err := New(db)
	if err != nil {
		t.Fatal(err)
	}
	return app, r
}

// station is a software station (what lineclient/stationhome holds; the appliance
// side does not import lineclient).
type station struct {
	Identity *bundle.StationIdentity
	signer   *bundle.NoteSigner
	app      *bundletest.Appliance
}

// newStation makes a station with fresh keys and writes its enrollment bundle for app.
func newStation(t *testing.T, app *bundletest.Appliance, name string) (*station, string) {
	ageID, _ := age.GenerateX25519Identity()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	sid, err := bundle.NewStationIdentity(name, ageID.Recipient(), pub, "FFF1", "8000")
	if err != nil {
		t.Fatal(err)
	}
	s, _ := bundle.NewNoteSigner(name, priv)
	b, _ := bundle.NewBuilder(bundle.Header{Kind: bundle.KindEnrollment, Sender: name}, t.TempDir())
	defer b.Close()
	sj, _ := json.Marshal(sid)
	b.AddFile("station.json", strings.NewReader(string(sj)+"\n"))
	rcpt, _ := app.ID.Recipient()
	path, _, err := b.WriteToDir(t.TempDir(), bundle.WriteOptions{Signer: s, Recipient: rcpt})
	if err != nil {
		t.Fatal(err)
	}
	return &station{Identity: sid, signer: s, app: app}, path
}

func enroll(t *testing.T, r *Registry, app *bundletest.Appliance, path string) (*Station, error) {
	p, err := r.Inspect(path, app.Age, t.TempDir())
	if err != nil {
		return nil, err
	}
	defer p.Close()
	return r.Enroll(p)
}

// csrBatch is a csr-batch from station h, as the appliance receives it.
func csrBatch(t *testing.T, h *station) string {
	s := h.signer
	rcpt, _ := h.app.ID.Recipient()
	b, _ := bundle.NewBuilder(bundle.Header{Kind: bundle.KindCSRBatch, Sender: h.Identity.Name}, t.TempDir())
	defer b.Close()
	b.AddFile("csrs.jsonl", strings.NewReader("{}\n"))
	path, _, err := b.WriteToDir(t.TempDir(), bundle.WriteOptions{Signer: s, Recipient: rcpt})
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func TestEnrollResolveRevoke(t *testing.T) {
	app, r := setup(t)
	h, path := newStation(t, app, "line-1")
	p, err := r.Inspect(path, app.Age, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if p.Station.Fingerprint != h.Identity.Fingerprint {
		t.Fatalf("appliance shows fingerprint %s, station shows %s", p.Station.Fingerprint, h.Identity.Fingerprint)
	}
	s, err := r.Enroll(p)
	p.Close()
	if err != nil {
		t.Fatal(err)
	}
	if s.State != StateActive || s.Name != "line-1" || s.EnrollmentBatch == "" {
		t.Fatalf("record %+v", s)
	}

	// The station's csr-batch is now accepted.
	read := func() error {
		b, err := bundle.ReadFile(csrBatch(t, h), bundle.ReadOptions{Identities: []age.Identity{app.Age}, Resolve: r.Resolve,
			Kinds: []bundle.Kind{bundle.KindCSRBatch}, TempDir: t.TempDir()})
		if err == nil {
			b.Close()
		}
		return err
	}
	if err := read(); err != nil {
		t.Fatal(err)
	}
	if rc, err := r.Recipient("line-1"); err != nil || rc.String() != h.Identity.AgeRecipient {
		t.Fatalf("recipient %v %v", rc, err)
	}

	// The same enrollment bundle again: a replay.
	if _, err := enroll(t, r, app, path); !errors.Is(err, bundle.ErrReplay) {
		t.Fatalf("replayed enrollment: %v", err)
	}
	// Another station under the same name.
	_, path2 := newStation(t, app, "line-1")
	if _, err := enroll(t, r, app, path2); !errors.Is(err, ErrNameTaken) {
		t.Fatalf("same name: %v", err)
	}

	// Revoked: bundles refused, names never reused.
	if _, err := r.Revoke("line-1", "stolen laptop"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Revoke("line-1", "again"); !errors.Is(err, ErrRevoked) {
		t.Fatalf("revoke twice: %v", err)
	}
	err = read()
	if !errors.Is(err, bundle.ErrUnknownSender) || !errors.Is(err, ErrRevoked) {
		t.Fatalf("csr-batch of a revoked station: %v", err)
	}
	if _, err := r.Recipient("line-1"); !errors.Is(err, ErrRevoked) {
		t.Fatalf("recipient of a revoked station: %v", err)
	}
	if _, err := enroll(t, r, app, path2); !errors.Is(err, ErrNameTaken) || !strings.Contains(err.Error(), "revoked") {
		t.Fatalf("re-enroll a revoked name: %v", err)
	}
	list, err := r.List()
	if err != nil || len(list) != 1 || list[0].State != StateRevoked || list[0].RevokeReason != "stolen laptop" {
		t.Fatalf("list %+v %v", list, err)
	}
}

func TestEnrollRefusals(t *testing.T) {
	app, r := setup(t)
	// Unknown station's csr-batch.
	h, _ := newStation(t, app, "line-9")
	_, err := bundle.ReadFile(csrBatch(t, h), bundle.ReadOptions{Identities: []age.Identity{app.Age}, Resolve: r.Resolve, TempDir: t.TempDir()})
	if !errors.Is(err, bundle.ErrUnknownSender) || !errors.Is(err, ErrNotEnrolled) {
		t.Fatalf("csr-batch of an unenrolled station: %v", err)
	}
	// An enrollment bundle for another appliance.
	other := bundletest.NewAppliance(t, "appliance-2")
	_, path := newStation(t, other, "line-2")
	if _, err := enroll(t, r, app, path); !errors.Is(err, bundle.ErrWrongRecipient) {
		t.Fatalf("enrollment for another appliance: %v", err)
	}
	// A csr-batch presented as enrollment.
	if _, err := enroll(t, r, app, csrBatch(t, h)); !errors.Is(err, bundle.ErrUnknownKind) {
		t.Fatalf("csr-batch as enrollment: %v", err)
	}
	// Same keys under a second name: a station that copies another's home.
	_, p1 := newStation(t, app, "line-3")
	if _, err := enroll(t, r, app, p1); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Get("nobody"); !errors.Is(err, ErrNotEnrolled) {
		t.Fatalf("get unknown: %v", err)
	}
}

// A station.json that names another key than the bundle's signer is refused.
func TestEnrollIdentityMismatch(t *testing.T) {
	app, r := setup(t)
	victim, _ := newStation(t, app, "line-1")
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	s, _ := bundle.NewNoteSigner("line-1", priv)
	b, _ := bundle.NewBuilder(bundle.Header{Kind: bundle.KindEnrollment, Sender: "line-1"}, t.TempDir())
	defer b.Close()
	sj, _ := json.Marshal(victim.Identity)
	b.AddFile("station.json", strings.NewReader(string(sj)+"\n"))
	rcpt, _ := app.ID.Recipient()
	path, _, err := b.WriteToDir(t.TempDir(), bundle.WriteOptions{Signer: s, Recipient: rcpt})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := enroll(t, r, app, path); !errors.Is(err, ErrIdentityInvalid) {
		t.Fatalf("station.json with another key: %v", err)
	}
}
