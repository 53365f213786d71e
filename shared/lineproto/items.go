package lineproto

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
)

// Item names one credential the host writes into the module
// (docs/line-protocol.md §5.3). Values are stored exactly as written.
type Item uint8

const (
	ItemDAC              Item = 0x01 // DER X.509, ≤ 600 bytes (CHIP kMaxDERCertLength)
	ItemPAI              Item = 0x02 // DER X.509, ≤ 600 bytes
	ItemCD               Item = 0x03 // DER CMS Certification Declaration, ≤ 790 bytes
	ItemDiscriminator    Item = 0x04 // u16 little-endian, 0..4095
	ItemVerifier         Item = 0x05 // SPAKE2+ verifier w0 ‖ L, exactly 97 bytes
	ItemSalt             Item = 0x06 // SPAKE2+ PBKDF salt, 16..32 bytes
	ItemIterations       Item = 0x07 // u32 little-endian, 1000..100000
	ItemSerialNumber     Item = 0x08 // printable ASCII, 1..32 bytes
	ItemRotatingIDUnique Item = 0x09 // rotating-device-ID unique ID, 16..32 bytes
	ItemVendorID         Item = 0x0A // u16 little-endian, 0x0001..0xFFF4
	ItemProductID        Item = 0x0B // u16 little-endian, 0x0001..0xFFFF
	ItemProductInfo      Item = 0x0C // §4 TLV body of product-info fields (productinfo.go), optional
)

// AllItems lists every required item in the order a host writes them; a
// module is "credentials written" when all of them are committed.
var AllItems = []Item{ItemDAC, ItemPAI, ItemCD, ItemDiscriminator, ItemVerifier,
	ItemSalt, ItemIterations, ItemSerialNumber, ItemRotatingIDUnique,
	ItemVendorID, ItemProductID}

// OptionalItems are written when the station has a value for them; a module
// commits them like any item but does not need them to leave
// "key generated".
var OptionalItems = []Item{ItemProductInfo}

// KnownItems is AllItems then OptionalItems: every item of this protocol
// version in write order (the order digests are reported in).
var KnownItems = append(append([]Item{}, AllItems...), OptionalItems...)

type itemRule struct {
	name     string
	min, max int
}

var itemRules = map[Item]itemRule{
	ItemDAC:              {"dac", 1, 600},
	ItemPAI:              {"pai", 1, 600},
	ItemCD:               {"cd", 1, 790},
	ItemDiscriminator:    {"discriminator", 2, 2},
	ItemVerifier:         {"spake2p-verifier", 97, 97},
	ItemSalt:             {"spake2p-salt", 16, 32},
	ItemIterations:       {"spake2p-iterations", 4, 4},
	ItemSerialNumber:     {"serial-number", 1, 32},
	ItemRotatingIDUnique: {"rd-id-uid", 16, 32},
	ItemVendorID:         {"vendor-id", 2, 2},
	ItemProductID:        {"product-id", 2, 2},
	ItemProductInfo:      {"product-info", 1, 512},
}

func (i Item) String() string {
	if r, ok := itemRules[i]; ok {
		return r.name
	}
	return fmt.Sprintf("item 0x%02x", uint8(i))
}

// Known reports whether i is an item of this protocol version.
func (i Item) Known() bool { _, ok := itemRules[i]; return ok }

// MaxLen is the longest value item i may have (0 for unknown items).
func (i Item) MaxLen() int { return itemRules[i].max }

// ItemMask is a bit set of items: bit (item-1).
type ItemMask uint16

// AllItemsMask has every required item's bit set (product-info, optional, is not in it).
var AllItemsMask = func() ItemMask {
	var m ItemMask
	for _, it := range AllItems {
		m |= 1 << (it - 1)
	}
	return m
}()

// Has reports whether item's bit is set.
func (m ItemMask) Has(i Item) bool { return i >= 1 && m&(1<<(i-1)) != 0 }

// ErrInvalidItem reports an item value that breaks its rule.
var ErrInvalidItem = errors.New("lineproto: invalid item value")

// ValidateItem checks value against item's rule. Both ends apply it: the
// host before writing, the module before committing (answering
// StatusInvalidItem). It does not check that a DAC certifies the module's key;
// only the module knows its key (StatusKeyMismatch).
func ValidateItem(item Item, value []byte) error {
	r, ok := itemRules[item]
	if !ok {
		return fmt.Errorf("%w: unknown item 0x%02x", ErrInvalidItem, uint8(item))
	}
	if len(value) < r.min || len(value) > r.max {
		return fmt.Errorf("%w: %s is %d bytes, want %d..%d", ErrInvalidItem, r.name, len(value), r.min, r.max)
	}
	switch item {
	case ItemDAC, ItemPAI:
		c, err := x509.ParseCertificate(value)
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrInvalidItem, r.name, err)
		}
		if pub, ok := c.PublicKey.(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() {
			return fmt.Errorf("%w: %s key is not ecdsa p-256", ErrInvalidItem, r.name)
		}
	case ItemCD:
		// DER SEQUENCE; the full CMS check belongs to shared/matter on the host.
		if value[0] != 0x30 {
			return fmt.Errorf("%w: cd is not a der sequence", ErrInvalidItem)
		}
	case ItemDiscriminator:
		if d := binary.LittleEndian.Uint16(value); d > 4095 {
			return fmt.Errorf("%w: discriminator %d exceeds 4095 (12 bits)", ErrInvalidItem, d)
		}
	case ItemVerifier:
		// L is an uncompressed P-256 point (0x04 ‖ X ‖ Y).
		if value[32] != 0x04 {
			return fmt.Errorf("%w: spake2p-verifier L is not an uncompressed point", ErrInvalidItem)
		}
	case ItemIterations:
		if n := binary.LittleEndian.Uint32(value); n < 1000 || n > 100000 {
			return fmt.Errorf("%w: spake2p-iterations %d outside 1000..100000", ErrInvalidItem, n)
		}
	case ItemSerialNumber:
		for _, b := range value {
			if b < 0x20 || b > 0x7E {
				return fmt.Errorf("%w: serial-number has a non-printable byte 0x%02x", ErrInvalidItem, b)
			}
		}
	case ItemVendorID:
		// Matter Core 2.5.2: 0xFFF5..0xFFFF are reserved, 0 is not a vendor.
		if v := binary.LittleEndian.Uint16(value); v == 0 || v > 0xFFF4 {
			return fmt.Errorf("%w: vendor-id 0x%04x outside 0x0001..0xfff4", ErrInvalidItem, v)
		}
	case ItemProductID:
		if v := binary.LittleEndian.Uint16(value); v == 0 {
			return fmt.Errorf("%w: product-id 0x0000 is not a product", ErrInvalidItem)
		}
	case ItemProductInfo:
		if _, err := ParseProductInfo(value); err != nil {
			return fmt.Errorf("%w: %v", ErrInvalidItem, err)
		}
	}
	return nil
}

// DiscriminatorValue encodes a discriminator as its item value.
func DiscriminatorValue(d uint16) []byte { return binary.LittleEndian.AppendUint16(nil, d) }

// U16Value encodes a vendor or product ID as its item value.
func U16Value(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }

// IterationsValue encodes a PBKDF iteration count as its item value.
func IterationsValue(n uint32) []byte { return binary.LittleEndian.AppendUint32(nil, n) }
