package securecert

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Type is a TLV type (esp_secure_cert_tlv_config.h).
type Type uint8

const (
	TypeCACert         Type = 0 // Matter: the PAI
	TypeDevCert        Type = 1 // Matter: the DAC
	TypePrivKey        Type = 2
	TypeDSData         Type = 3
	TypeDSContext      Type = 4
	TypeHMACKeySalt    Type = 5 // salt of the HMAC-derived ECDSA key
	TypeSecCfg         Type = 6 // 40 bytes; byte 0: the eFuse key block
	TypeTEEStorageKey  Type = 7
	TypeSignatureBlock Type = 8
	TypeIntegrity      Type = 9 // SHA-256 of all preceding bytes
	TypeUserData1      Type = 51
	TypeUserData5      Type = 55
	TypeMatterTLV1     Type = 201
	TypeMatterTLV2     Type = 202
)

var typeNames = map[Type]string{
	TypeCACert: "CA_CERT", TypeDevCert: "DEV_CERT", TypePrivKey: "PRIV_KEY", TypeDSData: "DS_DATA",
	TypeDSContext: "DS_CONTEXT", TypeHMACKeySalt: "HMAC_ECDSA_KEY_SALT", TypeSecCfg: "SEC_CFG",
	TypeTEEStorageKey: "TEE_SEC_STORAGE_KEY", TypeSignatureBlock: "SIGNATURE_BLOCK", TypeIntegrity: "INTEGRITY",
	TypeMatterTLV1: "MATTER_TLV_1", TypeMatterTLV2: "MATTER_TLV_2",
}

func (t Type) String() string {
	if s, ok := typeNames[t]; ok {
		return s
	}
	if t >= TypeUserData1 && t <= TypeUserData5 {
		return fmt.Sprintf("USER_DATA_%d", t-TypeUserData1+1)
	}
	return fmt.Sprintf("TYPE_%d", uint8(t))
}

// Flag bits of a PRIV_KEY header.
const (
	FlagHMACEncrypted   uint8 = 0x80 // bits 7:6 = 10: key encrypted with an HMAC-derived key
	FlagHMACDerived     uint8 = 0x40 // bits 7:6 = 01: key derived on the chip (salt in type 5)
	FlagECDSAPeripheral uint8 = 0x08 // bits 5:3 = 001: key in an eFuse block (SEC_CFG names it)
)

// Geometry and markers.
const (
	Magic     uint32 = 0xBA5EBA11
	EndMarker uint32 = 0x0000FFFF
	HeaderLen        = 12
	align            = 16
	// PartitionSize is the usual esp_secure_cert partition size.
	PartitionSize = 0x2000
	// SecCfgLen is the SEC_CFG data length.
	SecCfgLen = 40
)

// ErrFormat reports bytes that are not a valid esp_secure_cert partition.
var ErrFormat = errors.New("esp_secure_cert")

// Entry is one TLV.
type Entry struct {
	Type    Type
	Subtype uint8
	Flags   uint8
	Data    []byte
	// Set by Parse:
	Offset int    // of the header in the partition
	CRC    uint32 // the stored (and checked) CRC
}

// Padding is the number of zero bytes after the data.
func (e Entry) Padding() int { return (align - len(e.Data)%align) % align }

// Size is the entry's length in the partition.
func (e Entry) Size() int { return HeaderLen + len(e.Data) + e.Padding() + 4 }

// crc is zlib.crc32(b, 0xFFFFFFFF).
func crc(b []byte) uint32 { return crc32.Update(0xFFFFFFFF, crc32.IEEETable, b) }

// Marshal encodes one entry.
func (e Entry) Marshal() ([]byte, error) {
	if len(e.Data) > 0xFFFF {
		return nil, fmt.Errorf("%w: %s/%d: %d data bytes, at most 65535", ErrFormat, e.Type, e.Subtype, len(e.Data))
	}
	b := make([]byte, 0, e.Size())
	b = binary.LittleEndian.AppendUint32(b, Magic)
	b = append(b, e.Flags, 0, 0, 0, byte(e.Type), e.Subtype)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(e.Data)))
	b = append(b, e.Data...)
	b = append(b, make([]byte, e.Padding())...)
	return binary.LittleEndian.AppendUint32(b, crc(b)), nil
}

// Encode concatenates entries, as the builder lays them out from offset 0.
func Encode(entries []Entry) ([]byte, error) {
	var out []byte
	for _, e := range entries {
		b, err := e.Marshal()
		if err != nil {
			return nil, err
		}
		out = append(out, b...)
	}
	return out, nil
}

// IntegrityEntry is the INTEGRITY entry for the bytes before it.
func IntegrityEntry(before []byte) Entry {
	sum := sha256.Sum256(before)
	return Entry{Type: TypeIntegrity, Data: sum[:]}
}

// Seal appends the INTEGRITY entry over tlvs and the end marker, as the
// newer builder's build_partition does.
func Seal(tlvs []byte) ([]byte, error) {
	in, err := IntegrityEntry(tlvs).Marshal()
	if err != nil {
		return nil, err
	}
	out := append(append([]byte{}, tlvs...), in...)
	return binary.LittleEndian.AppendUint32(out, EndMarker), nil
}

// Partition is a parsed esp_secure_cert partition.
type Partition struct {
	Entries []Entry
	// Used is the number of bytes the TLVs (and end marker) take.
	Used int
	// Sealed: an INTEGRITY entry (checked) ends the TLVs.
	Sealed bool
	// EndMarker: the end marker follows the last entry.
	EndMarker bool
}

// Find returns the entry of type t and subtype s.
func (p *Partition) Find(t Type, s uint8) (Entry, bool) {
	for _, e := range p.Entries {
		if e.Type == t && e.Subtype == s {
			return e, true
		}
	}
	return Entry{}, false
}

// Parse reads the TLVs of a partition (or a dump of its first bytes).
// Entries end at the end marker, at erased flash or at the end of b.
func Parse(b []byte) (*Partition, error) {
	p := &Partition{}
	seen := map[[2]uint8]int{}
	off := 0
	for off < len(b) {
		if len(b)-off < 4 {
			if allFF(b[off:]) {
				break
			}
			return nil, fmt.Errorf("%w: %d stray bytes at offset 0x%x", ErrFormat, len(b)-off, off)
		}
		m := binary.LittleEndian.Uint32(b[off:])
		if m == 0xFFFFFFFF {
			break
		}
		if m == EndMarker {
			p.EndMarker = true
			off += 4
			break
		}
		if p.Sealed {
			return nil, fmt.Errorf("%w: offset 0x%x: data after the INTEGRITY entry (magic 0x%08x), not the end marker", ErrFormat, off, m)
		}
		if m != Magic {
			return nil, fmt.Errorf("%w: offset 0x%x: magic 0x%08x, want 0xba5eba11", ErrFormat, off, m)
		}
		if len(b)-off < HeaderLen {
			return nil, fmt.Errorf("%w: offset 0x%x: header runs past the partition end (0x%x)", ErrFormat, off, len(b))
		}
		h := b[off : off+HeaderLen]
		e := Entry{Flags: h[4], Type: Type(h[8]), Subtype: h[9], Offset: off}
		n := int(binary.LittleEndian.Uint16(h[10:]))
		e.Data = make([]byte, n) // sized below once bounds are known
		size := e.Size()
		what := fmt.Sprintf("offset 0x%x: %s subtype %d", off, e.Type, e.Subtype)
		if size > len(b)-off {
			return nil, fmt.Errorf("%w: %s: length %d runs past the partition end (0x%x)", ErrFormat, what, n, len(b))
		}
		if !bytes.Equal(h[5:8], []byte{0, 0, 0}) {
			return nil, fmt.Errorf("%w: %s: reserved header bytes %x are not zero", ErrFormat, what, h[5:8])
		}
		copy(e.Data, b[off+HeaderLen:off+HeaderLen+n])
		body := b[off : off+size-4]
		e.CRC = binary.LittleEndian.Uint32(b[off+size-4:])
		if got := crc(body); got != e.CRC {
			return nil, fmt.Errorf("%w: %s: crc 0x%08x, computed 0x%08x", ErrFormat, what, e.CRC, got)
		}
		if !allZero(body[HeaderLen+n:]) {
			return nil, fmt.Errorf("%w: %s: padding is not zero", ErrFormat, what)
		}
		key := [2]uint8{uint8(e.Type), e.Subtype}
		if prev, dup := seen[key]; dup {
			return nil, fmt.Errorf("%w: %s appears twice (offsets 0x%x and 0x%x)", ErrFormat, fmt.Sprintf("%s subtype %d", e.Type, e.Subtype), prev, off)
		}
		seen[key] = off
		if e.Type == TypeIntegrity {
			want := sha256.Sum256(b[:off])
			if !bytes.Equal(e.Data, want[:]) {
				return nil, fmt.Errorf("%w: %s: sha-256 %x does not match the %d bytes before it (%x)", ErrFormat, what, e.Data, off, want)
			}
			p.Sealed = true
		}
		p.Entries = append(p.Entries, e)
		off += size
	}
	p.Used = off
	return p, nil
}

// End is the offset after the last entry (where the next one is appended).
func (p *Partition) End() int {
	if len(p.Entries) == 0 {
		return 0
	}
	last := p.Entries[len(p.Entries)-1]
	return last.Offset + last.Size()
}

func allFF(b []byte) bool {
	for _, c := range b {
		if c != 0xFF {
			return false
		}
	}
	return true
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
