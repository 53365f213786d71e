package stationhome

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"filippo.io/age"
	"go.etcd.io/bbolt"

	"github.com/dacline/dacline/airgap-bundles/bundle"
	"github.com/dacline/dacline/airgap-bundles/bundle/bundletest"
)

func TestInitOpenEnroll(t *testing.T) {
	app := bundletest.NewAppliance(t, "appliance-1")
	dir := filepath.Join(t.TempDir(), "station")
	h, err := Init(dir, InitOptions{Appliance: app.ID, Name: "line-1", VID: 0xFFF1, PID: 0x8000, CD: must(testCD(t))})
	if err != nil {
		t.Fatal(err)
	}
	if h.Config.VID != "FFF1" || h.Config.PID != "8000" || h.Identity.Name != "line-1" || !h.Config.HasCD {
		t.Fatalf("config %+v", h.Config)
	}
	for name, want := range map[string]os.FileMode{".": 0o700, AgeIdentityFile: 0o600, SigningKeyFile: 0o600, DBFile: 0o600} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %04o (%v)", name, fi.Mode().Perm(), want, err)
		}
	}
	// station.db is usable by other packages and has the consumed bucket.
	h.DB().View(func(tx *bbolt.Tx) error {
		if tx.Bucket([]byte(bundle.ConsumedBucket)) == nil {
			t.Error("no consumed-batches bucket")
		}
		return nil
	})
	// Open while open: one process at a time.
	if _, err := Open(dir); !errors.Is(err, ErrInUse) {
		t.Fatalf("second Open: %v", err)
	}
	out := t.TempDir()
	path, m, err := h.WriteEnrollment(out)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(path) != bundle.FileName(bundle.KindEnrollment, "line-1", m.BatchID, true) {
		t.Fatalf("bundle name %s", path)
	}
	// The appliance can read it (self-signed) and it carries the station identity.
	b, err := bundle.ReadFile(path, bundle.ReadOptions{Identities: []age.Identity{app.Age}, SelfSigned: true, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	r, _ := b.Open("station.json")
	sid, err := bundle.ParseStationIdentity(r)
	b.Close()
	if err != nil || sid.Fingerprint != h.Identity.Fingerprint {
		t.Fatalf("station.json: %+v %v", sid, err)
	}
	h.Close()

	// Init refuses an existing home; Open refuses loose permissions.
	if _, err := Init(dir, InitOptions{Appliance: app.ID, Name: "line-1", VID: 0xFFF1, PID: 0x8000}); !errors.Is(err, ErrExists) {
		t.Fatalf("re-init: %v", err)
	}
	os.Chmod(filepath.Join(dir, SigningKeyFile), 0o644)
	if _, err := Open(dir); !errors.Is(err, ErrPermissions) {
		t.Fatalf("open with a 0644 key: %v", err)
	}
	os.Chmod(filepath.Join(dir, SigningKeyFile), 0o600)
	h2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	h2.Close()
	if _, err := Open(filepath.Join(t.TempDir(), "none")); !errors.Is(err, ErrNotInitialized) {
		t.Fatalf("open missing: %v", err)
	}
}

func TestInitRefusesBadInput(t *testing.T) {
	app := bundletest.NewAppliance(t, "appliance-1")
	for name, o := range map[string]InitOptions{
		"name":  {Appliance: app.ID, Name: "Line 1", VID: 0xFFF1, PID: 1},
		"vid":   {Appliance: app.ID, Name: "l", VID: 0, PID: 1},
		"pid":   {Appliance: app.ID, Name: "l", VID: 1, PID: 0},
		"cd":    {Appliance: app.ID, Name: "l", VID: 1, PID: 1, CD: []byte("not der")},
		"no id": {Name: "l", VID: 1, PID: 1},
	} {
		dir := filepath.Join(t.TempDir(), "h")
		if _, err := Init(dir, o); err == nil {
			t.Errorf("%s: accepted", name)
		}
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("%s: left a home behind", name)
		}
	}
}
