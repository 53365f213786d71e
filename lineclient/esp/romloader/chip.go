package romloader

import (
	"fmt"
	"strings"
)

// Chip describes one ESP32-family chip as the ROM loader and esptool see it
// (espressif/esptool esptool/targets/*.py; esptool-js src/esploader.ts
// magic2Chip).
type Chip struct {
	Name string
	// ImageID is the chip ID of an image header (byte 12) and of
	// GET_SECURITY_INFO (ESP-FACTS §6).
	ImageID uint16
	// Magic lists the values READ_REG of ChipDetectMagicReg returns; the
	// first is what the simulator answers.
	Magic []uint32
	// SecurityInfoChipID: GET_SECURITY_INFO carries the chip ID (20-byte
	// form). ESP32-S2 answers the 12-byte form; ESP32 does not have the
	// command at all.
	SecurityInfoChipID bool
	HasSecurityInfo    bool
	// BootloaderOffset is where the second-stage bootloader goes in flash.
	BootloaderOffset uint32
	// MACReg is the eFuse word holding the low 32 MAC bits; the high 16 are
	// in the low half of the next word (ESP32: the words at EFUSE_RD_REG_BASE
	// +4 and +8).
	MACReg uint32
	// ExtendedBegin: the ROM takes a fifth FLASH_BEGIN word (encrypt flag).
	ExtendedBegin bool
	// SecureDownload: the chip has a secure download mode.
	SecureDownload bool
}

// ChipDetectMagicReg is the register whose value tells the chips apart.
const ChipDetectMagicReg = 0x40001000

// Chips are the chips this package knows.
var Chips = []Chip{
	{Name: "ESP32", ImageID: 0, Magic: []uint32{0x00F01D83}, BootloaderOffset: 0x1000, MACReg: 0x3FF5A004},
	{Name: "ESP32-S2", ImageID: 2, Magic: []uint32{0x000007C6}, HasSecurityInfo: true, BootloaderOffset: 0x1000,
		MACReg: 0x3F41A044, ExtendedBegin: true, SecureDownload: true},
	{Name: "ESP32-C3", ImageID: 5, Magic: []uint32{0x1B31506F, 0x6921506F, 0x4881606F, 0x4361606F}, HasSecurityInfo: true,
		SecurityInfoChipID: true, BootloaderOffset: 0, MACReg: 0x60008844, ExtendedBegin: true, SecureDownload: true},
	{Name: "ESP32-S3", ImageID: 9, Magic: []uint32{0x00000009}, HasSecurityInfo: true, SecurityInfoChipID: true,
		BootloaderOffset: 0, MACReg: 0x60007044, ExtendedBegin: true, SecureDownload: true},
	{Name: "ESP32-C6", ImageID: 13, Magic: []uint32{0x2CE0806F}, HasSecurityInfo: true, SecurityInfoChipID: true,
		BootloaderOffset: 0, MACReg: 0x600B0844, ExtendedBegin: true, SecureDownload: true},
	{Name: "ESP32-H2", ImageID: 16, Magic: []uint32{0xD7B73E80}, HasSecurityInfo: true, SecurityInfoChipID: true,
		BootloaderOffset: 0, MACReg: 0x600B0844, ExtendedBegin: true, SecureDownload: true},
}

// ChipByName finds a chip by name, case-insensitively, with or without the
// "ESP32-" prefix ("esp32c3", "C3", "ESP32-C3").
func ChipByName(name string) (Chip, error) {
	norm := func(s string) string {
		s = strings.ToUpper(strings.ReplaceAll(s, "-", ""))
		return strings.TrimPrefix(s, "ESP32")
	}
	want := norm(name)
	for _, c := range Chips {
		if norm(c.Name) == want {
			return c, nil
		}
	}
	return Chip{}, fmt.Errorf("chip %q: unknown (known: %s)", name, strings.Join(ChipNames(), ", "))
}

// ChipNames lists the known chip names.
func ChipNames() []string {
	n := make([]string, len(Chips))
	for i, c := range Chips {
		n[i] = c.Name
	}
	return n
}

// ChipByImageID finds a chip by its image/security-info chip ID.
func ChipByImageID(id uint16) (Chip, bool) {
	for _, c := range Chips {
		if c.ImageID == id {
			return c, true
		}
	}
	return Chip{}, false
}

// ChipByMagic finds a chip by its detect-register value.
func ChipByMagic(v uint32) (Chip, bool) {
	for _, c := range Chips {
		for _, m := range c.Magic {
			if m == v {
				return c, true
			}
		}
	}
	return Chip{}, false
}

// Security-info flag bits (esptool loader.py SECURITY_INFO_FLAG_MAP; the
// same on every target).
const (
	FlagSecureBootEn         = 1 << 0
	FlagSecureBootAggressive = 1 << 1
	FlagSecureDownloadEnable = 1 << 2
	FlagSecureBootKeyRevoke0 = 1 << 3
	FlagSecureBootKeyRevoke1 = 1 << 4
	FlagSecureBootKeyRevoke2 = 1 << 5
	FlagSoftDisJTAG          = 1 << 6
	FlagHardDisJTAG          = 1 << 7
	FlagDisUSB               = 1 << 8
	FlagDisDownloadDCache    = 1 << 9
	FlagDisDownloadICache    = 1 << 10
	securityInfoLen          = 20
	securityInfoLenNoChipID  = 12
)

// SecurityFlagNames names the flag bits, lowest first.
var SecurityFlagNames = []string{
	"SECURE_BOOT_EN", "SECURE_BOOT_AGGRESSIVE_REVOKE", "SECURE_DOWNLOAD_ENABLE",
	"SECURE_BOOT_KEY_REVOKE0", "SECURE_BOOT_KEY_REVOKE1", "SECURE_BOOT_KEY_REVOKE2",
	"SOFT_DIS_JTAG", "HARD_DIS_JTAG", "DIS_USB", "DIS_DOWNLOAD_DCACHE", "DIS_DOWNLOAD_ICACHE",
}

// SecurityInfo is a GET_SECURITY_INFO answer: `flags u32, flash_crypt_cnt
// u8, key_purposes [7]u8, chip_id u32, eco_version u32` (ESP32-S2: the
// first 12 bytes only).
type SecurityInfo struct {
	Flags         uint32
	FlashCryptCnt uint8
	KeyPurposes   [7]uint8
	HasChipID     bool
	ChipID        uint32
	ECOVersion    uint32
}

// SecureDownload reports the SECURE_DOWNLOAD_ENABLE bit.
func (s SecurityInfo) SecureDownload() bool { return s.Flags&FlagSecureDownloadEnable != 0 }

// SecureBoot reports the SECURE_BOOT_EN bit.
func (s SecurityInfo) SecureBoot() bool { return s.Flags&FlagSecureBootEn != 0 }

// JTAGDisabled reports SOFT_DIS_JTAG or HARD_DIS_JTAG.
func (s SecurityInfo) JTAGDisabled() bool { return s.Flags&(FlagSoftDisJTAG|FlagHardDisJTAG) != 0 }

// FlashEncryption reports an odd number of SPI_BOOT_CRYPT_CNT bits (the
// count is "enabled" while odd; 7 is release mode).
func (s SecurityInfo) FlashEncryption() bool {
	n := 0
	for v := s.FlashCryptCnt & 7; v != 0; v &= v - 1 {
		n++
	}
	return n%2 == 1
}

// FlagNames lists the set flag names.
func (s SecurityInfo) FlagNames() []string {
	var out []string
	for i, n := range SecurityFlagNames {
		if s.Flags&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return out
}

// Marshal encodes s in the 20-byte form (12 when !HasChipID).
func (s SecurityInfo) Marshal() []byte {
	b := make([]byte, 0, securityInfoLen)
	b = append(b, byte(s.Flags), byte(s.Flags>>8), byte(s.Flags>>16), byte(s.Flags>>24), s.FlashCryptCnt)
	b = append(b, s.KeyPurposes[:]...)
	if s.HasChipID {
		b = append(b, byte(s.ChipID), byte(s.ChipID>>8), byte(s.ChipID>>16), byte(s.ChipID>>24))
		b = append(b, byte(s.ECOVersion), byte(s.ECOVersion>>8), byte(s.ECOVersion>>16), byte(s.ECOVersion>>24))
	}
	return b
}

// ParseSecurityInfo decodes the 20- or 12-byte form.
func ParseSecurityInfo(b []byte) (SecurityInfo, error) {
	le := func(p []byte) uint32 { return uint32(p[0]) | uint32(p[1])<<8 | uint32(p[2])<<16 | uint32(p[3])<<24 }
	if len(b) != securityInfoLen && len(b) != securityInfoLenNoChipID {
		return SecurityInfo{}, fmt.Errorf("%w: security info of %d bytes, want 20 or 12", ErrPacket, len(b))
	}
	s := SecurityInfo{Flags: le(b), FlashCryptCnt: b[4]}
	copy(s.KeyPurposes[:], b[5:12])
	if len(b) == securityInfoLen {
		s.HasChipID, s.ChipID, s.ECOVersion = true, le(b[12:]), le(b[16:])
	}
	return s, nil
}
