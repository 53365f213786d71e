package nvs

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func golden(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func fromCSV(t testing.TB, name string) ([]byte, error) {
	t.Helper()
	rows, err := ReadCSV(bytes.NewReader(golden(t, name)))
	if err != nil {
		return nil, err
	}
	w, err := NewWriter(0x6000)
	if err != nil {
		return nil, err
	}
	if err := WriteRows(w, rows, func(p string) ([]byte, error) { return os.ReadFile(filepath.Join("testdata", p)) }); err != nil {
		return nil, err
	}
	return w.Bytes()
}

// firstDiff names the first differing byte for a readable failure.
func firstDiff(a, b []byte) string {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return fmt.Sprintf("offset 0x%x (page %d, byte %d of the page)", i, i/PageSize, i%PageSize)
		}
	}
	return fmt.Sprintf("length %d vs %d", len(a), len(b))
}

// The documented contents of the golden vectors (testdata/README.md).
func matterFactory(t testing.TB) []Entry {
	const ns = "chip-factory"
	return []Entry{
		U32(ns, "discriminator", 3840), U32(ns, "iteration-count", 10000),
		String(ns, "salt", "t7aIc5jEeyXu0FqhTEt1cRl5hZk2gcUTNbXHZ8gjHvI="),
		String(ns, "verifier", "on3vXb3AwmXiDAc+ogTy0PpyH86QMKk/+/BBtsN65k8Enec4Y9V85xcXtHNhmZoG2E+/iFi0OprBJ/mwkuHwaVBZGTthz+vguczP/aXyDmtIVclctItrNcm5Z4feY0+orA=="),
		String(ns, "serial-num", "0123456789ABCDEF"), U32(ns, "vendor-id", 65521), U32(ns, "product-id", 32768),
		U32(ns, "hardware-ver", 1), String(ns, "hw-ver-str", "1.0"),
		String(ns, "vendor-name", "dacline test vendor"), String(ns, "product-name", "dacline test product"),
		String(ns, "mfg-date", "2026-12-08"),
		Blob(ns, "rd-id-uid", []byte{0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF}),
		Blob(ns, "dac-cert", golden(t, "dac.der")), Blob(ns, "pai-cert", golden(t, "pai.der")),
		Blob(ns, "cert-dclrn", golden(t, "cd.der")),
	}
}

func multipageBlob(t testing.TB) []Entry {
	const ns = "storage"
	return []Entry{
		U8(ns, "u8key", 255), I8(ns, "i8key", -128), U16(ns, "u16key", 65535), I16(ns, "i16key", -32768),
		U32(ns, "u32key", math.MaxUint32), I32(ns, "i32key", math.MinInt32),
		U64(ns, "u64key", math.MaxUint64), I64(ns, "i64key", math.MinInt64),
		String(ns, "strkey", "a string that is longer than thirty-two bytes so it spans entries"),
		Blob(ns, "base64key", []byte{0xDE, 0xAD, 0xBE, 0xEF}), Blob(ns, "hexkey", []byte{0xDE, 0xAD, 0xBE, 0xEF}),
		Blob(ns, "bigblob", golden(t, "big-blob.bin")),
		U8("other", "k", 1),
	}
}

func TestGoldenCSVWritesSameBytes(t *testing.T) {
	for _, name := range []string{"matter-factory", "multipage-blob"} {
		got, err := fromCSV(t, name+".csv")
		if err != nil {
			t.Fatal(err)
		}
		if want := golden(t, name+".bin"); !bytes.Equal(got, want) {
			t.Errorf("%s: written bytes differ from Espressif's generator at %s", name, firstDiff(got, want))
		}
	}
}

func TestGoldenReadsBackAndEncodesSame(t *testing.T) {
	for name, want := range map[string][]Entry{"matter-factory": matterFactory(t), "multipage-blob": multipageBlob(t)} {
		bin := golden(t, name+".bin")
		p, err := Parse(bin)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(p.Entries, want) {
			t.Errorf("%s: read\n%v\nwant\n%v", name, p.Entries, want)
		}
		enc, err := Encode(0x6000, want)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(enc, bin) {
			t.Errorf("%s: Encode differs from the golden vector at %s", name, firstDiff(enc, bin))
		}
	}
	p, _ := Parse(golden(t, "multipage-blob.bin"))
	if p.Namespaces["storage"] != 1 || p.Namespaces["other"] != 2 {
		t.Errorf("namespaces %v", p.Namespaces)
	}
	chunks := 0
	for _, it := range p.Items {
		if it.Type == TypeBlobData && it.Key == "bigblob" {
			chunks++
		}
	}
	if chunks < 2 {
		t.Errorf("bigblob in %d chunks, want it to span pages", chunks)
	}
}

// TestWriterPageBoundaries fills pages with every kind of entry in many
// sizes and reads each partition back: the reader and writer agree at every
// page boundary (strings moved to a fresh page, blobs split, empty chunks).
func TestWriterPageBoundaries(t *testing.T) {
	for fill := 0; fill < 130; fill += 3 {
		for _, size := range []int{0, 1, 31, 32, 33, 200, 4000, 4100, 9000} {
			var es []Entry
			for i := range fill {
				es = append(es, U16("a", fmt.Sprintf("k%d", i), uint16(i)))
			}
			es = append(es, Blob("a", "blob", bytes.Repeat([]byte{byte(size)}, size)),
				String("b", "s", strings.Repeat("x", min(size, MaxStringLen))), I64("b", "last", -1))
			bin, err := Encode(0x8000, es)
			if err != nil {
				t.Fatalf("fill %d size %d: %v", fill, size, err)
			}
			p, err := Parse(bin)
			if err != nil {
				t.Fatalf("fill %d size %d: read back: %v", fill, size, err)
			}
			for i := range es {
				if es[i].Data == nil && (es[i].Type == TypeBlob || es[i].Type == TypeString) {
					es[i].Data = []byte{}
				}
			}
			if !reflect.DeepEqual(p.Entries, es) {
				t.Fatalf("fill %d size %d: entries differ:\n%+v\n%+v", fill, size, p.Entries, es)
			}
		}
	}
}

func TestWriterRefuses(t *testing.T) {
	cases := []struct {
		rule string
		size int
		es   []Entry
		want string
	}{
		{"size not pages", 0x6001, nil, "not a positive multiple"},
		{"size below 0x3000", 0x2000, nil, "below 0x3000"},
		{"too small", 0x3000, []Entry{Blob("n", "b", make([]byte, 9000))}, "too small"},
		{"long key", 0x3000, []Entry{U8("n", "0123456789abcdef", 1)}, "at most 15"},
		{"empty key", 0x3000, []Entry{U8("n", "", 1)}, "empty key"},
		{"long namespace", 0x3000, []Entry{U8("0123456789abcdef", "k", 1)}, "at most 15"},
		{"string with NUL", 0x3000, []Entry{String("n", "s", "a\x00b")}, "contains NUL"},
		{"string too long", 0x3000, []Entry{String("n", "s", strings.Repeat("x", MaxStringLen+1))}, "fit a page"},
		{"namespace revisited", 0x3000, []Entry{U8("a", "k", 1), U8("b", "k", 1), U8("a", "j", 1)}, "used again"},
		{"duplicate key", 0x3000, []Entry{U8("a", "k", 1), String("a", "k", "x")}, `key "k" appears twice in namespace "a"`},
		{"blob-v1 type", 0x3000, []Entry{{Namespace: "n", Key: "k", Type: TypeBlobV1}}, "cannot write"},
	}
	for _, c := range cases {
		_, err := Encode(c.size, c.es)
		if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.rule, err, c.want)
		}
	}
}
