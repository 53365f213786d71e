package matter

import (
	"testing"
)

func TestCheckCD(t *testing.T) {
	paa, pai, dac := testChain(t) // PAA FFF1, PAI FFF1/8000, DAC FFF1/8000
	cdWith := func(mut func(*CDContent)) *CD {
		c := exampleContent()
		mut(&c)
		return &CD{Content: c}
	}
	rows := []struct {
		name, rule string
		cd         *CD
		info       *DeviceInfo
	}{
		{"plain", "", cdWith(func(*CDContent) {}), nil},
		{"pid in array", "", cdWith(func(c *CDContent) { c.ProductIDs = []uint16{1, 0x8000, 2} }), nil},
		{"vid", "cd.vendorIdMismatch", cdWith(func(c *CDContent) { c.VendorID = 0xFFF2 }), nil},
		{"pid", "cd.productIdMismatch", cdWith(func(c *CDContent) { c.ProductIDs = []uint16{0x8001} }), nil},
		{"basic info vid", "cd.vendorIdMismatch", cdWith(func(*CDContent) {}), &DeviceInfo{VendorID: 0xFFF2, ProductID: 0x8000}},
		{"basic info pid", "cd.productIdMismatch", cdWith(func(*CDContent) {}), &DeviceInfo{VendorID: 0xFFF1, ProductID: 1}},
		{"origin match", "", cdWith(func(c *CDContent) {
			c.VendorID, c.ProductIDs = 0x1234, []uint16{0x0042}
			c.HasDACOrigin, c.DACOriginVendorID, c.DACOriginProductID = true, 0xFFF1, 0x8000
		}), &DeviceInfo{VendorID: 0x1234, ProductID: 0x0042}},
		{"origin vid", "cd.vendorIdMismatch", cdWith(func(c *CDContent) {
			c.HasDACOrigin, c.DACOriginVendorID, c.DACOriginProductID = true, 0xFFF2, 0x8000
		}), nil},
		{"origin pid", "cd.productIdMismatch", cdWith(func(c *CDContent) {
			c.HasDACOrigin, c.DACOriginVendorID, c.DACOriginProductID = true, 0xFFF1, 0x8001
		}), nil},
		{"paa authorized", "", cdWith(func(c *CDContent) { c.AuthorizedPAAs = [][]byte{make([]byte, 20), paa.cert.SubjectKeyId} }), nil},
		{"paa not authorized", "cd.paaNotAuthorized", cdWith(func(c *CDContent) { c.AuthorizedPAAs = [][]byte{make([]byte, 20)} }), nil},
		{"invalid content", "cd.formatVersion", cdWith(func(c *CDContent) { c.FormatVersion = 0 }), nil},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			err := CheckCDFor(r.cd, dac.cert, pai.cert, paa.cert, r.info)
			if RuleOf(err) != r.rule || (r.rule != "" && err == nil) {
				t.Fatalf("got %v, want %q", err, r.rule)
			}
		})
	}
}
