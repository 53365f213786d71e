package lineproto

import "fmt"

// State is the module's provisioning state (docs/line-protocol.md §7). It is
// derived from what the module holds, never set directly, and only moves
// forward.
type State uint8

const (
	StateUnprovisioned      State = 0 // no key
	StateKeyGenerated       State = 1 // key, not every item committed
	StateCredentialsWritten State = 2 // key and every item committed, no eFuse burned
	StateLocking            State = 3 // some lock steps burned, not all
	StateLocked             State = 4 // every lock step burned
)

var stateNames = []string{"unprovisioned", "key-generated", "credentials-written", "locking", "locked"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("state %d", uint8(s))
}

// LockStep is one step of the eFuse sequence (MATTER-FACTS.md §5, ESP-IDF
// security-features-enablement-workflows). Steps burn in this order only.
type LockStep uint8

const (
	// LockFlashEncryption: XTS-AES key into BLOCK_KEYn, SPI_BOOT_CRYPT_CNT=7,
	// DIS_DOWNLOAD_MANUAL_ENCRYPT, DIS_DOWNLOAD_ICACHE, DIS_PAD_JTAG,
	// DIS_USB_JTAG, HARD_DIS_JTAG, DIS_DIRECT_BOOT, write-protect DIS_ICACHE.
	// Debug (JTAG) is off from here on. Must come first.
	LockFlashEncryption LockStep = 1
	// LockSecureBoot: SBv2 digest into SECURE_BOOT_DIGEST0, SECURE_BOOT_EN,
	// SECURE_BOOT_KEY_REVOKE1/2, SECURE_BOOT_AGGRESSIVE_REVOKE.
	LockSecureBoot LockStep = 2
	// LockReadDisableProtect: write_protect_efuse RD_DIS, so no key block can
	// be made readable or re-protected differently.
	LockReadDisableProtect LockStep = 3
	// LockSecureDownload: ENABLE_SECURITY_DOWNLOAD (ESP32: UART_DOWNLOAD_DIS). Last.
	LockSecureDownload LockStep = 4
)

// LockSteps is the burn order.
var LockSteps = []LockStep{LockFlashEncryption, LockSecureBoot, LockReadDisableProtect, LockSecureDownload}

var lockStepNames = map[LockStep]string{
	LockFlashEncryption: "flash-encryption", LockSecureBoot: "secure-boot",
	LockReadDisableProtect: "rd-dis-write-protect", LockSecureDownload: "secure-download",
}

func (s LockStep) String() string {
	if n, ok := lockStepNames[s]; ok {
		return n
	}
	return fmt.Sprintf("lock step %d", uint8(s))
}

// Known reports whether s is a step of this protocol version.
func (s LockStep) Known() bool { _, ok := lockStepNames[s]; return ok }

// LockMask is the set of burned steps: bit (step-1). A valid mask is always
// a prefix of LockSteps (0b0000, 0b0001, 0b0011, 0b0111, 0b1111).
type LockMask uint8

// LockMaskAll has every step burned.
const LockMaskAll LockMask = 0x0F

// Has reports whether step is burned.
func (m LockMask) Has(s LockStep) bool { return s >= 1 && m&(1<<(s-1)) != 0 }

// Next is the next step to burn, or 0 when every step is burned.
func (m LockMask) Next() LockStep {
	for _, s := range LockSteps {
		if !m.Has(s) {
			return s
		}
	}
	return 0
}

// Valid reports whether m is a prefix of the burn order.
func (m LockMask) Valid() bool {
	switch m {
	case 0x00, 0x01, 0x03, 0x07, 0x0F:
		return true
	}
	return false
}

// Steps lists the burned steps in order.
func (m LockMask) Steps() []LockStep {
	var out []LockStep
	for _, s := range LockSteps {
		if m.Has(s) {
			out = append(out, s)
		}
	}
	return out
}
