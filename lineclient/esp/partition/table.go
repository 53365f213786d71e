package partition

import (
	"bytes"
	"crypto/md5"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Layout constants of the binary table.
const (
	EntrySize  = 32
	MaxLength  = 0xC00  // table bytes gen_esp32part.py writes (96 entries with the MD5)
	SectorSize = 0x1000 // the table's flash sector
	// DefaultOffset is where the second-stage bootloader reads the table.
	DefaultOffset = 0x8000
)

// Partition types and the subtypes gen_esp32part.py names.
const (
	TypeApp  uint8 = 0x00
	TypeData uint8 = 0x01
	// TypeSecureCert is esp_secure_cert's custom type (esp_secure_cert_mgr).
	TypeSecureCert uint8 = 0x3F

	SubtypeFactory   uint8 = 0x00
	SubtypeOTA0      uint8 = 0x10
	SubtypeDataOTA   uint8 = 0x00
	SubtypePhy       uint8 = 0x01
	SubtypeNVS       uint8 = 0x02
	SubtypeNVSKeys   uint8 = 0x04
	SubtypeUndefined uint8 = 0x06 // an empty subtype in the CSV
)

// Flag bits.
const (
	FlagEncrypted uint32 = 1 << 0
	FlagReadOnly  uint32 = 1 << 1
)

var (
	magic    = []byte{0xAA, 0x50}
	md5Magic = append([]byte{0xEB, 0xEB}, bytes.Repeat([]byte{0xFF}, 14)...)
)

// ErrTable reports an invalid partition table.
var ErrTable = errors.New("partition table")

// Entry is one partition.
type Entry struct {
	Name    string
	Type    uint8
	Subtype uint8
	Offset  uint32
	Size    uint32
	Flags   uint32
}

// Encrypted reports the encrypted flag.
func (e Entry) Encrypted() bool { return e.Flags&FlagEncrypted != 0 }

// End is the first byte after the partition.
func (e Entry) End() uint64 { return uint64(e.Offset) + uint64(e.Size) }

// Table is a partition table in its entry order.
type Table struct {
	Entries []Entry
	// HasMD5 is set by ParseBinary when the table carried an MD5 entry
	// (which then matched).
	HasMD5 bool
}

// Find returns the partition named name.
func (t *Table) Find(name string) (Entry, bool) {
	for _, e := range t.Entries {
		if e.Name == name {
			return e, true
		}
	}
	return Entry{}, false
}

// Verify applies gen_esp32part.py's checks for a table at tableOffset.
func (t *Table) Verify(tableOffset uint32) error {
	names := map[string]bool{}
	otadata := 0
	for _, e := range t.Entries {
		if e.Name == "" || len(e.Name) > 16 {
			return fmt.Errorf("%w: partition name %q must be 1..16 bytes", ErrTable, e.Name)
		}
		if names[e.Name] {
			return fmt.Errorf("%w: partition name %q appears twice", ErrTable, e.Name)
		}
		names[e.Name] = true
		align := uint32(0x1000)
		if e.Type == TypeApp {
			align = 0x10000
			if e.Size%0x1000 != 0 {
				return fmt.Errorf("%w: partition %s: app size 0x%x is not a multiple of 0x1000", ErrTable, e.Name, e.Size)
			}
		}
		if e.Offset%align != 0 {
			return fmt.Errorf("%w: partition %s: offset 0x%x is not aligned to 0x%x", ErrTable, e.Name, e.Offset, align)
		}
		if e.Size == 0 {
			return fmt.Errorf("%w: partition %s: size 0", ErrTable, e.Name)
		}
		if e.Type == TypeData && e.Subtype == SubtypeDataOTA {
			otadata++
			if e.Size != 0x2000 {
				return fmt.Errorf("%w: partition %s: otadata must be 0x2000 bytes, not 0x%x", ErrTable, e.Name, e.Size)
			}
		}
		if e.Type == TypeData && e.Subtype == SubtypeNVS && e.Size < 0x3000 && e.Flags&FlagReadOnly == 0 {
			return fmt.Errorf("%w: partition %s: read-write nvs of 0x%x bytes (at least 0x3000, or flag readonly)", ErrTable, e.Name, e.Size)
		}
		if unknown := e.Flags &^ (FlagEncrypted | FlagReadOnly); unknown != 0 {
			return fmt.Errorf("%w: partition %s: unknown flag bits 0x%x", ErrTable, e.Name, unknown)
		}
	}
	if otadata > 1 {
		return fmt.Errorf("%w: %d otadata partitions, at most one", ErrTable, otadata)
	}
	sorted := append([]Entry{}, t.Entries...)
	sort.SliceStable(sorted, func(a, b int) bool { return sorted[a].Offset < sorted[b].Offset })
	for i, e := range sorted {
		if uint64(e.Offset) < uint64(tableOffset)+SectorSize {
			return fmt.Errorf("%w: partition %s at 0x%x is below 0x%x (the table's sector)", ErrTable, e.Name, e.Offset, uint64(tableOffset)+SectorSize)
		}
		if i > 0 && uint64(e.Offset) < sorted[i-1].End() {
			p := sorted[i-1]
			return fmt.Errorf("%w: partition %s at 0x%x overlaps %s (0x%x-0x%x)", ErrTable, e.Name, e.Offset, p.Name, p.Offset, p.End()-1)
		}
	}
	return nil
}

// FitsFlash checks that every partition ends within a flash of size bytes.
func (t *Table) FitsFlash(size uint64) error {
	for _, e := range t.Entries {
		if e.End() > size {
			return fmt.Errorf("%w: partition %s ends at 0x%x, past the 0x%x-byte flash", ErrTable, e.Name, e.End(), size)
		}
	}
	return nil
}

// MarshalBinary writes the table as gen_esp32part.py does: entries, the MD5
// entry, 0xFF up to MaxLength bytes.
func (t *Table) MarshalBinary() ([]byte, error) {
	var out []byte
	for _, e := range t.Entries {
		if len(e.Name) > 16 {
			return nil, fmt.Errorf("%w: partition name %q is longer than 16 bytes", ErrTable, e.Name)
		}
		b := make([]byte, EntrySize)
		copy(b, magic)
		b[2], b[3] = e.Type, e.Subtype
		binary.LittleEndian.PutUint32(b[4:], e.Offset)
		binary.LittleEndian.PutUint32(b[8:], e.Size)
		copy(b[12:28], e.Name)
		binary.LittleEndian.PutUint32(b[28:], e.Flags)
		out = append(out, b...)
	}
	sum := md5.Sum(out)
	out = append(append(out, md5Magic...), sum[:]...)
	if len(out) >= MaxLength {
		return nil, fmt.Errorf("%w: %d entries do not fit %d bytes", ErrTable, len(t.Entries), MaxLength)
	}
	for len(out) < MaxLength {
		out = append(out, 0xFF)
	}
	return out, nil
}

// ParseBinary reads a binary table (at least up to its end marker; a whole
// 0xC00 or 0x1000 region is fine). An MD5 entry, when present, must match.
func ParseBinary(b []byte) (*Table, error) {
	t := &Table{}
	sum := md5.New()
	for off := 0; off < len(b) && off < SectorSize; off += EntrySize {
		if len(b)-off < EntrySize {
			return nil, fmt.Errorf("%w: %d trailing bytes at offset 0x%x (entries are 32 bytes)", ErrTable, len(b)-off, off)
		}
		e := b[off : off+EntrySize]
		if bytes.Equal(e, bytes.Repeat([]byte{0xFF}, EntrySize)) {
			return t, nil
		}
		if e[0] == 0xEB && e[1] == 0xEB {
			if got := sum.Sum(nil); !bytes.Equal(e[16:], got) {
				return nil, fmt.Errorf("%w: md5 entry at offset 0x%x holds %x, the entries before it hash to %x", ErrTable, off, e[16:], got)
			}
			t.HasMD5 = true
			continue
		}
		if t.HasMD5 {
			return nil, fmt.Errorf("%w: entry at offset 0x%x follows the md5 entry", ErrTable, off)
		}
		if !bytes.Equal(e[:2], magic) {
			return nil, fmt.Errorf("%w: entry %d at offset 0x%x: magic %02x %02x, want aa 50", ErrTable, len(t.Entries), off, e[0], e[1])
		}
		sum.Write(e)
		name := e[12:28]
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		en := Entry{Name: string(name), Type: e[2], Subtype: e[3], Offset: binary.LittleEndian.Uint32(e[4:]),
			Size: binary.LittleEndian.Uint32(e[8:]), Flags: binary.LittleEndian.Uint32(e[28:])}
		if !printable(en.Name) {
			return nil, fmt.Errorf("%w: entry %d at offset 0x%x: name %q is not printable", ErrTable, len(t.Entries), off, en.Name)
		}
		t.Entries = append(t.Entries, en)
	}
	return nil, fmt.Errorf("%w: no end-of-table marker within 0x%x bytes", ErrTable, min(len(b), SectorSize))
}

func printable(s string) bool {
	for _, r := range s {
		if r < 0x20 || r > 0x7E {
			return false
		}
	}
	return s != ""
}

// TypeName is the CSV name of a type (or its number).
func TypeName(t uint8) string {
	switch t {
	case TypeApp:
		return "app"
	case TypeData:
		return "data"
	}
	return fmt.Sprintf("0x%02x", t)
}

// SubtypeName is the CSV name of a subtype of type t (or its number).
func SubtypeName(t, s uint8) string {
	for name, v := range subtypes[t] {
		if v == s {
			return name
		}
	}
	return fmt.Sprintf("0x%02x", s)
}

// FlagNames lists the flags as the CSV writes them (colon-separated).
func FlagNames(f uint32) string {
	var out []string
	if f&FlagEncrypted != 0 {
		out = append(out, "encrypted")
	}
	if f&FlagReadOnly != 0 {
		out = append(out, "readonly")
	}
	return strings.Join(out, ":")
}
