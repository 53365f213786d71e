// Package mattertlv is the one Matter TLV codec of dacline (Matter Core
// Appendix A; the SDK's src/lib/core/TLVWriter.cpp and TLVReader.cpp).
//
// It covers what dacline's Matter structures use: anonymous and 1-byte
// context tags; signed and unsigned integers; UTF-8 and octet strings with
// 1-, 2-, 4- or 8-byte lengths; structures, arrays and end-of-container.
// Anything else (booleans, floats, null, lists, profile tags) is an error
// that names the element type.
//
// The Writer emits the shortest encoding of every integer and length, as
// the SDK's TLVWriter does, so SDK-made encodings re-encode byte for byte.
// The Reader accepts any width whose value fits, never panics, and never
// reads past its input: every length is checked against what is left.
// Callers (the Certification Declaration in shared/matter, the QR code's
// optional data in shared/onboarding) keep their own rules for which
// elements may appear where.
package mattertlv

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Type is an element type: the low five bits of the control byte.
type Type uint8

// Element types (Matter Core A.7.1). The integer and string types are the
// first of a group of four widths (1, 2, 4, 8 bytes).
const (
	TypeSigned1        Type = 0x00 // 0x00..0x03
	TypeUnsigned1      Type = 0x04 // 0x04..0x07
	TypeUTF8Len1       Type = 0x0C // 0x0C..0x0F
	TypeBytesLen1      Type = 0x10 // 0x10..0x13
	TypeStructure      Type = 0x15
	TypeArray          Type = 0x16
	TypeEndOfContainer Type = 0x18
)

const (
	tagControlAnonymous = 0x00
	tagControlContext   = 0x20
	tagControlMask      = 0xE0
	typeMask            = 0x1F
)

// Tag is an element's tag: Anonymous, or a context tag 0..255.
type Tag int

// Anonymous is the tag of an element without one.
const Anonymous Tag = -1

// Context returns the context-specific tag n.
func Context(n uint8) Tag { return Tag(n) }

// IsContext reports whether t is a context tag.
func (t Tag) IsContext() bool { return t >= 0 }

func (t Tag) String() string {
	if t < 0 {
		return "anonymous tag"
	}
	return fmt.Sprintf("context tag %d", int(t))
}

// ErrTruncated reports an element that runs past the end of the input.
var ErrTruncated = errors.New("tlv: truncated")

// widthOf returns 0..3 for a 1, 2, 4 or 8-byte encoding of v.
func widthOf(v uint64) Type {
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

func signedWidthOf(v int64) Type {
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

func appendLE(b []byte, v uint64, w Type) []byte {
	var buf [8]byte
	binary.LittleEndian.PutUint64(buf[:], v)
	return append(b, buf[:1<<w]...)
}
