package factorydata

import (
	"fmt"

	"github.com/dacline/dacline/lineclient/esp/securecert"
)

// SecureCert lays out the esp_secure_cert TLVs: the module's key entries,
// then — once both certificates are committed — CA_CERT (the PAI),
// DEV_CERT (the DAC), INTEGRITY and the end marker. Until both are there
// only the key entries are written, so the order never depends on the order
// the host wrote the items in.
func SecureCert(keyEntries []securecert.Entry, dac, pai []byte) ([]byte, error) {
	b, err := securecert.Encode(keyEntries)
	if err != nil {
		return nil, err
	}
	if len(dac) == 0 || len(pai) == 0 {
		return b, nil
	}
	certs, err := securecert.Encode([]securecert.Entry{{Type: securecert.TypeCACert, Data: pai}, {Type: securecert.TypeDevCert, Data: dac}})
	if err != nil {
		return nil, err
	}
	out, err := securecert.Seal(append(b, certs...))
	if err != nil {
		return nil, err
	}
	if len(out) > securecert.PartitionSize {
		return nil, fmt.Errorf("factory data: esp_secure_cert needs %d bytes, the partition has %d", len(out), securecert.PartitionSize)
	}
	return out, nil
}
