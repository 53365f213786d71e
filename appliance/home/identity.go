package home

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/dacline/dacline/shared/matter"
)

// PublicIdentity is the appliance's public identity (file appliance.id), in the
// format of bundle.ApplianceIdentity (contracts: airgap-bundles/bundle): what a
// station needs to encrypt to the appliance, verify its signatures and check DAC
// chains. It carries no secret.
//
// TODO(lead): replace with bundle.NewApplianceIdentity once airgap-bundles is on
// main; the JSON and the fingerprint are computed the same way.
type PublicIdentity struct {
	Version          int    `json:"version"`
	Name             string `json:"name"`
	AgeRecipient     string `json:"age_recipient"`
	NoteVerifier     string `json:"note_verifier"`
	Ed25519PublicKey string `json:"ed25519_public_key"`
	PAIPEM           string `json:"pai_pem"`
	PAAPEM           string `json:"paa_pem"`
	Fingerprint      string `json:"fingerprint"`
}

// PublicIdentity builds the identity from the unlocked token: the age recipient
// of the sealed identity (decrypted and checked), the Ed25519 signing key in
// signed-note verifier form, and the installed PAI and PAA.
func (u *Unlocked) PublicIdentity() (*PublicIdentity, error) {
	if u.PAI == nil || u.PAA == nil {
		return nil, fmt.Errorf("appliance identity: %w (run 'appliance pai create-test' or 'appliance pai import')", ErrNoPAI)
	}
	id, err := u.AgeIdentity()
	if err != nil {
		return nil, err
	}
	pub, ok := u.Signing.Public().(ed25519.PublicKey)
	if !ok {
		return nil, errors.New("appliance identity: the signing key is not Ed25519")
	}
	name := u.Home.Config.Name
	vkey, err := note.NewEd25519VerifierKey(name, pub)
	if err != nil {
		return nil, fmt.Errorf("appliance identity: %w", err)
	}
	rcpt := id.Recipient().String()
	return &PublicIdentity{
		Version:          1,
		Name:             name,
		AgeRecipient:     rcpt,
		NoteVerifier:     vkey,
		Ed25519PublicKey: base64.StdEncoding.EncodeToString(pub),
		PAIPEM:           string(matter.EncodePEM(u.PAI.Raw)),
		PAAPEM:           string(matter.EncodePEM(u.PAA.Raw)),
		Fingerprint:      fingerprint("appliance", name, rcpt, pub, u.PAI.Raw, u.PAA.Raw),
	}, nil
}

// Write writes the identity as indented JSON to a new file (never overwriting).
func (p *PublicIdentity) Write(path string) error {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileNew(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("appliance identity: %w", err)
	}
	return nil
}

// fingerprint is SHA-256 over "dacline-fingerprint-v1", the role, name, age
// recipient, Ed25519 key and certificates, each with a 4-byte big-endian length
// prefix, shown as 8 groups of 4 hex digits (128 bits) to be read aloud. It is
// the same computation as airgap-bundles/bundle's.
func fingerprint(role, name, rcpt string, pub ed25519.PublicKey, certs ...[]byte) string {
	h := sha256.New()
	for _, part := range append([][]byte{[]byte("dacline-fingerprint-v1"), []byte(role), []byte(name), []byte(rcpt), pub}, certs...) {
		l := len(part)
		h.Write([]byte{byte(l >> 24), byte(l >> 16), byte(l >> 8), byte(l)})
		h.Write(part)
	}
	sum := hex.EncodeToString(h.Sum(nil)[:16])
	groups := make([]string, 0, 8)
	for i := 0; i < len(sum); i += 4 {
		groups = append(groups, sum[i:i+4])
	}
	return strings.Join(groups, " ")
}
