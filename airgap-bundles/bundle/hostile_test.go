package bundle

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
)

// craftEntry is one entry of a hand-made archive.
type craftEntry struct {
	name    string
	content string
	typ     byte   // 0: regular via the canonical writer; else written with archive/tar
	link    string // for links
	mode    int64  // for archive/tar entries; 0 = 0644
	uname   string
}

// craft builds a properly signed bundle around a hostile archive: the manifest lists
// files (computed from the regular entries unless m is given), manifest.json and
// manifest.sig come first, then entries. The structural checks must refuse it, since the
// signature is good.
func craft(t *testing.T, f *fixture, files []FileEntry, entries []craftEntry, mutate func(m *Manifest)) []byte {
	t.Helper()
	m := &Manifest{
		Format: FormatName, Version: FormatVersion, Kind: KindCSRBatch, BatchID: fixedID(7), Sender: f.station.name,
		Recipient: f.appliance.id.Recipient().String(), Created: fixedTime, Counts: map[string]int64{}, Files: files,
	}
	if mutate != nil {
		mutate(m)
	}
	mb, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := signManifest(f.station.signer, m, mb)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := &tarWriter{w: &buf, mtime: fixedTime.Unix()}
	tw.writeFile(ManifestName, int64(len(mb)), bytes.NewReader(mb))
	tw.writeFile(SignatureName, int64(len(sig)), bytes.NewReader(sig))
	for _, e := range entries {
		if e.typ == 0 {
			if err := tw.writeFile(e.name, int64(len(e.content)), strings.NewReader(e.content)); err != nil {
				t.Fatal(err)
			}
			continue
		}
		var one bytes.Buffer
		aw := tar.NewWriter(&one)
		mode := e.mode
		if mode == 0 {
			mode = 0o644
		}
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Linkname: e.link, Mode: mode, Uname: e.uname, ModTime: fixedTime, Format: tar.FormatUSTAR}
		if e.typ == tar.TypeReg {
			h.Size = int64(len(e.content))
		}
		if err := aw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		aw.Write([]byte(e.content))
		aw.Flush()
		buf.Write(one.Bytes())
	}
	tw.close()
	return encrypt(t, buf.Bytes(), f.appliance.id.Recipient())
}

func fe(name, content string) FileEntry {
	s := sha256.Sum256([]byte(content))
	e := FileEntry{Name: name, Size: int64(len(content)), SHA256: hex.EncodeToString(s[:])}
	if strings.HasSuffix(name, ".jsonl") {
		n := int64(strings.Count(content, "\n"))
		e.Lines = &n
	}
	return e
}

func TestHostileArchives(t *testing.T) {
	f := newFixture(t)
	csrs := csrLines(3)
	good := []FileEntry{fe("csrs.jsonl", csrs)}
	cases := []struct {
		name    string
		files   []FileEntry
		entries []craftEntry
		mutate  func(*Manifest)
		reason  error
		detail  string
	}{
		{"control: well formed", good, []craftEntry{{name: "csrs.jsonl", content: csrs}}, nil, nil, ""},
		{"traversal", good, []craftEntry{{name: "csrs.jsonl", content: csrs}, {name: "../evil", content: "x"}}, nil, ErrStructure, "traversal"},
		{"absolute path", good, []craftEntry{{name: "csrs.jsonl", content: csrs}, {name: "/etc/passwd", content: "x"}}, nil, ErrStructure, "absolute"},
		{"subdirectory entry", good, []craftEntry{{name: "csrs.jsonl", content: csrs}, {name: "a/b", content: "x"}}, nil, ErrStructure, "directories"},
		{"symlink", good, []craftEntry{{name: "csrs.jsonl", content: csrs}, {name: "link", typ: tar.TypeSymlink, link: "/etc/passwd"}}, nil, ErrStructure, "links"},
		{"hard link", good, []craftEntry{{name: "csrs.jsonl", content: csrs}, {name: "link", typ: tar.TypeLink, link: "csrs.jsonl"}}, nil, ErrStructure, "links"},
		{"directory", good, []craftEntry{{name: "d/", typ: tar.TypeDir}, {name: "csrs.jsonl", content: csrs}}, nil, ErrStructure, "director"},
		{"archive/tar USTAR regular file is canonical", good, []craftEntry{{name: "csrs.jsonl", content: csrs, typ: tar.TypeReg}}, nil, nil, ""},
		{"executable mode", good, []craftEntry{{name: "csrs.jsonl", content: csrs, typ: tar.TypeReg, mode: 0o755}}, nil, ErrStructure, "canonical"},
		{"owner name", good, []craftEntry{{name: "csrs.jsonl", content: csrs, typ: tar.TypeReg, uname: "root"}}, nil, ErrStructure, "canonical"},
		{"duplicate entry", good, []craftEntry{{name: "csrs.jsonl", content: csrs}, {name: "csrs.jsonl", content: csrs}}, nil, ErrStructure, "duplicate"},
		{"extra entry", good, []craftEntry{{name: "csrs.jsonl", content: csrs}, {name: "extra.txt", content: "x"}}, nil, ErrStructure, "extra entry extra.txt"},
		{"missing entry", []FileEntry{fe("csrs.jsonl", csrs), fe("more.txt", "y")}, []craftEntry{{name: "csrs.jsonl", content: csrs}}, nil, ErrStructure, "missing entry more.txt"},
		{"wrong order", []FileEntry{fe("csrs.jsonl", csrs), fe("more.txt", "y")}, []craftEntry{{name: "more.txt", content: "y"}, {name: "csrs.jsonl", content: csrs}}, nil, ErrStructure, "entry 3 is more.txt"},
		{"hash mismatch", good, []craftEntry{{name: "csrs.jsonl", content: strings.Replace(csrs, "mod-000001", "mod-999999", 1)}}, nil, ErrHashMismatch, "sha256"},
		{"size mismatch", good, []craftEntry{{name: "csrs.jsonl", content: csrs + "{}\n"}}, nil, ErrHashMismatch, "bytes"},
		{"line count mismatch", []FileEntry{func() FileEntry { e := fe("csrs.jsonl", csrs); n := int64(2); e.Lines = &n; return e }()}, []craftEntry{{name: "csrs.jsonl", content: csrs}}, nil, ErrHashMismatch, "lines"},
		{"unknown version", good, []craftEntry{{name: "csrs.jsonl", content: csrs}}, func(m *Manifest) { m.Version = 2 }, ErrUnknownVersion, ""},
		{"missing required file", []FileEntry{fe("other.txt", "x")}, []craftEntry{{name: "other.txt", content: "x"}}, nil, ErrManifest, "without csrs.jsonl"},
		{"count over limit", good, []craftEntry{{name: "csrs.jsonl", content: csrs}}, func(m *Manifest) { m.Counts["csrs"] = 1 << 40 }, ErrTooLarge, "counts"},
		{"manifest names another recipient", good, []craftEntry{{name: "csrs.jsonl", content: csrs}}, func(m *Manifest) { m.Recipient = f.other.id.Recipient().String() }, ErrRecipientMismatch, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			raw := craft(t, f, c.files, c.entries, c.mutate)
			b, err := Read(bytes.NewReader(raw), f.applianceOpts(t))
			if c.reason == nil {
				if err != nil {
					t.Fatalf("control case refused: %v", err)
				}
				b.Close()
				return
			}
			wantRefused(t, err, c.reason)
			if !strings.Contains(err.Error(), c.detail) {
				t.Fatalf("error %q does not name %q", err, c.detail)
			}
		})
	}
}

// A manifest.json that is not the one signed: the signature names another hash.
func TestManifestSwapped(t *testing.T) {
	f := newFixture(t)
	raw := seal(t, Header{Kind: KindCSRBatch, Created: fixedTime}, f.station, f.appliance.id.Recipient(), payloadFile{"csrs.jsonl", csrLines(1)})
	plain := decrypt(t, raw, f.appliance.id)
	i := bytes.Index(plain, []byte(`"csrs.jsonl"`))
	copy(plain[i:], `"csrs.jsonm"`) // same length, header unchanged
	_, err := Read(bytes.NewReader(encrypt(t, plain, f.appliance.id.Recipient())), f.applianceOpts(t))
	wantRefused(t, err, ErrSignature)
}

func TestLimits(t *testing.T) {
	f := newFixture(t)
	raw := seal(t, Header{Kind: KindCSRBatch}, f.station, f.appliance.id.Recipient(), payloadFile{"csrs.jsonl", csrLines(100)}, payloadFile{"a.txt", "a"}, payloadFile{"b.txt", "b"})
	for name, lim := range map[string]Limits{
		"bundle size":   {MaxBundleSize: 1000},
		"file size":     {MaxFileSize: 100, MaxManifestSize: 100},
		"files":         {MaxFiles: 2},
		"manifest size": {MaxManifestSize: 64},
		"lines":         {MaxLines: 10},
		"total size":    {MaxTotalSize: 1000},
	} {
		t.Run(name, func(t *testing.T) {
			o := f.applianceOpts(t)
			o.Limits = lim
			_, err := Read(bytes.NewReader(raw), o)
			wantRefused(t, err, ErrTooLarge)
		})
	}
}

// manifest.json and manifest.sig must be the first two entries, in that order.
func TestManifestNotFirst(t *testing.T) {
	f := newFixture(t)
	plain := decrypt(t, seal(t, Header{Kind: KindCSRBatch, Created: fixedTime}, f.station, f.appliance.id.Recipient(), payloadFile{"csrs.jsonl", "{}\n"}), f.appliance.id)
	entries, err := readTarIndex(bytes.NewReader(plain), int64(len(plain)), 8, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	body := func(i int) []byte { return plain[entries[i].Offset : entries[i].Offset+entries[i].Size] }
	for name, order := range map[string][]int{"signature first": {1, 0, 2}, "payload first": {2, 0, 1}, "no signature": {0, 2}} {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			tw := &tarWriter{w: &buf, mtime: fixedTime.Unix()}
			for _, i := range order {
				tw.writeFile(entries[i].Name, entries[i].Size, bytes.NewReader(body(i)))
			}
			tw.close()
			_, err := Read(bytes.NewReader(encrypt(t, buf.Bytes(), f.appliance.id.Recipient())), f.applianceOpts(t))
			wantRefused(t, err, ErrStructure)
			if !strings.Contains(err.Error(), "first two entries") {
				t.Fatalf("error does not say what is wrong: %v", err)
			}
		})
	}
}
