package onboarding

import (
	"fmt"

	"github.com/dacline/dacline/shared/mattertlv"
)

// The optional QR data is Matter TLV (Matter Core Appendix A, codec in
// shared/mattertlv): one anonymous structure holding context-tagged scalars.
// Only the element types the payload uses are allowed — signed and unsigned
// integers, UTF-8 and octet strings; any other type, a non-context tag, a
// truncated element or bytes after the structure is an error. The codec
// writes integers and lengths in their shortest width, as the SDK's
// TLVWriter does, so SDK-made payloads re-encode byte for byte.

func encodeTLV(opts []OptionalData) []byte {
	if len(opts) == 0 {
		return nil
	}
	var w mattertlv.Writer
	w.StartStructure(mattertlv.Anonymous)
	for _, o := range opts {
		tag := mattertlv.Context(o.Tag)
		switch o.Type {
		case TypeUnsigned:
			w.Uint(tag, o.Unsigned)
		case TypeSigned:
			w.Int(tag, o.Signed)
		case TypeString:
			w.UTF8(tag, o.String)
		case TypeBytes:
			w.OctetString(tag, o.Bytes)
		}
	}
	w.End()
	return w.Bytes()
}

func decodeTLV(b []byte) ([]OptionalData, error) {
	if len(b) == 0 {
		return nil, nil
	}
	if b[0] != byte(mattertlv.TypeStructure) {
		return nil, fmt.Errorf("%w: starts with control byte 0x%02X, want an anonymous structure (0x15)", ErrOptionalData, b[0])
	}
	r := mattertlv.NewReader(b[1:])
	var out []OptionalData
	for n := 1; ; n++ {
		if r.Len() == 0 {
			return nil, fmt.Errorf("%w: structure is not closed (%d bytes)", ErrOptionalData, len(b))
		}
		pos := 1 + r.Offset()
		e, err := r.Next()
		if err != nil {
			return nil, fmt.Errorf("%w: element %d (byte %d): %v", ErrOptionalData, n, pos, err)
		}
		if e.IsEnd() {
			break
		}
		if !e.Tag.IsContext() {
			return nil, fmt.Errorf("%w: element %d (byte %d) has an anonymous tag, want a context tag", ErrOptionalData, n, pos)
		}
		o, err := optionalFromElement(e)
		if err != nil {
			return nil, fmt.Errorf("%w: element %d (tag 0x%02X) %v", ErrOptionalData, n, uint8(e.Tag), err)
		}
		out = append(out, o)
	}
	if r.Len() != 0 {
		return nil, fmt.Errorf("%w: %d byte(s) after the structure", ErrOptionalData, r.Len())
	}
	return out, nil
}

func optionalFromElement(e mattertlv.Element) (OptionalData, error) {
	o := OptionalData{Tag: uint8(e.Tag)}
	switch {
	case e.IsInt():
		o.Type, o.Signed = TypeSigned, e.Int
	case e.IsUint():
		o.Type, o.Unsigned = TypeUnsigned, e.Uint
	case e.IsUTF8():
		o.Type, o.String = TypeString, string(e.Data)
	case e.IsOctetString():
		o.Type, o.Bytes = TypeBytes, append([]byte{}, e.Data...)
	default:
		return o, fmt.Errorf("has TLV type 0x%02X; only integers and strings are allowed", uint8(e.Type))
	}
	return o, nil
}
