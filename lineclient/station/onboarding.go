package station

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/dacline/dacline/shared/onboarding"
)

// DefaultIterations is the PBKDF2 iteration count for new verifiers: the
// Matter minimum (SDK kSpake2p_Min_PBKDF_Iterations), which the SDK's own
// examples use. The iteration count is written to the module next to the
// salt; raising it costs the station CPU per module (PBKDF2-SHA-256, 80 bytes
// of output) and buys little against a 27-bit passcode.
const DefaultIterations = 1000

// NewOnboarding draws a module's commissioning data from crypto/rand at the
// moment its CSR is taken: passcode, discriminator, 32-byte salt, the SPAKE2+
// verifier for them, a 16-hex-digit serial number and a 16-byte
// rotating-device-ID unique ID. iterations 0 means DefaultIterations.
func NewOnboarding(iterations int) (*Onboarding, error) {
	if iterations == 0 {
		iterations = DefaultIterations
	}
	passcode, err := onboarding.NewPasscode()
	if err != nil {
		return nil, fmt.Errorf("new passcode: %w", err)
	}
	disc, err := onboarding.NewDiscriminator()
	if err != nil {
		return nil, fmt.Errorf("new discriminator: %w", err)
	}
	ob := &Onboarding{Passcode: passcode, Discriminator: disc, Iterations: uint32(iterations),
		Salt: make([]byte, 32), RotatingID: make([]byte, 16)}
	var serial [8]byte
	for _, b := range [][]byte{ob.Salt, ob.RotatingID, serial[:]} {
		if _, err := rand.Read(b); err != nil {
			return nil, fmt.Errorf("onboarding randomness: %w", err)
		}
	}
	// Serial numbers are at most 16 characters on ESP32 factory partitions
	// (esp-matter-mfg-tool --serial-num) and 32 in the Matter basic information.
	ob.SerialNumber = strings.ToUpper(hex.EncodeToString(serial[:]))
	ob.Verifier, err = onboarding.Verifier(passcode, ob.Salt, iterations)
	if err != nil {
		return nil, fmt.Errorf("spake2+ verifier: %w", err)
	}
	return ob, nil
}
