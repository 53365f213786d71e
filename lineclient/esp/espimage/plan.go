package espimage

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"sort"
)

// Write is one file a station is about to write.
type Write struct {
	Name   string // the file, for errors
	Offset uint32
	Data   []byte
}

// Kinds of write.
const (
	KindBootloader     = "bootloader"
	KindPartitionTable = "partition-table"
	KindApp            = "app"
	KindData           = "data"
)

// Policy is what the product allows.
type Policy struct {
	ChipID           uint16
	ChipName         string
	BootloaderOffset uint32
	FlashSize        uint32
	// KeyDigests are the Secure Boot V2 key digests configured for the
	// product; every image must be signed by one of them.
	KeyDigests []KeyDigest
	// Protected are the partitions no write may touch (default:
	// CredentialPartitions).
	Protected []Partition
}

// Checked is a write that passed its checks.
type Checked struct {
	Write
	Kind   string
	Image  *Image     // bootloader and app
	Sigs   []SigBlock // bootloader and app
	SHA256 [32]byte
}

// ErrOverlap: a write overlaps a protected partition or another write.
var ErrOverlap = errors.New("write overlaps")

// sector is the flash erase unit: the ROM erases whole sectors.
const sector = 0x1000

// CheckWrites checks every write before anything is written: alignment,
// bounds, no overlap with the credential partitions or each other, the
// partition table (if written), and the image, chip and signature of the
// bootloader and of every app written into an app partition (or any other
// file that starts with the image magic). The first refusal is returned,
// naming the file.
func CheckWrites(ws []Write, pol Policy) ([]Checked, error) {
	if pol.Protected == nil {
		pol.Protected = CredentialPartitions()
	}
	if pol.FlashSize == 0 {
		pol.FlashSize = 4 << 20
	}
	table := ContractPartitions
	for _, w := range ws {
		if w.Offset == PartitionTableOffset {
			parts, err := ParsePartitionTable(w.Data)
			if err != nil {
				return nil, fmt.Errorf("%s at 0x%x: %w", w.Name, w.Offset, err)
			}
			if err := CheckKeepsCredentials(parts, pol.Protected); err != nil {
				return nil, fmt.Errorf("%s at 0x%x: %w", w.Name, w.Offset, err)
			}
			table = parts
		}
	}
	order := make([]int, len(ws))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return ws[order[a]].Offset < ws[order[b]].Offset })
	var prevEnd uint64
	var prevName string
	for _, i := range order {
		w := ws[i]
		if len(w.Data) == 0 {
			return nil, fmt.Errorf("%s at 0x%x: empty file", w.Name, w.Offset)
		}
		if w.Offset%sector != 0 {
			return nil, fmt.Errorf("%s at 0x%x: offset is not a multiple of 0x1000 (the ROM erases whole 4 KB sectors)", w.Name, w.Offset)
		}
		end := (uint64(w.Offset) + uint64(len(w.Data)) + sector - 1) / sector * sector
		if end > uint64(pol.FlashSize) {
			return nil, fmt.Errorf("%s at 0x%x: %d bytes run past the end of the %d-byte flash", w.Name, w.Offset, len(w.Data), pol.FlashSize)
		}
		if uint64(w.Offset) < prevEnd {
			return nil, fmt.Errorf("%s at 0x%x: %w %s (up to 0x%x)", w.Name, w.Offset, ErrOverlap, prevName, prevEnd)
		}
		prevEnd, prevName = end, w.Name
		// The partition table locates the credentials: only a new table
		// may be written over it (a bootloader too big for the space
		// below 0x8000 would destroy it).
		if w.Offset != PartitionTableOffset && uint64(w.Offset) < PartitionTableOffset+sector && end > PartitionTableOffset {
			return nil, fmt.Errorf("%s at 0x%x..0x%x: %w the partition table at 0x%x (only a partition table may be written there)",
				w.Name, w.Offset, end, ErrOverlap, PartitionTableOffset)
		}
		for _, p := range pol.Protected {
			if uint64(w.Offset) < uint64(p.End()) && uint64(p.Offset) < end {
				return nil, fmt.Errorf("%s at 0x%x..0x%x: %w partition %q (0x%x..0x%x) that holds the module's credentials",
					w.Name, w.Offset, end, ErrOverlap, p.Label, p.Offset, p.End())
			}
		}
	}
	out := make([]Checked, 0, len(ws))
	for _, w := range ws {
		c := Checked{Write: w, Kind: KindData, SHA256: sha256.Sum256(w.Data)}
		switch {
		case w.Offset == PartitionTableOffset:
			c.Kind = KindPartitionTable
		case w.Offset == pol.BootloaderOffset:
			c.Kind = KindBootloader
		case inAppPartition(table, w) || w.Data[0] == ImageMagic:
			c.Kind = KindApp
		}
		if c.Kind == KindBootloader || c.Kind == KindApp {
			img, err := Parse(w.Data)
			if err != nil {
				return nil, fmt.Errorf("%s at 0x%x (%s): %w", w.Name, w.Offset, c.Kind, err)
			}
			if err := img.CheckChip(pol.ChipID, pol.ChipName); err != nil {
				return nil, fmt.Errorf("%s at 0x%x (%s): %w", w.Name, w.Offset, c.Kind, err)
			}
			sigs, err := VerifySignatures(w.Data, img, pol.KeyDigests)
			if err != nil {
				return nil, fmt.Errorf("%s at 0x%x (%s): %w", w.Name, w.Offset, c.Kind, err)
			}
			c.Image, c.Sigs = img, sigs
		}
		out = append(out, c)
	}
	return out, nil
}

func inAppPartition(table []Partition, w Write) bool {
	for _, p := range table {
		if p.Type == PartTypeApp && w.Offset == p.Offset {
			return true
		}
	}
	return false
}
