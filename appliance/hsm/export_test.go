package hsm

import (
	"encoding/binary"

	"github.com/miekg/pkcs11"
)

// CreateDataGenerationForTest creates a data object of generation gen
// without destroying the others: the state a crash inside WriteData leaves.
func CreateDataGenerationForTest(t *Token, label string, gen uint64, value []byte) error {
	return t.doOnce(func(sh pkcs11.SessionHandle) error {
		_, err := t.ctx.CreateObject(sh, []*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_DATA),
			pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
			pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, true),
			pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
			pkcs11.NewAttribute(pkcs11.CKA_APPLICATION, dataApplication),
			pkcs11.NewAttribute(pkcs11.CKA_VALUE, append(binary.BigEndian.AppendUint64(nil, gen), value...)),
		})
		return err
	})
}

// CountDataForTest counts the data objects labelled label.
func CountDataForTest(t *Token, label string) (int, error) {
	objs, err := t.dataObjects(label)
	return len(objs), err
}
