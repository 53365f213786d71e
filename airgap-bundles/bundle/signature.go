package bundle

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// NoteHeader is the first line of every manifest signature's note text.
const NoteHeader = "dacline.dev/bundle/v1"

// NoteSigner adapts a crypto.Signer holding an Ed25519 key (an HSM key on the
// appliance, a software key on the station) to a C2SP signed-note signer named name.
type NoteSigner struct {
	name   string
	pub    ed25519.PublicKey
	hash   uint32
	signer crypto.Signer
}

// NewNoteSigner checks that s is an Ed25519 signer and that name is a valid sender name.
func NewNoteSigner(name string, s crypto.Signer) (*NoteSigner, error) {
	if err := ValidateName(name); err != nil {
		return nil, fmt.Errorf("note signer: %w", err)
	}
	pub, ok := s.Public().(ed25519.PublicKey)
	if !ok || len(pub) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("note signer %s: public key is %T, want ed25519.PublicKey", name, s.Public())
	}
	return &NoteSigner{name: name, pub: pub, hash: keyHash(name, pub), signer: s}, nil
}

// Name implements note.Signer.
func (s *NoteSigner) Name() string { return s.name }

// KeyHash implements note.Signer.
func (s *NoteSigner) KeyHash() uint32 { return s.hash }

// Public is the signer's Ed25519 public key.
func (s *NoteSigner) Public() ed25519.PublicKey { return s.pub }

// Sign implements note.Signer. The signature is verified before it is returned, so a
// faulty token cannot put a bad signature into a bundle.
func (s *NoteSigner) Sign(msg []byte) ([]byte, error) {
	sig, err := s.signer.Sign(rand.Reader, msg, crypto.Hash(0))
	if err != nil {
		return nil, fmt.Errorf("sign manifest as %s: %w", s.name, err)
	}
	if !ed25519.Verify(s.pub, msg, sig) {
		return nil, fmt.Errorf("sign manifest as %s: signer returned a signature that does not verify", s.name)
	}
	return sig, nil
}

// keyHash is the C2SP signed-note key ID: the first 4 bytes of SHA-256(name ‖ "\n" ‖ 0x01 ‖ pub).
func keyHash(name string, pub ed25519.PublicKey) uint32 {
	h := sha256.New()
	h.Write([]byte(name + "\n"))
	h.Write([]byte{0x01})
	h.Write(pub)
	return binary.BigEndian.Uint32(h.Sum(nil))
}

// VerifierKey is the signed-note verifier key string name+hash+base64(0x01‖pub).
func VerifierKey(name string, pub ed25519.PublicKey) (string, error) {
	return note.NewEd25519VerifierKey(name, pub)
}

// ParseVerifierKey returns the name and Ed25519 key of a verifier key string.
func ParseVerifierKey(vkey string) (string, ed25519.PublicKey, error) {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return "", nil, fmt.Errorf("verifier key: %w", err)
	}
	parts := strings.SplitN(vkey, "+", 3) // name and hash have no '+'; base64 may
	if len(parts) != 3 {
		return "", nil, fmt.Errorf("verifier key %q: want name+hash+key", vkey)
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(parts[2])
	if err != nil || len(raw) != 1+ed25519.PublicKeySize || raw[0] != 0x01 {
		return "", nil, fmt.Errorf("verifier key %q: not an Ed25519 key", vkey)
	}
	canon, _ := VerifierKey(v.Name(), raw[1:])
	if canon != vkey {
		return "", nil, fmt.Errorf("verifier key %q: not canonical", vkey)
	}
	return v.Name(), ed25519.PublicKey(raw[1:]), nil
}

// signedText is the text of the note in manifest.sig.
type signedText struct {
	Kind           Kind
	Sender         string
	BatchID        BatchID
	Key            string // verifier key of the signer
	ManifestSHA256 [32]byte
}

func (t signedText) String() string {
	return NoteHeader + "\n" +
		"kind " + string(t.Kind) + "\n" +
		"sender " + t.Sender + "\n" +
		"batch " + t.BatchID.String() + "\n" +
		"key " + t.Key + "\n" +
		"manifest-sha256 " + hex.EncodeToString(t.ManifestSHA256[:]) + "\n"
}

// signManifest returns the contents of manifest.sig for manifest bytes mb.
func signManifest(s *NoteSigner, m *Manifest, mb []byte) ([]byte, error) {
	vkey, err := VerifierKey(s.name, s.pub)
	if err != nil {
		return nil, err
	}
	t := signedText{Kind: m.Kind, Sender: m.Sender, BatchID: m.BatchID, Key: vkey, ManifestSHA256: sha256.Sum256(mb)}
	return note.Sign(&note.Note{Text: t.String()}, s)
}

// parseSignedNote splits manifest.sig into its text fields and its single signature line
// without verifying anything. It is strict: exactly the six text lines in order, exactly one
// signature line, canonical base64.
func parseSignedNote(msg []byte) (signedText, error) {
	var t signedText
	split := bytes.Index(msg, []byte("\n\n"))
	if split < 0 {
		return t, errors.New("not a signed note (no blank line before the signature)")
	}
	text, sigs := string(msg[:split+1]), string(msg[split+2:])
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	want := []string{"", "kind ", "sender ", "batch ", "key ", "manifest-sha256 "}
	if len(lines) != len(want) || lines[0] != NoteHeader {
		return t, fmt.Errorf("note text: want %d lines starting with %q", len(want), NoteHeader)
	}
	vals := make([]string, len(want))
	for i := 1; i < len(want); i++ {
		v, ok := strings.CutPrefix(lines[i], want[i])
		if !ok || v == "" {
			return t, fmt.Errorf("note text line %d: want %q<value>", i+1, want[i])
		}
		vals[i] = v
	}
	t.Kind = Kind(vals[1])
	t.Sender = vals[2]
	if err := ValidateName(t.Sender); err != nil {
		return t, fmt.Errorf("note text sender: %w", err)
	}
	id, err := ParseBatchID(vals[3])
	if err != nil {
		return t, fmt.Errorf("note text: %w", err)
	}
	t.BatchID = id
	t.Key = vals[4]
	h, err := hex.DecodeString(vals[5])
	if err != nil || len(h) != 32 || strings.ToLower(vals[5]) != vals[5] {
		return t, errors.New("note text manifest-sha256: want 64 lowercase hex digits")
	}
	copy(t.ManifestSHA256[:], h)
	if t.String() != text {
		return t, errors.New("note text is not canonical")
	}
	// Exactly one signature line: "— <name> <base64(keyhash ‖ sig)>\n".
	line, ok := strings.CutSuffix(sigs, "\n")
	if !ok || strings.Contains(line, "\n") {
		return t, errors.New("want exactly one signature line")
	}
	rest, ok := strings.CutPrefix(line, "\u2014 "+t.Sender+" ")
	if !ok {
		return t, fmt.Errorf("signature line is not by the sender %s", t.Sender)
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(rest)
	if err != nil || len(raw) != 4+ed25519.SignatureSize || base64.StdEncoding.EncodeToString(raw) != rest {
		return t, errors.New("signature line: want canonical base64 of a 4-byte key hash and a 64-byte Ed25519 signature")
	}
	return t, nil
}

// verifySignedNote verifies msg as signed by pub under the sender name of t.
func verifySignedNote(msg []byte, t signedText, pub ed25519.PublicKey) error {
	vkey, err := VerifierKey(t.Sender, pub)
	if err != nil {
		return err
	}
	if vkey != t.Key {
		return fmt.Errorf("note names key %s, the trusted key of %s is %s", t.Key, t.Sender, vkey)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return err
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		return err
	}
	if len(n.Sigs) != 1 || len(n.UnverifiedSigs) != 0 || n.Text != t.String() {
		return errors.New("want exactly one verified signature by the sender")
	}
	return nil
}
