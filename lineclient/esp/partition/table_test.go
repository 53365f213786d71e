package partition

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// contractCSV is the module flash layout (FLASH-CONTRACT.md).
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

func TestContractTableBytes(t *testing.T) {
	tab, err := ParseCSV(contractCSV, DefaultOffset)
	if err != nil {
		t.Fatal(err)
	}
	bin, err := tab.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if len(bin) != MaxLength {
		t.Fatalf("table is %d bytes", len(bin))
	}
	// Entry 0 as gen_esp32part.py packs it ('<2sBBLL16sL'): an empty
	// subtype of a custom type is 0x06 ("undefined").
	want0, _ := hex.DecodeString("aa503f0600d0000000200000" + hex.EncodeToString([]byte("esp_secure_cert")) + "00" + "01000000")
	if !bytes.Equal(bin[:32], want0) {
		t.Errorf("entry 0\n got %x\nwant %x", bin[:32], want0)
	}
	want7, _ := hex.DecodeString("aa50010200003e0000600000" + hex.EncodeToString([]byte("fctry")) + strings.Repeat("00", 11) + "00000000")
	if !bytes.Equal(bin[7*32:8*32], want7) {
		t.Errorf("entry 7\n got %x\nwant %x", bin[7*32:8*32], want7)
	}
	sum := md5.Sum(bin[:8*32])
	if !bytes.Equal(bin[8*32:8*32+16], md5Magic) || !bytes.Equal(bin[8*32+16:9*32], sum[:]) {
		t.Errorf("md5 entry %x", bin[8*32:9*32])
	}
	if !bytes.Equal(bin[9*32:], bytes.Repeat([]byte{0xFF}, MaxLength-9*32)) {
		t.Error("table not padded with 0xff")
	}
	back, err := ParseBinary(bin)
	if err != nil {
		t.Fatal(err)
	}
	if !back.HasMD5 || !reflect.DeepEqual(back.Entries, tab.Entries) {
		t.Fatalf("read back %+v", back)
	}
	// CSV written back parses to the same table.
	again, err := ParseCSV(tab.CSV(), DefaultOffset)
	if err != nil || !reflect.DeepEqual(again.Entries, tab.Entries) {
		t.Fatalf("csv round trip: %v\n%s", err, tab.CSV())
	}
	if err := tab.FitsFlash(4 << 20); err != nil {
		t.Fatal(err)
	}
	if err := tab.FitsFlash(2 << 20); err == nil {
		t.Fatal("4 MB layout fits a 2 MB flash")
	}
}

func TestCSVAutoOffsetsAndSuffixes(t *testing.T) {
	tab, err := ParseCSV("nvs,data,nvs,,24K\nphy_init,data,phy,,4k\nfactory,app,factory,,1M\nstorage,data,0x99,,0x1000,readonly\n", DefaultOffset)
	if err != nil {
		t.Fatal(err)
	}
	got := []uint32{}
	for _, e := range tab.Entries {
		got = append(got, e.Offset, e.Size)
	}
	want := []uint32{0x9000, 0x6000, 0xF000, 0x1000, 0x10000, 0x100000, 0x110000, 0x1000}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("offsets/sizes %x, want %x", got, want)
	}
	if tab.Entries[3].Flags != FlagReadOnly || tab.Entries[3].Subtype != 0x99 {
		t.Fatalf("entry 3 %+v", tab.Entries[3])
	}
}

func TestCSVRefuses(t *testing.T) {
	cases := []struct{ rule, csv, want string }{
		{"overlap", "a,data,nvs,0x9000,0x4000\nb,data,nvs,0xC000,0x3000", "overlaps"},
		{"below table", "a,data,nvs,0x8000,0x3000", "overlaps what ends at 0x9000"},
		{"misaligned data", "a,data,nvs,0x9800,0x3000", "not aligned to 0x1000"},
		{"misaligned app", "a,app,factory,0x11000,0x10000", "not aligned to 0x10000"},
		{"app size", "a,app,factory,0x10000,0x10800", "not a multiple of 0x1000"},
		{"duplicate name", "a,data,nvs,0x9000,0x3000\na,data,nvs,0xC000,0x3000", "appears twice"},
		{"two otadata", "a,data,ota,0x9000,0x2000\nb,data,ota,0xB000,0x2000", "2 otadata"},
		{"otadata size", "a,data,ota,0x9000,0x3000", "otadata must be 0x2000"},
		{"small rw nvs", "a,data,nvs,0x9000,0x2000", "read-write nvs"},
		{"unknown flag", "a,data,nvs,0x9000,0x3000,secret", `unknown flag "secret"`},
		{"unknown subtype", "a,data,nvss,0x9000,0x3000", "subtype"},
		{"app without subtype", "a,app,,0x10000,0x10000", "needs a subtype"},
		{"no size", "a,data,nvs,0x9000", "size can't be empty"},
		{"long name", "a_very_long_partition_name,data,nvs,0x9000,0x3000", "1..16 printable"},
		{"variable", "a,data,nvs,$OFF,0x3000", "variables"},
		{"leading zero", "a,data,nvs,0x9000,010", "invalid value"},
	}
	for _, c := range cases {
		_, err := ParseCSV(c.csv, DefaultOffset)
		if !errors.Is(err, ErrTable) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.rule, err, c.want)
		}
	}
}

func TestBinaryRefuses(t *testing.T) {
	tab, _ := ParseCSV(contractCSV, DefaultOffset)
	good, _ := tab.MarshalBinary()
	cases := []struct {
		rule   string
		mutate func(b []byte) []byte
		want   string
	}{
		{"bad md5", func(b []byte) []byte { b[40] ^= 1; return b }, "md5 entry at offset 0x100"},
		{"bad magic", func(b []byte) []byte { b[64] = 0; return b }, "entry 2 at offset 0x40: magic 00 50"},
		{"no end marker", func(b []byte) []byte { return b[:9*32] }, "no end-of-table marker"},
		{"truncated entry", func(b []byte) []byte { return b[:100] }, "trailing bytes at offset 0x60"},
		{"entry after md5", func(b []byte) []byte { copy(b[9*32:], b[:32]); return b }, "follows the md5 entry"},
		{"unprintable name", func(b []byte) []byte {
			b[12] = 0x01
			s := md5.Sum(b[:256])
			copy(b[256+16:], s[:])
			return b
		}, "not printable"},
	}
	for _, c := range cases {
		_, err := ParseBinary(c.mutate(bytes.Clone(good)))
		if !errors.Is(err, ErrTable) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.rule, err, c.want)
		}
	}
}

func FuzzParseBinary(f *testing.F) {
	tab, _ := ParseCSV(contractCSV, DefaultOffset)
	good, _ := tab.MarshalBinary()
	f.Add(good)
	f.Add(good[:64])
	f.Fuzz(func(t *testing.T, b []byte) {
		tab, err := ParseBinary(b)
		if err != nil {
			return
		}
		if _, err := tab.MarshalBinary(); err != nil && len(tab.Entries) < 90 {
			t.Fatalf("parsed table does not marshal: %v", err)
		}
		_ = tab.Verify(DefaultOffset)
	})
}

func FuzzParseCSV(f *testing.F) {
	f.Add(contractCSV)
	f.Add("a,app,ota_3,,1M,encrypted:readonly\n")
	f.Fuzz(func(t *testing.T, s string) {
		tab, err := ParseCSV(s, DefaultOffset)
		if err != nil {
			return
		}
		bin, err := tab.MarshalBinary()
		if err != nil {
			return
		}
		back, err := ParseBinary(bin)
		if err != nil || !reflect.DeepEqual(back.Entries, tab.Entries) {
			t.Fatalf("binary round trip: %v", err)
		}
	})
}
