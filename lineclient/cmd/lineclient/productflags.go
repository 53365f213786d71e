package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/dacline/dacline/shared/clirun"
	"github.com/dacline/dacline/shared/lineproto"
)

// productFlags are `lineclient init`'s optional product settings: the
// product-info item (line-protocol 0x0C) every module gets, which the module
// stores as the chip-factory NVS keys of the same names.
func productFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "vendor-name", Usage: "product setting: vendor name (NVS vendor-name, 1..32 bytes)"},
		&cli.StringFlag{Name: "product-name", Usage: "product setting: product name (NVS product-name, 1..32 bytes)"},
		&cli.StringFlag{Name: "hardware-version", Usage: "product setting: hardware version, a number 0..65535 (NVS hardware-ver)"},
		&cli.StringFlag{Name: "hw-ver-str", Usage: "product setting: hardware version string (NVS hw-ver-str, 1..64 bytes)"},
		&cli.StringFlag{Name: "mfg-date", Usage: "product setting: manufacturing date YYYY-MM-DD, optionally followed by more text (NVS mfg-date)"},
		&cli.StringFlag{Name: "part-number", Usage: "product setting: part number (NVS part-number, 1..32 bytes)"},
		&cli.StringFlag{Name: "product-label", Usage: "product setting: product label (NVS product-label, 1..64 bytes)"},
		&cli.StringFlag{Name: "product-url", Usage: "product setting: product URL (NVS product-url, 1..256 bytes)"},
	}
}

// productInfo reads the product settings flags; zero when none is given.
func productInfo(c *cli.Context) (lineproto.ProductInfo, error) {
	p := lineproto.ProductInfo{
		VendorName: c.String("vendor-name"), ProductName: c.String("product-name"),
		HardwareVerStr: c.String("hw-ver-str"), MfgDate: c.String("mfg-date"),
		PartNumber: c.String("part-number"), ProductLabel: c.String("product-label"),
		ProductURL: c.String("product-url"),
	}
	if s := c.String("hardware-version"); s != "" {
		v, err := strconv.ParseUint(s, 10, 16)
		if err != nil {
			return p, clirun.Usage("--hardware-version %q: want a number 0..65535", s)
		}
		hv := uint16(v)
		p.HardwareVersion = &hv
	}
	if p.IsZero() {
		return p, nil
	}
	if err := p.Validate(); err != nil {
		return p, clirun.Usage("%v", err)
	}
	return p, nil
}

// describeProduct is the one-line summary `lineclient init` prints.
func describeProduct(p *lineproto.ProductInfo) string {
	var parts []string
	add := func(name, v string) {
		if v != "" {
			parts = append(parts, fmt.Sprintf("%s %q", name, v))
		}
	}
	add("vendor-name", p.VendorName)
	add("product-name", p.ProductName)
	if p.HardwareVersion != nil {
		parts = append(parts, fmt.Sprintf("hardware-ver %d", *p.HardwareVersion))
	}
	add("hw-ver-str", p.HardwareVerStr)
	add("mfg-date", p.MfgDate)
	add("part-number", p.PartNumber)
	add("product-label", p.ProductLabel)
	add("product-url", p.ProductURL)
	return "product info: " + strings.Join(parts, ", ")
}
