package onboarding

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

const (
	// PasscodeMax is the largest valid setup passcode, 99999998 (0x5F5E0FE)
	// (Matter Core §5.1.1.6; SDK kSetupPINCodeMaximumValue).
	PasscodeMax = 99999998
	// DiscriminatorMax is the largest 12-bit discriminator.
	DiscriminatorMax = 1<<12 - 1
)

var (
	// ErrInvalidPasscode marks a passcode Matter forbids.
	ErrInvalidPasscode = errors.New("invalid passcode")
	// ErrInvalidDiscriminator marks a discriminator that does not fit 12 bits.
	ErrInvalidDiscriminator = errors.New("invalid discriminator")
)

// IsValidPasscode reports whether p may be used as a setup passcode. It mirrors the
// SDK's PayloadContents::IsValidSetupPIN: 1..99999998, and none of the trivial
// values 11111111, 22222222, … 88888888, 12345678, 87654321
// (SDK src/setup_payload/SetupPayload.cpp).
func IsValidPasscode(p uint32) bool {
	if p == 0 || p > PasscodeMax {
		return false
	}
	switch p {
	case 11111111, 22222222, 33333333, 44444444, 55555555, 66666666, 77777777, 88888888,
		12345678, 87654321:
		return false
	}
	return true
}

// CheckPasscode returns an error naming why p is not a valid passcode, or nil.
func CheckPasscode(p uint32) error {
	switch {
	case p == 0:
		return fmt.Errorf("%w: 0 (the range is 00000001..99999998)", ErrInvalidPasscode)
	case p > PasscodeMax:
		return fmt.Errorf("%w: %d is above 99999998", ErrInvalidPasscode, p)
	case !IsValidPasscode(p):
		return fmt.Errorf("%w: %08d is one of the trivial passcodes Matter forbids", ErrInvalidPasscode, p)
	}
	return nil
}

// CheckDiscriminator returns an error if d does not fit the 12-bit discriminator.
func CheckDiscriminator(d uint16) error {
	if d > DiscriminatorMax {
		return fmt.Errorf("%w: %d is above 4095 (12 bits)", ErrInvalidDiscriminator, d)
	}
	return nil
}

// NewPasscode draws a valid passcode uniformly from crypto/rand.
func NewPasscode() (uint32, error) { return newPasscode(rand.Reader) }

// NewDiscriminator draws a 12-bit discriminator uniformly from crypto/rand.
func NewDiscriminator() (uint16, error) { return newDiscriminator(rand.Reader) }

// newPasscode rejection-samples 27-bit values (the QR field width; 2^27 > 99999998,
// so about three draws in four are kept) until one passes IsValidPasscode. No modulo,
// so no bias, and nothing invalid can come out.
func newPasscode(r io.Reader) (uint32, error) {
	var b [4]byte
	for range 1000 {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return 0, fmt.Errorf("generate passcode: read random: %w", err)
		}
		p := binary.LittleEndian.Uint32(b[:]) & (1<<27 - 1)
		if IsValidPasscode(p) {
			return p, nil
		}
	}
	return 0, errors.New("generate passcode: random source returned no valid passcode in 1000 draws (broken random source?)")
}

func newDiscriminator(r io.Reader) (uint16, error) {
	var b [2]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return 0, fmt.Errorf("generate discriminator: read random: %w", err)
	}
	return binary.LittleEndian.Uint16(b[:]) & DiscriminatorMax, nil
}
