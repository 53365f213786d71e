package crl

import (
	"fmt"
	"sort"
	"strings"
)

// Reason is an RFC 5280 §5.3.1 CRLReason code.
type Reason int

// The reason codes a DAC may be revoked with. cACompromise (2) and
// aACompromise (10) are for CA certificates, certificateHold (6) and
// removeFromCRL (8) for holds, which the appliance does not use: a DAC
// revoked stays revoked.
const (
	ReasonUnspecified          Reason = 0
	ReasonKeyCompromise        Reason = 1
	ReasonAffiliationChanged   Reason = 3
	ReasonSuperseded           Reason = 4
	ReasonCessationOfOperation Reason = 5
	ReasonPrivilegeWithdrawn   Reason = 9
)

var reasonNames = map[Reason]string{
	ReasonUnspecified:          "unspecified",
	ReasonKeyCompromise:        "keyCompromise",
	ReasonAffiliationChanged:   "affiliationChanged",
	ReasonSuperseded:           "superseded",
	ReasonCessationOfOperation: "cessationOfOperation",
	ReasonPrivilegeWithdrawn:   "privilegeWithdrawn",
}

// String is the RFC's name of the reason.
func (r Reason) String() string {
	if n, ok := reasonNames[r]; ok {
		return n
	}
	return fmt.Sprintf("reason(%d)", int(r))
}

// ParseReason reads a reason by its RFC 5280 name (any case) or code.
func ParseReason(s string) (Reason, error) {
	for r, n := range reasonNames {
		if strings.EqualFold(s, n) || s == fmt.Sprint(int(r)) {
			return r, nil
		}
	}
	names := make([]string, 0, len(reasonNames))
	for _, n := range reasonNames {
		names = append(names, n)
	}
	sort.Strings(names)
	return 0, fmt.Errorf("revocation reason %q: want one of %s (RFC 5280 5.3.1)", s, strings.Join(names, ", "))
}
