package nvs

import (
	"errors"
	"fmt"
	"hash/crc32"
)

// Page and entry geometry.
const (
	PageSize       = 4096
	EntrySize      = 32
	EntriesPerPage = 126
	headerSize     = 32
	bitmapOffset   = 32
	firstEntry     = 64
	maxKeyLen      = 15 // the key field is 16 bytes, NUL-terminated
	chunkAny       = 0xFF
	version2       = 0xFE

	stateActive = 0xFFFFFFFE
	stateFull   = 0xFFFFFFFC
	stateEmpty  = 0xFFFFFFFF

	// MaxStringLen is the longest string value (without its NUL) the
	// generator can place: header plus data entries must leave one entry of
	// the page free (its PageFullError rule), so at most 124 data entries.
	MaxStringLen = (EntriesPerPage-2)*EntrySize - 1
)

// Type is an entry's item type.
type Type uint8

const (
	TypeU8        Type = 0x01
	TypeI8        Type = 0x11
	TypeU16       Type = 0x02
	TypeI16       Type = 0x12
	TypeU32       Type = 0x04
	TypeI32       Type = 0x14
	TypeU64       Type = 0x08
	TypeI64       Type = 0x18
	TypeString    Type = 0x21
	TypeBlobV1    Type = 0x41 // single-page blob (version 1); read, never written
	TypeBlobData  Type = 0x42
	TypeBlobIndex Type = 0x48
	// TypeBlob names a version-2 blob as a whole (its index and chunks).
	TypeBlob = TypeBlobIndex
)

var typeNames = map[Type]string{
	TypeU8: "u8", TypeI8: "i8", TypeU16: "u16", TypeI16: "i16", TypeU32: "u32", TypeI32: "i32",
	TypeU64: "u64", TypeI64: "i64", TypeString: "string", TypeBlobV1: "blob-v1",
	TypeBlobData: "blob-data", TypeBlobIndex: "blob",
}

func (t Type) String() string {
	if s, ok := typeNames[t]; ok {
		return s
	}
	return fmt.Sprintf("type 0x%02x", uint8(t))
}

// IsInt reports whether t is one of the eight integer types.
func (t Type) IsInt() bool { return t.intSize() > 0 }

// Signed reports whether t is a signed integer type.
func (t Type) Signed() bool { return t.IsInt() && t&0x10 != 0 }

// intSize is the byte width of an integer type (0 for others).
func (t Type) intSize() int {
	switch t &^ 0x10 {
	case 0x01, 0x02, 0x04, 0x08:
		if t&0xE0 == 0 {
			return int(t &^ 0x10)
		}
	}
	return 0
}

// crc is the checksum every NVS CRC field holds: zlib.crc32(b, 0xFFFFFFFF)
// in the generator, i.e. the IEEE CRC-32 continued from 0xFFFFFFFF.
func crc(b []byte) uint32 { return crc32.Update(0xFFFFFFFF, crc32.IEEETable, b) }

// entryCRC covers bytes 0–3 and 8–31 of an entry (not its own field).
func entryCRC(e []byte) uint32 {
	var b [28]byte
	copy(b[:4], e[:4])
	copy(b[4:], e[8:32])
	return crc(b[:])
}

// ErrFormat reports a partition that is not valid NVS.
var ErrFormat = errors.New("nvs")

// Entry is one key-value pair of a namespace.
type Entry struct {
	Namespace string
	Key       string
	Type      Type   // an integer type, TypeString or TypeBlob
	Uint      uint64 // unsigned integer types
	Int       int64  // signed integer types
	Data      []byte // TypeString: the text without its NUL; TypeBlob: the bytes
}

// Value constructors for the writer and for comparisons.

func U8(ns, key string, v uint8) Entry   { return Entry{ns, key, TypeU8, uint64(v), 0, nil} }
func U16(ns, key string, v uint16) Entry { return Entry{ns, key, TypeU16, uint64(v), 0, nil} }
func U32(ns, key string, v uint32) Entry { return Entry{ns, key, TypeU32, uint64(v), 0, nil} }
func U64(ns, key string, v uint64) Entry { return Entry{ns, key, TypeU64, v, 0, nil} }
func I8(ns, key string, v int8) Entry    { return Entry{ns, key, TypeI8, 0, int64(v), nil} }
func I16(ns, key string, v int16) Entry  { return Entry{ns, key, TypeI16, 0, int64(v), nil} }
func I32(ns, key string, v int32) Entry  { return Entry{ns, key, TypeI32, 0, int64(v), nil} }
func I64(ns, key string, v int64) Entry  { return Entry{ns, key, TypeI64, 0, v, nil} }

// String is a string entry (stored NUL-terminated).
func String(ns, key, v string) Entry { return Entry{ns, key, TypeString, 0, 0, []byte(v)} }

// Blob is a version-2 blob entry.
func Blob(ns, key string, v []byte) Entry { return Entry{ns, key, TypeBlob, 0, 0, v} }

// ValueString renders the value for listings.
func (e Entry) ValueString() string {
	switch {
	case e.Type.Signed():
		return fmt.Sprintf("%d", e.Int)
	case e.Type.IsInt():
		return fmt.Sprintf("%d", e.Uint)
	case e.Type == TypeString:
		return fmt.Sprintf("%q", e.Data)
	}
	return fmt.Sprintf("%d bytes", len(e.Data))
}

// intBytes is the little-endian encoding of an integer entry's value.
func (e Entry) intBytes() []byte {
	v := e.Uint
	if e.Type.Signed() {
		v = uint64(e.Int)
	}
	b := make([]byte, e.Type.intSize())
	for i := range b {
		b[i] = byte(v >> (8 * i))
	}
	return b
}
