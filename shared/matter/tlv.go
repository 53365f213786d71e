package matter

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// A minimal Matter TLV codec (Matter Core Appendix A; src/lib/core/TLV*.h),
// just what the Certification Declaration needs: anonymous and 1-byte
// context tags, unsigned integers, UTF-8 and octet strings, structures and
// arrays. The writer emits the shortest integer encoding, as the SDK's
// TLVWriter does; the reader accepts any width whose value fits.

const (
	tlvTagAnonymous = 0x00
	tlvTagContext   = 0x20

	tlvUInt8     = 0x04
	tlvUInt16    = 0x05
	tlvUInt32    = 0x06
	tlvUInt64    = 0x07
	tlvUTF8_1    = 0x0C
	tlvBytes_1   = 0x10
	tlvStructure = 0x15
	tlvArray     = 0x16
	tlvEnd       = 0x18
)

type tlvWriter struct{ buf []byte }

func (w *tlvWriter) head(tag int, typ byte) {
	if tag < 0 {
		w.buf = append(w.buf, tlvTagAnonymous|typ)
		return
	}
	w.buf = append(w.buf, tlvTagContext|typ, byte(tag))
}

func (w *tlvWriter) uint(tag int, v uint64) {
	switch {
	case v <= 0xFF:
		w.head(tag, tlvUInt8)
		w.buf = append(w.buf, byte(v))
	case v <= 0xFFFF:
		w.head(tag, tlvUInt16)
		w.buf = binary.LittleEndian.AppendUint16(w.buf, uint16(v))
	case v <= 0xFFFFFFFF:
		w.head(tag, tlvUInt32)
		w.buf = binary.LittleEndian.AppendUint32(w.buf, uint32(v))
	default:
		w.head(tag, tlvUInt64)
		w.buf = binary.LittleEndian.AppendUint64(w.buf, v)
	}
}

// str writes a UTF-8 (utf8=true) or octet string of at most 255 bytes.
func (w *tlvWriter) str(tag int, b []byte, utf8 bool) {
	typ := byte(tlvBytes_1)
	if utf8 {
		typ = tlvUTF8_1
	}
	w.head(tag, typ)
	w.buf = append(w.buf, byte(len(b)))
	w.buf = append(w.buf, b...)
}

func (w *tlvWriter) start(tag int, typ byte) { w.head(tag, typ) }
func (w *tlvWriter) end()                    { w.buf = append(w.buf, tlvEnd) }

// tlvElem is one decoded element head (and value for scalars).
type tlvElem struct {
	tag  int // -1 anonymous, else the context tag
	typ  byte
	uval uint64
	data []byte
}

func (e tlvElem) isUint() bool  { return e.typ >= tlvUInt8 && e.typ <= tlvUInt64 }
func (e tlvElem) isUTF8() bool  { return e.typ >= tlvUTF8_1 && e.typ <= tlvUTF8_1+3 }
func (e tlvElem) isBytes() bool { return e.typ >= tlvBytes_1 && e.typ <= tlvBytes_1+3 }
func (e tlvElem) isEnd() bool   { return e.typ == tlvEnd }
func (e tlvElem) tagName() string {
	if e.tag < 0 {
		return "anonymous tag"
	}
	return fmt.Sprintf("context tag %d", e.tag)
}

var errTLVTruncated = errors.New("tlv: truncated")

type tlvReader struct{ in []byte }

// next reads one element head; for scalars it also reads the value.
func (r *tlvReader) next() (tlvElem, error) {
	if len(r.in) == 0 {
		return tlvElem{}, errTLVTruncated
	}
	ctrl := r.in[0]
	r.in = r.in[1:]
	e := tlvElem{typ: ctrl & 0x1F, tag: -1}
	switch ctrl & 0xE0 {
	case tlvTagAnonymous:
	case tlvTagContext:
		if len(r.in) < 1 {
			return e, errTLVTruncated
		}
		e.tag = int(r.in[0])
		r.in = r.in[1:]
	default:
		return e, fmt.Errorf("tlv: unsupported tag control 0x%02X", ctrl&0xE0)
	}
	if e.typ == tlvEnd && e.tag >= 0 {
		return e, fmt.Errorf("tlv: end-of-container with a tag")
	}
	switch {
	case e.typ <= tlvUInt64:
		n := 1 << (e.typ & 3)
		if len(r.in) < n {
			return e, errTLVTruncated
		}
		var v uint64
		for i := n - 1; i >= 0; i-- {
			v = v<<8 | uint64(r.in[i])
		}
		r.in = r.in[n:]
		if e.typ < tlvUInt8 && v&(1<<(8*n-1)) != 0 {
			return e, fmt.Errorf("tlv: negative integer at %s", e.tagName())
		}
		e.uval = v
	case e.isUTF8(), e.isBytes():
		n := 1 << ((e.typ - tlvUTF8_1) & 3)
		if len(r.in) < n {
			return e, errTLVTruncated
		}
		var l uint64
		for i := n - 1; i >= 0; i-- {
			l = l<<8 | uint64(r.in[i])
		}
		r.in = r.in[n:]
		if l > uint64(len(r.in)) {
			return e, errTLVTruncated
		}
		e.data = r.in[:l]
		r.in = r.in[l:]
	case e.typ == tlvStructure, e.typ == tlvArray, e.typ == tlvEnd:
	default:
		return e, fmt.Errorf("tlv: unexpected element type 0x%02X at %s", e.typ, e.tagName())
	}
	return e, nil
}

// expectUint reads a context-tagged unsigned integer that fits in max.
func (r *tlvReader) expectUint(tag int, max uint64, name string) (uint64, error) {
	e, err := r.next()
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	if e.tag != tag {
		return 0, fmt.Errorf("%s: expected context tag %d, found %s", name, tag, e.tagName())
	}
	if !e.isUint() {
		return 0, fmt.Errorf("%s: not an unsigned integer", name)
	}
	if e.uval > max {
		return 0, fmt.Errorf("%s: value %d out of range (max %d)", name, e.uval, max)
	}
	return e.uval, nil
}
