// Package flash is the module flash layout of FLASH-CONTRACT.md: a 4 MiB
// ESP32-class SPI flash image (0xFF where erased) with the partition table
// at 0x8000 and the esp_secure_cert, factory NVS and app partitions it
// names.
//
// Invariants:
//   - Layout() is the contract's table; LayoutCSV is the same table as the
//     partition CSV a firmware project keeps (they parse to each other).
//   - Blank() is what a module comes with from its maker: the table at
//     0x8000, everything else erased.
//   - Partition never returns a slice past the image: a table entry that
//     runs past the end is an error naming the partition.
package flash

import (
	"fmt"

	"github.com/dacline/dacline/lineclient/esp/partition"
)

// Geometry.
const (
	Size        = 4 << 20
	SectorSize  = 0x1000
	TableOffset = partition.DefaultOffset
)

// Partition names of the layout.
const (
	SecureCert = "esp_secure_cert"
	Factory    = "fctry"
	AppNVS     = "nvs"
)

// LayoutCSV is the contract's partition table as an ESP-IDF partition CSV.
const LayoutCSV = `# Name,           Type, SubType,  Offset,   Size,     Flags
esp_secure_cert,  0x3F, ,         0xd000,   0x2000,   encrypted
nvs,              data, nvs,      0x10000,  0xC000,
nvs_keys,         data, nvs_keys, 0x1C000,  0x1000,   encrypted
otadata,          data, ota,      0x1D000,  0x2000,
phy_init,         data, phy,      0x1F000,  0x1000,
ota_0,            app,  ota_0,    0x20000,  0x1E0000,
ota_1,            app,  ota_1,    0x200000, 0x1E0000,
fctry,            data, nvs,      0x3E0000, 0x6000,
`

// Layout returns the contract's partition table.
func Layout() *partition.Table {
	t, err := partition.ParseCSV(LayoutCSV, TableOffset)
	if err != nil {
		panic("flash: the contract layout does not parse: " + err.Error()) // a constant; tests cover it
	}
	return t
}

// Blank returns an erased image with the layout's table at 0x8000.
func Blank() []byte {
	img := make([]byte, Size)
	for i := range img {
		img[i] = 0xFF
	}
	tab, err := Layout().MarshalBinary()
	if err != nil {
		panic("flash: " + err.Error())
	}
	copy(img[TableOffset:], tab)
	return img
}

// Table reads the partition table of an image.
func Table(img []byte) (*partition.Table, error) {
	if len(img) < TableOffset+partition.SectorSize {
		return nil, fmt.Errorf("flash image of %d bytes has no partition table sector at 0x%x", len(img), TableOffset)
	}
	t, err := partition.ParseBinary(img[TableOffset : TableOffset+partition.SectorSize])
	if err != nil {
		return nil, fmt.Errorf("flash image at 0x%x: %w", TableOffset, err)
	}
	return t, nil
}

// Partition returns the bytes of partition name of img per table t.
func Partition(img []byte, t *partition.Table, name string) (partition.Entry, []byte, error) {
	e, ok := t.Find(name)
	if !ok {
		return e, nil, fmt.Errorf("flash image: no partition %q in the table", name)
	}
	if e.End() > uint64(len(img)) {
		return e, nil, fmt.Errorf("flash image: partition %s (0x%x+0x%x) runs past the %d-byte image", name, e.Offset, e.Size, len(img))
	}
	return e, img[e.Offset:e.End()], nil
}
