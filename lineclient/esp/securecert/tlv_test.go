package securecert

import (
	"bufio"
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func testdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rawEntry is one entry of Espressif's parser output (tlv_entries_raw.txt).
type rawEntry struct {
	offset, typ, subtype, flags, length, padding int
	crc                                          uint32
}

func parseRaw(t *testing.T) []rawEntry {
	var out []rawEntry
	sc := bufio.NewScanner(bytes.NewReader(testdata(t, "tlv_entries_raw.txt")))
	var cur *rawEntry
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "Offset:":
			out = append(out, rawEntry{})
			cur = &out[len(out)-1]
			fmt.Sscanf(f[1], "0x%x", &cur.offset)
		case "Type:":
			fmt.Sscanf(f[1], "%d", &cur.typ)
		case "Subtype:":
			fmt.Sscanf(f[1], "%d", &cur.subtype)
		case "Flags:":
			fmt.Sscanf(f[1], "0x%x", &cur.flags)
		case "Length:":
			fmt.Sscanf(f[1], "%d", &cur.length)
		case "Padding:":
			fmt.Sscanf(f[1], "%d", &cur.padding)
		case "CRC32:":
			fmt.Sscanf(f[1], "0x%x", &cur.crc)
		}
	}
	return out
}

func TestGoldenReadsBackAndEncodesSame(t *testing.T) {
	bin := testdata(t, "esp_secure_cert.bin")
	p, err := Parse(bin)
	if err != nil {
		t.Fatal(err)
	}
	raw := parseRaw(t)
	if len(raw) != 7 || len(p.Entries) != 7 {
		t.Fatalf("%d entries, Espressif's parser lists %d", len(p.Entries), len(raw))
	}
	for i, e := range p.Entries {
		r := raw[i]
		got := rawEntry{e.Offset, int(e.Type), int(e.Subtype), int(e.Flags), len(e.Data), e.Padding(), e.CRC}
		if got != r {
			t.Errorf("entry %d: %+v, Espressif's parser %+v", i, got, r)
		}
	}
	// Contents: PEM certificates stored with their NUL, the RSA key of the
	// device certificate, the user data.
	for i, name := range []string{"cacert_0_0.pem", "cacert_0_1.pem", "devcert_1_0.pem"} {
		if want := append(testdata(t, name), 0); !bytes.Equal(p.Entries[i].Data, want) {
			t.Errorf("entry %d is not %s plus NUL", i, name)
		}
	}
	blk, _ := pem.Decode(p.Entries[3].Data)
	key, err := x509.ParsePKCS1PrivateKey(blk.Bytes)
	if err != nil || p.Entries[3].Type != TypePrivKey || KeyStorageOf(p.Entries[3].Flags) != KeyPlaintext {
		t.Fatalf("private key entry: %v", err)
	}
	cblk, _ := pem.Decode(testdata(t, "devcert_1_0.pem"))
	dev, _ := x509.ParseCertificate(cblk.Bytes)
	if !key.PublicKey.Equal(dev.PublicKey.(*rsa.PublicKey)) {
		t.Error("private key is not the device certificate's")
	}
	if string(p.Entries[4].Data) != "Device Model: ESP32-S3-DevKit-C" || hex.EncodeToString(p.Entries[5].Data) != "deadbeefcafebabe1234567890abcdef" {
		t.Errorf("user data %q %x", p.Entries[4].Data, p.Entries[5].Data)
	}
	if !p.Sealed || p.EndMarker || p.Used != len(bin) {
		t.Errorf("sealed %v end marker %v used %d", p.Sealed, p.EndMarker, p.Used)
	}
	// Writing the same contents gives the same bytes.
	var entries []Entry
	for _, e := range p.Entries[:6] {
		entries = append(entries, Entry{Type: e.Type, Subtype: e.Subtype, Flags: e.Flags, Data: e.Data})
	}
	enc, err := Encode(entries)
	if err != nil {
		t.Fatal(err)
	}
	in, _ := IntegrityEntry(enc).Marshal()
	if enc = append(enc, in...); !bytes.Equal(enc, bin) {
		t.Fatal("encoded entries differ from the golden partition")
	}
	// Seal adds the end marker after the same INTEGRITY entry.
	sealed, _ := Seal(enc[:len(enc)-len(in)])
	if !bytes.Equal(sealed[:len(bin)], bin) || binary.LittleEndian.Uint32(sealed[len(bin):]) != EndMarker {
		t.Fatal("seal")
	}
	q, err := Parse(append(sealed, bytes.Repeat([]byte{0xFF}, 100)...))
	if err != nil || !q.EndMarker || q.Used != len(bin)+4 {
		t.Fatalf("sealed partition: %v %+v", err, q)
	}
}

func TestKeyEntries(t *testing.T) {
	ef, err := EFuseKeyEntries(5)
	if err != nil || ef[0].Flags != 0x08 || len(ef[0].Data) != 0 || ef[1].Type != TypeSecCfg || len(ef[1].Data) != 40 || ef[1].Data[0] != 5 {
		t.Fatalf("efuse entries %+v %v", ef, err)
	}
	if KeyStorageOf(ef[0].Flags) != KeyEFuse || KeyStorageOf(FlagHMACDerived) != KeyDerived || KeyStorageOf(FlagHMACEncrypted) != KeyHMACEncrypted {
		t.Fatal("key storage flags")
	}
	if _, err := EFuseKeyEntries(3); err == nil {
		t.Fatal("efuse block 3 accepted")
	}
	if _, err := DerivedKeyEntries(make([]byte, 16)); err == nil {
		t.Fatal("16-byte salt accepted")
	}
	// An empty PRIV_KEY is 16 bytes: header and CRC.
	b, _ := ef[0].Marshal()
	if len(b) != 16 {
		t.Fatalf("empty entry is %d bytes", len(b))
	}
}

func TestParseRefuses(t *testing.T) {
	bin := testdata(t, "esp_secure_cert.bin")
	cases := []struct {
		rule   string
		mutate func(b []byte) []byte
		want   string
	}{
		{"bad crc", func(b []byte) []byte { b[100] ^= 1; return b }, "offset 0x0: CA_CERT subtype 0: crc"},
		{"bad magic", func(b []byte) []byte { b[0x470] = 0; return b }, "offset 0x470: magic"},
		{"length past end", func(b []byte) []byte { return b[:0x1400] }, "offset 0xd80: PRIV_KEY subtype 0: length 1680 runs past the partition end (0x1400)"},
		{"truncated header", func(b []byte) []byte { return b[:0x476] }, "offset 0x470: header runs past"},
		{"integrity digest", func(b []byte) []byte {
			b[0x1470+12] ^= 1
			c := crc(b[0x1470 : 0x1470+44])
			binary.LittleEndian.PutUint32(b[0x1470+44:], c)
			return b
		}, "INTEGRITY subtype 0: sha-256"},
		{"entry after integrity", func(b []byte) []byte { return append(b, b[:0x470]...) }, "data after the INTEGRITY entry"},
		{"duplicate type", func(b []byte) []byte {
			b[0x479] = 0 // CA_CERT subtype 1 → 0
			binary.LittleEndian.PutUint32(b[0x470+1132:], crc(b[0x470:0x470+1132]))
			return b[:0x8E0]
		}, "CA_CERT subtype 0 appears twice"},
		{"reserved bytes", func(b []byte) []byte {
			b[5] = 1
			binary.LittleEndian.PutUint32(b[1132:], crc(b[:1132]))
			return b
		}, "reserved header bytes"},
		{"stray bytes", func(b []byte) []byte { return append(b[:0x470], 1, 2) }, "stray bytes"},
	}
	for _, c := range cases {
		_, err := Parse(c.mutate(bytes.Clone(bin)))
		if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.rule, err, c.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(testdata(f, "esp_secure_cert.bin")[:0x8E0])
	ef, _ := EFuseKeyEntries(4)
	b, _ := Encode(ef)
	s, _ := Seal(b)
	f.Add(s)
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse(b)
		if err != nil {
			return
		}
		var es []Entry
		for _, e := range p.Entries {
			es = append(es, Entry{Type: e.Type, Subtype: e.Subtype, Flags: e.Flags, Data: e.Data})
		}
		enc, err := Encode(es)
		if err != nil || !bytes.Equal(enc, b[:p.End()]) {
			t.Fatalf("re-encoding differs: %v", err)
		}
	})
}
