package ceremony

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"errors"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// csrPublicKey returns the P-256 key and the DER SubjectPublicKeyInfo of a
// PKCS#10 request that already passed matter.ParseDACCSR (signature, curve,
// algorithm) in the check of the same hash-verified batch: issuing needs
// only the key, and walking to it is a fraction of re-parsing the request.
//
//	CertificationRequest ::= SEQUENCE {
//	  certificationRequestInfo SEQUENCE { version INTEGER, subject Name,
//	    subjectPKInfo SubjectPublicKeyInfo, attributes [0] ... }, ... }
func csrPublicKey(der []byte) (*ecdsa.PublicKey, []byte, error) {
	in := cryptobyte.String(der)
	var req, info, spki cryptobyte.String
	var version int64
	if !in.ReadASN1(&req, cbasn1.SEQUENCE) || !req.ReadASN1(&info, cbasn1.SEQUENCE) ||
		!info.ReadASN1Integer(&version) || !info.SkipASN1(cbasn1.SEQUENCE) ||
		!info.ReadASN1Element(&spki, cbasn1.SEQUENCE) {
		return nil, nil, errors.New("malformed certification request")
	}
	key, err := x509.ParsePKIXPublicKey(spki)
	if err != nil {
		return nil, nil, err
	}
	pub, ok := key.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return nil, nil, errors.New("not a P-256 key")
	}
	return pub, spki, nil
}
