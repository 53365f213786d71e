package onboarding

import (
	"bytes"
	"errors"
	"fmt"
	"unicode/utf8"
)

// Tags of the optional QR data (Matter-common reserved tags; SDK SetupPayload.h
// cites spec 5.1.4.2). Tags 0x05–0x7F are reserved for future common use,
// 0x80–0xFF belong to the vendor.
const (
	TagSerialNumber         uint8 = 0x00 // UTF-8 string, or unsigned integer ≤ 2^32-1
	TagPBKDFIterations      uint8 = 0x01 // unsigned integer 1000..100000
	TagPBKDFSalt            uint8 = 0x02 // octet string (or UTF-8 string) of 16..32 bytes
	TagNumberOfDevices      uint8 = 0x03 // unsigned integer 1..255
	TagCommissioningTimeout uint8 = 0x04 // unsigned integer, seconds
	TagVendorMin            uint8 = 0x80 // first vendor-specific tag
)

// ErrOptionalData marks malformed or out-of-range TLV data after the packed bits.
var ErrOptionalData = errors.New("invalid optional QR data")

// ValueType is the TLV type of one optional datum.
type ValueType uint8

const (
	TypeUnsigned ValueType = iota + 1 // unsigned integer
	TypeSigned                        // signed integer
	TypeString                        // UTF-8 string
	TypeBytes                         // octet string
)

func (t ValueType) String() string {
	switch t {
	case TypeUnsigned:
		return "unsigned"
	case TypeSigned:
		return "signed"
	case TypeString:
		return "string"
	case TypeBytes:
		return "bytes"
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// OptionalData is one TLV element of the optional QR data. Exactly the field that
// matches Type is meaningful.
type OptionalData struct {
	Tag      uint8
	Type     ValueType
	Unsigned uint64
	Signed   int64
	String   string
	Bytes    []byte
}

// IsVendor reports whether the datum has a vendor-specific tag (0x80–0xFF).
func (o OptionalData) IsVendor() bool { return o.Tag >= TagVendorMin }

// Equal reports whether two data have the same tag, type and value.
func (o OptionalData) Equal(x OptionalData) bool {
	if o.Tag != x.Tag || o.Type != x.Type {
		return false
	}
	switch o.Type {
	case TypeUnsigned:
		return o.Unsigned == x.Unsigned
	case TypeSigned:
		return o.Signed == x.Signed
	case TypeString:
		return o.String == x.String
	case TypeBytes:
		return bytes.Equal(o.Bytes, x.Bytes)
	}
	return true
}

// Value returns the meaningful value as an any (uint64, int64, string or []byte).
func (o OptionalData) Value() any {
	switch o.Type {
	case TypeUnsigned:
		return o.Unsigned
	case TypeSigned:
		return o.Signed
	case TypeString:
		return o.String
	case TypeBytes:
		return o.Bytes
	}
	return nil
}

// Constructors for the common tags.

func SerialNumber(s string) OptionalData {
	return OptionalData{Tag: TagSerialNumber, Type: TypeString, String: s}
}
func PBKDFIterations(n uint32) OptionalData {
	return OptionalData{Tag: TagPBKDFIterations, Type: TypeUnsigned, Unsigned: uint64(n)}
}
func PBKDFSalt(salt []byte) OptionalData {
	return OptionalData{Tag: TagPBKDFSalt, Type: TypeBytes, Bytes: bytes.Clone(salt)}
}
func NumberOfDevices(n uint8) OptionalData {
	return OptionalData{Tag: TagNumberOfDevices, Type: TypeUnsigned, Unsigned: uint64(n)}
}
func CommissioningTimeout(seconds uint32) OptionalData {
	return OptionalData{Tag: TagCommissioningTimeout, Type: TypeUnsigned, Unsigned: uint64(seconds)}
}

// Lookups for the common tags.

func (p *Payload) optional(tag uint8) (OptionalData, bool) {
	for _, o := range p.Optional {
		if o.Tag == tag {
			return o, true
		}
	}
	return OptionalData{}, false
}

// SerialNumber returns the serial number (tag 0x00); an integer serial number is
// rendered in decimal, as the SDK's getSerialNumber does.
func (p *Payload) SerialNumber() (string, bool) {
	o, ok := p.optional(TagSerialNumber)
	if !ok {
		return "", false
	}
	if o.Type == TypeUnsigned {
		return fmt.Sprint(o.Unsigned), true
	}
	return o.String, true
}

// PBKDFIterations returns the PBKDF iteration count (tag 0x01).
func (p *Payload) PBKDFIterations() (uint32, bool) {
	o, ok := p.optional(TagPBKDFIterations)
	return uint32(o.Unsigned), ok
}

// PBKDFSalt returns the PBKDF salt (tag 0x02), whether carried as octets or string.
func (p *Payload) PBKDFSalt() ([]byte, bool) {
	o, ok := p.optional(TagPBKDFSalt)
	if o.Type == TypeString {
		return []byte(o.String), ok
	}
	return bytes.Clone(o.Bytes), ok
}

// NumberOfDevices returns the number of devices (tag 0x03).
func (p *Payload) NumberOfDevices() (uint8, bool) {
	o, ok := p.optional(TagNumberOfDevices)
	return uint8(o.Unsigned), ok
}

// CommissioningTimeout returns the commissioning timeout in seconds (tag 0x04).
func (p *Payload) CommissioningTimeout() (uint64, bool) {
	o, ok := p.optional(TagCommissioningTimeout)
	return o.Unsigned, ok
}

// VendorData returns the data with vendor tags (0x80–0xFF), in wire order.
func (p *Payload) VendorData() []OptionalData {
	var out []OptionalData
	for _, o := range p.Optional {
		if o.IsVendor() {
			out = append(out, o)
		}
	}
	return out
}

// checkOptional applies the SDK's addOptionalExtensionData rules to the common
// tags, refuses duplicate tags (the SDK keeps only the last) and invalid UTF-8.
// Reserved common tags 0x05–0x7F are accepted with any type, for forward
// compatibility, as the SDK does.
func checkOptional(opts []OptionalData) error {
	var seen [256]bool
	for _, o := range opts {
		if seen[o.Tag] {
			return fmt.Errorf("%w: tag 0x%02X appears twice", ErrOptionalData, o.Tag)
		}
		seen[o.Tag] = true
		if o.Type < TypeUnsigned || o.Type > TypeBytes {
			return fmt.Errorf("%w: tag 0x%02X has unknown type %d", ErrOptionalData, o.Tag, uint8(o.Type))
		}
		if o.Type == TypeString && !utf8.ValidString(o.String) {
			return fmt.Errorf("%w: tag 0x%02X string is not valid UTF-8", ErrOptionalData, o.Tag)
		}
		if err := checkCommonTag(o); err != nil {
			return err
		}
	}
	return nil
}

func checkCommonTag(o OptionalData) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s (tag 0x%02X) "+format, append([]any{ErrOptionalData, tagName(o.Tag), o.Tag}, args...)...)
	}
	switch o.Tag {
	case TagSerialNumber:
		switch {
		case o.Type == TypeUnsigned && o.Unsigned > 1<<32-1:
			return bad("%d does not fit 32 bits", o.Unsigned)
		case o.Type != TypeUnsigned && o.Type != TypeString:
			return bad("must be a string or an unsigned integer, got %s", o.Type)
		}
	case TagPBKDFIterations:
		if o.Type != TypeUnsigned {
			return bad("must be an unsigned integer, got %s", o.Type)
		}
		if o.Unsigned < IterationsMin || o.Unsigned > IterationsMax {
			return bad("%d is outside %d..%d", o.Unsigned, IterationsMin, IterationsMax)
		}
	case TagPBKDFSalt:
		n := 0
		switch o.Type {
		case TypeBytes:
			n = len(o.Bytes)
		case TypeString:
			n = len(o.String)
		default:
			return bad("must be an octet string, got %s", o.Type)
		}
		if n < SaltMin || n > SaltMax {
			return bad("is %d bytes, must be %d..%d", n, SaltMin, SaltMax)
		}
	case TagNumberOfDevices:
		if o.Type != TypeUnsigned {
			return bad("must be an unsigned integer, got %s", o.Type)
		}
		if o.Unsigned < 1 || o.Unsigned > 255 {
			return bad("%d is outside 1..255", o.Unsigned)
		}
	case TagCommissioningTimeout:
		if o.Type != TypeUnsigned {
			return bad("must be an unsigned integer, got %s", o.Type)
		}
	}
	return nil
}

func tagName(tag uint8) string {
	switch tag {
	case TagSerialNumber:
		return "serial number"
	case TagPBKDFIterations:
		return "PBKDF iterations"
	case TagPBKDFSalt:
		return "PBKDF salt"
	case TagNumberOfDevices:
		return "number of devices"
	case TagCommissioningTimeout:
		return "commissioning timeout"
	}
	if tag >= TagVendorMin {
		return "vendor datum"
	}
	return "reserved common datum"
}
