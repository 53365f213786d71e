package main

import (
	"crypto/x509"
	"errors"

	"github.com/urfave/cli/v2"

	"github.com/dacline/dacline/shared/matter"
)

var crlValidateFlag = &cli.StringFlag{Name: "crl", Usage: "refuse a DAC listed on this CRL `FILE` (DER or PEM) of its PAI"}

// checkCRL is cert validate's --crl: the CRL must be signed by the PAI given
// with --pai (a CRL that does not verify is a refusal, not a pass), and the
// DAC must not be on it (rule dac.revoked, Matter Core 1.4 §6.2.4).
func checkCRL(c *cli.Context, dac, pai *x509.Certificate, rep *validateReport) error {
	f := c.String("crl")
	if f == "" {
		return nil
	}
	b, err := readBounded(f, matter.MaxCRLSize)
	if err != nil {
		return err
	}
	crl, err := matter.ParseCRLFrom(b, pai)
	if err != nil {
		return &matter.RuleError{Rule: "crl.issuer", Cert: "crl", Detail: f + ": " + err.Error()}
	}
	if err := matter.CheckNotRevoked(dac, crl); err != nil {
		rule := "crl.scope"
		if errors.Is(err, matter.ErrRevoked) {
			rule = "dac.revoked"
		}
		return &matter.RuleError{Rule: rule, Cert: "dac", Detail: err.Error()}
	}
	rep.Checked = append(rep.Checked, "crl")
	return nil
}
