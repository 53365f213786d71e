package auditlog

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/mod/sumdb/note"
)

// algEd25519 is the signed-note algorithm byte for Ed25519 (C2SP signed-note).
const algEd25519 = 0x01

// NoteSigner turns an Ed25519 crypto.Signer (HSM-backed on the appliance)
// into a note.Signer named name. The key hash is the first four bytes of
// SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key), as the signed-note spec defines.
// Every signature is verified with the public key before it is returned, so a
// misbehaving token cannot put a bad signature into a checkpoint.
func NoteSigner(name string, s crypto.Signer) (note.Signer, error) {
	if s == nil {
		return nil, fmt.Errorf("note signer %q: no key", name)
	}
	pub, ok := s.Public().(ed25519.PublicKey)
	if !ok || len(pub) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("note signer %q: key is %T, want an Ed25519 key", name, s.Public())
	}
	if err := checkOrigin(name); err != nil {
		return nil, fmt.Errorf("note signer name: %w", err)
	}
	return &noteSigner{name: name, hash: keyHash(name, pub), signer: s, pub: pub}, nil
}

// VerifierKey is the published note verifier string for an Ed25519 key:
// "<name>+<hash8hex>+<base64(0x01 ‖ public key)>", the note_verifier field of
// appliance.id. note.NewVerifier accepts it.
func VerifierKey(name string, pub ed25519.PublicKey) (string, error) {
	return note.NewEd25519VerifierKey(name, pub)
}

// NewVerifier parses a note verifier string (see VerifierKey).
func NewVerifier(vkey string) (note.Verifier, error) {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, fmt.Errorf("note verifier %q: %w", vkey, err)
	}
	return v, nil
}

func keyHash(name string, pub ed25519.PublicKey) uint32 {
	h := sha256.New()
	h.Write([]byte(name))
	h.Write([]byte("\n"))
	h.Write([]byte{algEd25519})
	h.Write(pub)
	return binary.BigEndian.Uint32(h.Sum(nil))
}

type noteSigner struct {
	name   string
	hash   uint32
	signer crypto.Signer
	pub    ed25519.PublicKey
}

func (s *noteSigner) Name() string    { return s.name }
func (s *noteSigner) KeyHash() uint32 { return s.hash }

func (s *noteSigner) Sign(msg []byte) ([]byte, error) {
	// Ed25519 signs the message itself: crypto.Hash(0) says "not prehashed".
	sig, err := s.signer.Sign(rand.Reader, msg, crypto.Hash(0))
	if err != nil {
		return nil, fmt.Errorf("signing checkpoint with %s: %w", s.name, err)
	}
	if !ed25519.Verify(s.pub, msg, sig) {
		return nil, errors.New("signing checkpoint: the key returned a signature that does not verify")
	}
	return sig, nil
}
