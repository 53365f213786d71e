package matter

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"time"
)

// ValidateChain checks a DAC→PAI→PAA chain at the current time; see
// ValidateChainAt.
func ValidateChain(dac, pai, paa *x509.Certificate) error {
	return ValidateChainAt(dac, pai, paa, time.Now())
}

// ValidateChainAt checks a DAC→PAI→PAA chain the way a Matter commissioner
// does (DefaultDeviceAttestationVerifier, ValidateCertificateChain), with now
// as the current time:
//
//  1. each certificate follows its profile (ValidatePAA, ValidatePAI, ValidateDAC);
//  2. the PAA is the PAI's issuer (name and AKID = SKID; "PAA not found"
//     otherwise) and signed it; the PAI is the DAC's issuer and signed it;
//  3. issuance-time validity: the chain is checked at the DAC's notBefore,
//     so the PAI and PAA only need to have been valid when the DAC was issued;
//  4. the DAC itself is valid at now;
//  5. VID/PID: the DAC VID equals the PAI VID, a PAI PID (if any) equals the
//     DAC PID, and a PAA VID (if any) equals the PAI VID.
//
// The first failure is returned as a *RuleError.
func ValidateChainAt(dac, pai, paa *x509.Certificate, now time.Time) error {
	if err := ValidatePAA(paa); err != nil {
		return err
	}
	if err := ValidatePAI(pai); err != nil {
		return err
	}
	if err := ValidateDAC(dac); err != nil {
		return err
	}
	if err := checkIssued(pai, paa, "paaNotFound", "paiSignatureInvalid"); err != nil {
		return err
	}
	if err := checkIssued(dac, pai, "paiNotFound", "dacSignatureInvalid"); err != nil {
		return err
	}
	issued := dac.NotBefore
	if !validAt(pai, issued) {
		return ruleErr("chain", "paiNotValidAtIssuance", "PAI validity %s is outside the DAC issuance time %s", window(pai), stamp(issued))
	}
	if !validAt(paa, issued) {
		return ruleErr("chain", "paaNotValidAtIssuance", "PAA validity %s is outside the DAC issuance time %s", window(paa), stamp(issued))
	}
	if err := ValidateDACTimeAt(dac, now); err != nil {
		return err
	}
	return checkVIDPIDChain(dac, pai, paa)
}

// ValidateDACTimeAt checks that the DAC is valid at now (the SDK's
// IsCertificateValidAtCurrentTime): rules chain.dacNotYetValid, chain.dacExpired.
func ValidateDACTimeAt(dac *x509.Certificate, now time.Time) error {
	if now.Before(dac.NotBefore) {
		return ruleErr("chain", "dacNotYetValid", "DAC is not valid before %s (now %s)", stamp(dac.NotBefore), stamp(now))
	}
	if now.After(dac.NotAfter) {
		return ruleErr("chain", "dacExpired", "DAC expired at %s (now %s)", stamp(dac.NotAfter), stamp(now))
	}
	return nil
}

// ValidateIssuedBy checks one link when only part of the chain is at hand:
// child (a DAC or PAI, per typ) and parent (its PAI or PAA) follow their
// profiles, parent issued and signed child, parent was valid at child's
// notBefore, and the VID/PID rules between the two hold.
func ValidateIssuedBy(child, parent *x509.Certificate, typ CertType) error {
	var parentType CertType
	var notFound, sigInvalid, notValid string
	switch typ {
	case DAC:
		parentType, notFound, sigInvalid, notValid = PAI, "paiNotFound", "dacSignatureInvalid", "paiNotValidAtIssuance"
	case PAI:
		parentType, notFound, sigInvalid, notValid = PAA, "paaNotFound", "paiSignatureInvalid", "paaNotValidAtIssuance"
	default:
		return fmt.Errorf("validate issued-by: a %s has no issuer above it", typ)
	}
	if err := ValidateCertificate(parent, parentType); err != nil {
		return err
	}
	if err := ValidateCertificate(child, typ); err != nil {
		return err
	}
	if err := checkIssued(child, parent, notFound, sigInvalid); err != nil {
		return err
	}
	if !validAt(parent, child.NotBefore) {
		return ruleErr("chain", notValid, "%s validity %s is outside the issuance time %s", upper(parentType.String()), window(parent), stamp(child.NotBefore))
	}
	if typ == DAC {
		return checkVIDPIDChain(child, parent, nil)
	}
	cv, err := ExtractVIDPID(child.RawSubject)
	if err != nil {
		return ruleErr("pai", "subject.vidpid", "%v", err)
	}
	pv, err := ExtractVIDPID(parent.RawSubject)
	if err != nil {
		return ruleErr("paa", "subject.vidpid", "%v", err)
	}
	if pv.HasVID && pv.VID != cv.VID {
		return ruleErr("chain", "paiVendorIdMismatch", "PAI %s, PAA %s: a PAA VID must equal the PAI VID", cv, pv)
	}
	return nil
}

// checkIssued verifies that parent issued child: issuer name, AKID and signature.
func checkIssued(child, parent *x509.Certificate, notFound, sigInvalid string) error {
	if !bytes.Equal(child.RawIssuer, parent.RawSubject) {
		return ruleErr("chain", notFound, "issuer %q does not match subject %q", child.Issuer, parent.Subject)
	}
	if !bytes.Equal(child.AuthorityKeyId, parent.SubjectKeyId) {
		return ruleErr("chain", notFound, "authorityKeyIdentifier %X does not match issuer subjectKeyIdentifier %X", child.AuthorityKeyId, parent.SubjectKeyId)
	}
	if err := parent.CheckSignature(child.SignatureAlgorithm, child.RawTBSCertificate, child.Signature); err != nil {
		return ruleErr("chain", sigInvalid, "signature does not verify with the issuer key: %v", err)
	}
	return nil
}

// checkVIDPIDChain applies the VID/PID rules of DefaultDeviceAttestationVerifier.
// paa may be nil when only the DAC→PAI pair is known (issuance).
func checkVIDPIDChain(dac, pai, paa *x509.Certificate) error {
	dv, err := ExtractVIDPID(dac.RawSubject)
	if err != nil {
		return ruleErr("dac", "subject.vidpid", "%v", err)
	}
	pv, err := ExtractVIDPID(pai.RawSubject)
	if err != nil {
		return ruleErr("pai", "subject.vidpid", "%v", err)
	}
	if !pv.HasVID || !dv.HasVID || dv.VID != pv.VID {
		return ruleErr("chain", "dacVendorIdMismatch", "DAC %s, PAI %s: the VIDs must be equal", dv, pv)
	}
	if !dv.HasPID {
		return ruleErr("chain", "dacProductIdMismatch", "DAC has no product ID")
	}
	if pv.HasPID && pv.PID != dv.PID {
		return ruleErr("chain", "dacProductIdMismatch", "DAC %s, PAI %s: a PAI PID must equal the DAC PID", dv, pv)
	}
	if paa != nil {
		av, err := ExtractVIDPID(paa.RawSubject)
		if err != nil {
			return ruleErr("paa", "subject.vidpid", "%v", err)
		}
		if av.HasPID {
			return ruleErr("paa", "subject.pid.present", "a PAA subject must not carry a product ID")
		}
		if av.HasVID && av.VID != pv.VID {
			return ruleErr("chain", "paiVendorIdMismatch", "PAI %s, PAA %s: a PAA VID must equal the PAI VID", pv, av)
		}
	}
	return nil
}

func validAt(c *x509.Certificate, t time.Time) bool {
	return !t.Before(c.NotBefore) && !t.After(c.NotAfter)
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

func window(c *x509.Certificate) string { return stamp(c.NotBefore) + ".." + stamp(c.NotAfter) }
