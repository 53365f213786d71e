package espimage

import (
	"bytes"
	"errors"
	"testing"
)

func TestPartitionTableRoundTrip(t *testing.T) {
	b := MarshalPartitionTable(ContractPartitions)
	if len(b) != PartitionTableSize || b[0] != 0xAA || b[1] != 0x50 {
		t.Fatalf("table % x…", b[:4])
	}
	parts, err := ParsePartitionTable(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != len(ContractPartitions) || parts[0] != ContractPartitions[0] || parts[7].Label != "fctry" {
		t.Fatalf("%+v", parts)
	}
	if err := CheckKeepsCredentials(parts, CredentialPartitions()); err != nil {
		t.Fatal(err)
	}
}

func TestPartitionTableRejects(t *testing.T) {
	good := MarshalPartitionTable(ContractPartitions)
	bad := bytes.Clone(good)
	bad[40] ^= 1 // an entry changed: the MD5 entry no longer matches
	if _, err := ParsePartitionTable(bad); !errors.Is(err, ErrPartitionTable) {
		t.Fatalf("md5: %v", err)
	}
	bad = bytes.Clone(good)
	bad[0] = 0x12
	if _, err := ParsePartitionTable(bad); !errors.Is(err, ErrPartitionTable) {
		t.Fatalf("magic: %v", err)
	}
	if _, err := ParsePartitionTable(bytes.Repeat([]byte{0xAA, 0x50, 0, 0}, 1000)); !errors.Is(err, ErrPartitionTable) {
		t.Fatalf("no end: %v", err)
	}
	moved := append([]Partition(nil), ContractPartitions...)
	moved[7].Offset = 0x3D0000
	if err := CheckKeepsCredentials(moved, CredentialPartitions()); !errors.Is(err, ErrPartitionTable) {
		t.Fatalf("moved fctry: %v", err)
	}
	dropped := ContractPartitions[1:]
	if err := CheckKeepsCredentials(dropped, CredentialPartitions()); !errors.Is(err, ErrPartitionTable) {
		t.Fatalf("no esp_secure_cert: %v", err)
	}
	over := append([]Partition(nil), ContractPartitions...)
	over[6].Size = 0x1F0000 // ota_1 grows into fctry
	if err := CheckKeepsCredentials(over, CredentialPartitions()); !errors.Is(err, ErrPartitionTable) {
		t.Fatalf("ota_1 over fctry: %v", err)
	}
}

func esp32Policy(t *testing.T) Policy {
	return Policy{ChipID: 0, ChipName: "ESP32", BootloaderOffset: 0x1000,
		KeyDigests: []KeyDigest{digest(t, "rsa_public_key_digest.bin")}}
}

func TestCheckWrites(t *testing.T) {
	boot := vector(t, "bootloader_signed_v2_rsa.bin")
	table := MarshalPartitionTable(ContractPartitions)
	// Espressif's signed test bootloader (36 KB) is too big to sit below a
	// table at 0x8000: at 0x1000 it is refused, with or without a new table;
	// as an app it is checked like any image.
	if _, err := CheckWrites([]Write{{"bootloader.bin", 0x1000, boot}}, esp32Policy(t)); !errors.Is(err, ErrOverlap) {
		t.Fatalf("bootloader over the table: %v", err)
	}
	ok, err := CheckWrites([]Write{{"app.bin", 0x20000, boot}}, esp32Policy(t))
	if err != nil {
		t.Fatal(err)
	}
	ok2, err := CheckWrites([]Write{{"partitions.bin", 0x8000, table}, {"ota.bin", 0x1D000, []byte{0xFF}}}, esp32Policy(t))
	if err != nil {
		t.Fatal(err)
	}
	if ok[0].Kind != KindApp || ok2[0].Kind != KindPartitionTable || ok2[1].Kind != KindData || len(ok[0].Sigs) != 1 {
		t.Fatalf("%+v %+v", ok, ok2)
	}
	if _, err := CheckWrites([]Write{{"bootloader.bin", 0x1000, boot}, {"partitions.bin", 0x8000, table}}, esp32Policy(t)); !errors.Is(err, ErrOverlap) {
		t.Fatalf("bootloader over the table: %v", err)
	}
	for name, tc := range map[string]struct {
		ws   []Write
		want error
	}{
		"truncated bootloader": {[]Write{{"b.bin", 0x1000, vector(t, "bootloader_unsigned_v2.bin")[:0x6000]}}, ErrImage},
		"unsigned app":         {[]Write{{"b.bin", 0x20000, vector(t, "bootloader_unsigned_v2.bin")}}, ErrUnsigned},
		"wrong key":            {[]Write{{"b.bin", 0x20000, vector(t, "bootloader_signed_v2_ecdsa256.bin")}}, ErrKeyNotAllowed},
		"other chip":           {[]Write{{"b.bin", 0x1000, vector(t, "bootloader_esp32c3_unsigned.bin")}}, ErrWrongChip},
		"app over secure cert": {[]Write{{"app.bin", 0xC000, bytes.Repeat([]byte{1}, 0x2000)}}, ErrOverlap},
		"data over fctry":      {[]Write{{"x.bin", 0x3E5000, []byte{1}}}, ErrOverlap},
		"two writes overlap":   {[]Write{{"b.bin", 0x20000, boot}, {"c.bin", 0x21000, []byte{1}}}, ErrOverlap},
		"bad table":            {[]Write{{"p.bin", 0x8000, bytes.Repeat([]byte{0}, 64)}}, ErrPartitionTable},
	} {
		_, err := CheckWrites(tc.ws, esp32Policy(t))
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", name, err, tc.want)
		}
	}
	// A non-image in an app partition is refused as an image.
	if _, err := CheckWrites([]Write{{"app.bin", 0x20000, []byte("hello")}}, esp32Policy(t)); !errors.Is(err, ErrImage) {
		t.Errorf("text in ota_0: %v", err)
	}
	if _, err := CheckWrites([]Write{{"x.bin", 0x20001, []byte{1}}}, esp32Policy(t)); err == nil {
		t.Error("unaligned offset accepted")
	}
}

func FuzzParsePartitionTable(f *testing.F) {
	f.Add(MarshalPartitionTable(ContractPartitions))
	f.Add([]byte{0xAA, 0x50})
	f.Fuzz(func(t *testing.T, b []byte) {
		parts, err := ParsePartitionTable(b)
		if err != nil {
			return
		}
		_ = CheckKeepsCredentials(parts, CredentialPartitions())
	})
}
