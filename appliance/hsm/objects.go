package hsm

import (
	"errors"
	"fmt"

	"github.com/miekg/pkcs11"
)

// ObjectRef names token objects exactly: class, label and, for keys, CKA_ID;
// for data objects (which have no CKA_ID), CKA_APPLICATION. Set-up that can
// be killed half way (appliance init, paa create-test) records the refs of
// what it is about to make before it makes it, so that a re-run destroys
// exactly its own half-made objects and never another's that merely shares
// a label.
type ObjectRef struct {
	Class       uint   // pkcs11.CKO_PRIVATE_KEY, CKO_PUBLIC_KEY, CKO_SECRET_KEY or CKO_DATA
	Label       string // CKA_LABEL
	ID          []byte // CKA_ID (keys; required)
	Application string // CKA_APPLICATION (data objects; required)
}

// KeyPairRefs are the refs of both halves of a key pair.
func KeyPairRefs(label string, id []byte) []ObjectRef {
	return []ObjectRef{
		{Class: pkcs11.CKO_PRIVATE_KEY, Label: label, ID: id},
		{Class: pkcs11.CKO_PUBLIC_KEY, Label: label, ID: id},
	}
}

// SecretKeyRef is the ref of a secret key.
func SecretKeyRef(label string, id []byte) ObjectRef {
	return ObjectRef{Class: pkcs11.CKO_SECRET_KEY, Label: label, ID: id}
}

// DataRef is the ref of dacline's data objects labelled label.
func DataRef(label string) ObjectRef {
	return ObjectRef{Class: pkcs11.CKO_DATA, Label: label, Application: dataApplication}
}

func (r ObjectRef) template() ([]*pkcs11.Attribute, error) {
	if r.Label == "" {
		return nil, errors.New("object ref without a label")
	}
	tmpl := []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, r.Class),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, r.Label),
	}
	switch r.Class {
	case pkcs11.CKO_PRIVATE_KEY, pkcs11.CKO_PUBLIC_KEY, pkcs11.CKO_SECRET_KEY:
		if len(r.ID) == 0 {
			return nil, fmt.Errorf("key ref %q without a CKA_ID", r.Label)
		}
		tmpl = append(tmpl, pkcs11.NewAttribute(pkcs11.CKA_ID, r.ID))
	case pkcs11.CKO_DATA:
		if r.Application == "" {
			return nil, fmt.Errorf("data object ref %q without a CKA_APPLICATION", r.Label)
		}
		tmpl = append(tmpl, pkcs11.NewAttribute(pkcs11.CKA_APPLICATION, r.Application))
	default:
		return nil, fmt.Errorf("object ref %q: class 0x%x", r.Label, r.Class)
	}
	return tmpl, nil
}

// CountObjects returns how many objects match ref exactly.
func (t *Token) CountObjects(ref ObjectRef) (int, error) {
	tmpl, err := ref.template()
	if err != nil {
		return 0, err
	}
	hs, err := t.findObjects(tmpl)
	if err != nil {
		return 0, fmt.Errorf("object %q: %w", ref.Label, err)
	}
	return len(hs), nil
}

// DestroyObjects destroys every object that matches ref exactly and returns
// how many it destroyed (0 is not an error). Only for cleaning up after
// set-up that did not finish; keys in service are never destroyed.
func (t *Token) DestroyObjects(ref ObjectRef) (int, error) {
	tmpl, err := ref.template()
	if err != nil {
		return 0, err
	}
	hs, err := t.findObjects(tmpl)
	if err != nil {
		return 0, fmt.Errorf("destroy %q: %w", ref.Label, err)
	}
	for i, h := range hs {
		if err := t.doOnce(func(sh pkcs11.SessionHandle) error { return t.ctx.DestroyObject(sh, h) }); err != nil {
			return i, fmt.Errorf("destroy %q on token %q: %w", ref.Label, t.label, err)
		}
	}
	return len(hs), nil
}
