package applog

import (
	"crypto/ed25519"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	shared "github.com/dacline/dacline/shared/auditlog"
)

// TestExportRoundTrip writes two exports from a real bbolt log and checks
// them with the auditor's verifier, including the bundle proofs and the
// consistency proof between the exports.
func TestExportRoundTrip(t *testing.T) {
	f := newFixture(t)
	f.setup(t)
	signed1, seqs1 := f.ceremony(t, "b1", 4, 0)
	v, _ := note.NewVerifier(f.vkey)

	out1 := filepath.Join(f.dir, "export-1")
	res1, err := f.log.ExportDir(out1, f.signer)
	if err != nil {
		t.Fatal(err)
	}
	if res1.PreviousSize != 0 {
		t.Fatalf("first export has previous size %d", res1.PreviousSize)
	}
	if _, err := os.Stat(filepath.Join(out1, shared.ExportPreviousFile)); !os.IsNotExist(err) {
		t.Fatal("first export has a previous checkpoint")
	}

	signed2, seqs2 := f.ceremony(t, "b2", 3, 10)
	out2 := filepath.Join(f.dir, "export-2")
	res2, err := f.log.ExportDir(out2, f.signer)
	if err != nil {
		t.Fatal(err)
	}
	if res2.PreviousSize != res1.Checkpoint.Size {
		t.Fatalf("second export's previous size %d, want %d", res2.PreviousSize, res1.Checkpoint.Size)
	}

	var proofs []shared.BundleProof
	for _, c := range []struct {
		signed []byte
		seqs   []int64
	}{{signed1, seqs1}, {signed2, seqs2}} {
		for _, i := range c.seqs {
			p, err := f.log.TLogProof(i, c.signed)
			if err != nil {
				t.Fatal(err)
			}
			proofs = append(proofs, shared.BundleProof{Name: "p", Data: p})
		}
	}
	x, err := shared.OpenExport(out2)
	if err != nil {
		t.Fatal(err)
	}
	r, err := shared.Verify(x, shared.VerifyOptions{Verifier: v, VerifierKey: f.vkey, Proofs: proofs,
		Known: []shared.NamedFile{{Name: "export-1", Data: res1.Signed}}})
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	r.WriteText(&sb)
	if !r.OK() {
		t.Fatalf("export did not verify:\n%s", sb.String())
	}
	if r.EntriesByType[shared.TypeLogExported] != 2 || r.Issued != 7 || r.Checkpoints != 4 {
		t.Fatalf("unexpected report:\n%s", sb.String())
	}
	// Exports are never overwritten.
	if _, err := f.log.ExportDir(out2, f.signer); err == nil {
		t.Fatal("export over an existing directory")
	}
}

// TestExportBundle writes a signed-only log-export bundle and opens it as an
// auditor would: signature first, then the export inside.
func TestExportBundle(t *testing.T) {
	f := newFixture(t)
	f.setup(t)
	f.ceremony(t, "b1", 3, 0)
	priv := ed25519.NewKeyFromSeed(make([]byte, 32))
	out := filepath.Join(f.dir, "usb")
	os.Mkdir(out, 0o755)
	path, res, err := f.log.ExportBundle(out, origin, priv, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(filepath.Base(path), "log-export-"+origin+"-") || !strings.HasSuffix(path, ".tar") {
		t.Fatalf("bundle name %s", path)
	}
	for _, p := range []string{path, out} {
		x, closeFn, err := OpenExport(p, origin, priv.Public().(ed25519.PublicKey), t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		v, _ := note.NewVerifier(f.vkey)
		r, err := shared.Verify(x, shared.VerifyOptions{Verifier: v, VerifierKey: f.vkey})
		closeFn()
		if err != nil || !r.OK() || r.TreeSize != res.Checkpoint.Size {
			t.Fatalf("verify %s: %v %+v", p, err, r.Discrepancies)
		}
	}
	// Another key: the bundle is refused before anything is read.
	other := ed25519.NewKeyFromSeed(bytesOf(5))
	if _, _, err := OpenExport(path, origin, other.Public().(ed25519.PublicKey), t.TempDir()); err == nil {
		t.Fatal("bundle accepted with another appliance key")
	}
}

func bytesOf(b byte) []byte {
	s := make([]byte, 32)
	for i := range s {
		s[i] = b
	}
	return s
}

// TestExportBundleAfterManyCeremonies is the regression test for `appliance
// log export` failing with "manifest: files: 48 entries, limit 32" once the
// log held more checkpoints than a bundle may carry files: 40 ceremonies,
// two exports, both bundles read back and verified with all checkpoints.
func TestExportBundleAfterManyCeremonies(t *testing.T) {
	f := newFixture(t)
	f.setup(t)
	priv := ed25519.NewKeyFromSeed(make([]byte, 32))
	pub := priv.Public().(ed25519.PublicKey)
	v, _ := note.NewVerifier(f.vkey)
	for round, ceremonies := range []int{40, 5} {
		for i := range ceremonies {
			f.ceremony(t, fmt.Sprintf("b%d-%02d", round, i), 1, 100*round+i)
		}
		out := filepath.Join(f.dir, fmt.Sprintf("usb-%d", round))
		os.Mkdir(out, 0o755)
		path, res, err := f.log.ExportBundle(out, origin, priv, t.TempDir())
		if err != nil {
			t.Fatalf("export %d: %v", round+1, err)
		}
		x, closeFn, err := OpenExport(path, origin, pub, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		r, err := shared.Verify(x, shared.VerifyOptions{Verifier: v, VerifierKey: f.vkey})
		closeFn()
		all, _ := f.log.Checkpoints()
		if err != nil || !r.OK() || r.TreeSize != res.Checkpoint.Size || r.Checkpoints != len(all) || len(all) < 41 {
			t.Fatalf("export %d: %v, ok=%v, %d checkpoints of %d: %+v", round+1, err, r.OK(), r.Checkpoints, len(all), r.Discrepancies)
		}
		if round == 1 && res.PreviousSize == 0 {
			t.Fatal("second export has no previous checkpoint")
		}
	}
}
