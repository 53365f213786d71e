package bundle

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
)

// party is a sender/receiver with fixed test keys from testdata/keys.
type party struct {
	name   string
	id     *age.X25519Identity
	priv   ed25519.PrivateKey
	signer *NoteSigner
}

func loadParty(t testing.TB, file, name string) *party {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "keys", file+".agekey"))
	if err != nil {
		t.Fatal(err)
	}
	ids, err := age.ParseIdentities(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	seedHex, err := os.ReadFile(filepath.Join("..", "testdata", "keys", file+".ed25519seed"))
	if err != nil {
		t.Fatal(err)
	}
	seed, err := hex.DecodeString(strings.TrimSpace(string(seedHex)))
	if err != nil {
		t.Fatal(err)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	s, err := NewNoteSigner(name, priv)
	if err != nil {
		t.Fatal(err)
	}
	return &party{name: name, id: ids[0].(*age.X25519Identity), priv: priv, signer: s}
}

type fixture struct {
	station, appliance, other *party
	revoked                   map[string]bool
}

func newFixture(t testing.TB) *fixture {
	return &fixture{
		station:   loadParty(t, "station", "station-1"),
		appliance: loadParty(t, "appliance", "appliance-1"),
		other:     loadParty(t, "other", "station-2"),
		revoked:   map[string]bool{},
	}
}

var errNotEnrolled = errors.New("not enrolled")

// resolve knows station-1 and appliance-1; station-2 is never enrolled.
func (f *fixture) resolve(sender string, kind Kind) (ed25519.PublicKey, error) {
	if f.revoked[sender] {
		return nil, fmt.Errorf("station %s: revoked", sender)
	}
	switch sender {
	case f.station.name:
		return f.station.signer.Public(), nil
	case f.appliance.name:
		return f.appliance.signer.Public(), nil
	}
	return nil, fmt.Errorf("station %s: %w", sender, errNotEnrolled)
}

// readOpts are the options of the appliance reading what a station sent.
func (f *fixture) applianceOpts(t testing.TB) ReadOptions {
	return ReadOptions{Identities: []age.Identity{f.appliance.id}, Resolve: f.resolve, TempDir: t.TempDir()}
}

func (f *fixture) stationOpts(t testing.TB) ReadOptions {
	return ReadOptions{Identities: []age.Identity{f.station.id}, Resolve: f.resolve, TempDir: t.TempDir()}
}

var fixedTime = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func fixedID(b byte) BatchID {
	var id BatchID
	for i := range id {
		id[i] = b + byte(i)
	}
	return id
}

// csrLines returns n lines of a csrs.jsonl payload (valid lines of the
// format; the csr is base64 of bytes that are not a real CSR).
func csrLines(n int) string {
	var sb strings.Builder
	for i := range n {
		fmt.Fprintf(&sb, "{\"id\":\"mod-%06d\",\"csr\":\"MIIBDzCBtgIBADBUMQswCQYDVQQGEwJVUzEX%06dAA\"}\n", i, i)
	}
	return sb.String()
}

type payloadFile struct{ name, content string }

// seal writes a bundle of kind from sender to recipient (nil: signed-only).
func seal(t testing.TB, h Header, sender *party, recipient *age.X25519Recipient, files ...payloadFile) []byte {
	t.Helper()
	h.Sender = sender.name
	b, err := NewBuilder(h, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, f := range files {
		if err := b.AddFile(f.name, strings.NewReader(f.content)); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	if _, err := b.Seal(&out, sender.signer, recipient); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// readAll returns every payload file of a read bundle.
func readAll(t testing.TB, b *Bundle) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, f := range b.Manifest.Files {
		r, err := b.Open(f.Name)
		if err != nil {
			t.Fatal(err)
		}
		c, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		out[f.Name] = string(c)
	}
	return out
}

// wantRefused asserts err is a *RefusalError with the given reason.
func wantRefused(t testing.TB, err error, reason error) {
	t.Helper()
	var re *RefusalError
	if !errors.As(err, &re) {
		t.Fatalf("got %v (%T), want a *RefusalError (%v)", err, err, reason)
	}
	if reason != nil && !errors.Is(err, reason) {
		t.Fatalf("refused for %q, want %q: %v", re.Reason, reason, err)
	}
}
