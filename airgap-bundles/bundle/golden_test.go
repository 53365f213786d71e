package bundle

import (
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/dacline/dacline/shared/testenv"
)

var update = flag.Bool("update", false, "rewrite the golden bundles in ../testdata/golden (age output is randomized: only when the format changes)")

// goldenCase is one golden bundle: who sends it to whom, and what it holds.
type goldenCase struct {
	file      string
	hdr       Header
	sender    func(*fixture) *party
	recipient func(*fixture) *party // nil: signed-only
	files     []payloadFile
}

// goldenStation is the station.json of station-1 (deterministic from its fixed keys).
func goldenStation(t testing.TB, f *fixture) string {
	id, err := NewStationIdentity(f.station.name, f.station.id.Recipient(), f.station.signer.Public(), "FFF1", "8000")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.MarshalIndent(id, "", "  ")
	return string(b) + "\n"
}

func goldenCases(t testing.TB, f *fixture) []goldenCase {
	return []goldenCase{
		{
			file:      "enrollment-station-1-" + fixedID(0x10).String() + ".age",
			hdr:       Header{Kind: KindEnrollment, BatchID: fixedID(0x10), Created: fixedTime, Labels: map[string]string{"vid": "FFF1", "pid": "8000"}},
			sender:    func(f *fixture) *party { return f.station },
			recipient: func(f *fixture) *party { return f.appliance },
			files:     []payloadFile{{"station.json", goldenStation(t, f)}},
		},
		{
			file:      "csr-batch-station-1-" + fixedID(0x20).String() + ".age",
			hdr:       Header{Kind: KindCSRBatch, BatchID: fixedID(0x20), Created: fixedTime, Counts: map[string]int64{"csrs": 3}, Labels: map[string]string{"vid": "FFF1", "pid": "8000"}},
			sender:    func(f *fixture) *party { return f.station },
			recipient: func(f *fixture) *party { return f.appliance },
			files:     []payloadFile{{CSRFile, csrLines(3)}},
		},
		{
			file: "dac-batch-appliance-1-" + fixedID(0x30).String() + ".age",
			hdr: Header{Kind: KindDACBatch, BatchID: fixedID(0x30), Created: fixedTime, InReplyTo: fixedID(0x20).String(),
				Counts: map[string]int64{"dacs": 2, "refusals": 1}},
			sender:    func(f *fixture) *party { return f.appliance },
			recipient: func(f *fixture) *party { return f.station },
			files: []payloadFile{
				{DACFile, `{"id":"mod-000000","index":0,"spki_sha256":"` + strings.Repeat("00", 32) + `","dac":"MIIB","vid":"FFF1","pid":"8000","serial":"0A","log_index":3,"tlog_proof":"c2sp.org/tlog-proof@v1\nindex 3\n"}` + "\n" +
					`{"id":"mod-000001","index":1,"spki_sha256":"` + strings.Repeat("01", 32) + `","dac":"MIIC","vid":"FFF1","pid":"8000","serial":"0B","log_index":4,"tlog_proof":"c2sp.org/tlog-proof@v1\nindex 4\n"}` + "\n"},
				{RefusalFile, `{"id":"mod-000002","index":2,"reason":"bad-csr-signature","detail":"csr signature invalid","log_index":5}` + "\n"},
				{PAIFile, "\x30\x82\x01\x00not-a-real-pai"},
				{PAAFile, "\x30\x82\x01\x00not-a-real-paa"},
				{CheckpointFile, "appliance-1\n6\nAAAA\n"},
			},
		},
		{
			file:   "log-export-appliance-1-" + fixedID(0x40).String() + ".tar",
			hdr:    Header{Kind: KindLogExport, BatchID: fixedID(0x40), Created: fixedTime, Counts: map[string]int64{"entries": 2}},
			sender: func(f *fixture) *party { return f.appliance },
			files:  []payloadFile{{"log.jsonl", "{\"n\":0}\n{\"n\":1}\n"}, {"checkpoint.txt", "dacline.dev/log/appliance-1\n2\nAAAA\n"}},
		},
	}
}

func goldenPath(file string) string { return filepath.Join("..", "testdata", "golden", file) }

// TestGoldenBundles reads the committed golden bundles with the fixed test keys and
// checks every field and file. With -update it first rewrites them.
func TestGoldenBundles(t *testing.T) {
	f := newFixture(t)
	for _, c := range goldenCases(t, f) {
		t.Run(string(c.hdr.Kind), func(t *testing.T) {
			path := goldenPath(c.file)
			var rcpt *age.X25519Recipient
			opts := ReadOptions{Resolve: f.resolve, TempDir: t.TempDir(), Kinds: []Kind{c.hdr.Kind}}
			if c.recipient != nil {
				rcpt = c.recipient(f).id.Recipient()
				opts.Identities = []age.Identity{c.recipient(f).id}
			}
			if *update {
				os.MkdirAll(filepath.Dir(path), 0o755)
				os.Remove(path)
				raw := seal(t, c.hdr, c.sender(f), rcpt, c.files...)
				if err := os.WriteFile(path, raw, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			b, err := ReadFile(path, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			m := b.Manifest
			if FileName(m.Kind, m.Sender, m.BatchID, b.Encrypted) != c.file {
				t.Errorf("file name %s does not match manifest", c.file)
			}
			if m.Kind != c.hdr.Kind || m.BatchID != c.hdr.BatchID || m.Sender != c.sender(f).name || !m.Created.Equal(fixedTime) ||
				m.InReplyTo != c.hdr.InReplyTo {
				t.Errorf("manifest header %+v", m)
			}
			for k, v := range c.hdr.Counts {
				if m.Counts[k] != v {
					t.Errorf("counts.%s = %d, want %d", k, m.Counts[k], v)
				}
			}
			got := readAll(t, b)
			if len(got) != len(c.files) || len(m.Files) != len(c.files) {
				t.Fatalf("files %v", m.Files)
			}
			for i, pf := range c.files {
				if m.Files[i].Name != pf.name || got[pf.name] != pf.content {
					t.Errorf("file %d: %s differs", i, pf.name)
				}
				// The batch payloads are valid lines of FORMAT.md §8.
				var line any
				switch pf.name {
				case CSRFile:
					line = &CSRLine{}
				case DACFile:
					line = &DACLine{}
				case RefusalFile:
					line = &RefusalLine{}
				default:
					continue
				}
				lr := NewLineReader(strings.NewReader(got[pf.name]), pf.name, MaxDACLine)
				for {
					if err := lr.Next(line); errors.Is(err, io.EOF) {
						break
					} else if err != nil {
						t.Error(err)
						break
					}
				}
			}
			// The same bundle read by the wrong party is refused.
			if c.recipient != nil {
				wrong := opts
				wrong.Identities = []age.Identity{f.other.id}
				_, err := ReadFile(path, wrong)
				wantRefused(t, err, ErrWrongRecipient)
			}
		})
	}
}

// TestAgeAndTarCLI opens bundles the way an auditor does: `age -d -i key bundle | tar -tv`,
// then extracts them and checks the hashes with sha256sum against the manifest.
func TestAgeAndTarCLI(t *testing.T) {
	testenv.RequireTool(t, "age", "tar", "sha256sum")
	f := newFixture(t)
	dir := t.TempDir()
	h := Header{Kind: KindDACBatch, Created: fixedTime}
	bl, err := NewBuilder(Header{Kind: h.Kind, Sender: f.appliance.name, Created: fixedTime}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer bl.Close()
	bl.AddFile("dacs.jsonl", strings.NewReader(csrLines(1000)))
	bl.AddFile("pai.der", strings.NewReader("pai"))
	path, m, err := bl.WriteToDir(dir, WriteOptions{Signer: f.appliance.signer, Recipient: f.station.id.Recipient(),
		Verify: &ReadOptions{Identities: []age.Identity{f.station.id}, Resolve: f.resolve, TempDir: t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join("..", "testdata", "keys", "station.agekey")
	out, err := exec.Command("sh", "-c", `age -d -i "$1" "$2" | tar -tvf -`, "sh", keyFile, path).CombinedOutput()
	if err != nil {
		t.Fatalf("age | tar: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	want := []string{"manifest.json", "manifest.sig", "dacs.jsonl", "pai.der"}
	if len(lines) != len(want) {
		t.Fatalf("tar -tv listed %d entries, want %d:\n%s", len(lines), len(want), out)
	}
	for i, l := range lines {
		if !strings.HasPrefix(l, "-rw-r--r--") || !strings.HasSuffix(l, " "+want[i]) {
			t.Errorf("entry %d: %q, want a 0644 regular file %s", i, l, want[i])
		}
	}
	xdir := t.TempDir()
	if out, err := exec.Command("sh", "-c", `age -d -i "$1" "$2" | tar -xf - -C "$3"`, "sh", keyFile, path, xdir).CombinedOutput(); err != nil {
		t.Fatalf("extract: %v\n%s", err, out)
	}
	for _, fe := range m.Files {
		out, err := exec.Command("sha256sum", filepath.Join(xdir, fe.Name)).Output()
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Fields(string(out))[0]; got != fe.SHA256 {
			t.Errorf("sha256sum %s = %s, manifest says %s", fe.Name, got, fe.SHA256)
		}
	}
	// The signed note names the manifest's hash.
	mj, _ := os.ReadFile(filepath.Join(xdir, "manifest.json"))
	sig, _ := os.ReadFile(filepath.Join(xdir, "manifest.sig"))
	out, _ = exec.Command("sha256sum", filepath.Join(xdir, "manifest.json")).Output()
	if !strings.Contains(string(sig), "manifest-sha256 "+strings.Fields(string(out))[0]+"\n") {
		t.Errorf("manifest.sig does not carry sha256sum of manifest.json:\n%s", sig)
	}
	if st, err := parseSignedNote(sig); err != nil || verifySignedNote(sig, st, f.appliance.signer.Public()) != nil || len(mj) == 0 {
		t.Errorf("extracted manifest.sig does not verify: %v", err)
	}
	// Never overwrite.
	bl2, _ := NewBuilder(Header{Kind: KindDACBatch, Sender: f.appliance.name, BatchID: m.BatchID, Created: fixedTime}, t.TempDir())
	defer bl2.Close()
	bl2.AddFile("dacs.jsonl", strings.NewReader("{}\n"))
	if _, _, err := bl2.WriteToDir(dir, WriteOptions{Signer: f.appliance.signer, Recipient: f.station.id.Recipient()}); !errors.Is(err, ErrExists) {
		t.Fatalf("second write of the same bundle name: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("directory holds %d files after a refused write, want 1", len(entries))
	}
}
