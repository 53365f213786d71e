package hsm

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"fmt"
)

// KeyType is the kind of key pair the token holds.
type KeyType int

const (
	// KeyP256 is an ECDSA key on NIST P-256 (PAI, PAA).
	KeyP256 KeyType = iota + 1
	// KeyEd25519 is an EdDSA key on edwards25519 (appliance signing key).
	KeyEd25519
)

func (k KeyType) String() string {
	switch k {
	case KeyP256:
		return "P-256"
	case KeyEd25519:
		return "Ed25519"
	}
	return fmt.Sprintf("KeyType(%d)", int(k))
}

// DER-encoded CKA_EC_PARAMS (named-curve OIDs).
var (
	// prime256v1, 1.2.840.10045.3.1.7
	ecParamsP256 = []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}
	// id-Ed25519, 1.3.101.112 (RFC 8410)
	ecParamsEd25519 = []byte{0x06, 0x03, 0x2b, 0x65, 0x70}
)

func (k KeyType) ecParams() []byte {
	if k == KeyEd25519 {
		return ecParamsEd25519
	}
	return ecParamsP256
}

// unwrapECPoint returns the raw point from CKA_EC_POINT. PKCS#11 says the value is
// a DER OCTET STRING around the point, but some tokens return the bare point; the
// two are told apart by their exact lengths (rawLen, or rawLen+2 with 04 rawLen).
func unwrapECPoint(v []byte, rawLen int) ([]byte, error) {
	switch {
	case len(v) == rawLen:
		return v, nil
	case len(v) == rawLen+2 && v[0] == 0x04 && int(v[1]) == rawLen:
		return v[2:], nil
	}
	return nil, fmt.Errorf("CKA_EC_POINT has %d bytes, want %d (raw) or %d (DER OCTET STRING)", len(v), rawLen, rawLen+2)
}

// parsePublicKey turns CKA_EC_PARAMS and CKA_EC_POINT into a Go public key,
// checking that the curve is the one asked for and the point is on it.
func parsePublicKey(typ KeyType, params, point []byte) (crypto.PublicKey, error) {
	if !bytes.Equal(params, typ.ecParams()) {
		return nil, fmt.Errorf("public key curve parameters %x are not %s", params, typ)
	}
	switch typ {
	case KeyP256:
		raw, err := unwrapECPoint(point, 65)
		if err != nil {
			return nil, err
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), raw)
		if err != nil {
			return nil, fmt.Errorf("public key: %w", err)
		}
		return pub, nil
	case KeyEd25519:
		raw, err := unwrapECPoint(point, ed25519.PublicKeySize)
		if err != nil {
			return nil, err
		}
		return ed25519.PublicKey(bytes.Clone(raw)), nil
	}
	return nil, fmt.Errorf("unsupported key type %v", typ)
}
