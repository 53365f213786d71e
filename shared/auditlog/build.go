package auditlog

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
)

// Key types of a key-generated entry.
const (
	KeyTypeP256    = "p256"    // ECDSA P-256 key pair (PAI, test PAA)
	KeyTypeEd25519 = "ed25519" // Ed25519 key pair (the appliance signing key)
	KeyTypeAES256  = "aes256"  // AES-256 secret key (seals the age identity); it has no public key
)

// NewStationEnrolled builds a station-enrolled entry from the station's keys:
// it writes the Ed25519 key in full and derives its SHA-256, so the two never
// disagree. bundleSHA256 is the hex SHA-256 of the enrollment bundle file.
func NewStationEnrolled(station, fingerprint, ageRecipient string, pub ed25519.PublicKey, bundleSHA256 string) (*StationEnrolled, error) {
	if len(pub) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("station-enrolled %s: Ed25519 public key is %d bytes, want %d", station, len(pub), ed25519.PublicKeySize)
	}
	sum := sha256.Sum256(pub)
	e := &StationEnrolled{
		AgeRecipient: ageRecipient, BundleSHA256: bundleSHA256,
		Ed25519PublicKey: base64.StdEncoding.EncodeToString(pub), Fingerprint: fingerprint,
		PublicKeySHA256: hex.EncodeToString(sum[:]), Station: station,
	}
	if err := e.validate(); err != nil {
		return nil, fmt.Errorf("station-enrolled %s: %w", station, err)
	}
	return e, nil
}

// PublicKey is the station's Ed25519 key from the entry.
func (e *StationEnrolled) PublicKey() (ed25519.PublicKey, error) {
	b, err := base64.StdEncoding.Strict().DecodeString(e.Ed25519PublicKey)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("ed25519_public_key: want standard base64 of %d bytes", ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(b), nil
}
