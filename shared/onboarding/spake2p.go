package onboarding

import (
	"crypto/ecdh"
	"crypto/elliptic"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
)

// SPAKE2+ verifier (Matter Core, PAKE chapter; SDK scripts/tools/spake2p/spake2p.py):
//
//	ws = PBKDF2-HMAC-SHA256(passcode as uint32 little-endian, salt, iterations, 80 bytes)
//	w0 = ws[0:40] mod n,  w1 = ws[40:80] mod n   (big-endian, n = order of P-256)
//	L  = w1·G
//	verifier = w0 (32 bytes) ‖ L (65 bytes, uncompressed) = 97 bytes
//
// The device stores the verifier, salt and iteration count; the passcode only goes
// on the label.

const (
	SaltMin       = 16     // bytes (SDK kSpake2p_Min_PBKDF_Salt_Length)
	SaltMax       = 32     // bytes
	IterationsMin = 1000   // Crypto::kSpake2p_Min_PBKDF_Iterations
	IterationsMax = 100000 // Crypto::kSpake2p_Max_PBKDF_Iterations
	// IterationsDefault is what esp-matter-mfg-tool and the SDK's factory-data
	// scripts use when none is given.
	IterationsDefault = 10000
	// VerifierSize is the length of w0 ‖ L.
	VerifierSize = 32 + 65

	wsHalf = 40 // bytes of PBKDF2 output per scalar (32 + 8 to make mod n unbiased)
)

var (
	// ErrInvalidSalt marks a PBKDF salt outside 16..32 bytes.
	ErrInvalidSalt = errors.New("invalid PBKDF salt")
	// ErrInvalidIterations marks a PBKDF iteration count outside 1000..100000.
	ErrInvalidIterations = errors.New("invalid PBKDF iteration count")
	// ErrVerifierMismatch means a verifier was not derived from the given inputs.
	ErrVerifierMismatch = errors.New("verifier does not match passcode, salt and iterations")
)

// CheckPBKDFParams checks the salt length and iteration count.
func CheckPBKDFParams(salt []byte, iterations int) error {
	if len(salt) < SaltMin || len(salt) > SaltMax {
		return fmt.Errorf("%w: %d bytes, must be %d..%d", ErrInvalidSalt, len(salt), SaltMin, SaltMax)
	}
	if iterations < IterationsMin || iterations > IterationsMax {
		return fmt.Errorf("%w: %d, must be %d..%d", ErrInvalidIterations, iterations, IterationsMin, IterationsMax)
	}
	return nil
}

// NewSalt draws a 32-byte PBKDF salt from crypto/rand (the largest Matter allows,
// as esp-matter-mfg-tool does).
func NewSalt() ([]byte, error) {
	salt := make([]byte, SaltMax)
	if _, err := rand.Read(salt); err != nil {
		return nil, fmt.Errorf("generate PBKDF salt: %w", err)
	}
	return salt, nil
}

// Verifier derives the 97-byte SPAKE2+ verifier w0 ‖ L for a passcode.
func Verifier(passcode uint32, salt []byte, iterations int) ([]byte, error) {
	w0, w1, err := spake2pScalars(passcode, salt, iterations)
	if err != nil {
		return nil, err
	}
	// crypto/ecdh multiplies the base point by a big-endian scalar in constant
	// time; it refuses 0, which w1 is with probability 2^-256.
	priv, err := ecdh.P256().NewPrivateKey(w1)
	if err != nil {
		return nil, fmt.Errorf("spake2+ verifier: w1·G: %w", err)
	}
	out := make([]byte, 0, VerifierSize)
	out = append(out, w0...)
	out = append(out, priv.PublicKey().Bytes()...)
	clear(w1)
	return out, nil
}

// MatchVerifier reports (as ErrVerifierMismatch) whether verifier was derived from
// passcode, salt and iterations, comparing in constant time. It re-checks a
// verifier that came from elsewhere before it is written to a device.
func MatchVerifier(verifier []byte, passcode uint32, salt []byte, iterations int) error {
	if len(verifier) != VerifierSize {
		return fmt.Errorf("%w: verifier is %d bytes, want %d", ErrVerifierMismatch, len(verifier), VerifierSize)
	}
	want, err := Verifier(passcode, salt, iterations)
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare(want, verifier) != 1 {
		return ErrVerifierMismatch
	}
	return nil
}

// spake2pScalars returns w0 and w1 as 32-byte big-endian values.
func spake2pScalars(passcode uint32, salt []byte, iterations int) (w0, w1 []byte, err error) {
	if err := CheckPasscode(passcode); err != nil {
		return nil, nil, err
	}
	if err := CheckPBKDFParams(salt, iterations); err != nil {
		return nil, nil, err
	}
	var pw [4]byte
	binary.LittleEndian.PutUint32(pw[:], passcode)
	ws, err := pbkdf2.Key(sha256.New, string(pw[:]), salt, iterations, 2*wsHalf)
	if err != nil {
		return nil, nil, fmt.Errorf("spake2+ verifier: pbkdf2: %w", err)
	}
	defer clear(ws)
	// math/big is not constant time; the input is a 27-bit passcode stretched by
	// PBKDF2, and this runs once per device on the station, not on the device.
	n := elliptic.P256().Params().N
	w0 = new(big.Int).Mod(new(big.Int).SetBytes(ws[:wsHalf]), n).FillBytes(make([]byte, 32))
	w1 = new(big.Int).Mod(new(big.Int).SetBytes(ws[wsHalf:]), n).FillBytes(make([]byte, 32))
	return w0, w1, nil
}
