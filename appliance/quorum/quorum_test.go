package quorum

import (
	"bytes"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"filippo.io/age"
)

type officerKeys struct {
	specs []OfficerSpec
	ids   []age.Identity
}

func newOfficers(t *testing.T, names ...string) officerKeys {
	t.Helper()
	var k officerKeys
	for _, n := range names {
		id, err := age.GenerateX25519Identity()
		if err != nil {
			t.Fatal(err)
		}
		k.specs = append(k.specs, OfficerSpec{Name: n, Recipient: id.Recipient().String()})
		k.ids = append(k.ids, id)
	}
	return k
}

var pins = PINs{User: []byte("0123456789abcdef0123456789abcdef"), SO: []byte("so-pin")}

func TestSplitCombineThroughFiles(t *testing.T) {
	k := newOfficers(t, "alice", "bob", "carol")
	cfg, shares, err := Split("app-1", pins, 2, k.specs, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var opened []*Share
	for i, s := range shares {
		enc, err := s.Encrypt(k.specs[i].Recipient)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(enc, s.Y) {
			t.Fatal("share bytes in the clear")
		}
		if _, err := Decrypt(enc, k.ids[(i+1)%3:(i+1)%3+1]); !errors.Is(err, ErrNotForIdentity) {
			t.Fatalf("another officer's identity: %v", err)
		}
		got, err := Decrypt(enc, k.ids)
		if err != nil {
			t.Fatal(err)
		}
		opened = append(opened, got)
	}
	for _, pair := range [][2]int{{0, 1}, {0, 2}, {1, 2}, {2, 0}} {
		p, names, err := Combine(cfg, "app-1", []*Share{opened[pair[0]], opened[pair[1]]})
		if err != nil || !bytes.Equal(p.User, pins.User) || !bytes.Equal(p.SO, pins.SO) || len(names) != 2 {
			t.Fatalf("pair %v: %v %v", pair, names, err)
		}
	}
	if _, _, err := Combine(cfg, "app-1", opened); err != nil {
		t.Fatalf("all three: %v", err)
	}
}

func TestCombineRefusals(t *testing.T) {
	k := newOfficers(t, "alice", "bob", "carol")
	cfg, shares, err := Split("app-1", pins, 2, k.specs, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cfg2, shares2, err := Split("app-2", pins, 2, k.specs, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_ = cfg2
	corrupt := *shares[1]
	corrupt.Y = append([]byte(nil), corrupt.Y...)
	corrupt.Y[3] ^= 1
	stranger := *shares[1]
	stranger.Officer = "mallory"
	for name, c := range map[string]struct {
		shares []*Share
		want   error
	}{
		"one share":       {[]*Share{shares[0]}, ErrTooFewShares},
		"none":            {nil, ErrTooFewShares},
		"other appliance": {[]*Share{shares[0], shares2[1]}, ErrOtherAppliance},
		"corrupted":       {[]*Share{shares[0], &corrupt}, ErrCorruptShare},
		"same officer":    {[]*Share{shares[0], shares[0]}, ErrDuplicateOfficer},
		"unknown officer": {[]*Share{shares[0], &stranger}, ErrUnknownOfficer},
	} {
		_, _, err := Combine(cfg, "app-1", c.shares)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", name, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), string(pins.User)) {
			t.Errorf("%s: error shows the PIN", name)
		}
	}
}

func TestPaperRoundTripAndTypos(t *testing.T) {
	k := newOfficers(t, "alice", "bob")
	k.specs[1].Recipient = PaperRecipient
	cfg, shares, err := Split("app-1", pins, 2, k.specs, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	text, err := shares[1].Paper()
	if err != nil {
		t.Fatal(err)
	}
	typed := strings.ToLower(strings.ReplaceAll(text, "\n", " "))
	got, err := ParsePaper(typed, cfg, "app-1")
	if err != nil || got.Officer != "bob" || !bytes.Equal(got.Y, shares[1].Y) {
		t.Fatalf("round trip: %v", err)
	}
	// Every single-character typo is caught.
	clean := strings.ReplaceAll(strings.ReplaceAll(text, " ", ""), "\n", "")
	for i := 0; i < len(clean); i++ {
		b := []byte(clean)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		if _, err := ParsePaper(string(b), cfg, "app-1"); !errors.Is(err, ErrCorruptShare) {
			t.Fatalf("typo at %d accepted: %v", i, err)
		}
	}
	other, _, _ := Split("app-1", pins, 2, k.specs, rand.Reader)
	if _, err := ParsePaper(text, other, "app-1"); !errors.Is(err, ErrOtherAppliance) {
		t.Fatalf("paper share of another quorum: %v", err)
	}
}

// The commitments in config.json cannot confirm a guessed PIN: the secret
// has a random tail, so two splits of one PIN have unrelated checks.
func TestCheckDependsOnRandomTail(t *testing.T) {
	k := newOfficers(t, "alice", "bob")
	a, _, _ := Split("app-1", pins, 2, k.specs, rand.Reader)
	b, _, _ := Split("app-1", pins, 2, k.specs, rand.Reader)
	if a.Check == b.Check || a.ID == b.ID {
		t.Fatal("check or id repeat across splits of the same PIN")
	}
}

func FuzzParseShare(f *testing.F) {
	f.Add([]byte(`{"appliance":"a","officer":"alice","quorum_id":"00112233445566778899aabbccddeeff","threshold":2,"type":"dacline-quorum-share","version":1,"x":1,"y":"AQID"}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseShare(b)
		if err == nil && (s.X < 1 || s.X > 255 || len(s.Y) == 0) {
			t.Fatalf("accepted a share out of range: %+v", s)
		}
		if err != nil && !errors.Is(err, ErrCorruptShare) {
			t.Fatalf("error not ErrCorruptShare: %v", err)
		}
	})
}

func FuzzParsePaper(f *testing.F) {
	cfg := &Config{ID: "00112233445566778899aabbccddeeff", Threshold: 2, Officers: []Officer{{Name: "alice", X: 1}, {Name: "bob", X: 2}}}
	s := &Share{QuorumID: cfg.ID, X: 1, Y: []byte("0123456789")}
	text, _ := s.Paper()
	f.Add(text)
	f.Add("AAAA BBBB")
	f.Fuzz(func(t *testing.T, text string) {
		got, err := ParsePaper(text, cfg, "a")
		if err == nil && got.Officer == "" {
			t.Fatal("accepted a share without officer")
		}
	})
}

func FuzzDecrypt(f *testing.F) {
	id, _ := age.GenerateX25519Identity()
	s := &Share{Appliance: "a", QuorumID: "00112233445566778899aabbccddeeff", Officer: "alice", Threshold: 2, X: 1, Y: []byte("y")}
	enc, _ := s.Encrypt(id.Recipient().String())
	f.Add(enc)
	f.Fuzz(func(t *testing.T, b []byte) {
		Decrypt(b, []age.Identity{id}) //nolint:errcheck // must not panic
	})
}
