package hsm

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/miekg/pkcs11"
)

// Data objects: small values the appliance keeps on the token, outside its
// home, so that restoring the home from a backup does not restore them (the
// audit log anchor, see appliance/home/anchor.go).
//
// A data object is CKO_DATA, CKA_TOKEN (it survives the session) and
// CKA_PRIVATE (only a logged-in user reads or changes it), with
// CKA_APPLICATION "dacline". Tokens may refuse to change CKA_VALUE in place
// (SoftHSM2 does: CKR_ATTRIBUTE_READ_ONLY), so a value is replaced by
// creating a new object whose CKA_VALUE starts with the next generation
// number (8 bytes, big-endian; data objects have no CKA_ID), reading it back, and only then destroying the older
// generations. C_CreateObject is atomic, so a crash leaves either the old
// object alone or both, and a read takes the newest generation.

// dataApplication is the CKA_APPLICATION of every data object dacline makes.
const dataApplication = "dacline"

// ErrDataObjectMissing: no data object carries the label.
var ErrDataObjectMissing = errors.New("data object not found on the token")

type dataObject struct {
	h     pkcs11.ObjectHandle
	gen   uint64
	value []byte
}

// dataObjects returns the dacline data objects labelled label, newest
// generation last.
func (t *Token) dataObjects(label string) ([]dataObject, error) {
	hs, err := t.findObjects([]*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_DATA),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
	})
	if err != nil {
		return nil, fmt.Errorf("data object %q: %w", label, err)
	}
	out := make([]dataObject, 0, len(hs))
	for _, h := range hs {
		vals, err := t.attributes(h, pkcs11.CKA_VALUE, pkcs11.CKA_PRIVATE, pkcs11.CKA_TOKEN)
		if err != nil {
			return nil, fmt.Errorf("data object %q: %w", label, err)
		}
		if !attrTrue(vals[pkcs11.CKA_PRIVATE]) || !attrTrue(vals[pkcs11.CKA_TOKEN]) {
			return nil, fmt.Errorf("data object %q on token %q is not a private token object", label, t.label)
		}
		v := vals[pkcs11.CKA_VALUE]
		if len(v) < 8 {
			return nil, fmt.Errorf("data object %q on token %q: value of %d bytes has no generation number", label, t.label, len(v))
		}
		out = append(out, dataObject{h: h, gen: binary.BigEndian.Uint64(v), value: v[8:]})
	}
	slices.SortFunc(out, func(a, b dataObject) int { return cmp.Compare(a.gen, b.gen) })
	for i := 1; i < len(out); i++ {
		if out[i].gen == out[i-1].gen {
			return nil, fmt.Errorf("data object %q on token %q: two objects of generation %d", label, t.label, out[i].gen)
		}
	}
	return out, nil
}

// ReadData returns the value of the newest data object labelled label, or
// ErrDataObjectMissing.
func (t *Token) ReadData(label string) ([]byte, error) {
	objs, err := t.dataObjects(label)
	if err != nil {
		return nil, err
	}
	if len(objs) == 0 {
		return nil, fmt.Errorf("data object %q on token %q: %w", label, t.label, ErrDataObjectMissing)
	}
	return objs[len(objs)-1].value, nil
}

func attrTrue(v []byte) bool { return len(v) == 1 && v[0] != 0 }

// WriteData makes value the value of the data object labelled label: it
// creates the next generation, reads it back, and then destroys the older
// ones. It returns only once the token holds exactly value as the newest.
func (t *Token) WriteData(label string, value []byte) error {
	if label == "" || len(value) == 0 {
		return errors.New("write data object: empty label or value")
	}
	old, err := t.dataObjects(label)
	if err != nil {
		return err
	}
	var gen uint64 = 1
	if len(old) > 0 {
		gen = old[len(old)-1].gen + 1
	}
	tmpl := []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_DATA),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
		pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, true),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
		pkcs11.NewAttribute(pkcs11.CKA_APPLICATION, dataApplication),
		pkcs11.NewAttribute(pkcs11.CKA_VALUE, append(binary.BigEndian.AppendUint64(nil, gen), value...)),
	}
	// Not retried: a create that failed with its session may have happened
	// (the next write would then see that generation and go past it).
	err = t.doOnce(func(sh pkcs11.SessionHandle) error {
		_, err := t.ctx.CreateObject(sh, tmpl)
		return err
	})
	if err != nil {
		return fmt.Errorf("write data object %q on token %q: %w", label, t.label, err)
	}
	now, err := t.dataObjects(label)
	if err != nil {
		return fmt.Errorf("write data object %q: read back: %w", label, err)
	}
	if len(now) == 0 || now[len(now)-1].gen != gen || !bytes.Equal(now[len(now)-1].value, value) {
		return fmt.Errorf("write data object %q on token %q: the token does not hold the value written as its newest", label, t.label)
	}
	for _, o := range now[:len(now)-1] {
		if err := t.doOnce(func(sh pkcs11.SessionHandle) error { return t.ctx.DestroyObject(sh, o.h) }); err != nil {
			return fmt.Errorf("write data object %q: destroy generation %d: %w", label, o.gen, err)
		}
	}
	return nil
}

// DestroyData removes the data object labelled label (an officer's repair
// and the tests use it; a missing object is not an error).
func (t *Token) DestroyData(label string) error {
	objs, err := t.dataObjects(label)
	if err != nil {
		return err
	}
	for _, o := range objs {
		if err := t.doOnce(func(sh pkcs11.SessionHandle) error { return t.ctx.DestroyObject(sh, o.h) }); err != nil {
			return fmt.Errorf("destroy data object %q: %w", label, err)
		}
	}
	return nil
}
