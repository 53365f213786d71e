package firmware_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"

	"github.com/dacline/dacline/lineclient/esp/nvs"
	"github.com/dacline/dacline/lineclient/esp/partition"
	"github.com/dacline/dacline/lineclient/esp/securecert"
	"github.com/dacline/dacline/lineclient/runner"
	"github.com/dacline/dacline/lineclient/station"
	"github.com/dacline/dacline/shared/lineproto"
)

// contractCSV is FLASH-CONTRACT's partition table.
const contractCSV = `# Name,           Type, SubType,  Offset,   Size,     Flags
esp_secure_cert,  0x3F, ,         0xd000,   0x2000,   encrypted
nvs,              data, nvs,      0x10000,  0xC000,
nvs_keys,         data, nvs_keys, 0x1C000,  0x1000,   encrypted
otadata,          data, ota,      0x1D000,  0x2000,
phy_init,         data, phy,      0x1F000,  0x1000,
ota_0,            app,  ota_0,    0x20000,  0x1E0000,
ota_1,            app,  ota_1,    0x200000, 0x1E0000,
fctry,            data, nvs,      0x3E0000, 0x6000,
`

// checkFlash reads a C module's flash image with the Go ESP-format readers
// (lineclient/esp, written separately from the firmware) and checks it
// against FLASH-CONTRACT and against what the station recorded and the
// module reported: the partition table byte for byte, esp_secure_cert's
// key/PAI/DAC/INTEGRITY, and every chip-factory NVS entry.
func checkFlash(t *testing.T, store *station.Store, dir string, id *lineproto.IdentifyResponse) {
	t.Helper()
	img, err := os.ReadFile(filepath.Join(dir, "flash.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if len(img) != 4<<20 {
		t.Fatalf("%s: flash image is %d bytes", dir, len(img))
	}
	tab, err := partition.ParseCSV(contractCSV, partition.DefaultOffset)
	if err != nil {
		t.Fatal(err)
	}
	want, err := tab.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(img[0x8000:0x8000+len(want)], want) {
		t.Errorf("%s: partition table differs from gen_esp32part's encoding of FLASH-CONTRACT", dir)
	}
	digests := map[lineproto.Item][32]byte{}
	for _, d := range id.Digests {
		digests[d.Item] = d.SHA256
	}
	same := func(item lineproto.Item, v []byte, where string) {
		if sha256.Sum256(v) != digests[item] {
			t.Errorf("%s: %s in %s is not the committed %s", dir, item, where, item)
		}
	}

	sc, err := securecert.Parse(img[0xD000 : 0xD000+securecert.PartitionSize])
	if err != nil {
		t.Fatalf("%s: esp_secure_cert: %v", dir, err)
	}
	if !sc.Sealed || !sc.EndMarker || len(sc.Entries) != 4 || sc.Entries[0].Type != securecert.Type(2) ||
		len(sc.Entries[0].Data) != 121 {
		t.Errorf("%s: esp_secure_cert entries %+v sealed %v end marker %v", dir, sc.Entries, sc.Sealed, sc.EndMarker)
	}
	if e, ok := sc.Find(securecert.Type(0), 0); ok {
		same(lineproto.ItemPAI, e.Data, "CA_CERT")
	} else {
		t.Errorf("%s: no CA_CERT", dir)
	}
	if e, ok := sc.Find(securecert.Type(1), 0); ok {
		same(lineproto.ItemDAC, e.Data, "DEV_CERT")
		c, err := store.Credentials(runner.FormatMAC(id.ChipID))
		if err != nil || !bytes.Equal(c.DAC, e.Data) {
			t.Errorf("%s: DEV_CERT is not the DAC the station recorded (%v)", dir, err)
		}
	} else {
		t.Errorf("%s: no DEV_CERT", dir)
	}

	p, err := nvs.Parse(img[0x3E0000 : 0x3E0000+0x6000])
	if err != nil {
		t.Fatalf("%s: fctry: %v", dir, err)
	}
	get := func(key string) nvs.Entry {
		e, ok := p.Lookup("chip-factory", key)
		if !ok {
			t.Errorf("%s: chip-factory/%s missing", dir, key)
		}
		return e
	}
	u16 := func(key string) []byte { v := get(key).Uint; return []byte{byte(v), byte(v >> 8)} }
	b64 := func(key string) []byte {
		b, err := base64.StdEncoding.DecodeString(string(get(key).Data))
		if err != nil {
			t.Errorf("%s: %s is not base64", dir, key)
		}
		return b
	}
	same(lineproto.ItemDiscriminator, u16("discriminator"), "nvs")
	same(lineproto.ItemIterations, lineproto.IterationsValue(uint32(get("iteration-count").Uint)), "nvs")
	same(lineproto.ItemSalt, b64("salt"), "nvs")
	same(lineproto.ItemVerifier, b64("verifier"), "nvs")
	same(lineproto.ItemSerialNumber, get("serial-num").Data, "nvs")
	same(lineproto.ItemRotatingIDUnique, get("rd-id-uid").Data, "nvs")
	same(lineproto.ItemCD, get("cert-dclrn").Data, "nvs")
	same(lineproto.ItemVendorID, u16("vendor-id"), "nvs")
	same(lineproto.ItemProductID, u16("product-id"), "nvs")
	if string(get("vendor-name").Data) != "dacline test vendor" || string(get("product-name").Data) != "C firmware bulb" {
		t.Errorf("%s: product-info fields in nvs: %q %q", dir, get("vendor-name").Data, get("product-name").Data)
	}
	for _, k := range []string{"dac-cert", "pai-cert", "dac-key"} {
		if _, ok := p.Lookup("chip-factory", k); ok {
			t.Errorf("%s: %s is in nvs (FLASH-CONTRACT: only in esp_secure_cert)", dir, k)
		}
	}
	for off := 0x3E1000; off < 0x3E6000; off++ {
		if img[off] != 0xFF {
			t.Errorf("%s: fctry beyond the first page is not erased at 0x%x", dir, off)
			break
		}
	}
}
