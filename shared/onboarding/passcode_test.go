package onboarding

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
)

func TestIsValidPasscode(t *testing.T) {
	invalid := []uint32{0, 11111111, 22222222, 33333333, 44444444, 55555555, 66666666, 77777777,
		88888888, 12345678, 87654321, 99999999, 100000000, 1 << 27, 0xFFFFFFFF}
	for _, p := range invalid {
		if IsValidPasscode(p) {
			t.Errorf("IsValidPasscode(%d) = true", p)
		}
		if err := CheckPasscode(p); !errors.Is(err, ErrInvalidPasscode) {
			t.Errorf("CheckPasscode(%d) = %v", p, err)
		}
	}
	for _, p := range []uint32{1, 2048, 20202021, 99999998, 11111112, 12345679, 99999990} {
		if !IsValidPasscode(p) || CheckPasscode(p) != nil {
			t.Errorf("IsValidPasscode(%d) = false", p)
		}
	}
}

// scriptedReader returns the given 32-bit little-endian words, then EOF.
func scriptedReader(words ...uint32) io.Reader {
	var b bytes.Buffer
	for _, w := range words {
		binary.Write(&b, binary.LittleEndian, w)
	}
	return &b
}

func TestNewPasscodeRejectsInvalidDraws(t *testing.T) {
	// Each invalid value (including one whose low 27 bits are invalid) is skipped.
	r := scriptedReader(0, 11111111, 12345678, 99999999, 1<<27|88888888, 0xF<<28|20202021)
	p, err := newPasscode(r)
	if err != nil || p != 20202021 {
		t.Fatalf("newPasscode = %d, %v; want 20202021 after skipping the invalid draws", p, err)
	}
	if _, err := newPasscode(scriptedReader(0, 0)); err == nil {
		t.Error("newPasscode on an exhausted reader succeeded")
	}
	if _, err := newPasscode(bytes.NewReader(make([]byte, 1<<14))); err == nil {
		t.Error("newPasscode on an all-zero source succeeded")
	}
}

func TestNewPasscodeAndDiscriminatorFromCryptoRand(t *testing.T) {
	seen := map[uint32]bool{}
	for range 2000 {
		p, err := NewPasscode()
		if err != nil {
			t.Fatal(err)
		}
		if !IsValidPasscode(p) {
			t.Fatalf("NewPasscode returned invalid %d", p)
		}
		seen[p] = true
		d, err := NewDiscriminator()
		if err != nil {
			t.Fatal(err)
		}
		if CheckDiscriminator(d) != nil {
			t.Fatalf("NewDiscriminator returned %d", d)
		}
	}
	if len(seen) < 1990 { // collisions among 2000 draws from 10^8 are rare
		t.Errorf("only %d distinct passcodes in 2000 draws", len(seen))
	}
	if _, err := newDiscriminator(scriptedReader()); err == nil {
		t.Error("newDiscriminator on an empty reader succeeded")
	}
	if err := CheckDiscriminator(4096); !errors.Is(err, ErrInvalidDiscriminator) {
		t.Errorf("CheckDiscriminator(4096) = %v", err)
	}
}
