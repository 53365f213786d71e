package espimage

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/dacline/dacline/lineclient/esp/flash"
	"github.com/dacline/dacline/lineclient/esp/partition"
)

// The binary partition table is read and written by lineclient/esp/partition
// (gen_esp32part.py's format); the line's layout is lineclient/esp/flash's.
// This file keeps only what the flashing checks need of them.

// Partition-table layout.
const (
	PartitionTableOffset = flash.TableOffset
	PartitionTableSize   = 0xC00
	PartTypeApp          = partition.TypeApp
	PartTypeData         = partition.TypeData
	PartTypeSecureCert   = 0x3F
	PartFlagEncrypted    = partition.FlagEncrypted
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

func fromEntries(es []partition.Entry) []Partition {
	out := make([]Partition, len(es))
	for i, e := range es {
		out[i] = Partition{Type: e.Type, Subtype: e.Subtype, Offset: e.Offset, Size: e.Size, Label: e.Name, Flags: e.Flags}
	}
	return out
}

// ParsePartitionTable reads a binary partition table (esp/partition).
func ParsePartitionTable(b []byte) ([]Partition, error) {
	t, err := partition.ParseBinary(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPartitionTable, err)
	}
	for _, e := range t.Entries {
		if e.End() > 1<<32-1 {
			return nil, fmt.Errorf("%w: partition %q: 0x%x+0x%x overflows", ErrPartitionTable, e.Name, e.Offset, e.Size)
		}
	}
	return fromEntries(t.Entries), nil
}

// MarshalPartitionTable encodes entries as gen_esp32part.py does (MD5
// entry, 0xFF end), padded with 0xFF to PartitionTableSize.
func MarshalPartitionTable(parts []Partition) []byte {
	t := &partition.Table{}
	for _, p := range parts {
		t.Entries = append(t.Entries, partition.Entry{Name: p.Label, Type: p.Type, Subtype: p.Subtype, Offset: p.Offset, Size: p.Size, Flags: p.Flags})
	}
	b, err := t.MarshalBinary()
	if err != nil {
		panic("espimage: " + err.Error()) // only for tables built in code
	}
	if len(b) < PartitionTableSize {
		b = append(b, bytes.Repeat([]byte{0xFF}, PartitionTableSize-len(b))...)
	}
	return b
}

// ContractPartitions is the module flash layout of the line
// (lineclient/esp/flash, from the lead's FLASH-CONTRACT): esp_secure_cert
// at 0xD000 and fctry at 0x3E0000 hold the credentials.
var ContractPartitions = fromEntries(flash.Layout().Entries)

// CredentialPartitions are the partitions no flashing may touch.
func CredentialPartitions() []Partition {
	var out []Partition
	for _, p := range ContractPartitions {
		if p.Label == flash.SecureCert || p.Label == flash.Factory {
			out = append(out, p)
		}
	}
	return out
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
