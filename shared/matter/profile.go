package matter

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
)

var (
	oidExtBasicConstraints = asn1.ObjectIdentifier{2, 5, 29, 19}
	oidExtKeyUsage         = asn1.ObjectIdentifier{2, 5, 29, 15}
	oidExtSKID             = asn1.ObjectIdentifier{2, 5, 29, 14}
	oidExtAKID             = asn1.ObjectIdentifier{2, 5, 29, 35}
)

// ValidateDAC checks cert against the DAC profile (Matter Core 6.2.2.3).
func ValidateDAC(cert *x509.Certificate) error { return ValidateCertificate(cert, DAC) }

// ValidatePAI checks cert against the PAI profile (Matter Core 6.2.2.4).
func ValidatePAI(cert *x509.Certificate) error { return ValidateCertificate(cert, PAI) }

// ValidatePAA checks cert against the PAA profile (Matter Core 6.2.2.5),
// including that it is self-signed.
func ValidatePAA(cert *x509.Certificate) error { return ValidateCertificate(cert, PAA) }

// ValidateCertificate checks cert against the profile of typ, rule by rule in
// the order of the SDK's VerifyAttestationCertificateFormat, and returns the
// first *RuleError. Time is not checked here; see ValidateChainAt.
func ValidateCertificate(cert *x509.Certificate, typ CertType) error {
	p := typ.String()
	if cert == nil {
		return ruleErr(p, "missing", "no %s certificate given", p)
	}
	if len(cert.Raw) > MaxCertDER {
		return ruleErr(p, "size", "certificate is %d bytes DER, Matter allows at most %d", len(cert.Raw), MaxCertDER)
	}
	if cert.Version != 3 {
		return ruleErr(p, "version", "certificate is X.509 v%d, Matter requires v3", cert.Version)
	}
	if err := checkSerial(cert.SerialNumber); err != nil {
		return ruleErr(p, "serialNumber", "%v", err)
	}
	if cert.SignatureAlgorithm != x509.ECDSAWithSHA256 {
		return ruleErr(p, "signatureAlgorithm", "signature algorithm is %s, Matter requires ecdsa-with-SHA256", cert.SignatureAlgorithm)
	}
	if k, ok := cert.PublicKey.(*ecdsa.PublicKey); !ok || k.Curve != elliptic.P256() {
		return ruleErr(p, "publicKey", "public key is %s, Matter requires EC P-256 (prime256v1)", describeKey(cert.PublicKey))
	}
	if !cert.NotBefore.Before(cert.NotAfter) {
		return ruleErr(p, "validity", "notBefore %s is not before notAfter %s", cert.NotBefore.UTC().Format("2006-01-02T15:04:05Z"), cert.NotAfter.UTC().Format("2006-01-02T15:04:05Z"))
	}
	if err := checkExtensions(cert, typ); err != nil {
		return err
	}
	return checkSubject(cert, typ)
}

func describeKey(pub any) string {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		return "EC " + k.Curve.Params().Name
	case nil:
		return "missing"
	default:
		return fmt.Sprintf("%T", pub)
	}
}

// checkExtensions enforces basicConstraints, keyUsage, SKID and AKID.
// Other extensions (EKU, AIA, SAN, CDP, ...) are tolerated as in the SDK,
// unless critical and unrecognized.
func checkExtensions(cert *x509.Certificate, typ CertType) error {
	p := typ.String()
	// RFC 5280 §4.2: a certificate-using system MUST reject a certificate
	// with a critical extension it does not recognize. The SDK's verifier
	// (OpenSSL / mbedTLS X.509 path validation) does; crypto/x509 lists
	// what it did not process in UnhandledCriticalExtensions.
	if len(cert.UnhandledCriticalExtensions) > 0 {
		return ruleErr(p, "extension.unknownCritical", "extension %s is marked critical and not recognized (RFC 5280 §4.2)", cert.UnhandledCriticalExtensions[0])
	}
	var bc, ku, skid, akid *bool
	for _, e := range cert.Extensions {
		crit := e.Critical
		switch {
		case e.Id.Equal(oidExtBasicConstraints):
			bc = &crit
		case e.Id.Equal(oidExtKeyUsage):
			ku = &crit
		case e.Id.Equal(oidExtSKID):
			skid = &crit
		case e.Id.Equal(oidExtAKID):
			akid = &crit
		}
	}

	// Matter Core 6.2.2.3-5: basicConstraints SHALL be marked critical.
	switch {
	case bc == nil:
		return ruleErr(p, "basicConstraints.missing", "basicConstraints extension is missing")
	case !*bc:
		return ruleErr(p, "basicConstraints.critical", "basicConstraints extension is not critical")
	}
	switch typ {
	case DAC:
		if cert.IsCA {
			return ruleErr(p, "basicConstraints.ca", "a DAC must have cA=FALSE")
		}
		if cert.MaxPathLen != -1 {
			return ruleErr(p, "basicConstraints.pathLen", "a DAC must not carry pathLenConstraint (has %d)", cert.MaxPathLen)
		}
	case PAI:
		if !cert.IsCA {
			return ruleErr(p, "basicConstraints.ca", "a PAI must have cA=TRUE")
		}
		if cert.MaxPathLen != 0 {
			return ruleErr(p, "basicConstraints.pathLen", "a PAI must have pathLenConstraint 0 (has %s)", pathLenString(cert.MaxPathLen))
		}
	case PAA:
		if !cert.IsCA {
			return ruleErr(p, "basicConstraints.ca", "a PAA must have cA=TRUE")
		}
		if cert.MaxPathLen != -1 && cert.MaxPathLen != 1 {
			return ruleErr(p, "basicConstraints.pathLen", "a PAA pathLenConstraint must be absent or 1 (has %d)", cert.MaxPathLen)
		}
	}

	// keyUsage SHALL be critical; a DAC has exactly digitalSignature, a CA
	// has keyCertSign and cRLSign, digitalSignature optional, nothing else.
	switch {
	case ku == nil:
		return ruleErr(p, "keyUsage.missing", "keyUsage extension is missing")
	case !*ku:
		return ruleErr(p, "keyUsage.critical", "keyUsage extension is not critical")
	}
	k := cert.KeyUsage
	if typ == DAC {
		switch {
		case k&x509.KeyUsageDigitalSignature == 0:
			return ruleErr(p, "keyUsage.digitalSignature", "a DAC keyUsage must have digitalSignature (has %s)", keyUsageString(k))
		case k&x509.KeyUsageCertSign != 0:
			return ruleErr(p, "keyUsage.keyCertSign", "a DAC keyUsage must not have keyCertSign (has %s)", keyUsageString(k))
		case k&x509.KeyUsageCRLSign != 0:
			return ruleErr(p, "keyUsage.cRLSign", "a DAC keyUsage must not have cRLSign (has %s)", keyUsageString(k))
		case k != x509.KeyUsageDigitalSignature:
			return ruleErr(p, "keyUsage.other", "a DAC keyUsage must be digitalSignature only (has %s)", keyUsageString(k))
		}
	} else {
		allowed := x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature
		switch {
		case k&x509.KeyUsageCertSign == 0:
			return ruleErr(p, "keyUsage.keyCertSign", "a %s keyUsage must have keyCertSign (has %s)", upper(p), keyUsageString(k))
		case k&x509.KeyUsageCRLSign == 0:
			return ruleErr(p, "keyUsage.cRLSign", "a %s keyUsage must have cRLSign (has %s)", upper(p), keyUsageString(k))
		case k&^allowed != 0:
			return ruleErr(p, "keyUsage.other", "a %s keyUsage may only have keyCertSign, cRLSign and digitalSignature (has %s)", upper(p), keyUsageString(k))
		}
	}

	// SKID: required everywhere, non-critical, 20 bytes.
	switch {
	case skid == nil:
		return ruleErr(p, "subjectKeyId.missing", "subjectKeyIdentifier extension is missing")
	case *skid:
		return ruleErr(p, "subjectKeyId.critical", "subjectKeyIdentifier extension must not be critical")
	case len(cert.SubjectKeyId) != keyIdentifierLen:
		return ruleErr(p, "subjectKeyId.length", "subjectKeyIdentifier is %d bytes, want %d", len(cert.SubjectKeyId), keyIdentifierLen)
	}
	// AKID: required on DAC and PAI; wherever present non-critical, 20 bytes.
	switch {
	case akid == nil:
		if typ != PAA {
			return ruleErr(p, "authorityKeyId.missing", "authorityKeyIdentifier extension is missing")
		}
	case *akid:
		return ruleErr(p, "authorityKeyId.critical", "authorityKeyIdentifier extension must not be critical")
	case len(cert.AuthorityKeyId) != keyIdentifierLen:
		return ruleErr(p, "authorityKeyId.length", "authorityKeyIdentifier keyIdentifier is %d bytes, want %d", len(cert.AuthorityKeyId), keyIdentifierLen)
	}
	return nil
}

// checkSubject enforces the DN length limit and the VID/PID rules of each profile.
func checkSubject(cert *x509.Certificate, typ CertType) error {
	p := typ.String()
	if len(cert.RawSubject) > maxDNLength {
		return ruleErr(p, "subject.length", "subject DN is %d bytes, Matter allows at most %d", len(cert.RawSubject), maxDNLength)
	}
	vp, err := ExtractVIDPID(cert.RawSubject)
	if err != nil {
		return ruleErr(p, "subject.vidpid", "%v", err)
	}
	switch typ {
	case DAC:
		if !vp.HasVID {
			return ruleErr(p, "subject.vid.missing", "a DAC subject must carry a vendor ID")
		}
		if !vp.HasPID {
			return ruleErr(p, "subject.pid.missing", "a DAC subject must carry a product ID")
		}
	case PAI:
		if !vp.HasVID {
			return ruleErr(p, "subject.vid.missing", "a PAI subject must carry a vendor ID")
		}
	case PAA:
		if vp.HasPID {
			return ruleErr(p, "subject.pid.present", "a PAA subject must not carry a product ID (has %04X)", vp.PID)
		}
		if err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil {
			return ruleErr(p, "selfSignature", "a PAA must be self-signed: %v", err)
		}
	}
	return nil
}

func pathLenString(n int) string {
	if n < 0 {
		return "none"
	}
	return fmt.Sprint(n)
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 32
		}
	}
	return string(b)
}

func keyUsageString(k x509.KeyUsage) string {
	names := []string{"digitalSignature", "contentCommitment", "keyEncipherment", "dataEncipherment",
		"keyAgreement", "keyCertSign", "cRLSign", "encipherOnly", "decipherOnly"}
	s := ""
	for i, n := range names {
		if k&(1<<i) != 0 {
			if s != "" {
				s += "+"
			}
			s += n
		}
	}
	if s == "" {
		return "none"
	}
	return s
}
