package onboarding

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalidPayload marks a payload field outside what Matter allows.
var ErrInvalidPayload = errors.New("invalid onboarding payload")

// VendorIDMax is the largest vendor ID usable operationally (the last test vendor,
// 0xFFF4); 0xFFF5..0xFFFF are reserved (SDK IsVendorIdValidOperationally).
const VendorIDMax = 0xFFF4

// Payload is the content of one QR code payload (Matter Core §5.1; SDK
// SetupPayload.h).
type Payload struct {
	Version       uint8  // 3 bits; only 0 is defined
	VID           uint16 // vendor ID; 0 = unspecified
	PID           uint16 // product ID; 0 only when VID is 0
	Flow          Flow
	Discovery     Discovery // rendezvous capabilities
	Discriminator uint16    // 12 bits
	Passcode      uint32    // 27 bits; see IsValidPasscode
	// Optional is the TLV data after the 88 packed bits, in wire order:
	// Matter-common tags 0x00–0x7F (serial number, PBKDF iterations and salt,
	// number of devices, commissioning timeout) and vendor tags 0x80–0xFF.
	Optional []OptionalData
}

// Flow is the commissioning flow (2 bits).
type Flow uint8

const (
	FlowStandard   Flow = 0 // device enters commissioning mode on power-up
	FlowUserIntent Flow = 1 // user action needed to enter commissioning mode
	FlowCustom     Flow = 2 // steps come from the DCL (CommissioningCustomFlowUrl)
)

var flowNames = [...]string{"std", "user-intent", "custom"}

func (f Flow) String() string {
	if int(f) < len(flowNames) {
		return flowNames[f]
	}
	return fmt.Sprintf("reserved(%d)", uint8(f))
}

// ParseFlow accepts "std" (or "standard"), "user-intent" and "custom", or the
// numbers 0, 1, 2.
func ParseFlow(s string) (Flow, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "std", "standard", "0":
		return FlowStandard, nil
	case "user-intent", "userintent", "user", "1":
		return FlowUserIntent, nil
	case "custom", "2":
		return FlowCustom, nil
	}
	return 0, fmt.Errorf("%w: commissioning flow %q (want std, user-intent or custom)", ErrInvalidPayload, s)
}

// Discovery is the rendezvous-capabilities bit mask (8 bits).
type Discovery uint8

const (
	DiscoverySoftAP    Discovery = 1 << 0
	DiscoveryBLE       Discovery = 1 << 1
	DiscoveryOnNetwork Discovery = 1 << 2
	DiscoveryWiFiPAF   Discovery = 1 << 3
	DiscoveryNFC       Discovery = 1 << 4
	DiscoveryThread    Discovery = 1 << 5

	// DiscoveryKnown holds every bit Matter defines; the others are reserved.
	DiscoveryKnown = DiscoverySoftAP | DiscoveryBLE | DiscoveryOnNetwork | DiscoveryWiFiPAF | DiscoveryNFC | DiscoveryThread
)

var discoveryNames = [...]string{"softap", "ble", "onnetwork", "wifipaf", "nfc", "thread"}

// String lists the capabilities as ParseDiscovery reads them ("ble,onnetwork");
// reserved bits show as "bit6"/"bit7", and no bit at all as "none".
func (d Discovery) String() string {
	if d == 0 {
		return "none"
	}
	var names []string
	for i := range 8 {
		if d&(1<<i) == 0 {
			continue
		}
		if i < len(discoveryNames) {
			names = append(names, discoveryNames[i])
		} else {
			names = append(names, fmt.Sprintf("bit%d", i))
		}
	}
	return strings.Join(names, ",")
}

// ParseDiscovery reads a comma-separated list of softap, ble, onnetwork (or
// on-network), wifipaf (or wifi-paf), nfc, thread; "none" or "" is the empty set.
func ParseDiscovery(s string) (Discovery, error) {
	var d Discovery
	for _, f := range strings.Split(s, ",") {
		name := strings.ReplaceAll(strings.ToLower(strings.TrimSpace(f)), "-", "")
		if name == "" || name == "none" {
			continue
		}
		found := false
		for i, n := range discoveryNames {
			if name == n {
				d |= 1 << i
				found = true
			}
		}
		if !found {
			return 0, fmt.Errorf("%w: discovery capability %q (want a list of %s)", ErrInvalidPayload, strings.TrimSpace(f), strings.Join(discoveryNames[:], ", "))
		}
	}
	return d, nil
}

// ShortDiscriminator is the upper 4 bits of the discriminator, the part the manual
// pairing code carries.
func (p *Payload) ShortDiscriminator() uint8 { return uint8(p.Discriminator >> 8 & 0xF) }

// ManualCode is the manual-pairing-code view of p: VID and PID are carried when the
// flow is not standard (SDK ManualSetupPayloadGenerator.cpp).
func (p *Payload) ManualCode() ManualCode {
	m := ManualCode{ShortDiscriminator: p.ShortDiscriminator(), Passcode: p.Passcode}
	if p.Flow != FlowStandard {
		m.VIDPIDPresent, m.VID, m.PID = true, p.VID, p.PID
	}
	return m
}

// Validate checks p the way the SDK does before producing a QR code
// (PayloadContents::isValidQRCodePayload in produce mode). Reserved discovery bits
// are refused here; DecodeQR tolerates them, as the SDK does when consuming.
func (p *Payload) Validate() error {
	if err := p.validateConsume(); err != nil {
		return err
	}
	if r := p.Discovery &^ DiscoveryKnown; r != 0 {
		return fmt.Errorf("%w: discovery capabilities use reserved bit(s) %s", ErrInvalidPayload, r)
	}
	return nil
}

// validateConsume holds the rules that apply to decoded payloads too.
func (p *Payload) validateConsume() error {
	if p.Version != 0 {
		return fmt.Errorf("%w: version %d (only version 0 is defined)", ErrInvalidPayload, p.Version)
	}
	if p.Flow > FlowCustom {
		return fmt.Errorf("%w: commissioning flow 3 is reserved", ErrInvalidPayload)
	}
	if err := checkVIDPID(p.VID, p.PID); err != nil {
		return err
	}
	if err := CheckDiscriminator(p.Discriminator); err != nil {
		return err
	}
	if err := CheckPasscode(p.Passcode); err != nil {
		return err
	}
	return checkOptional(p.Optional)
}

// checkVIDPID applies the SDK's CheckPayloadCommonConstraints vendor/product rules.
func checkVIDPID(vid, pid uint16) error {
	if vid > VendorIDMax {
		return fmt.Errorf("%w: vendor ID 0x%04X is reserved (the largest is 0x%04X)", ErrInvalidPayload, vid, VendorIDMax)
	}
	if pid == 0 && vid != 0 {
		return fmt.Errorf("%w: product ID 0 is only allowed with vendor ID 0 (got vendor ID 0x%04X)", ErrInvalidPayload, vid)
	}
	return nil
}

// packedFields is the fixed part of the QR payload: 88 bits, LSB first
// (Matter Core §5.1, packed binary data; SDK SetupPayload.h).
var packedFields = [...]struct {
	name  string
	width int
}{
	{"version", 3}, {"vendor ID", 16}, {"product ID", 16}, {"commissioning flow", 2},
	{"discovery capabilities", 8}, {"discriminator", 12}, {"passcode", 27}, {"padding", 4},
}

const packedBytes = 11

func (p *Payload) pack() [packedBytes]byte {
	vals := [...]uint64{uint64(p.Version), uint64(p.VID), uint64(p.PID), uint64(p.Flow),
		uint64(p.Discovery), uint64(p.Discriminator), uint64(p.Passcode), 0}
	var out [packedBytes]byte
	off := 0
	for i, f := range packedFields {
		v := vals[i] & (1<<f.width - 1)
		for b := range f.width {
			if v>>b&1 == 1 {
				out[(off+b)/8] |= 1 << ((off + b) % 8)
			}
		}
		off += f.width
	}
	return out
}

// unpack reads the 88 packed bits. Field widths bound every value, so only the
// version and padding need a check here; validateConsume does the rest.
func unpack(b []byte) (Payload, error) {
	var vals [len(packedFields)]uint64
	off := 0
	for i, f := range packedFields {
		var v uint64
		for bit := range f.width {
			if b[(off+bit)/8]>>((off+bit)%8)&1 == 1 {
				v |= 1 << bit
			}
		}
		vals[i] = v
		off += f.width
	}
	if vals[7] != 0 {
		return Payload{}, fmt.Errorf("%w: padding bits are 0b%04b, must be zero", ErrInvalidPayload, vals[7])
	}
	return Payload{
		Version: uint8(vals[0]), VID: uint16(vals[1]), PID: uint16(vals[2]), Flow: Flow(vals[3]),
		Discovery: Discovery(vals[4]), Discriminator: uint16(vals[5]), Passcode: uint32(vals[6]),
	}, nil
}
