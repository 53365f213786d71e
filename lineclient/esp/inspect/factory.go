package inspect

import (
	"encoding/base64"
	"fmt"

	"github.com/dacline/dacline/lineclient/esp/factorydata"
	"github.com/dacline/dacline/lineclient/esp/nvs"
)

// Factory is the chip-factory data as esp-matter's factory data provider
// reads it.
type Factory struct {
	Discriminator   *uint32 `json:"discriminator,omitempty"`
	Iterations      *uint32 `json:"iteration_count,omitempty"`
	Salt            []byte  `json:"salt,omitempty"`
	Verifier        []byte  `json:"verifier,omitempty"`
	SerialNumber    string  `json:"serial_num,omitempty"`
	VendorID        *uint32 `json:"vendor_id,omitempty"`
	ProductID       *uint32 `json:"product_id,omitempty"`
	HardwareVersion *uint32 `json:"hardware_ver,omitempty"`
	HardwareVerStr  string  `json:"hw_ver_str,omitempty"`
	VendorName      string  `json:"vendor_name,omitempty"`
	ProductName     string  `json:"product_name,omitempty"`
	MfgDate         string  `json:"mfg_date,omitempty"`
	PartNumber      string  `json:"part_number,omitempty"`
	ProductLabel    string  `json:"product_label,omitempty"`
	ProductURL      string  `json:"product_url,omitempty"`
	RotatingIDUID   []byte  `json:"rd_id_uid,omitempty"`
	CD              []byte  `json:"cert_dclrn,omitempty"`
	// The factory-partition DAC provider's keys (esp-matter without the
	// secure-cert provider): DER certificates, the raw 32-byte P-256 key and
	// the 65-byte public key. Key bytes never go into a report.
	DACCert   []byte `json:"-"`
	PAICert   []byte `json:"-"`
	DACKey    []byte `json:"-"`
	DACPubKey []byte `json:"-"`
	// DACInNVS names which of those keys the partition holds.
	DACInNVS []string `json:"dac_in_nvs,omitempty"`
}

// decodeFactory reads the chip-factory namespace, checking each key's type.
func decodeFactory(p *nvs.Partition) (*Factory, []string) {
	f := &Factory{}
	var problems []string
	u32 := func(e nvs.Entry) *uint32 {
		if e.Type != nvs.TypeU32 {
			problems = append(problems, fmt.Sprintf("%s is %s, esp-matter reads u32", e.Key, e.Type))
			return nil
		}
		v := uint32(e.Uint)
		return &v
	}
	str := func(e nvs.Entry) string {
		if e.Type != nvs.TypeString {
			problems = append(problems, fmt.Sprintf("%s is %s, esp-matter reads a string", e.Key, e.Type))
			return ""
		}
		return string(e.Data)
	}
	blob := func(e nvs.Entry) []byte {
		if e.Type != nvs.TypeBlob {
			problems = append(problems, fmt.Sprintf("%s is %s, esp-matter reads a blob", e.Key, e.Type))
			return nil
		}
		return e.Data
	}
	b64 := func(e nvs.Entry) []byte {
		s := str(e)
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s is not base64: %v", e.Key, err))
		}
		return b
	}
	for _, e := range p.Entries {
		if e.Namespace != factorydata.Namespace {
			continue
		}
		switch e.Key {
		case factorydata.KeyDiscriminator:
			f.Discriminator = u32(e)
		case factorydata.KeyIterations:
			f.Iterations = u32(e)
		case factorydata.KeySalt:
			f.Salt = b64(e)
		case factorydata.KeyVerifier:
			f.Verifier = b64(e)
		case factorydata.KeySerialNumber:
			f.SerialNumber = str(e)
		case factorydata.KeyVendorID:
			f.VendorID = u32(e)
		case factorydata.KeyProductID:
			f.ProductID = u32(e)
		case factorydata.KeyHardwareVer:
			f.HardwareVersion = u32(e)
		case factorydata.KeyHardwareVerStr:
			f.HardwareVerStr = str(e)
		case factorydata.KeyVendorName:
			f.VendorName = str(e)
		case factorydata.KeyProductName:
			f.ProductName = str(e)
		case factorydata.KeyMfgDate:
			f.MfgDate = str(e)
		case factorydata.KeyPartNumber:
			f.PartNumber = str(e)
		case factorydata.KeyProductLabel:
			f.ProductLabel = str(e)
		case factorydata.KeyProductURL:
			f.ProductURL = str(e)
		case factorydata.KeyRotatingID:
			f.RotatingIDUID = blob(e)
		case factorydata.KeyCD:
			f.CD = blob(e)
		case "dac-cert", "pai-cert", "dac-key", "dac-pub-key":
			f.DACInNVS = append(f.DACInNVS, e.Key)
			v := blob(e)
			switch e.Key {
			case "dac-cert":
				f.DACCert = v
			case "pai-cert":
				f.PAICert = v
			case "dac-key":
				f.DACKey = v
			default:
				f.DACPubKey = v
			}
		}
	}
	return f, problems
}
