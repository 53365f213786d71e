package onboarding

import (
	"fmt"
	"strings"
)

// Code is a decoded onboarding code: either QR payloads or a manual pairing code.
type Code struct {
	QR     []Payload   // set when the code was a QR payload ("MT:…")
	Manual *ManualCode // set when the code was a manual pairing code
}

// Decode decodes either form: a string starting with "MT:" as QR payload(s), a
// string of digits, dashes and spaces as a manual pairing code. Surrounding
// white space is ignored.
func Decode(code string) (Code, error) {
	s := strings.TrimSpace(code)
	if strings.HasPrefix(s, QRPrefix) {
		ps, err := DecodeQRs(s)
		return Code{QR: ps}, err
	}
	if s != "" && strings.Trim(s, "0123456789- ") == "" {
		m, err := DecodeManual(s)
		if err != nil {
			return Code{}, err
		}
		return Code{Manual: &m}, nil
	}
	if strings.HasPrefix(strings.ToUpper(s), QRPrefix) {
		return Code{}, fmt.Errorf("%w: prefix %q must be upper case %q", ErrInvalidQR, s[:3], QRPrefix)
	}
	return Code{}, fmt.Errorf("%w: neither a QR payload (starts with %q) nor a manual pairing code (11 or 21 digits)", ErrInvalidQR, QRPrefix)
}
