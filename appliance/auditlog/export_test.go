package auditlog

import (
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
	r, err := shared.Verify(x, shared.VerifyOptions{Verifier: v, Proofs: proofs,
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
