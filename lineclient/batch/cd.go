package batch

import (
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/dacline/dacline/shared/matter"
)

// ErrCDSignature: the station's Certification Declaration does not verify
// with the CD signer certificate it was set up with (lineclient init
// --cd-signer). Nothing is imported or provisioned with such a CD.
var ErrCDSignature = errors.New("station certification declaration fails its signer check")

// cdChecker checks DACs against the station's Certification Declaration the
// way a commissioner does (matter.CheckCD: VID, product ID list, DAC origin,
// authorized PAAs). The CD's signature is the certification body's: it is
// checked when the station holds the CD signer certificate (init
// --cd-signer); without one only the CD's content is checked.
type cdChecker struct{ cd *matter.CD }

func newCDChecker(der []byte, signer *x509.Certificate) (*cdChecker, error) {
	cd, err := matter.ParseCD(der)
	if err != nil {
		return nil, fmt.Errorf("station certification declaration: %w", err)
	}
	if signer != nil {
		if err := cd.Verify(signer); err != nil {
			return nil, fmt.Errorf("%w: cd signer %q: %w", ErrCDSignature, signer.Subject, err)
		}
	}
	return &cdChecker{cd: cd}, nil
}

func (c *cdChecker) check(dac, pai, paa *x509.Certificate) error {
	return matter.CheckCD(c.cd, dac, pai, paa)
}

// CDCheck returns the commissioner's CD check for a CD in DER, for the
// runner's attestation step. With signer (the station's CD signer
// certificate, or nil) the CD's signature is verified first.
func CDCheck(der []byte, signer *x509.Certificate) (func(dac, pai, paa *x509.Certificate) error, error) {
	c, err := newCDChecker(der, signer)
	if err != nil {
		return nil, err
	}
	return c.check, nil
}
