package mattertlv

import (
	"fmt"
	"unicode/utf8"
)

// Element is one decoded element: its head, and for a scalar its value.
type Element struct {
	Tag  Tag
	Type Type
	Uint uint64 // unsigned integers
	Int  int64  // signed integers
	Data []byte // strings: aliases the Reader's input
}

// IsUint reports an unsigned integer of any width.
func (e Element) IsUint() bool { return e.Type >= TypeUnsigned1 && e.Type <= TypeUnsigned1+3 }

// IsInt reports a signed integer of any width.
func (e Element) IsInt() bool { return e.Type <= TypeSigned1+3 }

// IsUTF8 reports a UTF-8 string of any length width.
func (e Element) IsUTF8() bool { return e.Type >= TypeUTF8Len1 && e.Type <= TypeUTF8Len1+3 }

// IsOctetString reports an octet string of any length width.
func (e Element) IsOctetString() bool { return e.Type >= TypeBytesLen1 && e.Type <= TypeBytesLen1+3 }

// IsEnd reports an end-of-container.
func (e Element) IsEnd() bool { return e.Type == TypeEndOfContainer }

// Reader decodes elements one at a time from an input it does not copy.
type Reader struct {
	in  []byte
	off int // bytes consumed, for error positions
}

// NewReader returns a Reader over b.
func NewReader(b []byte) *Reader { return &Reader{in: b} }

// Len is the number of bytes not yet read.
func (r *Reader) Len() int { return len(r.in) }

// Offset is the number of bytes read so far.
func (r *Reader) Offset() int { return r.off }

func (r *Reader) take(n int) ([]byte, bool) {
	if n < 0 || n > len(r.in) {
		return nil, false
	}
	b := r.in[:n]
	r.in = r.in[n:]
	r.off += n
	return b, true
}

func (r *Reader) readLE(width int) (uint64, bool) {
	b, ok := r.take(width)
	if !ok {
		return 0, false
	}
	var v uint64
	for i := width - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v, true
}

// Next reads one element head and, for a scalar, its value. Container
// contents follow as further elements up to an end-of-container.
func (r *Reader) Next() (Element, error) {
	ctrl, ok := r.take(1)
	if !ok {
		return Element{}, ErrTruncated
	}
	e := Element{Tag: Anonymous, Type: Type(ctrl[0] & typeMask)}
	switch ctrl[0] & tagControlMask {
	case tagControlAnonymous:
	case tagControlContext:
		t, ok := r.take(1)
		if !ok {
			return e, ErrTruncated
		}
		e.Tag = Tag(t[0])
	default:
		return e, fmt.Errorf("tlv: unsupported tag control 0x%02X at byte %d", ctrl[0]&tagControlMask, r.off-1)
	}
	switch {
	case e.IsInt():
		width := 1 << (e.Type - TypeSigned1)
		v, ok := r.readLE(width)
		if !ok {
			return e, fmt.Errorf("%w: %d-byte integer at %s", ErrTruncated, width, e.Tag)
		}
		shift := 64 - 8*width
		e.Int = int64(v<<shift) >> shift
	case e.IsUint():
		width := 1 << (e.Type - TypeUnsigned1)
		v, ok := r.readLE(width)
		if !ok {
			return e, fmt.Errorf("%w: %d-byte integer at %s", ErrTruncated, width, e.Tag)
		}
		e.Uint = v
	case e.IsUTF8(), e.IsOctetString():
		width := 1 << ((e.Type - TypeUTF8Len1) & 3)
		n, ok := r.readLE(width)
		if !ok {
			return e, fmt.Errorf("%w: %d-byte length at %s", ErrTruncated, width, e.Tag)
		}
		if n > uint64(len(r.in)) {
			return e, fmt.Errorf("%w: length %d at %s runs past the end (%d bytes left)", ErrTruncated, n, e.Tag, len(r.in))
		}
		e.Data, _ = r.take(int(n))
		if e.IsUTF8() && !utf8.Valid(e.Data) {
			return e, fmt.Errorf("tlv: string at %s is not valid UTF-8", e.Tag)
		}
	case e.Type == TypeStructure, e.Type == TypeArray:
	case e.Type == TypeEndOfContainer:
		if e.Tag.IsContext() {
			return e, fmt.Errorf("tlv: end-of-container with a tag at byte %d", r.off-2)
		}
	default:
		return e, fmt.Errorf("tlv: unsupported TLV type 0x%02X at %s", uint8(e.Type), e.Tag)
	}
	return e, nil
}
