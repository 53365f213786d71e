// Package csrtest builds hostile PKCS#10 requests for tests: a valid
// signature over a SubjectPublicKeyInfo that is not the canonical DER of its
// key. Go's x509 parser reads such keys, so without a canonical-encoding
// check the same key could hash to many "different" SPKI digests (issue 12,
// item 2). Test support only; nothing in a program imports it.
package csrtest

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// SPKI variants for NonCanonical.
const (
	ExtraParameter = "extra-parameter" // a NULL after the curve OID in the AlgorithmIdentifier
	TrailingBytes  = "trailing-bytes"  // a NULL after the key's BIT STRING inside the SPKI
)

var (
	oidECPublicKey = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidP256        = asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}
	oidECDSASHA256 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
)

// NonCanonical returns a CSR for key, signed by key (so the proof of
// possession verifies), whose SubjectPublicKeyInfo is the variant's
// non-canonical DER, and that SPKI. variant "" gives the canonical SPKI
// built the same way (the control).
func NonCanonical(key *ecdsa.PrivateKey, variant string) (csr, spki []byte, err error) {
	point, err := key.PublicKey.ECDH()
	if err != nil {
		return nil, nil, err
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oidECPublicKey)
			b.AddASN1ObjectIdentifier(oidP256)
			if variant == ExtraParameter {
				b.AddASN1NULL()
			}
		})
		b.AddASN1BitString(point.Bytes())
		if variant == TrailingBytes {
			b.AddASN1NULL()
		}
	})
	spki, err = b.Bytes()
	if err != nil {
		return nil, nil, err
	}
	switch variant {
	case "", ExtraParameter, TrailingBytes:
	default:
		return nil, nil, fmt.Errorf("csrtest: unknown variant %q", variant)
	}
	var ib cryptobyte.Builder
	ib.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(0)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {}) // empty subject
		b.AddBytes(spki)
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {})
	})
	info, err := ib.Bytes()
	if err != nil {
		return nil, nil, err
	}
	digest := sha256.Sum256(info)
	sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	if err != nil {
		return nil, nil, err
	}
	var rb cryptobyte.Builder
	rb.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(info)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oidECDSASHA256) })
		b.AddASN1BitString(sig)
	})
	csr, err = rb.Bytes()
	if err != nil {
		return nil, nil, err
	}
	// Go must still read it, or the test would prove nothing.
	req, err := x509.ParseCertificateRequest(csr)
	if err != nil {
		return nil, nil, fmt.Errorf("csrtest: crypto/x509 refuses the %s request: %w", variant, err)
	}
	if err := req.CheckSignature(); err != nil {
		return nil, nil, fmt.Errorf("csrtest: %s request: %w", variant, err)
	}
	return csr, spki, nil
}
