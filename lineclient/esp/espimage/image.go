package espimage

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

// ImageMagic is the first byte of every ESP image.
const ImageMagic = 0xE9

// MaxSegments is esp-idf's ESP_IMAGE_MAX_SEGMENTS.
const MaxSegments = 16

// headerLen is the image header (8 bytes) plus the extended header (16).
const headerLen = 24

// ErrImage reports an image that fails a format check.
var ErrImage = errors.New("esp image")

// Segment is one load segment.
type Segment struct {
	LoadAddr uint32
	Offset   int // of the data in the file
	Len      int
}

// Image is a parsed ESP image header and its extent.
type Image struct {
	SegmentCount int
	SPIMode      byte
	SPISpeedSize byte
	Entry        uint32
	ChipID       uint16
	MinChipRev   byte
	HashAppended bool
	Segments     []Segment
	// Len is the image length: the segments, the padding, the checksum
	// byte and the appended SHA-256 if any.
	Len int
}

// Parse checks the image header, segments, checksum and appended SHA-256
// of the image at the start of b.
func Parse(b []byte) (*Image, error) {
	if len(b) < headerLen {
		return nil, fmt.Errorf("%w: %d bytes, shorter than the 24-byte header", ErrImage, len(b))
	}
	if b[0] != ImageMagic {
		return nil, fmt.Errorf("%w: magic 0x%02x, want 0xe9 (not an ESP image)", ErrImage, b[0])
	}
	img := &Image{
		SegmentCount: int(b[1]), SPIMode: b[2], SPISpeedSize: b[3], Entry: binary.LittleEndian.Uint32(b[4:]),
		ChipID: binary.LittleEndian.Uint16(b[12:]), MinChipRev: b[14],
	}
	switch b[23] {
	case 0:
	case 1:
		img.HashAppended = true
	default:
		return nil, fmt.Errorf("%w: hash_appended byte %d, want 0 or 1", ErrImage, b[23])
	}
	if img.SegmentCount < 1 || img.SegmentCount > MaxSegments {
		return nil, fmt.Errorf("%w: %d segments, want 1..%d", ErrImage, img.SegmentCount, MaxSegments)
	}
	off := headerLen
	sum := byte(0xEF)
	for i := range img.SegmentCount {
		if off+8 > len(b) {
			return nil, fmt.Errorf("%w: segment %d header at 0x%x runs past the end (%d bytes)", ErrImage, i, off, len(b))
		}
		addr, n := binary.LittleEndian.Uint32(b[off:]), int(binary.LittleEndian.Uint32(b[off+4:]))
		off += 8
		if n < 0 || n > len(b)-off {
			return nil, fmt.Errorf("%w: segment %d (load 0x%08x) of %d bytes at 0x%x runs past the end (%d bytes)", ErrImage, i, addr, n, off, len(b))
		}
		img.Segments = append(img.Segments, Segment{LoadAddr: addr, Offset: off, Len: n})
		for _, x := range b[off : off+n] {
			sum ^= x
		}
		off += n
	}
	ck := off + 15 - off%16 // zero padding so the checksum ends a 16-byte block
	if ck >= len(b) {
		return nil, fmt.Errorf("%w: checksum byte at 0x%x is past the end (%d bytes)", ErrImage, ck, len(b))
	}
	if !allZero(b[off:ck]) {
		return nil, fmt.Errorf("%w: padding before the checksum at 0x%x is not zero", ErrImage, off)
	}
	if b[ck] != sum {
		return nil, fmt.Errorf("%w: checksum 0x%02x at 0x%x, segments give 0x%02x", ErrImage, b[ck], ck, sum)
	}
	img.Len = ck + 1
	if img.HashAppended {
		if img.Len+32 > len(b) {
			return nil, fmt.Errorf("%w: appended SHA-256 at 0x%x runs past the end", ErrImage, img.Len)
		}
		h := sha256.Sum256(b[:img.Len])
		if !bytes.Equal(h[:], b[img.Len:img.Len+32]) {
			return nil, fmt.Errorf("%w: appended SHA-256 at 0x%x does not match the image", ErrImage, img.Len)
		}
		img.Len += 32
	}
	return img, nil
}

func allZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

// CheckChip refuses an image built for another chip.
func (img *Image) CheckChip(want uint16, wantName string) error {
	if img.ChipID != want {
		return fmt.Errorf("%w: built for chip ID %d (%s), the module is %s (chip ID %d)", ErrWrongChip, img.ChipID, chipName(img.ChipID), wantName, want)
	}
	return nil
}

// ErrWrongChip: the image is for another chip.
var ErrWrongChip = errors.New("image for another chip")

var chipNames = map[uint16]string{0: "ESP32", 2: "ESP32-S2", 5: "ESP32-C3", 9: "ESP32-S3", 12: "ESP32-C2", 13: "ESP32-C6", 16: "ESP32-H2", 18: "ESP32-P4", 23: "ESP32-C5"}

func chipName(id uint16) string {
	if n, ok := chipNames[id]; ok {
		return n
	}
	return "unknown chip"
}
