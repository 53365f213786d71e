package lineproto

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"
)

// Bodies are sequences of TLV fields (docs/line-protocol.md §4):
//
//	tag u8 ‖ length u16 little-endian ‖ value (length bytes)
//
// Tags 0x00–0x7F are critical: a receiver that does not know one refuses the
// message (StatusMalformed). Tags 0x80–0xFF may be skipped by a receiver that
// does not know them. A tag appears at most once unless its field is marked
// repeated. Integers inside values are little-endian.

// ErrTLV reports a malformed body.
var ErrTLV = errors.New("lineproto: malformed body")

// TagDetail carries a UTF-8 reason (≤ 128 bytes) in a refusal's body.
const TagDetail = 0x01

// maxDetail bounds the refusal detail text.
const maxDetail = 128

type tlvWriter struct{ b []byte }

func (w *tlvWriter) bytes(tag uint8, v []byte) {
	w.b = append(w.b, tag)
	w.b = binary.LittleEndian.AppendUint16(w.b, uint16(len(v)))
	w.b = append(w.b, v...)
}
func (w *tlvWriter) u8(tag, v uint8) { w.bytes(tag, []byte{v}) }
func (w *tlvWriter) u32(tag uint8, v uint32) {
	w.bytes(tag, binary.LittleEndian.AppendUint32(nil, v))
}
func (w *tlvWriter) bool(tag uint8, v bool) {
	var b uint8
	if v {
		b = 1
	}
	w.u8(tag, b)
}

// field describes one tag a message accepts.
type field struct {
	name     string
	min, max int // value length bounds
	repeated bool
	required bool
}

// tlvFields is a parsed body: the values of each known tag, in order.
type tlvFields map[uint8][][]byte

func parseTLV(body []byte, spec map[uint8]field) (tlvFields, error) {
	out := tlvFields{}
	for i := 0; i < len(body); {
		if len(body)-i < 3 {
			return nil, fmt.Errorf("%w: %d trailing bytes", ErrTLV, len(body)-i)
		}
		tag := body[i]
		n := int(binary.LittleEndian.Uint16(body[i+1:]))
		i += 3
		if n > len(body)-i {
			return nil, fmt.Errorf("%w: tag 0x%02x length %d runs past the end", ErrTLV, tag, n)
		}
		v := body[i : i+n]
		i += n
		f, ok := spec[tag]
		if !ok {
			if tag >= 0x80 {
				continue // non-critical, skipped
			}
			return nil, fmt.Errorf("%w: unknown critical tag 0x%02x", ErrTLV, tag)
		}
		if n < f.min || n > f.max {
			return nil, fmt.Errorf("%w: %s is %d bytes, want %d..%d", ErrTLV, f.name, n, f.min, f.max)
		}
		if len(out[tag]) > 0 && !f.repeated {
			return nil, fmt.Errorf("%w: %s appears twice", ErrTLV, f.name)
		}
		out[tag] = append(out[tag], append([]byte(nil), v...))
	}
	for tag, f := range spec {
		if f.required && len(out[tag]) == 0 {
			return nil, fmt.Errorf("%w: %s missing", ErrTLV, f.name)
		}
	}
	return out, nil
}

func (f tlvFields) has(tag uint8) bool { return len(f[tag]) > 0 }
func (f tlvFields) raw(tag uint8) []byte {
	if f.has(tag) {
		return f[tag][0]
	}
	return nil
}
func (f tlvFields) u8(tag uint8) uint8 {
	if f.has(tag) {
		return f[tag][0][0]
	}
	return 0
}
func (f tlvFields) u32(tag uint8) uint32 {
	if f.has(tag) {
		return binary.LittleEndian.Uint32(f[tag][0])
	}
	return 0
}

func (f tlvFields) boolean(tag uint8, name string) (bool, error) {
	switch v := f.u8(tag); v {
	case 0:
		return false, nil
	case 1:
		return true, nil
	default:
		return false, fmt.Errorf("%w: %s is %d, want 0 or 1", ErrTLV, name, v)
	}
}

func (f tlvFields) text(tag uint8, name string) (string, error) {
	v := f.raw(tag)
	if !utf8.Valid(v) {
		return "", fmt.Errorf("%w: %s is not utf-8", ErrTLV, name)
	}
	return string(v), nil
}

func (f tlvFields) digest(tag uint8) (d [32]byte) {
	copy(d[:], f.raw(tag))
	return d
}
