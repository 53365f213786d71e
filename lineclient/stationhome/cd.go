package stationhome

import (
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/dacline/dacline/shared/matter"
)

// ErrCDSignerWithoutCD: a CD signer certificate was given without a CD.
var ErrCDSignerWithoutCD = errors.New("a cd signer certificate needs a certification declaration (--cd)")

// VerifyCD parses the CD signer certificate (PEM or DER) and checks that the
// Certification Declaration cd (DER) is signed by its key: the CMS signer
// key identifier equals the certificate's SKID and the signature verifies
// over the CD content. It returns the parsed certificate.
func VerifyCD(cd, signerCert []byte) (*x509.Certificate, error) {
	cert, err := matter.ParseCertificate(signerCert)
	if err != nil {
		return nil, fmt.Errorf("cd signer certificate: %w", err)
	}
	parsed, err := matter.ParseCD(cd)
	if err != nil {
		return nil, fmt.Errorf("certification declaration: %w", err)
	}
	if err := parsed.Verify(cert); err != nil {
		return nil, fmt.Errorf("certification declaration is not signed by the cd signer %q: %w", cert.Subject, err)
	}
	return cert, nil
}
