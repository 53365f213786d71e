package espimage

import (
	"bytes"
	"crypto/md5"
	"encoding/binary"
	"errors"
	"fmt"
)

// This file reads the binary partition table (esp-idf gen_esp32part.py)
// only as far as the flashing checks need. It is self-contained until the
// ESP-formats package (lineclient/esp, branch esp) lands on main; then the
// parsing should move to it and this file keep only the checks.

// Partition-table layout.
const (
	PartitionTableOffset = 0x8000
	PartitionTableSize   = 0xC00
	partEntryLen         = 32
	partMagic            = 0x50AA
	partMD5Magic         = 0xEBEB
	PartTypeApp          = 0x00
	PartTypeData         = 0x01
	PartTypeSecureCert   = 0x3F
	PartSubtypeNVS       = 0x02
	PartFlagEncrypted    = 1 << 0
)

// ErrPartitionTable reports a table that does not parse or breaks a rule.
var ErrPartitionTable = errors.New("partition table")

// Partition is one table entry.
type Partition struct {
	Type, Subtype byte
	Offset, Size  uint32
	Label         string
	Flags         uint32
}

// End is the first byte after the partition.
func (p Partition) End() uint32 { return p.Offset + p.Size }

// ParsePartitionTable reads entries until the 0xFF end marker, checking
// the MD5 entry when present.
func ParsePartitionTable(b []byte) ([]Partition, error) {
	var out []Partition
	for i := 0; ; i++ {
		off := i * partEntryLen
		if off+partEntryLen > len(b) || off+partEntryLen > PartitionTableSize {
			return nil, fmt.Errorf("%w: no end marker within 0x%x bytes", ErrPartitionTable, min(len(b), PartitionTableSize))
		}
		e := b[off : off+partEntryLen]
		switch binary.LittleEndian.Uint16(e) {
		case 0xFFFF:
			if !bytes.Equal(e, bytes.Repeat([]byte{0xFF}, partEntryLen)) {
				return nil, fmt.Errorf("%w: entry %d: malformed end marker", ErrPartitionTable, i)
			}
			return out, nil
		case partMD5Magic:
			if !bytes.Equal(e[2:16], bytes.Repeat([]byte{0xFF}, 14)) {
				return nil, fmt.Errorf("%w: entry %d: malformed MD5 entry", ErrPartitionTable, i)
			}
			if sum := md5.Sum(b[:off]); !bytes.Equal(sum[:], e[16:]) {
				return nil, fmt.Errorf("%w: MD5 entry %d does not match the %d entries before it", ErrPartitionTable, i, len(out))
			}
		case partMagic:
			label := string(bytes.TrimRight(e[12:28], "\x00"))
			p := Partition{Type: e[2], Subtype: e[3], Offset: binary.LittleEndian.Uint32(e[4:]),
				Size: binary.LittleEndian.Uint32(e[8:]), Label: label, Flags: binary.LittleEndian.Uint32(e[28:])}
			if uint64(p.Offset)+uint64(p.Size) > 1<<32-1 {
				return nil, fmt.Errorf("%w: partition %q: 0x%x+0x%x overflows", ErrPartitionTable, label, p.Offset, p.Size)
			}
			out = append(out, p)
		default:
			return nil, fmt.Errorf("%w: entry %d at 0x%x: magic 0x%04x, want 0x50aa", ErrPartitionTable, i, off, binary.LittleEndian.Uint16(e))
		}
	}
}

// MarshalPartitionTable encodes entries, the MD5 entry and the end marker,
// padded with 0xFF to PartitionTableSize (gen_esp32part.py's binary form).
func MarshalPartitionTable(parts []Partition) []byte {
	var b []byte
	for _, p := range parts {
		e := make([]byte, partEntryLen)
		binary.LittleEndian.PutUint16(e, partMagic)
		e[2], e[3] = p.Type, p.Subtype
		binary.LittleEndian.PutUint32(e[4:], p.Offset)
		binary.LittleEndian.PutUint32(e[8:], p.Size)
		copy(e[12:28], p.Label)
		binary.LittleEndian.PutUint32(e[28:], p.Flags)
		b = append(b, e...)
	}
	sum := md5.Sum(b)
	b = append(b, 0xEB, 0xEB)
	b = append(b, bytes.Repeat([]byte{0xFF}, 14)...)
	b = append(b, sum[:]...)
	return append(b, bytes.Repeat([]byte{0xFF}, PartitionTableSize-len(b))...)
}

// ContractPartitions is the module flash layout of the line (the lead's
// FLASH-CONTRACT): esp_secure_cert at 0xD000 and fctry at 0x3E0000 hold
// the credentials.
var ContractPartitions = []Partition{
	{Type: PartTypeSecureCert, Subtype: 0, Offset: 0xD000, Size: 0x2000, Label: "esp_secure_cert", Flags: PartFlagEncrypted},
	{Type: PartTypeData, Subtype: PartSubtypeNVS, Offset: 0x10000, Size: 0xC000, Label: "nvs"},
	{Type: PartTypeData, Subtype: 0x04, Offset: 0x1C000, Size: 0x1000, Label: "nvs_keys", Flags: PartFlagEncrypted},
	{Type: PartTypeData, Subtype: 0x00, Offset: 0x1D000, Size: 0x2000, Label: "otadata"},
	{Type: PartTypeData, Subtype: 0x01, Offset: 0x1F000, Size: 0x1000, Label: "phy_init"},
	{Type: PartTypeApp, Subtype: 0x10, Offset: 0x20000, Size: 0x1E0000, Label: "ota_0"},
	{Type: PartTypeApp, Subtype: 0x11, Offset: 0x200000, Size: 0x1E0000, Label: "ota_1"},
	{Type: PartTypeData, Subtype: PartSubtypeNVS, Offset: 0x3E0000, Size: 0x6000, Label: "fctry"},
}

// CredentialPartitions are the partitions no flashing may touch.
func CredentialPartitions() []Partition {
	return []Partition{ContractPartitions[0], ContractPartitions[7]}
}

// CheckKeepsCredentials refuses a table that moves, resizes or drops a
// credential partition, or lets another partition overlap one.
func CheckKeepsCredentials(parts []Partition, creds []Partition) error {
	for _, c := range creds {
		found := false
		for _, p := range parts {
			if p.Label == c.Label {
				if p.Offset != c.Offset || p.Size != c.Size || p.Type != c.Type || p.Subtype != c.Subtype {
					return fmt.Errorf("%w: partition %q is %#x/%#x at 0x%x size 0x%x, the credentials are in %#x/%#x at 0x%x size 0x%x",
						ErrPartitionTable, p.Label, p.Type, p.Subtype, p.Offset, p.Size, c.Type, c.Subtype, c.Offset, c.Size)
				}
				found = true
				continue
			}
			if p.Offset < c.End() && c.Offset < p.End() {
				return fmt.Errorf("%w: partition %q (0x%x..0x%x) overlaps %q (0x%x..0x%x) where the credentials are",
					ErrPartitionTable, p.Label, p.Offset, p.End(), c.Label, c.Offset, c.End())
			}
		}
		if !found {
			return fmt.Errorf("%w: no %q partition (the credentials live at 0x%x)", ErrPartitionTable, c.Label, c.Offset)
		}
	}
	return nil
}
