package bundle

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"syscall"
	"testing"

	"filippo.io/age"
	"filippo.io/age/armor"

	"github.com/dacline/dacline/shared/testenv"
)

// Issue 12 item 8: a full disk while the plaintext is written out is the
// local machine's problem, never "ciphertext truncated or modified".
func TestFullDiskIsNotTampering(t *testing.T) {
	f := newFixture(t)
	raw := seal(t, Header{Kind: KindCSRBatch, Created: fixedTime}, f.station, f.appliance.id.Recipient(), payloadFile{"csrs.jsonl", csrLines(4000)})
	o := f.applianceOpts(t)
	o.TempDir = testenv.SmallDisk(t, 64<<10)
	_, err := Read(bytes.NewReader(raw), o)
	if err == nil {
		t.Fatal("a bundle larger than the disk was read")
	}
	var re *RefusalError
	if errors.As(err, &re) {
		t.Fatalf("a full disk was reported as a refusal of the bundle: %v", err)
	}
	if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "no space left") {
		t.Fatalf("error does not say the disk is full: %v", err)
	}
	// Control: the same bundle reads on a disk with room.
	o = f.applianceOpts(t)
	o.TempDir = testenv.SmallDisk(t, 4<<20)
	b, err := Read(bytes.NewReader(raw), o)
	if err != nil {
		t.Fatalf("control: %v", err)
	}
	b.Close()
}

// Issue 12 item 11: age -a output is named as such.
func TestArmoredAgeRefused(t *testing.T) {
	f := newFixture(t)
	raw := seal(t, Header{Kind: KindCSRBatch, Created: fixedTime}, f.station, f.appliance.id.Recipient(), payloadFile{"csrs.jsonl", csrLines(3)})
	var buf bytes.Buffer
	w := armor.NewWriter(&buf)
	w.Write(raw)
	w.Close()
	_, err := Read(bytes.NewReader(buf.Bytes()), f.applianceOpts(t))
	wantRefused(t, err, ErrAgeHeader)
	if !strings.Contains(err.Error(), "ASCII-armored") || strings.Contains(err.Error(), "tar") {
		t.Fatalf("error does not name the armor: %v", err)
	}
}

// Issue 12 item 11: FORMAT.md §3, exactly the receiver's recipient.
func TestSecondRecipientRefused(t *testing.T) {
	f := newFixture(t)
	raw := seal(t, Header{Kind: KindCSRBatch, Created: fixedTime}, f.station, f.appliance.id.Recipient(), payloadFile{"csrs.jsonl", csrLines(3)})
	plain := decrypt(t, raw, f.appliance.id)
	for name, rs := range map[string][]age.Recipient{
		"receiver and a third party": {f.appliance.id.Recipient(), f.other.id.Recipient()},
		"third party first":          {f.other.id.Recipient(), f.appliance.id.Recipient()},
	} {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			w, err := age.Encrypt(&buf, rs...)
			if err != nil {
				t.Fatal(err)
			}
			w.Write(plain)
			w.Close()
			_, err = Read(bytes.NewReader(buf.Bytes()), f.applianceOpts(t))
			wantRefused(t, err, ErrAgeHeader)
			if !strings.Contains(err.Error(), "2 recipients") {
				t.Fatalf("error does not say how many recipients: %v", err)
			}
		})
	}
	// Control: the receiver alone.
	b, err := Read(bytes.NewReader(encrypt(t, plain, f.appliance.id.Recipient())), f.applianceOpts(t))
	if err != nil {
		t.Fatalf("control: %v", err)
	}
	b.Close()
}

// Issue 12 item 11: a wrong line count prints the number.
func TestLineCountMessage(t *testing.T) {
	f := newFixture(t)
	csrs := csrLines(3)
	e := fe("csrs.jsonl", csrs)
	n := int64(2)
	e.Lines = &n
	raw := craft(t, f, []FileEntry{e}, []craftEntry{{name: "csrs.jsonl", content: csrs}}, nil)
	_, err := Read(bytes.NewReader(raw), f.applianceOpts(t))
	wantRefused(t, err, ErrHashMismatch)
	if !strings.Contains(err.Error(), "csrs.jsonl: 3 lines, the manifest says 2") {
		t.Fatalf("error does not give both counts: %v", err)
	}
}

// Issue 12 item 11: created is RFC 3339 with a zero offset (FORMAT.md §5):
// "+00:00" is the same instant as "Z" and reads; another offset or a
// fraction is refused with a message that says which.
func TestCreatedOffsets(t *testing.T) {
	f := newFixture(t)
	csrs := csrLines(2)
	for _, c := range []struct{ created, want string }{
		{"2026-03-01T12:00:00Z", ""},
		{"2026-03-01T12:00:00+00:00", ""},
		{"2026-03-01T13:00:00+01:00", "want UTC"},
		{"2026-03-01T12:00:00-00:00", "unknown local offset"},
		{"2026-03-01T12:00:00.5Z", "not whole seconds"},
	} {
		t.Run(c.created, func(t *testing.T) {
			raw := craftRaw(t, f, csrs, func(mb []byte) []byte {
				return bytes.Replace(mb, []byte(`"2026-03-01T12:00:00Z"`), []byte(`"`+c.created+`"`), 1)
			})
			b, err := Read(bytes.NewReader(raw), f.applianceOpts(t))
			if c.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				defer b.Close()
				if !b.Manifest.Created.Equal(fixedTime) || b.Manifest.Created.Location().String() != "UTC" {
					t.Fatalf("created read as %v", b.Manifest.Created)
				}
				return
			}
			wantRefused(t, err, ErrManifest)
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not say %q", err, c.want)
			}
		})
	}
}

// craftRaw signs edit(manifest.json) as is: the reader never re-serializes.
func craftRaw(t *testing.T, f *fixture, csrs string, edit func([]byte) []byte) []byte {
	t.Helper()
	m := &Manifest{
		Format: FormatName, Version: FormatVersion, Kind: KindCSRBatch, BatchID: fixedID(9), Sender: f.station.name,
		Recipient: f.appliance.id.Recipient().String(), Created: fixedTime, Counts: map[string]int64{}, Files: []FileEntry{fe("csrs.jsonl", csrs)},
	}
	mb, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	mb = edit(mb)
	sig, err := signManifest(f.station.signer, m, mb)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := &tarWriter{w: &buf, mtime: fixedTime.Unix()}
	tw.writeFile(ManifestName, int64(len(mb)), bytes.NewReader(mb))
	tw.writeFile(SignatureName, int64(len(sig)), bytes.NewReader(sig))
	tw.writeFile("csrs.jsonl", int64(len(csrs)), strings.NewReader(csrs))
	tw.close()
	return encrypt(t, buf.Bytes(), f.appliance.id.Recipient())
}

// A manifest key repeated in another case is a duplicate: encoding/json
// would read the last one, another implementation the first.
func TestManifestKeyRepeatedInOtherCase(t *testing.T) {
	f := newFixture(t)
	raw := craftRaw(t, f, csrLines(1), func(mb []byte) []byte {
		return bytes.Replace(mb, []byte(`"created":"2026-03-01T12:00:00Z"`), []byte(`"created":"2026-03-01T12:00:00Z","CREATED":"2030-01-01T00:00:00Z"`), 1)
	})
	_, err := Read(bytes.NewReader(raw), f.applianceOpts(t))
	wantRefused(t, err, ErrManifest)
	if !strings.Contains(err.Error(), `duplicate key "CREATED"`) {
		t.Fatalf("error does not name the key: %v", err)
	}
}
