package bundle

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
)

// FuzzRead feeds arbitrary bundles to the full reader. Seeds are the golden bundles.
// Property: nothing panics, and a bundle the reader accepts is byte-for-byte one of the
// seeds (nobody but the fixed keys can produce an acceptable bundle, and the canonical
// archive leaves no byte free).
func FuzzRead(f *testing.F) {
	fx := newFixture(f)
	var seeds [][]byte
	for _, c := range goldenCases(f, fx) {
		raw, err := os.ReadFile(goldenPath(c.file))
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, raw)
		f.Add(raw)
	}
	tmp := f.TempDir()
	f.Fuzz(func(t *testing.T, raw []byte) {
		opts := ReadOptions{
			Identities: []age.Identity{fx.appliance.id, fx.station.id}, Resolve: fx.resolve, TempDir: tmp,
			Limits: Limits{MaxBundleSize: 1 << 20},
		}
		b, err := Read(bytes.NewReader(raw), opts)
		if err != nil {
			return
		}
		b.Close()
		for _, s := range seeds {
			if bytes.Equal(s, raw) {
				return
			}
		}
		t.Fatalf("accepted a bundle that is not a seed (%d bytes)", len(raw))
	})
}

// FuzzAgeHeader: the pre-parser never panics and never accepts a header over its
// limits or with a scrypt stanza.
func FuzzAgeHeader(f *testing.F) {
	fx := newFixture(f)
	f.Add(seal(f, Header{Kind: KindCSRBatch}, fx.station, fx.appliance.id.Recipient(), payloadFile{"csrs.jsonl", "{}\n"}))
	f.Add([]byte(ageMagic + "-> scrypt AAAA 10\nAAAA\n--- AAAA\n"))
	f.Add([]byte(ageMagic + "-> X25519 AAAA\n\n-> X25519 BBBB\n\n--- AAAA\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		h, err := ParseAgeHeader(bytes.NewReader(raw), 1024, 3)
		if err != nil {
			return
		}
		if h.Size > 1024 || h.StanzaCounts > 3 || h.StanzaCounts == 0 {
			t.Fatalf("accepted %+v", h)
		}
		for _, typ := range h.StanzaTypes {
			if strings.EqualFold(typ, "scrypt") {
				t.Fatal("accepted scrypt")
			}
		}
	})
}

// FuzzTarIndex: an archive the strict parser accepts is exactly what the canonical writer
// produces for the entries it found.
func FuzzTarIndex(f *testing.F) {
	fx := newFixture(f)
	f.Add(decrypt(f, seal(f, Header{Kind: KindCSRBatch}, fx.station, fx.appliance.id.Recipient(), payloadFile{"csrs.jsonl", csrLines(3)}), fx.appliance.id))
	raw, _ := os.ReadFile(filepath.Join("..", "testdata", "golden", goldenCases(f, fx)[3].file))
	f.Add(raw)
	f.Fuzz(func(t *testing.T, raw []byte) {
		entries, err := readTarIndex(bytes.NewReader(raw), int64(len(raw)), 8, 1<<20)
		if err != nil {
			return
		}
		var out bytes.Buffer
		for _, e := range entries {
			tw := &tarWriter{w: &out, mtime: e.MTime}
			if err := tw.writeFile(e.Name, e.Size, bytes.NewReader(raw[e.Offset:e.Offset+e.Size])); err != nil {
				t.Fatal(err)
			}
		}
		(&tarWriter{w: &out}).close()
		if !bytes.Equal(out.Bytes(), raw) {
			t.Fatalf("accepted a non-canonical archive of %d bytes", len(raw))
		}
	})
}

// FuzzManifest: the manifest parser never panics; what it accepts validates.
func FuzzManifest(f *testing.F) {
	fx := newFixture(f)
	plain := decrypt(f, seal(f, Header{Kind: KindDACBatch, InReplyTo: fixedID(1).String(), Counts: map[string]int64{"dacs": 1}},
		fx.appliance, fx.station.id.Recipient(), payloadFile{"dacs.jsonl", "{}\n"}), fx.station.id)
	entries, _ := readTarIndex(bytes.NewReader(plain), int64(len(plain)), 8, 1<<20)
	f.Add(plain[entries[0].Offset : entries[0].Offset+entries[0].Size])
	f.Add([]byte(`{"format":"dacline-bundle","format":"x"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := parseManifest(raw, Limits{})
		if err != nil {
			return
		}
		if err := m.Validate(Limits{}); err != nil {
			t.Fatalf("accepted manifest does not validate: %v", err)
		}
	})
}

// FuzzSignedNote: the manifest.sig parser never panics; what it accepts is canonical.
func FuzzSignedNote(f *testing.F) {
	fx := newFixture(f)
	m := &Manifest{Kind: KindCSRBatch, Sender: fx.station.name, BatchID: fixedID(3)}
	sig, err := signManifest(fx.station.signer, m, []byte("{}"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sig)
	f.Fuzz(func(t *testing.T, raw []byte) {
		st, err := parseSignedNote(raw)
		if err != nil {
			return
		}
		if !bytes.HasPrefix(raw, []byte(st.String())) {
			t.Fatal("accepted a non-canonical note text")
		}
		_ = verifySignedNote(raw, st, fx.station.signer.Public())
	})
}
