package lineproto

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestProductInfoRoundTrip(t *testing.T) {
	hv := uint16(3)
	p := ProductInfo{VendorName: "Acme", ProductName: "Lamp", HardwareVersion: &hv, HardwareVerStr: "rev C",
		MfgDate: "2026-12-08", PartNumber: "PN-1", ProductLabel: "Lamp 1", ProductURL: "https://acme.example/lamp"}
	v, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	// Tags ascend: 01 Acme, 02 Lamp, 03 hv, 04 ...
	if v[0] != TagVendorName || v[7] != TagProductName || v[14] != TagHardwareVersion || v[19] != TagHardwareVerStr {
		t.Fatalf("tag order: % x", v)
	}
	if err := ValidateItem(ItemProductInfo, v); err != nil {
		t.Fatal(err)
	}
	got, err := ParseProductInfo(v)
	if err != nil {
		t.Fatal(err)
	}
	if got.HardwareVersion == nil || *got.HardwareVersion != 3 {
		t.Fatalf("hardware version %v", got.HardwareVersion)
	}
	got.HardwareVersion, p.HardwareVersion = nil, nil
	if got != p {
		t.Fatalf("got %+v, want %+v", got, p)
	}
	zero := uint16(0)
	if v, err := (ProductInfo{HardwareVersion: &zero}).Encode(); err != nil || !bytes.Equal(v, []byte{TagHardwareVersion, 2, 0, 0, 0}) {
		t.Fatalf("hardware version 0 alone: % x %v", v, err)
	}
}

func TestProductInfoRules(t *testing.T) {
	tlv := func(fields ...[]byte) []byte {
		var w tlvWriter
		for _, f := range fields {
			w.bytes(f[0], f[1:])
		}
		return w.b
	}
	f := func(tag uint8, v string) []byte { return append([]byte{tag}, v...) }
	bad := []struct {
		rule string
		v    []byte
	}{
		{"empty value", nil},
		{"trailing bytes", []byte{TagVendorName, 1}},
		{"length past end", []byte{TagVendorName, 5, 0, 'A'}},
		{"unknown critical tag", tlv(f(0x09, "x"))},
		{"unknown non-critical tag", tlv(f(0x80, "x"))},
		{"vendor-name twice", tlv(f(TagVendorName, "A"), f(TagVendorName, "B"))},
		{"hardware-ver twice", tlv(f(TagHardwareVersion, "\x01\x00"), f(TagHardwareVersion, "\x01\x00"))},
		{"hardware-ver 1 byte", tlv(f(TagHardwareVersion, "\x01"))},
		{"vendor-name empty", tlv(f(TagVendorName, ""))},
		{"vendor-name 33 bytes", tlv(f(TagVendorName, strings.Repeat("a", 33)))},
		{"product-name with NUL", tlv(f(TagProductName, "a\x00b"))},
		{"product-label with newline", tlv(f(TagProductLabel, "a\nb"))},
		{"part-number not utf-8", tlv(f(TagPartNumber, "\xff\xfe"))},
		{"product-url 257 bytes", tlv(f(TagProductURL, strings.Repeat("u", 257)))},
		{"hw-ver-str 65 bytes", tlv(f(TagHardwareVerStr, strings.Repeat("h", 65)))},
		{"mfg-date not a date", tlv(f(TagMfgDate, "2026-13-01"))},
		{"mfg-date short", tlv(f(TagMfgDate, "2026-1-1"))},
		{"mfg-date 17 bytes", tlv(f(TagMfgDate, "2026-12-08 abcdef"))},
	}
	for _, b := range bad {
		if _, err := ParseProductInfo(b.v); !errors.Is(err, ErrProductInfo) {
			t.Errorf("%s: got %v, want ErrProductInfo", b.rule, err)
		}
		if err := ValidateItem(ItemProductInfo, b.v); !errors.Is(err, ErrInvalidItem) {
			t.Errorf("%s: ValidateItem got %v", b.rule, err)
		}
	}
	if _, err := ParseProductInfo(tlv(f(TagMfgDate, "2026-12-08 lot 7"))); err != nil {
		t.Errorf("mfg-date with vendor text: %v", err)
	}
	if _, err := (ProductInfo{}).Encode(); !errors.Is(err, ErrProductInfo) {
		t.Errorf("empty product info encoded: %v", err)
	}
	if _, err := (ProductInfo{VendorName: strings.Repeat("v", 33)}).Encode(); !errors.Is(err, ErrProductInfo) {
		t.Errorf("long vendor name encoded: %v", err)
	}
}

func FuzzParseProductInfo(f *testing.F) {
	hv := uint16(1)
	v, _ := ProductInfo{VendorName: "A", HardwareVersion: &hv, MfgDate: "2026-01-01"}.Encode()
	f.Add(v)
	f.Add([]byte{0x01, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseProductInfo(b)
		if err != nil {
			return
		}
		again, err := p.Encode()
		if err != nil {
			t.Fatalf("parsed value does not encode: %v", err)
		}
		p2, err := ParseProductInfo(again)
		if err != nil || p2.IsZero() != p.IsZero() {
			t.Fatalf("re-parse: %v", err)
		}
	})
}
