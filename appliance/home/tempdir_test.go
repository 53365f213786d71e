package home_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/dacline/dacline/airgap-bundles/bundle"
	"github.com/dacline/dacline/appliance/home"
)

// TestTempDirClearsKilledRuns is the home side of the regression test for
// killed `appliance sign` runs leaving decrypted bundles in /tmp: bundle
// temporary files live in <home>/tmp (0700); the first TempDir call of a
// process removes what killed runs left, which is safe because no other
// process can have the home open; later calls remove nothing.
func TestTempDirClearsKilledRuns(t *testing.T) {
	dir := newHome(t)
	tmp := filepath.Join(dir, home.TempDirName)
	stale := []string{filepath.Join(tmp, bundle.ReadTempPrefix+"123"), filepath.Join(tmp, bundle.SpoolTempPrefix+"456")}
	for _, d := range stale {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(d, "plaintext.tar"), []byte("csr-batch plaintext"), 0o600)
	}
	os.Chmod(tmp, 0o755)

	h, err := home.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	// The home is exclusive: nothing else can be using its tmp.
	if _, err := home.Open(dir); !errors.Is(err, home.ErrHomeInUse) {
		t.Fatalf("second Open: %v", err)
	}
	got, err := h.TempDir()
	if err != nil || got != tmp {
		t.Fatalf("TempDir %q, %v; want %q", got, err, tmp)
	}
	for _, d := range stale {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s left by a killed run was not removed", d)
		}
	}
	if fi, err := os.Stat(tmp); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("tmp: %v %v", fi, err)
	}
	live := filepath.Join(tmp, bundle.ReadTempPrefix+"live")
	os.Mkdir(live, 0o700)
	if _, err := h.TempDir(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(live); err != nil {
		t.Fatal("a second TempDir call removed a live temp dir")
	}
}
