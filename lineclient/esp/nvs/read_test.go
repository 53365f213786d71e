package nvs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

// locate returns the partition offset of the first item with key and type.
func locate(t *testing.T, bin []byte, key string, typ Type) int {
	t.Helper()
	p, err := Parse(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range p.Items {
		if it.Key == key && it.Type == typ {
			return it.Offset
		}
	}
	t.Fatalf("no %s %q", typ, key)
	return 0
}

func TestReaderRefuses(t *testing.T) {
	base := golden(t, "multipage-blob.bin")
	reseal := func(b []byte, off int) { binary.LittleEndian.PutUint32(b[off+4:], entryCRC(b[off:off+32])) }
	cases := []struct {
		rule   string
		mutate func(b []byte) []byte
		want   string
	}{
		{"truncated page", func(b []byte) []byte { return b[:len(b)-100] }, "not a multiple of 4096"},
		{"empty", func(b []byte) []byte { return nil }, "not a multiple"},
		{"page header crc", func(b []byte) []byte { b[12] ^= 1; return b }, "page 0 (offset 0x0): header crc"},
		{"page version 1", func(b []byte) []byte {
			b[8] = 0xFF
			binary.LittleEndian.PutUint32(b[28:], crc(b[4:28]))
			return b
		}, "version 0xff"},
		{"bad page state", func(b []byte) []byte { binary.LittleEndian.PutUint32(b, 0x12345678); return b }, "page state 0x12345678"},
		{"empty page with data", func(b []byte) []byte { b[3*PageSize+100] = 0; return b }, "page 3 (offset 0x3000): state empty but"},
		{"duplicate sequence", func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[PageSize+4:], 0)
			binary.LittleEndian.PutUint32(b[PageSize+28:], crc(b[PageSize+4:PageSize+28]))
			return b
		}, "both have sequence number 0"},
		{"entry crc", func(b []byte) []byte { b[locate(t, b, "u16key", TypeU16)+24] ^= 1; return b }, `key "u16key": entry crc`},
		{"string data crc", func(b []byte) []byte { b[locate(t, b, "strkey", TypeString)+40] ^= 1; return b }, `key "strkey": data crc`},
		{"span past page", func(b []byte) []byte {
			off := locate(t, b, "u8key", TypeU8)
			b[off+2] = 200
			reseal(b, off)
			return b
		}, "span 200 runs past the page"},
		{"blob chunk size disagrees with index", func(b []byte) []byte {
			off := locate(t, b, "bigblob", TypeBlobIndex)
			binary.LittleEndian.PutUint32(b[off+24:], 5999)
			reseal(b, off)
			return b
		}, `blob "bigblob" in namespace "storage": chunks hold 6000 bytes, its index says 5999`},
		{"blob index names a missing chunk", func(b []byte) []byte {
			off := locate(t, b, "bigblob", TypeBlobIndex)
			b[off+28]++
			reseal(b, off)
			return b
		}, "is missing"},
		{"blob chunk without index", func(b []byte) []byte {
			off := locate(t, b, "bigblob", TypeBlobIndex)
			b[PageSize*(off/PageSize)+bitmapOffset+(off%PageSize-firstEntry)/EntrySize/4] &^= 3 << (2 * (((off%PageSize - firstEntry) / EntrySize) % 4))
			return b
		}, "has no blob index"},
		{"duplicate key", func(b []byte) []byte {
			off := locate(t, b, "u16key", TypeU16)
			copy(b[off+8:off+24], append([]byte("u8key"), make([]byte, 11)...))
			reseal(b, off)
			return b
		}, `key "u8key" in namespace "storage" appears twice`},
		{"undefined namespace", func(b []byte) []byte {
			off := locate(t, b, "u16key", TypeU16)
			b[off] = 9
			reseal(b, off)
			return b
		}, "namespace index 9 is not defined"},
		{"bitmap state 01", func(b []byte) []byte { b[bitmapOffset] = 0xA9; return b }, "entry state 01"},
	}
	for _, c := range cases {
		b := c.mutate(bytes.Clone(base))
		_, err := Parse(b)
		if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.rule, err, c.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(golden(f, "multipage-blob.bin"))
	f.Add(golden(f, "matter-factory.bin")[:2*PageSize])
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse(b)
		if err != nil {
			return
		}
		// Whatever parses re-encodes and parses to the same entries.
		if len(p.Entries) == 0 {
			return
		}
		size := max(len(b), 3*PageSize)
		enc, err := Encode(size, p.Entries)
		if err != nil {
			return // e.g. namespaces interleaved: the generator cannot write that order
		}
		q, err := Parse(enc)
		if err != nil {
			t.Fatalf("re-encoded partition does not parse: %v", err)
		}
		if len(q.Entries) != len(p.Entries) {
			t.Fatalf("re-encoded %d entries, read %d", len(p.Entries), len(q.Entries))
		}
	})
}

func FuzzReadCSV(f *testing.F) {
	f.Add(golden(f, "multipage-blob.csv"))
	f.Add([]byte("key,type,encoding,value\nns,namespace,,\nk,data,i8,-129\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		rows, err := ReadCSV(bytes.NewReader(b))
		if err != nil {
			return
		}
		w, _ := NewWriter(0x4000)
		if WriteRows(w, rows, func(string) ([]byte, error) { return []byte("file"), nil }) != nil {
			return
		}
		out, err := w.Bytes()
		if err != nil {
			return
		}
		if _, err := Parse(out); err != nil {
			t.Fatalf("written partition does not parse: %v", err)
		}
	})
}

func BenchmarkParseFactory(b *testing.B) {
	bin := golden(b, "matter-factory.bin")
	for b.Loop() {
		if _, err := Parse(bin); err != nil {
			b.Fatal(err)
		}
	}
}
