package batch

import (
	"crypto/x509"
	"fmt"

	"github.com/dacline/dacline/shared/matter"
)

// cdChecker checks DACs against the station's Certification Declaration the
// way a commissioner does (matter.CheckCD: VID, product ID list, DAC origin,
// authorized PAAs). The CD's signature is the certification body's; the
// station holds no CD signer certificate, so only its content is checked here.
type cdChecker struct{ cd *matter.CD }

func newCDChecker(der []byte) (*cdChecker, error) {
	cd, err := matter.ParseCD(der)
	if err != nil {
		return nil, fmt.Errorf("station certification declaration: %w", err)
	}
	return &cdChecker{cd: cd}, nil
}

func (c *cdChecker) check(dac, pai, paa *x509.Certificate) error {
	return matter.CheckCD(c.cd, dac, pai, paa)
}

// CDCheck returns the commissioner's CD check for a CD in DER, for the
// runner's attestation step.
func CDCheck(der []byte) (func(dac, pai, paa *x509.Certificate) error, error) {
	c, err := newCDChecker(der)
	if err != nil {
		return nil, err
	}
	return c.check, nil
}
