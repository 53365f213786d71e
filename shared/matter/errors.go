package matter

import (
	"errors"
	"fmt"
)

// CertType says which Matter attestation profile a certificate must follow.
type CertType int

const (
	// PAA is a Product Attestation Authority: a self-signed root.
	PAA CertType = iota
	// PAI is a Product Attestation Intermediate, signed by a PAA.
	PAI
	// DAC is a Device Attestation Certificate, signed by a PAI.
	DAC
)

// String returns the lowercase name used as the prefix of rule names.
func (t CertType) String() string {
	switch t {
	case PAA:
		return "paa"
	case PAI:
		return "pai"
	case DAC:
		return "dac"
	}
	return fmt.Sprintf("certtype(%d)", int(t))
}

// ParseCertType parses "dac", "pai" or "paa".
func ParseCertType(s string) (CertType, error) {
	switch s {
	case "paa", "PAA":
		return PAA, nil
	case "pai", "PAI":
		return PAI, nil
	case "dac", "DAC":
		return DAC, nil
	}
	return 0, fmt.Errorf("unknown certificate type %q (want dac, pai or paa)", s)
}

// RuleError reports the one Matter rule an object broke.
//
// Rule is a stable dotted name such as "dac.keyUsage.value" or
// "chain.paiVendorIdMismatch"; tests and operators branch on it. Cert names
// the object that broke it ("dac", "pai", "paa", "chain", "csr", "cd", "cert").
type RuleError struct {
	Rule   string
	Cert   string
	Detail string
}

func (e *RuleError) Error() string {
	if e.Detail == "" {
		return "rule " + e.Rule + " failed"
	}
	return e.Rule + ": " + e.Detail
}

// RuleOf returns the rule name carried by err, or "" when err is not (or does
// not wrap) a *RuleError.
func RuleOf(err error) string {
	var re *RuleError
	if errors.As(err, &re) {
		return re.Rule
	}
	return ""
}

func ruleErr(cert, rule, format string, args ...any) *RuleError {
	return &RuleError{Rule: cert + "." + rule, Cert: cert, Detail: fmt.Sprintf(format, args...)}
}
