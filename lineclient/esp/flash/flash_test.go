package flash

import (
	"bytes"
	"testing"

	"github.com/dacline/dacline/lineclient/esp/partition"
)

func TestBlankImage(t *testing.T) {
	img := Blank()
	if len(img) != Size {
		t.Fatalf("%d bytes", len(img))
	}
	tab, err := Table(img)
	if err != nil {
		t.Fatal(err)
	}
	if err := tab.Verify(TableOffset); err != nil {
		t.Fatal(err)
	}
	if err := tab.FitsFlash(Size); err != nil {
		t.Fatal(err)
	}
	e, sc, err := Partition(img, tab, SecureCert)
	if err != nil || e.Offset != 0xD000 || len(sc) != 0x2000 || e.Type != partition.TypeSecureCert || !e.Encrypted() {
		t.Fatalf("esp_secure_cert %+v %v", e, err)
	}
	e, f, err := Partition(img, tab, Factory)
	if err != nil || e.Offset != 0x3E0000 || len(f) != 0x6000 || e.Subtype != partition.SubtypeNVS {
		t.Fatalf("fctry %+v %v", e, err)
	}
	if !bytes.Equal(sc, bytes.Repeat([]byte{0xFF}, len(sc))) {
		t.Fatal("esp_secure_cert not erased")
	}
	if _, _, err := Partition(img[:0x3E1000], tab, Factory); err == nil {
		t.Fatal("partition past a short image accepted")
	}
	if _, _, err := Partition(img, tab, "nosuch"); err == nil {
		t.Fatal("unknown partition found")
	}
}
