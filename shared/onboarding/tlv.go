package onboarding

import (
	"encoding/binary"
	"fmt"
	"math"
	"unicode/utf8"
)

// The optional QR data is Matter TLV (Matter Core Appendix A): one anonymous
// structure holding context-tagged scalars. Only the element types the payload
// uses are handled — signed and unsigned integers, UTF-8 and octet strings; any
// other type, a non-context tag, a truncated element or bytes after the structure
// is an error. Integers and lengths are written in their shortest width, as the
// SDK's TLVWriter does, so SDK-made payloads re-encode byte for byte.

const (
	tlvTagContext   = 0x20
	tlvTagMask      = 0xE0
	tlvTypeMask     = 0x1F
	tlvSigned1      = 0x00 // 0x00..0x03: 1, 2, 4, 8 bytes
	tlvUnsigned1    = 0x04 // 0x04..0x07
	tlvUTF8Len1     = 0x0C // 0x0C..0x0F: length in 1, 2, 4, 8 bytes
	tlvBytesLen1    = 0x10 // 0x10..0x13
	tlvStructure    = 0x15
	tlvEndContainer = 0x18
)

func encodeTLV(opts []OptionalData) []byte {
	if len(opts) == 0 {
		return nil
	}
	out := []byte{tlvStructure}
	for _, o := range opts {
		switch o.Type {
		case TypeUnsigned:
			w := uintWidth(o.Unsigned)
			out = append(out, tlvTagContext|(tlvUnsigned1+w), o.Tag)
			out = appendLE(out, o.Unsigned, w)
		case TypeSigned:
			w := intWidth(o.Signed)
			out = append(out, tlvTagContext|(tlvSigned1+w), o.Tag)
			out = appendLE(out, uint64(o.Signed), w)
		case TypeString:
			w := uintWidth(uint64(len(o.String)))
			out = append(out, tlvTagContext|(tlvUTF8Len1+w), o.Tag)
			out = appendLE(out, uint64(len(o.String)), w)
			out = append(out, o.String...)
		case TypeBytes:
			w := uintWidth(uint64(len(o.Bytes)))
			out = append(out, tlvTagContext|(tlvBytesLen1+w), o.Tag)
			out = appendLE(out, uint64(len(o.Bytes)), w)
			out = append(out, o.Bytes...)
		}
	}
	return append(out, tlvEndContainer)
}

// uintWidth returns 0..3 for a 1, 2, 4 or 8-byte encoding of v.
func uintWidth(v uint64) byte {
	switch {
	case v <= math.MaxUint8:
		return 0
	case v <= math.MaxUint16:
		return 1
	case v <= math.MaxUint32:
		return 2
	}
	return 3
}

func intWidth(v int64) byte {
	switch {
	case v >= math.MinInt8 && v <= math.MaxInt8:
		return 0
	case v >= math.MinInt16 && v <= math.MaxInt16:
		return 1
	case v >= math.MinInt32 && v <= math.MaxInt32:
		return 2
	}
	return 3
}

func appendLE(b []byte, v uint64, w byte) []byte {
	var buf [8]byte
	binary.LittleEndian.PutUint64(buf[:], v)
	return append(b, buf[:1<<w]...)
}

func decodeTLV(b []byte) ([]OptionalData, error) {
	if len(b) == 0 {
		return nil, nil
	}
	if b[0] != tlvStructure {
		return nil, fmt.Errorf("%w: starts with control byte 0x%02X, want an anonymous structure (0x15)", ErrOptionalData, b[0])
	}
	var out []OptionalData
	pos := 1
	for n := 1; ; n++ {
		if pos >= len(b) {
			return nil, fmt.Errorf("%w: structure is not closed (%d bytes)", ErrOptionalData, len(b))
		}
		ctrl := b[pos]
		if ctrl == tlvEndContainer {
			pos++
			break
		}
		if ctrl&tlvTagMask != tlvTagContext {
			return nil, fmt.Errorf("%w: element %d (byte %d) has tag control 0x%02X, want a context tag", ErrOptionalData, n, pos, ctrl&tlvTagMask)
		}
		if pos+1 >= len(b) {
			return nil, fmt.Errorf("%w: element %d is truncated", ErrOptionalData, n)
		}
		o := OptionalData{Tag: b[pos+1]}
		pos += 2
		typ := ctrl & tlvTypeMask
		var err error
		switch {
		case typ <= tlvSigned1+3:
			var v uint64
			w := 1 << (typ - tlvSigned1)
			if v, pos, err = readLE(b, pos, w); err == nil {
				o.Type, o.Signed = TypeSigned, signExtend(v, w)
			}
		case typ <= tlvUnsigned1+3:
			o.Type = TypeUnsigned
			o.Unsigned, pos, err = readLE(b, pos, 1<<(typ-tlvUnsigned1))
		case typ >= tlvUTF8Len1 && typ <= tlvUTF8Len1+3:
			var s []byte
			if s, pos, err = readString(b, pos, 1<<(typ-tlvUTF8Len1)); err == nil {
				if !utf8.Valid(s) {
					return nil, fmt.Errorf("%w: element %d (tag 0x%02X) is not valid UTF-8", ErrOptionalData, n, o.Tag)
				}
				o.Type, o.String = TypeString, string(s)
			}
		case typ >= tlvBytesLen1 && typ <= tlvBytesLen1+3:
			var s []byte
			if s, pos, err = readString(b, pos, 1<<(typ-tlvBytesLen1)); err == nil {
				o.Type, o.Bytes = TypeBytes, append([]byte{}, s...)
			}
		default:
			return nil, fmt.Errorf("%w: element %d (tag 0x%02X) has TLV type 0x%02X; only integers and strings are allowed", ErrOptionalData, n, o.Tag, typ)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: element %d (tag 0x%02X): %v", ErrOptionalData, n, o.Tag, err)
		}
		out = append(out, o)
	}
	if pos != len(b) {
		return nil, fmt.Errorf("%w: %d byte(s) after the structure", ErrOptionalData, len(b)-pos)
	}
	return out, nil
}

func readLE(b []byte, pos, w int) (uint64, int, error) {
	if len(b)-pos < w {
		return 0, pos, fmt.Errorf("%d-byte value is truncated", w)
	}
	var buf [8]byte
	copy(buf[:], b[pos:pos+w])
	return binary.LittleEndian.Uint64(buf[:]), pos + w, nil
}

func signExtend(v uint64, w int) int64 {
	shift := 64 - 8*w
	return int64(v<<shift) >> shift
}

func readString(b []byte, pos, lenWidth int) ([]byte, int, error) {
	n, pos, err := readLE(b, pos, lenWidth)
	if err != nil {
		return nil, pos, err
	}
	if n > uint64(len(b)-pos) {
		return nil, pos, fmt.Errorf("length %d runs past the end (%d bytes left)", n, len(b)-pos)
	}
	return b[pos : pos+int(n)], pos + int(n), nil
}
