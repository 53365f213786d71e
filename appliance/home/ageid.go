package home

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"filippo.io/age"

	"github.com/dacline/dacline/appliance/hsm"
)

// identityMagic starts identity.age.enc and is the AES-GCM associated data, so
// the ciphertext cannot be passed off as another kind of sealed blob.
const identityMagic = "dacline-age-identity-v1\n"

// sealIdentity encrypts the age identity under the token's AES key:
// magic ‖ nonce (12) ‖ ciphertext+tag.
func sealIdentity(key *hsm.SecretKey, id *age.X25519Identity) ([]byte, error) {
	nonce, ct, err := key.Seal([]byte(id.String()), []byte(identityMagic))
	if err != nil {
		return nil, fmt.Errorf("seal age identity: %w", err)
	}
	out := append([]byte(identityMagic), nonce...)
	return append(out, ct...), nil
}

func openIdentity(key *hsm.SecretKey, blob []byte) (*age.X25519Identity, error) {
	rest, ok := bytes.CutPrefix(blob, []byte(identityMagic))
	if !ok {
		return nil, errors.New("not a dacline sealed age identity (bad magic)")
	}
	if len(rest) < hsm.GCMNonceSize+16 {
		return nil, errors.New("sealed age identity is truncated")
	}
	pt, err := key.Open(rest[:hsm.GCMNonceSize], rest[hsm.GCMNonceSize:], []byte(identityMagic))
	if err != nil {
		return nil, err
	}
	defer clear(pt)
	id, err := age.ParseX25519Identity(string(pt))
	if err != nil {
		return nil, errors.New("sealed age identity does not decrypt to an age X25519 identity")
	}
	return id, nil
}

// LoadAgeIdentity decrypts the appliance's age identity with the token's AES key
// and checks it against the recipient recorded in config.json.
func (h *Home) LoadAgeIdentity(tok *hsm.Token) (*age.X25519Identity, error) {
	key, err := tok.FindAESKey(h.Config.Keys.AgeWrap)
	if err != nil {
		return nil, fmt.Errorf("age identity: %w", err)
	}
	blob, err := os.ReadFile(h.Path(IdentityFile))
	if err != nil {
		return nil, fmt.Errorf("age identity: %w", err)
	}
	id, err := openIdentity(key, blob)
	if err != nil {
		return nil, fmt.Errorf("age identity %s: %w", h.Path(IdentityFile), err)
	}
	if got := id.Recipient().String(); got != h.Config.AgeRecipient {
		return nil, fmt.Errorf("age identity %s: recipient %s is not the configured %s", h.Path(IdentityFile), got, h.Config.AgeRecipient)
	}
	return id, nil
}

// AgeIdentity is LoadAgeIdentity on the unlocked token.
func (u *Unlocked) AgeIdentity() (*age.X25519Identity, error) { return u.Home.LoadAgeIdentity(u.Token) }
