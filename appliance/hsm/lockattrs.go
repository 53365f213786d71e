package hsm

import (
	"fmt"

	"github.com/miekg/pkcs11"
)

// Keys are made CKA_MODIFIABLE=false and CKA_COPYABLE=false where the token
// allows: no attribute of a key in service can be changed afterwards (its
// usage, its label), and no second object can be copied from it. Both are
// PKCS#11 v2.40 attributes; a token that does not know one refuses the
// template, and the key is then made without it (the protection this package
// requires, KeyAttributes.protected, does not depend on them). What the token
// reports is read back and recorded (KeyAttributes.Modifiable, .Copyable).

// lockedTemplates are the attribute sets tried in turn.
var lockedTemplates = [][]*pkcs11.Attribute{
	{pkcs11.NewAttribute(pkcs11.CKA_MODIFIABLE, false), pkcs11.NewAttribute(pkcs11.CKA_COPYABLE, false)},
	{pkcs11.NewAttribute(pkcs11.CKA_MODIFIABLE, false)},
	nil,
}

// withLockedTemplate runs gen with the strictest set the token accepts. A
// generation the token refuses creates nothing (C_GenerateKey and
// C_GenerateKeyPair are atomic), so trying again is safe.
func (t *Token) withLockedTemplate(gen func(lock []*pkcs11.Attribute) error) error {
	var err error
	for _, lock := range lockedTemplates {
		if err = gen(lock); err == nil || !templateRefused(err) {
			return err
		}
	}
	return err
}

func templateRefused(err error) bool {
	return isRV(err, pkcs11.CKR_ATTRIBUTE_TYPE_INVALID, pkcs11.CKR_ATTRIBUTE_VALUE_INVALID,
		pkcs11.CKR_TEMPLATE_INCONSISTENT, pkcs11.CKR_ATTRIBUTE_READ_ONLY)
}

// Reported is a boolean attribute a token may not report.
type Reported uint8

const (
	NotReported Reported = iota
	ReportedFalse
	ReportedTrue
)

// Known reports whether the token reported the attribute, and True its value.
func (r Reported) Known() bool { return r != NotReported }
func (r Reported) True() bool  { return r == ReportedTrue }

// MarshalJSON writes true, false or null.
func (r Reported) MarshalJSON() ([]byte, error) {
	switch r {
	case ReportedTrue:
		return []byte("true"), nil
	case ReportedFalse:
		return []byte("false"), nil
	}
	return []byte("null"), nil
}

// UnmarshalJSON reads true, false or null.
func (r *Reported) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case "true":
		*r = ReportedTrue
	case "false":
		*r = ReportedFalse
	case "null":
		*r = NotReported
	default:
		return fmt.Errorf("want true, false or null, got %s", b)
	}
	return nil
}

// readOptionalBool reads one boolean attribute; NotReported when the token
// does not know it (it predates the attribute).
func (t *Token) readOptionalBool(o pkcs11.ObjectHandle, typ uint) (Reported, error) {
	vals, err := t.attributes(o, typ)
	if err != nil {
		if isRV(err, pkcs11.CKR_ATTRIBUTE_TYPE_INVALID, pkcs11.CKR_ATTRIBUTE_SENSITIVE) {
			return NotReported, nil
		}
		return NotReported, err
	}
	v, ok := vals[typ]
	switch {
	case !ok || len(v) != 1:
		return NotReported, nil
	case v[0] != 0:
		return ReportedTrue, nil
	}
	return ReportedFalse, nil
}
