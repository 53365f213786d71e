package onboarding

import (
	"errors"
	"strings"
	"testing"
)

// validPayload is the EMT example device: FFF1/8000, BLE, 3840, 20202021.
func validPayload() Payload {
	return Payload{VID: 0xFFF1, PID: 0x8000, Discovery: DiscoveryBLE, Discriminator: 3840, Passcode: 20202021}
}

// qrWithBits encodes a packed payload without validation, to build bad inputs.
func qrWithBits(mutate func(b []byte)) string {
	p := validPayload()
	packed := p.pack()
	b := packed[:]
	mutate(b)
	return QRPrefix + Base38Encode(b)
}

// setBits writes v into width bits at offset off (LSB first).
func setBits(b []byte, off, width int, v uint64) {
	for i := range width {
		pos := off + i
		if v>>i&1 == 1 {
			b[pos/8] |= 1 << (pos % 8)
		} else {
			b[pos/8] &^= 1 << (pos % 8)
		}
	}
}

func TestDecodeQRRefusesBadInput(t *testing.T) {
	good, err := EncodeQR(validPayload())
	if err != nil {
		t.Fatal(err)
	}
	body := strings.TrimPrefix(good, QRPrefix)
	withTLV := func(tlv ...byte) string {
		p := validPayload()
		packed := p.pack()
		return QRPrefix + Base38Encode(append(packed[:], tlv...))
	}
	cases := []struct {
		name, in string
		is       error
		want     string
	}{
		{"empty", "", ErrInvalidQR, `must start with "MT:"`},
		{"no prefix", body, ErrInvalidQR, `must start with "MT:"`},
		{"lower-case prefix", "mt:" + body, ErrInvalidQR, `must start with "MT:"`},
		{"prefix only", "MT:", ErrInvalidQR, "empty payload"},
		{"lower-case char", QRPrefix + strings.ToLower(body), ErrBase38, "not in the alphabet"},
		{"bad char", QRPrefix + body[:5] + "/" + body[6:], ErrBase38, `character 6 ('/')`},
		{"space inside", QRPrefix + body[:5] + " " + body[6:], ErrBase38, "not in the alphabet"},
		{"one char short", good[:len(good)-1], ErrBase38, "leaves 3 character(s)"},
		{"only 10 bytes", qrWithBits(func([]byte) {})[:3+17], ErrBase38, "too large"},
		{"10 valid bytes", QRPrefix + Base38Encode(make([]byte, 10)), ErrInvalidQR, "decode to 10 bytes, need at least 11"},
		{"chunk overflow", QRPrefix + "....." + body[5:], ErrBase38, "too large for 3 byte(s)"},
		{"version 1", qrWithBits(func(b []byte) { setBits(b, 0, 3, 1) }), ErrInvalidPayload, "version 1"},
		{"padding set", qrWithBits(func(b []byte) { setBits(b, 84, 4, 0b1000) }), ErrInvalidPayload, "padding bits are 0b1000"},
		{"flow 3", qrWithBits(func(b []byte) { setBits(b, 35, 2, 3) }), ErrInvalidPayload, "flow 3 is reserved"},
		{"passcode 0", qrWithBits(func(b []byte) { setBits(b, 57, 27, 0) }), ErrInvalidPasscode, "0 (the range"},
		{"passcode too big", qrWithBits(func(b []byte) { setBits(b, 57, 27, 99999999) }), ErrInvalidPasscode, "above 99999998"},
		{"trivial passcode", qrWithBits(func(b []byte) { setBits(b, 57, 27, 12345678) }), ErrInvalidPasscode, "trivial"},
		{"reserved vendor", qrWithBits(func(b []byte) { setBits(b, 3, 16, 0xFFF5) }), ErrInvalidPayload, "vendor ID 0xFFF5 is reserved"},
		{"pid 0 with vid", qrWithBits(func(b []byte) { setBits(b, 19, 16, 0) }), ErrInvalidPayload, "product ID 0"},
		{"empty second payload", good + "*", ErrInvalidQR, "payload 2 of 2: invalid QR code payload: empty payload"},
		{"bad second payload", good + "*" + strings.ToLower(body), ErrBase38, "payload 2 of 2"},
		{"too long", QRPrefix + strings.Repeat("0", qrMaxLen), ErrInvalidQR, "more than a QR code holds"},
		{"tlv not a struct", withTLV(0x24, 0x01, 0x05), ErrOptionalData, "want an anonymous structure"},
		{"tlv unterminated", withTLV(0x15, 0x24, 0x80, 0x05), ErrOptionalData, "not closed"},
		{"tlv trailing", withTLV(0x15, 0x18, 0x00), ErrOptionalData, "1 byte(s) after"},
		{"tlv anonymous element", withTLV(0x15, 0x04, 0x05, 0x18), ErrOptionalData, "want a context tag"},
		{"tlv bool", withTLV(0x15, 0x28, 0x80, 0x18), ErrOptionalData, "TLV type 0x08"},
		{"tlv truncated int", withTLV(0x15, 0x26, 0x80, 0x01, 0x02), ErrOptionalData, "truncated"},
		{"tlv string overruns", withTLV(0x15, 0x2C, 0x80, 0x09, 'a', 0x18), ErrOptionalData, "runs past the end"},
		{"tlv bad utf8", withTLV(0x15, 0x2C, 0x80, 0x01, 0xFF, 0x18), ErrOptionalData, "not valid UTF-8"},
		{"tlv duplicate tag", withTLV(0x15, 0x24, 0x80, 0x01, 0x24, 0x80, 0x02, 0x18), ErrOptionalData, "appears twice"},
		{"tlv iterations low", withTLV(0x15, 0x25, 0x01, 0xE7, 0x03, 0x18), ErrOptionalData, "PBKDF iterations (tag 0x01) 999 is outside"},
		{"tlv iterations signed", withTLV(0x15, 0x21, 0x01, 0xE8, 0x03, 0x18), ErrOptionalData, "must be an unsigned integer, got signed"},
		{"tlv salt short", withTLV(0x15, 0x30, 0x02, 0x01, 0xAA, 0x18), ErrOptionalData, "PBKDF salt (tag 0x02) is 1 bytes"},
		{"tlv devices 0", withTLV(0x15, 0x24, 0x03, 0x00, 0x18), ErrOptionalData, "number of devices (tag 0x03) 0 is outside 1..255"},
		{"tlv serial negative", withTLV(0x15, 0x20, 0x00, 0xFF, 0x18), ErrOptionalData, "serial number (tag 0x00) must be a string or an unsigned integer"},
		{"tlv serial > 32 bits", withTLV(0x15, 0x27, 0x00, 0, 0, 0, 0, 1, 0, 0, 0, 0x18), ErrOptionalData, "does not fit 32 bits"},
		{"tlv timeout string", withTLV(0x15, 0x2C, 0x04, 0x01, 'x', 0x18), ErrOptionalData, "commissioning timeout (tag 0x04) must be an unsigned integer"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := DecodeQRs(c.in)
			if err == nil {
				t.Fatalf("DecodeQRs(%q) succeeded", c.in)
			}
			if !errors.Is(err, c.is) {
				t.Errorf("error %q is not %v", err, c.is)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not say %q", err, c.want)
			}
		})
	}
}

func TestDecodeQRToleratesReservedDiscoveryBits(t *testing.T) {
	s := qrWithBits(func(b []byte) { setBits(b, 37, 8, uint64(DiscoveryBLE|1<<6)) })
	p, err := DecodeQR(s)
	if err != nil {
		t.Fatalf("DecodeQR: %v (the SDK consumes reserved discovery bits)", err)
	}
	if p.Discovery.String() != "ble,bit6" {
		t.Errorf("discovery = %s", p.Discovery)
	}
	if _, err := EncodeQR(p); err == nil || !strings.Contains(err.Error(), "reserved bit(s) bit6") {
		t.Errorf("EncodeQR with reserved discovery bit: err = %v", err)
	}
}

func TestEncodeQRRefusesInvalidPayloads(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*Payload)
		is     error
	}{
		{"version", func(p *Payload) { p.Version = 1 }, ErrInvalidPayload},
		{"flow", func(p *Payload) { p.Flow = 3 }, ErrInvalidPayload},
		{"discriminator", func(p *Payload) { p.Discriminator = 4096 }, ErrInvalidDiscriminator},
		{"passcode 0", func(p *Payload) { p.Passcode = 0 }, ErrInvalidPasscode},
		{"passcode 88888888", func(p *Payload) { p.Passcode = 88888888 }, ErrInvalidPasscode},
		{"passcode 2^27", func(p *Payload) { p.Passcode = 1 << 27 }, ErrInvalidPasscode},
		{"vendor", func(p *Payload) { p.VID = 0xFFFF }, ErrInvalidPayload},
		{"pid 0", func(p *Payload) { p.PID = 0 }, ErrInvalidPayload},
		{"reserved discovery", func(p *Payload) { p.Discovery = 0x80 }, ErrInvalidPayload},
		{"salt type", func(p *Payload) { p.Optional = []OptionalData{{Tag: TagPBKDFSalt, Type: TypeUnsigned}} }, ErrOptionalData},
		{"bad type", func(p *Payload) { p.Optional = []OptionalData{{Tag: 0x80}} }, ErrOptionalData},
		{"bad utf8", func(p *Payload) { p.Optional = []OptionalData{{Tag: 0x80, Type: TypeString, String: "\xff"}} }, ErrOptionalData},
	}
	for _, c := range cases {
		p := validPayload()
		c.mutate(&p)
		if _, err := EncodeQR(p); !errors.Is(err, c.is) {
			t.Errorf("%s: EncodeQR err = %v, want %v", c.name, err, c.is)
		}
	}
	if _, err := EncodeQRs(nil); err == nil {
		t.Error("EncodeQRs(nil) succeeded")
	}
}

func TestQROptionalDataRoundTrip(t *testing.T) {
	salt := []byte("0123456789abcdef0123")
	p := validPayload()
	p.Optional = []OptionalData{
		SerialNumber("SN-0001"), PBKDFIterations(10000), PBKDFSalt(salt), NumberOfDevices(3),
		CommissioningTimeout(900),
		{Tag: 0x05, Type: TypeString, String: "reserved common tag kept"},
		{Tag: 0x80, Type: TypeSigned, Signed: -70000},
		{Tag: 0x81, Type: TypeUnsigned, Unsigned: 1 << 40},
		{Tag: 0xFF, Type: TypeBytes, Bytes: make([]byte, 300)},
	}
	s, err := EncodeQR(p)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeQR(s)
	if err != nil {
		t.Fatal(err)
	}
	assertPayloadEqual(t, got, p)
	if sn, ok := got.SerialNumber(); !ok || sn != "SN-0001" {
		t.Errorf("SerialNumber = %q, %v", sn, ok)
	}
	if n, ok := got.PBKDFIterations(); !ok || n != 10000 {
		t.Errorf("PBKDFIterations = %d, %v", n, ok)
	}
	if b, ok := got.PBKDFSalt(); !ok || string(b) != string(salt) {
		t.Errorf("PBKDFSalt = %x, %v", b, ok)
	}
	if n, ok := got.NumberOfDevices(); !ok || n != 3 {
		t.Errorf("NumberOfDevices = %d, %v", n, ok)
	}
	if n, ok := got.CommissioningTimeout(); !ok || n != 900 {
		t.Errorf("CommissioningTimeout = %d, %v", n, ok)
	}
	if v := got.VendorData(); len(v) != 3 || v[0].Tag != 0x80 {
		t.Errorf("VendorData = %+v", v)
	}
	// An unsigned serial number reads back in decimal, like the SDK's getSerialNumber.
	p.Optional = []OptionalData{{Tag: TagSerialNumber, Type: TypeUnsigned, Unsigned: 123456789}}
	s, _ = EncodeQR(p)
	got, _ = DecodeQR(s)
	if sn, _ := got.SerialNumber(); sn != "123456789" {
		t.Errorf("numeric SerialNumber = %q", sn)
	}
}

func TestBase38(t *testing.T) {
	for n := range 12 {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(0xFF - i*7)
		}
		s := Base38Encode(b)
		got, err := Base38Decode(s)
		if err != nil || string(got) != string(b) {
			t.Errorf("round trip of %x: %q → %x, %v", b, s, got, err)
		}
	}
	// SDK Base38 test: "Hello World!" encodes to "KKHF3W2S013OPM3EJX11".
	if s := Base38Encode([]byte("Hello World!")); s != "KKHF3W2S013OPM3EJX11" {
		t.Errorf("Base38Encode(Hello World!) = %s", s)
	}
}

func TestParseFlowAndDiscovery(t *testing.T) {
	for in, want := range map[string]Flow{"std": 0, "Standard": 0, "user-intent": 1, "custom": 2, "2": 2} {
		if f, err := ParseFlow(in); err != nil || f != want {
			t.Errorf("ParseFlow(%q) = %v, %v", in, f, err)
		}
	}
	if _, err := ParseFlow("fast"); err == nil {
		t.Error("ParseFlow(fast) succeeded")
	}
	d, err := ParseDiscovery("ble, softap,on-network,wifi-paf,nfc,thread")
	if err != nil || d != DiscoveryKnown {
		t.Errorf("ParseDiscovery(all) = %v, %v", d, err)
	}
	if d.String() != "softap,ble,onnetwork,wifipaf,nfc,thread" {
		t.Errorf("String = %s", d)
	}
	if _, err := ParseDiscovery("ble,zigbee"); err == nil || !strings.Contains(err.Error(), `"zigbee"`) {
		t.Errorf("ParseDiscovery(zigbee) err = %v", err)
	}
	if d, _ := ParseDiscovery(""); d != 0 || d.String() != "none" {
		t.Errorf("empty discovery = %v", d)
	}
}
