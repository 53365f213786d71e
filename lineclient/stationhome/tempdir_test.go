package stationhome

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/dacline/dacline/airgap-bundles/bundle"
	"github.com/dacline/dacline/airgap-bundles/bundle/bundletest"
)

// TestTempDirClearsKilledRuns: the station's bundle temporary files live in
// <home>/tmp (0700), not the system temp dir; the first TempDir call of a
// process removes what killed runs left there, later calls (while this
// process's own bundles may be open) remove nothing.
func TestTempDirClearsKilledRuns(t *testing.T) {
	sys := t.TempDir()
	app := bundletest.NewAppliance(t, "appliance-1")
	dir := filepath.Join(t.TempDir(), "station")
	h, err := Init(dir, InitOptions{Appliance: app.ID, Name: "line-1", VID: 0xFFF1, PID: 0x8000})
	if err != nil {
		t.Fatal(err)
	}
	h.Close()
	tmp := filepath.Join(dir, TempDirName)
	stale := []string{filepath.Join(tmp, bundle.ReadTempPrefix+"1"), filepath.Join(tmp, bundle.SpoolTempPrefix+"2")}
	for _, d := range stale {
		os.MkdirAll(d, 0o700)
		os.WriteFile(filepath.Join(d, "plaintext.tar"), []byte("dac-batch plaintext"), 0o600)
	}

	t.Setenv("TMPDIR", sys)
	h, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := h.TempDir()
	if err != nil || got != tmp {
		t.Fatalf("TempDir %q, %v; want %q", got, err, tmp)
	}
	for _, d := range stale {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s left behind by a killed run was not removed", d)
		}
	}
	if fi, err := os.Stat(tmp); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("tmp: %v %v", fi, err)
	}
	// The enrollment bundle's spool goes there too, and is gone after.
	if _, _, err := h.WriteEnrollment(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(sys); len(ents) != 0 {
		t.Fatalf("system temp dir holds %d entries", len(ents))
	}
	// A second call in the same process leaves live files alone.
	live := filepath.Join(tmp, bundle.ReadTempPrefix+"live")
	os.Mkdir(live, 0o700)
	if _, err := h.TempDir(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(live); err != nil {
		t.Fatal("a second TempDir call removed a live temp dir")
	}
	h.Close()
}
