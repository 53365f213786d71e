package lineproto

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
	"unicode"
	"unicode/utf8"
)

// ProductInfo is the value of item product-info (0x0C): the optional
// descriptive fields a Matter device reports from its factory data
// (esp-matter's chip-factory NVS keys vendor-name … product-url). It travels
// as a §4 TLV body; every tag is known to the module, appears at most once and
// stays within its bounds. Empty strings and a nil HardwareVersion are absent.
type ProductInfo struct {
	VendorName      string  `json:"vendor_name,omitempty"`
	ProductName     string  `json:"product_name,omitempty"`
	HardwareVersion *uint16 `json:"hardware_version,omitempty"`
	HardwareVerStr  string  `json:"hw_ver_str,omitempty"`
	MfgDate         string  `json:"mfg_date,omitempty"` // YYYY-MM-DD, optionally followed by more text
	PartNumber      string  `json:"part_number,omitempty"`
	ProductLabel    string  `json:"product_label,omitempty"`
	ProductURL      string  `json:"product_url,omitempty"`
}

// Product-info tags (docs/line-protocol.md §5.3).
const (
	TagVendorName      = 0x01
	TagProductName     = 0x02
	TagHardwareVersion = 0x03
	TagHardwareVerStr  = 0x04
	TagMfgDate         = 0x05
	TagPartNumber      = 0x06
	TagProductLabel    = 0x07
	TagProductURL      = 0x08
)

var productInfoFields = map[uint8]field{
	TagVendorName:      {name: "vendor-name", min: 1, max: 32},
	TagProductName:     {name: "product-name", min: 1, max: 32},
	TagHardwareVersion: {name: "hardware-ver", min: 2, max: 2},
	TagHardwareVerStr:  {name: "hw-ver-str", min: 1, max: 64},
	TagMfgDate:         {name: "mfg-date", min: 10, max: 16},
	TagPartNumber:      {name: "part-number", min: 1, max: 32},
	TagProductLabel:    {name: "product-label", min: 1, max: 64},
	TagProductURL:      {name: "product-url", min: 1, max: 256},
}

// ErrProductInfo reports a product-info value or setting that breaks its rule.
var ErrProductInfo = errors.New("product-info")

// IsZero reports whether no field is set (the item is then not written).
func (p ProductInfo) IsZero() bool { return p == (ProductInfo{}) }

func (p *ProductInfo) strings() []struct {
	tag uint8
	v   *string
} {
	return []struct {
		tag uint8
		v   *string
	}{
		{TagVendorName, &p.VendorName}, {TagProductName, &p.ProductName},
		{TagHardwareVerStr, &p.HardwareVerStr}, {TagMfgDate, &p.MfgDate},
		{TagPartNumber, &p.PartNumber}, {TagProductLabel, &p.ProductLabel},
		{TagProductURL, &p.ProductURL},
	}
}

// Validate checks every set field against its bound and text rule.
func (p ProductInfo) Validate() error {
	for _, s := range p.strings() {
		if *s.v == "" {
			continue
		}
		if err := checkProductText(s.tag, []byte(*s.v)); err != nil {
			return err
		}
	}
	if p.IsZero() {
		return fmt.Errorf("%w: no field set", ErrProductInfo)
	}
	return nil
}

// Encode returns the item value (tags in ascending order). It validates first.
func (p ProductInfo) Encode() ([]byte, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	var w tlvWriter
	for _, s := range p.strings() {
		if s.tag == TagHardwareVerStr && p.HardwareVersion != nil {
			w.bytes(TagHardwareVersion, binary.LittleEndian.AppendUint16(nil, *p.HardwareVersion))
		}
		if *s.v != "" {
			w.bytes(s.tag, []byte(*s.v))
		}
	}
	return w.b, nil
}

// ParseProductInfo decodes and checks an item value: every tag known (even
// 0x80 and above: the module must store what it understands), each at most
// once, each within bounds.
func ParseProductInfo(value []byte) (ProductInfo, error) {
	var p ProductInfo
	if len(value) == 0 || len(value) > ItemProductInfo.MaxLen() {
		return p, fmt.Errorf("%w: %d bytes, want 1..%d", ErrProductInfo, len(value), ItemProductInfo.MaxLen())
	}
	for i := 0; i < len(value); {
		if len(value)-i < 3 {
			return p, fmt.Errorf("%w: %d trailing bytes at offset %d", ErrProductInfo, len(value)-i, i)
		}
		tag := value[i]
		if _, ok := productInfoFields[tag]; !ok {
			return p, fmt.Errorf("%w: unknown tag 0x%02x at offset %d", ErrProductInfo, tag, i)
		}
		n := int(binary.LittleEndian.Uint16(value[i+1:]))
		i += 3
		if n > len(value)-i {
			return p, fmt.Errorf("%w: tag 0x%02x length %d runs past the end", ErrProductInfo, tag, n)
		}
		v := value[i : i+n]
		i += n
		if err := p.set(tag, v); err != nil {
			return ProductInfo{}, err
		}
	}
	return p, nil
}

func (p *ProductInfo) set(tag uint8, v []byte) error {
	f := productInfoFields[tag]
	if tag == TagHardwareVersion {
		if p.HardwareVersion != nil {
			return fmt.Errorf("%w: %s appears twice", ErrProductInfo, f.name)
		}
		if len(v) != 2 {
			return fmt.Errorf("%w: %s is %d bytes, want 2", ErrProductInfo, f.name, len(v))
		}
		hv := binary.LittleEndian.Uint16(v)
		p.HardwareVersion = &hv
		return nil
	}
	if err := checkProductText(tag, v); err != nil {
		return err
	}
	for _, s := range p.strings() {
		if s.tag == tag {
			if *s.v != "" {
				return fmt.Errorf("%w: %s appears twice", ErrProductInfo, f.name)
			}
			*s.v = string(v)
		}
	}
	return nil
}

// checkProductText applies a string field's rules: length bounds, UTF-8
// without NUL or other control characters, and for mfg-date a leading
// YYYY-MM-DD (Matter Core 11.1.6.3 ManufacturingDate: the first 8 characters
// are the date, vendor text may follow; esp-matter stores it ISO-dashed).
func checkProductText(tag uint8, v []byte) error {
	f := productInfoFields[tag]
	if len(v) < f.min || len(v) > f.max {
		return fmt.Errorf("%w: %s is %d bytes, want %d..%d", ErrProductInfo, f.name, len(v), f.min, f.max)
	}
	if !utf8.Valid(v) {
		return fmt.Errorf("%w: %s is not utf-8", ErrProductInfo, f.name)
	}
	for _, r := range string(v) {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w: %s has control character %U", ErrProductInfo, f.name, r)
		}
	}
	if tag == TagMfgDate {
		if _, err := time.Parse("2006-01-02", string(v[:10])); err != nil {
			return fmt.Errorf("%w: mfg-date %q does not start with a date YYYY-MM-DD", ErrProductInfo, v)
		}
	}
	return nil
}
