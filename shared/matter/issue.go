package matter

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"

	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// errNoRandomness is what the reader handed to x509.CreateCertificate returns:
// serials come from the caller and ECDSA nonces from the signer, so any other
// use of randomness during issuance is a bug to surface, not to paper over.
var errNoRandomness = errors.New("matter: certificate issuance must not consume randomness")

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errNoRandomness }

// IssueCertificate signs tmpl (from PAATemplate, PAITemplate or DACTemplate)
// as a typ certificate for pub, issued by parent with signer (parent's key;
// for a PAA, parent is nil or tmpl and signer holds pub's private key).
//
// Lint, sign, verify, as an offline CA should:
//  1. the template is checked against the profile (serial, key, subject
//     VID/PID as UTF8String, validity) and, for a PAI or DAC, the parent
//     against its own profile, the VID/PID chain rules and the issuance time;
//  2. x509.CreateCertificate runs with a rand reader that fails;
//  3. the signature is verified with the parent key — exactly once, by
//     x509.CreateCertificate itself, which verifies what the signer returned
//     with signer.Public() before returning, and signer.Public() was checked
//     above to equal the parent certificate's key (the token's signer may
//     therefore skip its own verification: hsm.Key.X509Signer); the DER is
//     at most 600 bytes and re-parses to the same subject, serial and key;
//  4. the result passes ValidateCertificate for typ.
func IssueCertificate(tmpl, parent *x509.Certificate, pub crypto.PublicKey, signer crypto.Signer, typ CertType) ([]byte, error) {
	cert, err := IssueParsed(tmpl, parent, pub, signer, typ)
	if err != nil {
		return nil, err
	}
	return cert.Raw, nil
}

// IssueParsed is IssueCertificate returning the issued certificate as
// parsed for its checks (its Raw is the DER), for callers that go on
// checking it and would otherwise parse it again.
func IssueParsed(tmpl, parent *x509.Certificate, pub crypto.PublicKey, signer crypto.Signer, typ CertType) (*x509.Certificate, error) {
	p := typ.String()
	if tmpl == nil || signer == nil {
		return nil, fmt.Errorf("issue %s: template and signer are required", p)
	}
	if err := checkTemplate(tmpl, pub, typ); err != nil {
		return nil, fmt.Errorf("issue %s: template: %w", p, err)
	}
	self := typ == PAA && (parent == nil || parent == tmpl)
	if typ == PAA && !self {
		return nil, fmt.Errorf("issue paa: a PAA is self-signed; pass no parent")
	}
	if self {
		parent = tmpl
	} else if err := checkParent(tmpl, parent, typ); err != nil {
		return nil, fmt.Errorf("issue %s: %w", p, err)
	}
	parentKey := parent.PublicKey
	if self {
		parentKey = pub
	}
	if eq, ok := signer.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !eq.Equal(parentKey) {
		return nil, fmt.Errorf("issue %s: signer key does not match the issuer certificate", p)
	}

	der, err := x509.CreateCertificate(failingReader{}, tmpl, parent, pub, signer)
	if err != nil {
		return nil, fmt.Errorf("issue %s: sign: %w", p, err)
	}
	if len(der) > MaxCertDER {
		return nil, fmt.Errorf("issue %s: %w", p, ruleErr(p, "size", "certificate is %d bytes DER, Matter allows at most %d", len(der), MaxCertDER))
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("issue %s: re-parse: %w", p, err)
	}
	// No parent.CheckSignature here: CreateCertificate verified the
	// signature with signer.Public(), which equals the parent key (checked
	// before signing); a bad signature never gets this far (TestIssueCatchesBadSignature).
	if !bytes.Equal(cert.RawSubject, tmpl.RawSubject) || cert.SerialNumber.Cmp(tmpl.SerialNumber) != 0 {
		return nil, fmt.Errorf("issue %s: issued certificate differs from the template", p)
	}
	if eq, ok := cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); !ok || !eq.Equal(pub) {
		return nil, fmt.Errorf("issue %s: issued certificate carries a different public key", p)
	}
	if err := ValidateCertificate(cert, typ); err != nil {
		return nil, fmt.Errorf("issue %s: issued certificate fails the profile: %w", p, err)
	}
	if typ == DAC {
		if err := checkVIDPIDChain(cert, parent, nil); err != nil {
			return nil, fmt.Errorf("issue dac: %w", err)
		}
	}
	return cert, nil
}

// checkTemplate lints the fields IssueCertificate relies on before signing.
func checkTemplate(t *x509.Certificate, pub crypto.PublicKey, typ CertType) error {
	p := typ.String()
	if err := checkSerial(t.SerialNumber); err != nil {
		return ruleErr(p, "serialNumber", "%v", err)
	}
	if t.SignatureAlgorithm != x509.ECDSAWithSHA256 {
		return ruleErr(p, "signatureAlgorithm", "template signature algorithm is %s, want ecdsa-with-SHA256", t.SignatureAlgorithm)
	}
	if _, err := p256Key(pub); err != nil {
		return ruleErr(p, "publicKey", "%v", err)
	}
	if !t.NotBefore.Before(t.NotAfter) {
		return ruleErr(p, "validity", "notBefore is not before notAfter")
	}
	if !t.BasicConstraintsValid {
		return ruleErr(p, "basicConstraints.missing", "template has no basicConstraints")
	}
	if len(t.SubjectKeyId) != keyIdentifierLen {
		return ruleErr(p, "subjectKeyId.length", "template subjectKeyIdentifier is %d bytes, want %d", len(t.SubjectKeyId), keyIdentifierLen)
	}
	if want, err := KeyID(pub); err != nil || !bytes.Equal(want, t.SubjectKeyId) {
		return ruleErr(p, "subjectKeyId.value", "template subjectKeyIdentifier is not the key identifier of the subject public key")
	}
	if len(t.RawSubject) == 0 {
		return ruleErr(p, "subject.missing", "template has no RawSubject (build it with Subject.RawSubject)")
	}
	if err := checkUTF8VIDPID(t.RawSubject); err != nil {
		return ruleErr(p, "subject.vidpid", "%v", err)
	}
	vp, err := ExtractVIDPID(t.RawSubject)
	if err != nil {
		return ruleErr(p, "subject.vidpid", "%v", err)
	}
	switch {
	case typ != PAA && !vp.HasVID:
		return ruleErr(p, "subject.vid.missing", "subject has no vendor ID")
	case typ == DAC && !vp.HasPID:
		return ruleErr(p, "subject.pid.missing", "subject has no product ID")
	case typ == PAA && vp.HasPID:
		return ruleErr(p, "subject.pid.present", "a PAA subject must not carry a product ID")
	}
	return nil
}

// checkUTF8VIDPID requires the Matter VID/PID attributes to be UTF8Strings,
// as the spec says and the SDK's certificates do.
func checkUTF8VIDPID(rawSubject []byte) error {
	attrs, err := parseRDNs(rawSubject)
	if err != nil {
		return err
	}
	for _, a := range attrs {
		if (a.oid.Equal(OIDVendorID) || a.oid.Equal(OIDProductID)) && a.tag != cbasn1.UTF8String {
			return fmt.Errorf("attribute %s is ASN.1 tag %d, want UTF8String", a.oid, int(a.tag))
		}
	}
	return nil
}

// checkParent checks the issuer of a PAI (a PAA) or a DAC (a PAI) and the
// rules between the two that would make the chain fail later.
func checkParent(t, parent *x509.Certificate, typ CertType) error {
	if parent == nil {
		return fmt.Errorf("issuer certificate is required")
	}
	want := PAI
	if typ == PAI {
		want = PAA
	}
	if err := ValidateCertificate(parent, want); err != nil {
		return fmt.Errorf("issuer is not a valid %s: %w", want, err)
	}
	if !validAt(parent, t.NotBefore) {
		return ruleErr("chain", want.String()+"NotValidAtIssuance", "issuer validity %s does not cover notBefore %s", window(parent), stamp(t.NotBefore))
	}
	cv, err := ExtractVIDPID(t.RawSubject)
	if err != nil {
		return err
	}
	pv, err := ExtractVIDPID(parent.RawSubject)
	if err != nil {
		return err
	}
	if typ == DAC {
		if !pv.HasVID || cv.VID != pv.VID {
			return ruleErr("chain", "dacVendorIdMismatch", "DAC %s, PAI %s: the VIDs must be equal", cv, pv)
		}
		if pv.HasPID && pv.PID != cv.PID {
			return ruleErr("chain", "dacProductIdMismatch", "DAC %s, PAI %s: a PAI PID must equal the DAC PID", cv, pv)
		}
	} else if pv.HasVID && pv.VID != cv.VID {
		return ruleErr("chain", "paiVendorIdMismatch", "PAI %s, PAA %s: a PAA VID must equal the PAI VID", cv, pv)
	}
	return nil
}
