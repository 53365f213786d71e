package matter

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// DAC revocation (Matter Core 1.4 §6.2.4, "Device Attestation Revocation"):
// a PAI publishes a full RFC 5280 v2 CRL signed with its own key (the PAI is
// the CRL signer, revocationType 1 in the DCL). A commissioner checks a DAC
// against the CRL whose issuer name and authority key ID equal the DAC's
// issuer name and authority key ID.

// MaxCRLSize bounds a CRL file read from disk or a stick.
const MaxCRLSize = 4 << 20

// ErrRevoked: the certificate's serial number is on the CRL of its issuer.
var ErrRevoked = errors.New("certificate is revoked")

// ParseCRLFrom parses a DER or PEM CRL and checks that issuer signed it: the
// signature verifies with issuer's key, the CRL's issuer name is the issuer's
// subject, its authority key ID (when present) is the issuer's subject key
// ID, and it carries a CRL number (RFC 5280 5.2.3: conforming issuers
// include it).
func ParseCRLFrom(data []byte, issuer *x509.Certificate) (*x509.RevocationList, error) {
	if len(data) > MaxCRLSize {
		return nil, fmt.Errorf("crl: %d bytes, more than the %d allowed", len(data), MaxCRLSize)
	}
	der := data
	if b, _ := pem.Decode(data); b != nil {
		if b.Type != "X509 CRL" {
			return nil, fmt.Errorf("crl: pem block %q, want \"X509 CRL\"", b.Type)
		}
		der = b.Bytes
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		return nil, fmt.Errorf("crl: %w", err)
	}
	if issuer == nil {
		return crl, nil
	}
	if !bytes.Equal(crl.RawIssuer, issuer.RawSubject) {
		return nil, fmt.Errorf("crl: issued by %s, not by %s", FormatName(crl.RawIssuer), FormatName(issuer.RawSubject))
	}
	if len(crl.AuthorityKeyId) > 0 && !bytes.Equal(crl.AuthorityKeyId, issuer.SubjectKeyId) {
		return nil, fmt.Errorf("crl: authority key id %X is not the issuer's subject key id %X", crl.AuthorityKeyId, issuer.SubjectKeyId)
	}
	if err := crl.CheckSignatureFrom(issuer); err != nil {
		return nil, fmt.Errorf("crl: signature does not verify with %s: %w", FormatName(issuer.RawSubject), err)
	}
	if crl.Number == nil || crl.Number.Sign() <= 0 {
		return nil, errors.New("crl: no crl number")
	}
	return crl, nil
}

// CheckNotRevoked returns an error wrapping ErrRevoked when cert is listed on
// crl, which must be the CRL of cert's issuer (same issuer name, and the
// certificate's authority key ID equal to the CRL's). A CRL of another issuer
// is an error too: it says nothing about cert.
func CheckNotRevoked(cert *x509.Certificate, crl *x509.RevocationList) error {
	if !bytes.Equal(cert.RawIssuer, crl.RawIssuer) {
		return fmt.Errorf("crl of %s does not cover a certificate issued by %s", FormatName(crl.RawIssuer), FormatName(cert.RawIssuer))
	}
	if len(crl.AuthorityKeyId) > 0 && !bytes.Equal(crl.AuthorityKeyId, cert.AuthorityKeyId) {
		return fmt.Errorf("crl authority key id %X differs from the certificate's %X", crl.AuthorityKeyId, cert.AuthorityKeyId)
	}
	if e := RevokedEntry(crl, cert.SerialNumber); e != nil {
		return fmt.Errorf("serial %X: %w by crl number %s on %s", cert.SerialNumber, ErrRevoked, crl.Number, e.RevocationTime.UTC().Format(time.RFC3339))
	}
	return nil
}

// RevokedEntry returns the entry of crl listing serial, or nil.
func RevokedEntry(crl *x509.RevocationList, serial *big.Int) *x509.RevocationListEntry {
	for i := range crl.RevokedCertificateEntries {
		if crl.RevokedCertificateEntries[i].SerialNumber.Cmp(serial) == 0 {
			return &crl.RevokedCertificateEntries[i]
		}
	}
	return nil
}
