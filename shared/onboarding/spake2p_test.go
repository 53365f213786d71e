package onboarding

import (
	"bytes"
	"crypto/elliptic"
	"errors"
	"math/big"
	"testing"
)

func TestVerifierRefusesBadParameters(t *testing.T) {
	salt16 := bytes.Repeat([]byte{1}, 16)
	cases := []struct {
		name     string
		passcode uint32
		salt     []byte
		iter     int
		is       error
	}{
		{"salt 15 bytes", 20202021, salt16[:15], 1000, ErrInvalidSalt},
		{"salt 33 bytes", 20202021, bytes.Repeat([]byte{1}, 33), 1000, ErrInvalidSalt},
		{"no salt", 20202021, nil, 1000, ErrInvalidSalt},
		{"iterations 999", 20202021, salt16, 999, ErrInvalidIterations},
		{"iterations 100001", 20202021, salt16, 100001, ErrInvalidIterations},
		{"passcode 0", 0, salt16, 1000, ErrInvalidPasscode},
		{"passcode 12345678", 12345678, salt16, 1000, ErrInvalidPasscode},
		{"passcode 99999999", 99999999, salt16, 1000, ErrInvalidPasscode},
	}
	for _, c := range cases {
		if _, err := Verifier(c.passcode, c.salt, c.iter); !errors.Is(err, c.is) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.is)
		}
	}
	// The bounds themselves are accepted.
	for _, c := range []struct {
		salt []byte
		iter int
	}{{salt16, 1000}, {bytes.Repeat([]byte{2}, 32), 1000}} {
		if _, err := Verifier(20202021, c.salt, c.iter); err != nil {
			t.Errorf("Verifier(salt %d bytes, %d iterations): %v", len(c.salt), c.iter, err)
		}
	}
	if err := CheckPBKDFParams(salt16, 100000); err != nil {
		t.Errorf("100000 iterations refused: %v", err)
	}
}

// L must be a point on P-256 equal to w1·G, computed independently with
// crypto/elliptic, and w0, w1 must be reduced below n.
func TestVerifierStructure(t *testing.T) {
	salt := []byte("SPAKE2P Key Salt")
	v, err := Verifier(34567890, salt, 1000)
	if err != nil {
		t.Fatal(err)
	}
	w0, w1, err := spake2pScalars(34567890, salt, 1000)
	if err != nil {
		t.Fatal(err)
	}
	n := elliptic.P256().Params().N
	for _, w := range [][]byte{w0, w1} {
		if new(big.Int).SetBytes(w).Cmp(n) >= 0 {
			t.Errorf("scalar %x not reduced mod n", w)
		}
	}
	x, y := elliptic.P256().ScalarBaseMult(w1)      //nolint:staticcheck // independent check of crypto/ecdh
	want := elliptic.Marshal(elliptic.P256(), x, y) //nolint:staticcheck
	if !bytes.Equal(v[32:], want) {
		t.Errorf("L = %x, want w1·G = %x", v[32:], want)
	}
	if !bytes.Equal(v[:32], w0) {
		t.Error("verifier does not start with w0")
	}
	if err := MatchVerifier(v[:96], 34567890, salt, 1000); !errors.Is(err, ErrVerifierMismatch) {
		t.Errorf("short verifier: %v", err)
	}
	other, _ := Verifier(34567890, salt, 1001)
	if bytes.Equal(other, v) {
		t.Error("iteration count does not change the verifier")
	}
}

func TestNewSalt(t *testing.T) {
	a, err := NewSalt()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewSalt()
	if len(a) != SaltMax || bytes.Equal(a, b) {
		t.Errorf("NewSalt = %x, %x", a, b)
	}
	if CheckPBKDFParams(a, IterationsDefault) != nil {
		t.Error("NewSalt/IterationsDefault do not pass CheckPBKDFParams")
	}
}
