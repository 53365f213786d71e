package auditlog

import (
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func TestNoteSignerMatchesNoteLibrary(t *testing.T) {
	priv, s, _ := testKey(t, 7)
	// The reference: x/mod's own signer for the same key and name.
	vkey, err := VerifierKey(testOrigin, priv.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(vkey, testOrigin+"+") {
		t.Fatalf("verifier key %q does not start with the name", vkey)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatalf("note.NewVerifier rejects our verifier string: %v", err)
	}
	if v.KeyHash() != s.KeyHash() || v.Name() != s.Name() {
		t.Fatalf("key hash %08x / name %q differ from the note library's %08x / %q", s.KeyHash(), s.Name(), v.KeyHash(), v.Name())
	}
	signed, err := note.Sign(&note.Note{Text: string(Checkpoint{testOrigin, 3, tlog.Hash{1}}.Text())}, s)
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		t.Fatalf("note.Open: %v", err)
	}
	if len(n.Sigs) != 1 {
		t.Fatalf("want one verified signature, got %d", len(n.Sigs))
	}
	c, err := OpenCheckpoint(signed, v)
	if err != nil || c.Size != 3 || c.Root != (tlog.Hash{1}) {
		t.Fatalf("OpenCheckpoint = %v, %v", c, err)
	}
}

func TestNoteSignerRejectsNonEd25519(t *testing.T) {
	if _, err := NoteSigner("x", nil); err == nil {
		t.Fatal("nil signer accepted")
	}
	priv := ed25519.NewKeyFromSeed(bytesOf(1, 32))
	if _, err := NoteSigner("bad name", priv); err == nil {
		t.Fatal("name with a space accepted")
	}
}

func TestOpenCheckpointForged(t *testing.T) {
	_, _, v := testKey(t, 1)
	_, other, _ := testKey(t, 2) // same name, different key
	signed, _ := note.Sign(&note.Note{Text: string(Checkpoint{testOrigin, 1, tlog.Hash{}}.Text())}, other)
	if _, err := OpenCheckpoint(signed, v); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("forged checkpoint: %v, want ErrBadSignature", err)
	}
	// Right key, body altered after signing.
	_, good, _ := testKey(t, 1)
	signed, _ = note.Sign(&note.Note{Text: string(Checkpoint{testOrigin, 1, tlog.Hash{}}.Text())}, good)
	altered := []byte(strings.Replace(string(signed), "\n1\n", "\n2\n", 1))
	if _, err := OpenCheckpoint(altered, v); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("altered checkpoint: %v, want ErrBadSignature", err)
	}
	// Right key, wrong origin in the body.
	signed, _ = note.Sign(&note.Note{Text: string(Checkpoint{"other.origin", 1, tlog.Hash{}}.Text())}, good)
	if _, err := OpenCheckpoint(signed, v); err == nil || !strings.Contains(err.Error(), "origin") {
		t.Fatalf("wrong origin: %v", err)
	}
}

func TestParseCheckpointStrict(t *testing.T) {
	root := "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
	good := "o.example/log\n5\n" + root + "\n"
	if c, err := ParseCheckpoint([]byte(good)); err != nil || c.Size != 5 || c.Root[0] != 1 {
		t.Fatalf("good checkpoint: %v %v", c, err)
	}
	for name, bad := range map[string]string{
		"no newline":     strings.TrimSuffix(good, "\n"),
		"leading zero":   "o.example/log\n05\n" + root + "\n",
		"negative":       "o.example/log\n-5\n" + root + "\n",
		"plus":           "o.example/log\n+5\n" + root + "\n",
		"short root":     "o.example/log\n5\nAQ==\n",
		"extension line": good + "extra\n",
		"empty origin":   "\n5\n" + root + "\n",
		"space origin":   "o example\n5\n" + root + "\n",
		"two lines":      "o.example/log\n5\n",
		"not base64":     "o.example/log\n5\n!!!!\n",
	} {
		if _, err := ParseCheckpoint([]byte(bad)); err == nil {
			t.Errorf("%s: accepted %q", name, bad)
		}
	}
	// Round trip.
	c := Checkpoint{"o.example/log", 9, tlog.Hash{9}}
	if got, err := ParseCheckpoint(c.Text()); err != nil || got != c {
		t.Errorf("round trip: %v %v", got, err)
	}
}

func TestTLogProofRoundTripAndVerify(t *testing.T) {
	l, seqs := standardLog(t)
	_, _, v := testKey(t, 1)
	signed := l.checkpoint()
	for _, i := range seqs {
		data := l.proof(i, signed)
		if !strings.HasPrefix(string(data), TLogProofHeader+"\nindex ") {
			t.Fatalf("proof header: %q", data[:40])
		}
		p, err := ParseProof(data)
		if err != nil {
			t.Fatal(err)
		}
		if string(FormatProof(*p)) != string(data) {
			t.Fatal("proof does not round trip")
		}
		if _, err := VerifyProof(p, tlog.RecordHash(l.entries[i]), v); err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		if _, err := VerifyProof(p, tlog.RecordHash(l.entries[i-1]), v); err == nil {
			t.Fatalf("entry %d: proof verified for another entry", i)
		}
	}
	p, _ := ParseProof(l.proof(seqs[0], signed))
	p.Extra = []byte("bundle b1 dac 0")
	q, err := ParseProof(FormatProof(*p))
	if err != nil || string(q.Extra) != "bundle b1 dac 0" {
		t.Fatalf("extra line: %v %q", err, q.Extra)
	}
}

func TestConsistencyProof(t *testing.T) {
	l, _ := standardLog(t)
	old, _ := SplitSigned(l.signed[1])
	cur, _ := SplitSigned(l.checkpoint())
	hs, err := tlog.ProveTree(cur.Size, old.Size, &l.tree)
	if err != nil {
		t.Fatal(err)
	}
	p := ConsistencyProof{Old: old.Size, New: cur.Size, Hashes: hs}
	q, err := ParseConsistencyProof(p.Format())
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Verify(old, cur); err != nil {
		t.Fatal(err)
	}
	forked := old
	forked.Root[0] ^= 1
	if err := q.Verify(forked, cur); !errors.Is(err, ErrFork) {
		t.Fatalf("forked old checkpoint: %v, want ErrFork", err)
	}
	for _, bad := range []string{"", ConsistencyProofHeader + "\nold 5\nnew 4\n", ConsistencyProofHeader + "\nold 1\n", "x\nold 1\nnew 2\n"} {
		if _, err := ParseConsistencyProof([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func FuzzParseCheckpoint(f *testing.F) {
	f.Add([]byte("o.example/log\n5\nAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"))
	f.Add([]byte("o\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n— o AAAAAAAA\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseCheckpoint(data)
		if err == nil && string(c.Text()) != string(data) {
			t.Fatalf("accepted non-canonical checkpoint %q", data)
		}
		SplitSigned(data)
	})
}

func FuzzParseProof(f *testing.F) {
	l, seqs := standardLog(f)
	f.Add(l.proof(seqs[2], l.checkpoint()))
	f.Add([]byte(TLogProofHeader + "\nextra AAAA\nindex 0\n\nx\n"))
	f.Add([]byte(ConsistencyProofHeader + "\nold 1\nnew 2\nAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"))
	_, _, v := testKey(f, 1)
	f.Fuzz(func(t *testing.T, data []byte) {
		if p, err := ParseProof(data); err == nil {
			VerifyProof(p, tlog.Hash{}, v)
		}
		if p, err := ParseConsistencyProof(data); err == nil {
			p.Verify(Checkpoint{Size: p.Old}, Checkpoint{Size: p.New})
		}
	})
}
