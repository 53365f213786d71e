package hsm

import (
	"fmt"
	"testing"

	"github.com/miekg/pkcs11"
)

// oldTokenCtx is a token that predates CKA_COPYABLE: it refuses templates
// naming it and does not report it.
type oldTokenCtx struct {
	*fakeCtx
	tried [][]uint // attribute types of each private template tried
}

func (o *oldTokenCtx) GenerateKeyPair(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, pub, priv []*pkcs11.Attribute) (pkcs11.ObjectHandle, pkcs11.ObjectHandle, error) {
	var types []uint
	for _, a := range priv {
		types = append(types, a.Type)
		if a.Type == pkcs11.CKA_COPYABLE {
			o.tried = append(o.tried, types)
			return 0, 0, pkcs11.Error(pkcs11.CKR_ATTRIBUTE_TYPE_INVALID)
		}
	}
	o.tried = append(o.tried, types)
	return o.fakeCtx.GenerateKeyPair(sh, m, pub, priv)
}

func (o *oldTokenCtx) GetAttributeValue(sh pkcs11.SessionHandle, h pkcs11.ObjectHandle, a []*pkcs11.Attribute) ([]*pkcs11.Attribute, error) {
	for _, at := range a {
		if at.Type == pkcs11.CKA_COPYABLE {
			return nil, pkcs11.Error(pkcs11.CKR_ATTRIBUTE_TYPE_INVALID)
		}
	}
	return o.fakeCtx.GetAttributeValue(sh, h, a)
}

// TestLockedAttributesWhereTheTokenAllows: a token that refuses CKA_COPYABLE
// still gets CKA_MODIFIABLE=false, the key is made, and the read-back says
// copyable is not reported rather than guessing.
func TestLockedAttributesWhereTheTokenAllows(t *testing.T) {
	f := newFake(t)
	f.attrs[pkcs11.CKA_MODIFIABLE] = []byte{0}
	o := &oldTokenCtx{fakeCtx: f}
	old := loadModule
	loadModule = func(string) (PKCtx, error) { return o, nil }
	t.Cleanup(func() { loadModule = old })
	fakeModules++
	tok, err := Open(Config{ModulePath: fmt.Sprintf("/fake/%s/%d", t.Name(), fakeModules), TokenLabel: "fake", Sessions: 2}, []byte("1234"))
	if err != nil {
		t.Fatal(err)
	}
	defer tok.Close()
	k, err := tok.GenerateP256("k")
	if err != nil {
		t.Fatalf("generate on a token without CKA_COPYABLE: %v", err)
	}
	if len(o.tried) != 2 {
		t.Fatalf("templates tried: %d, want 2 (with and without CKA_COPYABLE)", len(o.tried))
	}
	has := func(types []uint, want uint) bool {
		for _, ty := range types {
			if ty == want {
				return true
			}
		}
		return false
	}
	if last := o.tried[1]; !has(last, pkcs11.CKA_MODIFIABLE) || has(last, pkcs11.CKA_COPYABLE) {
		t.Fatalf("second template %x: want CKA_MODIFIABLE without CKA_COPYABLE", last)
	}
	a, err := k.Attributes()
	if err != nil {
		t.Fatal(err)
	}
	if a.Modifiable != ReportedFalse || a.Copyable != NotReported {
		t.Fatalf("read back modifiable %v copyable %v", a.Modifiable, a.Copyable)
	}
}
