package factorydata

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/dacline/dacline/lineclient/esp/nvs"
	"github.com/dacline/dacline/shared/lineproto"
)

// Namespace is the factory NVS namespace esp-matter reads.
const Namespace = "chip-factory"

// PartitionSize is the factory NVS partition size (the fctry partition).
const PartitionSize = 0x6000

// NVS keys (esp-matter mfg_tool chip_nvs_keys.py; connectedhomeip
// src/platform/ESP32/ESP32Config.cpp).
const (
	KeyDiscriminator  = "discriminator"
	KeyIterations     = "iteration-count"
	KeySalt           = "salt"
	KeyVerifier       = "verifier"
	KeySerialNumber   = "serial-num"
	KeyVendorID       = "vendor-id"
	KeyProductID      = "product-id"
	KeyHardwareVer    = "hardware-ver"
	KeyHardwareVerStr = "hw-ver-str"
	KeyVendorName     = "vendor-name"
	KeyProductName    = "product-name"
	KeyMfgDate        = "mfg-date"
	KeyPartNumber     = "part-number"
	KeyProductLabel   = "product-label"
	KeyProductURL     = "product-url"
	KeyRotatingID     = "rd-id-uid"
	KeyCD             = "cert-dclrn"
)

// Order is every key in the order the partition holds them.
var Order = []string{KeyDiscriminator, KeyIterations, KeySalt, KeyVerifier, KeySerialNumber,
	KeyVendorID, KeyProductID, KeyHardwareVer, KeyHardwareVerStr, KeyVendorName, KeyProductName,
	KeyMfgDate, KeyPartNumber, KeyProductLabel, KeyProductURL, KeyRotatingID, KeyCD}

// Items are the line-protocol items a module committed.
type Items map[lineproto.Item][]byte

// NVSEntries maps the committed items to chip-factory entries, in Order,
// leaving out what is not committed (product-info fields it does not name).
func NVSEntries(items Items) ([]nvs.Entry, error) {
	for it, v := range items {
		if err := lineproto.ValidateItem(it, v); err != nil {
			return nil, fmt.Errorf("factory data: %w", err)
		}
	}
	var info lineproto.ProductInfo
	if v, ok := items[lineproto.ItemProductInfo]; ok {
		info, _ = lineproto.ParseProductInfo(v) // validated above
	}
	str := map[string]string{
		KeyHardwareVerStr: info.HardwareVerStr, KeyVendorName: info.VendorName, KeyProductName: info.ProductName,
		KeyMfgDate: info.MfgDate, KeyPartNumber: info.PartNumber, KeyProductLabel: info.ProductLabel,
		KeyProductURL: info.ProductURL,
	}
	u16 := func(it lineproto.Item) (uint32, bool) {
		v, ok := items[it]
		if !ok {
			return 0, false
		}
		return uint32(binary.LittleEndian.Uint16(v)), true
	}
	var out []nvs.Entry
	for _, key := range Order {
		switch key {
		case KeyDiscriminator:
			if v, ok := u16(lineproto.ItemDiscriminator); ok {
				out = append(out, nvs.U32(Namespace, key, v))
			}
		case KeyIterations:
			if v, ok := items[lineproto.ItemIterations]; ok {
				out = append(out, nvs.U32(Namespace, key, binary.LittleEndian.Uint32(v)))
			}
		case KeySalt, KeyVerifier:
			it := map[string]lineproto.Item{KeySalt: lineproto.ItemSalt, KeyVerifier: lineproto.ItemVerifier}[key]
			if v, ok := items[it]; ok {
				out = append(out, nvs.String(Namespace, key, base64.StdEncoding.EncodeToString(v)))
			}
		case KeySerialNumber:
			if v, ok := items[lineproto.ItemSerialNumber]; ok {
				out = append(out, nvs.String(Namespace, key, string(v)))
			}
		case KeyVendorID:
			if v, ok := u16(lineproto.ItemVendorID); ok {
				out = append(out, nvs.U32(Namespace, key, v))
			}
		case KeyProductID:
			if v, ok := u16(lineproto.ItemProductID); ok {
				out = append(out, nvs.U32(Namespace, key, v))
			}
		case KeyHardwareVer:
			if info.HardwareVersion != nil {
				out = append(out, nvs.U32(Namespace, key, uint32(*info.HardwareVersion)))
			}
		case KeyRotatingID:
			if v, ok := items[lineproto.ItemRotatingIDUnique]; ok {
				out = append(out, nvs.Blob(Namespace, key, v))
			}
		case KeyCD:
			if v, ok := items[lineproto.ItemCD]; ok {
				out = append(out, nvs.Blob(Namespace, key, v))
			}
		default:
			if s := str[key]; s != "" {
				out = append(out, nvs.String(Namespace, key, s))
			}
		}
	}
	return out, nil
}

// NVS builds the fctry partition (PartitionSize bytes) from the items.
func NVS(items Items) ([]byte, error) {
	es, err := NVSEntries(items)
	if err != nil {
		return nil, err
	}
	w, err := nvs.NewWriter(PartitionSize)
	if err != nil {
		return nil, err
	}
	w.Namespace(Namespace)
	for _, e := range es {
		w.Put(e)
	}
	b, err := w.Bytes()
	if err != nil {
		return nil, fmt.Errorf("factory data: %w", err)
	}
	return b, nil
}

// CSV renders entries as the nvs_partition_gen.py CSV that gives the same
// partition (blobs as hex2bin, so the CSV stands alone).
func CSV(entries []nvs.Entry) string {
	var b strings.Builder
	b.WriteString("key,type,encoding,value\n" + Namespace + ",namespace,,\n")
	for _, e := range entries {
		switch {
		case e.Type == nvs.TypeU32:
			fmt.Fprintf(&b, "%s,data,u32,%d\n", e.Key, e.Uint)
		case e.Type == nvs.TypeString:
			fmt.Fprintf(&b, "%s,data,string,%s\n", e.Key, csvField(string(e.Data)))
		default:
			fmt.Fprintf(&b, "%s,data,hex2bin,%X\n", e.Key, e.Data)
		}
	}
	return b.String()
}

func csvField(s string) string {
	if strings.ContainsAny(s, ",\"\n\r") || strings.TrimSpace(s) != s {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}
