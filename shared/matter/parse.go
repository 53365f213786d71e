package matter

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// maxPEMInput bounds what ParseCertificate reads before decoding: a PEM of a
// 600-byte certificate is under 900 bytes; allow comments and CRLFs.
const maxPEMInput = 4096

// ParseCertificate parses one attestation certificate given as DER or as a
// single PEM "CERTIFICATE" block. It is strict: the DER must be at most
// MaxCertDER bytes with nothing after it, a PEM input must hold exactly one
// block and nothing but whitespace around it, and the certificate must parse
// under crypto/x509. It does not check the Matter profile (see ValidateDAC and
// friends); failures are *RuleError with rules "cert.size", "cert.encoding",
// "cert.parse".
func ParseCertificate(data []byte) (*x509.Certificate, error) {
	der, err := certDER(data)
	if err != nil {
		return nil, err
	}
	if len(der) > MaxCertDER {
		return nil, ruleErr("cert", "size", "certificate is %d bytes DER, Matter allows at most %d", len(der), MaxCertDER)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		if rule := criticalKeyIDExt(der); rule != "" {
			return nil, ruleErr("cert", rule, "extension must not be critical: %v", err)
		}
		if curve := spkiCurve(der); curve != nil && !curve.Equal(oidCurveP256) {
			return nil, ruleErr("cert", "publicKey", "public key is on curve %s, Matter requires P-256 (prime256v1): %v", curve, err)
		}
		return nil, ruleErr("cert", "parse", "%v", err)
	}
	return cert, nil
}

// criticalKeyIDExt names the rule when crypto/x509 refused a certificate
// because its SKID or AKID extension is marked critical (Matter Core 6.2.2:
// both SHALL be non-critical).
func criticalKeyIDExt(der []byte) string {
	in := cryptobyte.String(der)
	var cert, tbs, outer, exts cryptobyte.String
	if !in.ReadASN1(&cert, cbasn1.SEQUENCE) || !cert.ReadASN1(&tbs, cbasn1.SEQUENCE) {
		return ""
	}
	tbs.SkipOptionalASN1(cbasn1.Tag(0).Constructed().ContextSpecific())
	for range 6 { // serial, signature, issuer, validity, subject, subjectPublicKeyInfo
		var el cryptobyte.String
		var tag cbasn1.Tag
		if !tbs.ReadAnyASN1(&el, &tag) {
			return ""
		}
	}
	tbs.SkipOptionalASN1(cbasn1.Tag(1).ContextSpecific())
	tbs.SkipOptionalASN1(cbasn1.Tag(2).ContextSpecific())
	if !tbs.ReadASN1(&outer, cbasn1.Tag(3).Constructed().ContextSpecific()) || !outer.ReadASN1(&exts, cbasn1.SEQUENCE) {
		return ""
	}
	for !exts.Empty() {
		var ext cryptobyte.String
		var oid asn1.ObjectIdentifier
		crit := false
		if !exts.ReadASN1(&ext, cbasn1.SEQUENCE) || !ext.ReadASN1ObjectIdentifier(&oid) {
			return ""
		}
		if ext.PeekASN1Tag(cbasn1.BOOLEAN) && !ext.ReadASN1Boolean(&crit) {
			return ""
		}
		switch {
		case crit && oid.Equal(oidExtSKID):
			return "subjectKeyId.critical"
		case crit && oid.Equal(oidExtAKID):
			return "authorityKeyId.critical"
		}
	}
	return ""
}

var (
	oidCurveP256   = asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}
	oidECPublicKey = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
)

// spkiCurve digs the named curve out of a certificate's SubjectPublicKeyInfo
// without crypto/x509, so that a certificate Go refuses (secp256k1, say)
// still gets a precise rule. It returns nil when the walk fails.
func spkiCurve(der []byte) asn1.ObjectIdentifier {
	in := cryptobyte.String(der)
	var cert, tbs, spki, alg cryptobyte.String
	var algOID, curve asn1.ObjectIdentifier
	if !in.ReadASN1(&cert, cbasn1.SEQUENCE) || !cert.ReadASN1(&tbs, cbasn1.SEQUENCE) {
		return nil
	}
	if !tbs.SkipOptionalASN1(cbasn1.Tag(0).Constructed().ContextSpecific()) ||
		!tbs.SkipASN1(cbasn1.INTEGER) || !tbs.SkipASN1(cbasn1.SEQUENCE) || !tbs.SkipASN1(cbasn1.SEQUENCE) ||
		!tbs.SkipASN1(cbasn1.SEQUENCE) || !tbs.SkipASN1(cbasn1.SEQUENCE) ||
		!tbs.ReadASN1(&spki, cbasn1.SEQUENCE) || !spki.ReadASN1(&alg, cbasn1.SEQUENCE) ||
		!alg.ReadASN1ObjectIdentifier(&algOID) || !algOID.Equal(oidECPublicKey) ||
		!alg.ReadASN1ObjectIdentifier(&curve) {
		return nil
	}
	return curve
}

// certDER returns the DER inside data, which is either DER or one PEM block.
func certDER(data []byte) ([]byte, error) {
	trimmed := bytes.TrimSpace(data)
	if !bytes.HasPrefix(trimmed, []byte("-----BEGIN")) {
		return data, nil
	}
	if len(data) > maxPEMInput {
		return nil, ruleErr("cert", "size", "PEM input is %d bytes, at most %d accepted", len(data), maxPEMInput)
	}
	block, rest := pem.Decode(trimmed)
	if block == nil {
		return nil, ruleErr("cert", "encoding", "malformed PEM")
	}
	if block.Type != "CERTIFICATE" {
		return nil, ruleErr("cert", "encoding", "PEM block is %q, want CERTIFICATE", block.Type)
	}
	if len(block.Headers) != 0 {
		return nil, ruleErr("cert", "encoding", "PEM block has headers")
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, ruleErr("cert", "encoding", "data after the PEM block (one certificate per input)")
	}
	return block.Bytes, nil
}

// EncodePEM returns der as a PEM CERTIFICATE block.
func EncodePEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// ParseCertificateAs parses data and validates it against the profile of
// typ. Parse-level rules are reported under typ ("dac.size" rather than
// "cert.size").
func ParseCertificateAs(data []byte, typ CertType) (*x509.Certificate, error) {
	cert, err := ParseCertificate(data)
	if err != nil {
		var re *RuleError
		if errors.As(err, &re) && strings.HasPrefix(re.Rule, "cert.") {
			return nil, &RuleError{Rule: typ.String() + strings.TrimPrefix(re.Rule, "cert"), Cert: typ.String(), Detail: re.Detail}
		}
		return nil, fmt.Errorf("%s: %w", typ, err)
	}
	if err := ValidateCertificate(cert, typ); err != nil {
		return nil, err
	}
	return cert, nil
}
