package auditlog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
)

// TestExportHasBoundedFiles is the regression test for exports that wrote
// one file per checkpoint and so outgrew the log-export bundle's 32-file
// limit after ~32 ceremonies: 200 ceremonies still make a five-file export
// that verifies, with every checkpoint read back from checkpoints.txt.
func TestExportHasBoundedFiles(t *testing.T) {
	l, _ := standardLog(t)
	for i := range 200 {
		l.ceremony("line-1", fmt.Sprintf("batch-%03d", i), 100+i, 1)
	}
	dir := l.writeExport(t)
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if want := []string{ExportCheckpointsFile, ExportEntriesFile, ExportInfoFile}; strings.Join(names, " ") != strings.Join(want, " ") {
		t.Fatalf("export files %v, want %v", names, want)
	}
	x, err := OpenExport(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(x.Checkpoints) != len(l.signed) {
		t.Fatalf("read %d checkpoints, wrote %d", len(x.Checkpoints), len(l.signed))
	}
	for i, c := range x.Checkpoints {
		if !bytes.Equal(c.Data, l.signed[i]) {
			t.Fatalf("checkpoint %d (%s) read back differently", i+1, c.Name)
		}
	}
	r := verifyDir(t, dir, VerifyOptions{})
	if !r.OK() || r.Checkpoints != len(l.signed) {
		t.Fatalf("report: ok=%v checkpoints=%d, want %d: %+v", r.OK(), r.Checkpoints, len(l.signed), r.Discrepancies)
	}
	// The auditor keeps checkpoints.txt whole and gives it to the next audit.
	known, err := ReadKnownCheckpoints(filepath.Join(dir, ExportCheckpointsFile))
	if err != nil || len(known) != len(l.signed) {
		t.Fatalf("ReadKnownCheckpoints: %d notes, %v", len(known), err)
	}
	if r := verifyDir(t, dir, VerifyOptions{Known: known}); !r.OK() {
		t.Fatalf("export does not extend its own checkpoints: %+v", r.Discrepancies)
	}
	// Every dacline checkpoint is five lines: tail -n 5 is the latest.
	data, _ := os.ReadFile(filepath.Join(dir, ExportCheckpointsFile))
	lines := strings.SplitAfter(string(data), "\n")
	if tail := strings.Join(lines[len(lines)-6:], ""); tail != string(l.signed[len(l.signed)-1]) {
		t.Fatalf("tail -n 5 of checkpoints.txt is not the latest checkpoint:\n%s", tail)
	}
}

// TestKnownCheckpointsFromEarlierExport: the checkpoints.txt kept from an
// earlier export catches a later export that rolled the log back.
func TestKnownCheckpointsFromEarlierExport(t *testing.T) {
	l, _ := standardLog(t)
	early := l.writeExport(t)
	kept, err := ReadKnownCheckpoints(filepath.Join(early, ExportCheckpointsFile))
	if err != nil {
		t.Fatal(err)
	}
	// The later "export" has lost the last ceremony.
	c, _ := SplitSigned(l.signed[1])
	l.entries, l.signed = l.entries[:c.Size], l.signed[:2]
	r := verifyDir(t, l.writeExport(t), VerifyOptions{Known: kept})
	wantKind(t, r, KindStale, c.Size, ExportCheckpointsFile+" note 3 (line 11)")
}

func TestSplitNotes(t *testing.T) {
	l, _ := standardLog(t)
	all := bytes.Join(l.signed, nil)
	got, err := SplitNotes("c.txt", all)
	if err != nil || len(got) != len(l.signed) {
		t.Fatalf("%d notes, %v", len(got), err)
	}
	for i, n := range got {
		if !bytes.Equal(n.Data, l.signed[i]) {
			t.Fatalf("note %d differs", i)
		}
		if _, err := note.Open(n.Data, note.VerifierList(mustVerifier(t))); err != nil {
			t.Fatalf("%s does not verify alone: %v", n.Name, err)
		}
	}
	if one, err := SplitNotes("one.note", l.signed[0]); err != nil || len(one) != 1 || one[0].Name != "one.note" {
		t.Fatalf("one note: %+v %v", one, err)
	}
	// Two signatures on one note stay one note.
	_, s2, _ := testKey(t, 2)
	_, s1, _ := testKey(t, 1)
	two, _ := note.Sign(&note.Note{Text: "lab\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"}, s1, s2)
	if got, err := SplitNotes("c", append(append([]byte{}, two...), l.signed[0]...)); err != nil || len(got) != 2 || !bytes.Equal(got[0].Data, two) {
		t.Fatalf("two-signature note: %d notes, %v", len(got), err)
	}

	first := string(l.signed[0])
	for _, c := range []struct{ name, data, want string }{
		{"empty", "", "empty"},
		{"no final newline", strings.TrimSuffix(all2(l), "\n"), "does not end with a newline"},
		{"truncated before signature", "lab\n1\nroot\n\n", "no signature lines"},
		{"truncated text", first + "lab\n2\n", "no signature lines"},
		{"blank line between notes", first + "\n" + first, "line 6: empty line where a note's text should start"},
		{"signature without blank", "lab\n\u2014 lab abc\n", "line 2: signature line with no empty line"},
		{"blank then text", "lab\n1\n\nroot\n", "line 4: a note's empty line must be followed by a signature line"},
		{"oversized", strings.Repeat("x", MaxCheckpointSize) + "\n\n\u2014 k s\n", "larger than"},
	} {
		if _, err := SplitNotes("c.txt", []byte(c.data)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want %q", c.name, err, c.want)
		}
	}
	if _, err := JoinNotes([][]byte{l.signed[0], []byte("not a note\n")}); err == nil || !strings.Contains(err.Error(), "checkpoint 2 is not one signed note") {
		t.Errorf("JoinNotes of a non-note: %v", err)
	}
	if _, err := JoinNotes([][]byte{all}); err == nil {
		t.Error("JoinNotes took several notes as one")
	}
}

func all2(l *testLog) string { return string(bytes.Join(l.signed, nil)) }

func mustVerifier(t *testing.T) note.Verifier {
	_, _, v := testKey(t, 1)
	return v
}

// TestReadV1Export: an export written before checkpoints.txt (version 1,
// one checkpoint-NNNNNN.note per checkpoint) still verifies; a version
// this verifier does not know, or a version 2 export without
// checkpoints.txt, is refused by name.
func TestReadV1Export(t *testing.T) {
	l, _ := standardLog(t)
	dir := l.writeExport(t)
	os.Remove(filepath.Join(dir, ExportCheckpointsFile))
	for i, c := range l.signed {
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("checkpoint-%06d.note", i+1)), c, 0o644)
	}
	setVersion := func(v int) {
		info := ExportInfo{Version: v, Origin: testOrigin, TreeSize: int64(len(l.entries))}
		b, _ := json.Marshal(info)
		os.WriteFile(filepath.Join(dir, ExportInfoFile), b, 0o644)
	}
	if _, err := OpenExport(dir); err == nil || !strings.Contains(err.Error(), "no checkpoints.txt") {
		t.Fatalf("version 2 export without checkpoints.txt: %v", err)
	}
	setVersion(1)
	r := verifyDir(t, dir, VerifyOptions{})
	if !r.OK() || r.Checkpoints != len(l.signed) {
		t.Fatalf("version 1 export: ok=%v checkpoints=%d: %+v", r.OK(), r.Checkpoints, r.Discrepancies)
	}
	setVersion(3)
	if _, err := OpenExport(dir); err == nil || !strings.Contains(err.Error(), "version 3, this verifier reads versions 1 and 2") {
		t.Fatalf("version 3: %v", err)
	}
}

// TestCheckpointsFileDamaged: a damaged checkpoints.txt refuses the export
// with the line that is wrong; a forged note in it is a discrepancy naming
// the note.
func TestCheckpointsFileDamaged(t *testing.T) {
	l, _ := standardLog(t)
	dir := l.writeExport(t)
	p := filepath.Join(dir, ExportCheckpointsFile)
	data, _ := os.ReadFile(p)
	os.WriteFile(p, bytes.Replace(data, []byte("\n\n"), []byte("\n"), 2), 0o644)
	if _, err := OpenExport(dir); err == nil || !strings.Contains(err.Error(), "checkpoints.txt line") {
		t.Fatalf("damaged checkpoints.txt: %v", err)
	}
	// A flipped signature byte in the second note.
	notes, _ := SplitNotes("x", data)
	bad := bytes.Clone(notes[1].Data)
	bad[len(bad)-20] ^= 1
	var out []byte
	for i, n := range notes {
		if i == 1 {
			out = append(out, bad...)
		} else {
			out = append(out, n.Data...)
		}
	}
	os.WriteFile(p, out, 0o644)
	r := verifyDir(t, dir, VerifyOptions{})
	wantKind(t, r, KindCheckpointSignature, -1, "checkpoints.txt note 2 (line 6)")
}

func FuzzSplitNotes(f *testing.F) {
	l, _ := standardLog(f)
	f.Add(bytes.Join(l.signed, nil))
	f.Add(l.signed[0])
	f.Add([]byte("a\n\n\u2014 k s\nb\n\n\u2014 k s\n\u2014 k t\n"))
	f.Add([]byte("\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		notes, err := SplitNotes("f", data)
		if err != nil {
			return
		}
		var joined []byte
		for _, n := range notes {
			if len(n.Data) == 0 || len(n.Data) > MaxCheckpointSize || !bytes.Contains(n.Data, []byte("\n\n\u2014 ")) {
				t.Fatalf("bad note %q", n.Data)
			}
			joined = append(joined, n.Data...)
		}
		if !bytes.Equal(joined, data) {
			t.Fatal("notes do not concatenate back to the file")
		}
		re, err := JoinNotes(func() (b [][]byte) {
			for _, n := range notes {
				b = append(b, n.Data)
			}
			return
		}())
		if err != nil || !bytes.Equal(re, data) {
			t.Fatalf("JoinNotes of split notes: %v", err)
		}
	})
}
