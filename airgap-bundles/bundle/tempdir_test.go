package bundle

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestKilledReaderLeftoversStayInTempDir is the regression test for killed
// `appliance sign` runs leaving decrypted bundle copies in /tmp: a reader
// that never reaches Close (the process was killed) leaves its plaintext
// only in ReadOptions.TempDir, private to its owner, and PrepareTempDir at
// the next start removes it and a builder's spool, and nothing else.
func TestKilledReaderLeftoversStayInTempDir(t *testing.T) {
	sys := t.TempDir()
	t.Setenv("TMPDIR", sys) // anything written to os.TempDir() would land here
	f := newFixture(t)
	raw := seal(t, Header{Kind: KindCSRBatch, BatchID: fixedID(7), Created: fixedTime, Counts: map[string]int64{"csrs": 3},
		Labels: map[string]string{"vid": "FFF1", "pid": "8000"}},
		f.station, f.appliance.id.Recipient(), payloadFile{"csrs.jsonl", csrLines(3)})

	home := t.TempDir()
	tmp := filepath.Join(home, "tmp")
	if n, err := PrepareTempDir(tmp); err != nil || n != 0 {
		t.Fatalf("PrepareTempDir on a new dir: %d, %v", n, err)
	}
	if fi, err := os.Stat(tmp); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("temp dir mode: %v %v", fi, err)
	}
	opts := f.applianceOpts(t)
	opts.TempDir = tmp
	if _, err := Read(bytes.NewReader(raw), opts); err != nil { // never closed: "killed"
		t.Fatal(err)
	}
	bl, err := NewBuilder(Header{Kind: KindDACBatch, Sender: "appliance-1"}, tmp) // never closed either
	if err != nil {
		t.Fatal(err)
	}
	if err := bl.AddFile("dacs.jsonl", strings.NewReader("x\n")); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(sys); len(ents) != 0 {
		t.Fatalf("the system temp dir got %d entries, want none", len(ents))
	}
	plain, _ := filepath.Glob(filepath.Join(tmp, ReadTempPrefix+"*", "plaintext.tar"))
	if len(plain) != 1 {
		t.Fatalf("want the killed reader's plaintext.tar in the temp dir, found %v", plain)
	}
	if fi, err := os.Stat(filepath.Dir(plain[0])); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("reader dir mode: %v %v", fi, err)
	}

	// Not ours: kept. A symlink named like ours is removed, not followed.
	keep := filepath.Join(tmp, "notes.txt")
	os.WriteFile(keep, []byte("keep"), 0o600)
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "precious"), []byte("x"), 0o600)
	os.Symlink(outside, filepath.Join(tmp, ReadTempPrefix+"link"))
	os.Chmod(tmp, 0o755)

	n, err := PrepareTempDir(tmp)
	if err != nil || n != 3 {
		t.Fatalf("PrepareTempDir removed %d, %v; want 3", n, err)
	}
	ents, _ := os.ReadDir(tmp)
	if len(ents) != 1 || ents[0].Name() != "notes.txt" {
		t.Fatalf("left in temp dir: %v", ents)
	}
	if _, err := os.Stat(filepath.Join(outside, "precious")); err != nil {
		t.Fatal("PrepareTempDir followed a symlink out of the temp dir")
	}
	if fi, _ := os.Stat(tmp); fi.Mode().Perm() != 0o700 {
		t.Fatalf("temp dir mode %04o after PrepareTempDir, want 0700", fi.Mode().Perm())
	}

	// A file or a symlink where the directory should be is refused.
	file := filepath.Join(home, "file")
	os.WriteFile(file, nil, 0o600)
	link := filepath.Join(home, "link")
	os.Symlink(outside, link)
	for _, p := range []string{file, link, ""} {
		if _, err := PrepareTempDir(p); err == nil {
			t.Errorf("PrepareTempDir(%q) accepted", p)
		}
	}
}
