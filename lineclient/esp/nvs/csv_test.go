package nvs

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// TestCSVEncodings: every type/encoding pair the generator takes maps to
// the entry it writes (file rows read through the callback).
func TestCSVEncodings(t *testing.T) {
	csv := `key,type,encoding,value
# comment
ns,namespace,,
bin,data,binary,raw text
quoted,data,string,"a, b"
fstr,file,string,s.txt
fhex,file,hex2bin,h.txt
fb64,file,base64,b.txt
fbin,file,binary,x.bin
neg,data,i16, -5
plus,data,u8,+7
`
	files := map[string][]byte{"s.txt": []byte("from file"), "h.txt": []byte("CAFE\n"), "b.txt": []byte("3q2+7w==\n"), "x.bin": {0, 1, 2}}
	rows, err := ReadCSV(strings.NewReader(csv))
	if err != nil {
		t.Fatal(err)
	}
	w, _ := NewWriter(0x3000)
	if err := WriteRows(w, rows, func(p string) ([]byte, error) { return files[p], nil }); err != nil {
		t.Fatal(err)
	}
	out, _ := w.Bytes()
	p, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{Blob("ns", "bin", []byte("raw text")), String("ns", "quoted", "a, b"), String("ns", "fstr", "from file"),
		Blob("ns", "fhex", []byte{0xCA, 0xFE}), Blob("ns", "fb64", []byte{0xDE, 0xAD, 0xBE, 0xEF}), Blob("ns", "fbin", []byte{0, 1, 2}),
		I16("ns", "neg", -5), U8("ns", "plus", 7)}
	if !reflect.DeepEqual(p.Entries, want) {
		t.Fatalf("entries\n%v\nwant\n%v", p.Entries, want)
	}
	if rows[1].Line != 4 {
		t.Errorf("line numbers skip comments: row 1 is line %d", rows[1].Line)
	}
}

func TestCSVRefuses(t *testing.T) {
	cases := []struct{ rule, csv, want string }{
		{"no header", "", "empty file"},
		{"header without value", "key,type,encoding\nns,namespace,\n", `no "value" column`},
		{"unknown type", "key,type,encoding,value\nns,namespace,,\nk,blob,u8,1\n", `type "blob" is not namespace, data or file`},
		{"unknown encoding", "key,type,encoding,value\nns,namespace,,\nk,data,float,1\n", `encoding "float"`},
		{"blob_fill", "key,type,encoding,value\nns,namespace,,\nk,data,blob_fill(4;0xff),\n", `encoding "blob_fill(4;0xff)"`},
		{"i8 too small", "key,type,encoding,value\nns,namespace,,\nk,data,i8,-129\n", `"-129" is not a i8 (-128..127)`},
		{"u64 negative", "key,type,encoding,value\nns,namespace,,\nk,data,u64,-1\n", `"-1" is not a u64`},
		{"hex not hex", "key,type,encoding,value\nns,namespace,,\nk,data,hex2bin,zz\n", "hex2bin value"},
		{"bad base64", "key,type,encoding,value\nns,namespace,,\nk,data,base64,@@@\n", "base64 value"},
		{"long key", "key,type,encoding,value\nns,namespace,,\nkey-longer-than-15,data,u8,1\n", "at most 15"},
		{"file without name", "key,type,encoding,value\nns,namespace,,\nk,file,binary,\n", "names no file"},
		{"string not utf-8", "key,type,encoding,value\nns,namespace,,\nk,file,string,f\n", "not utf-8"},
	}
	for _, c := range cases {
		rows, err := ReadCSV(strings.NewReader(c.csv))
		if err == nil {
			w, _ := NewWriter(0x3000)
			err = WriteRows(w, rows, func(string) ([]byte, error) { return []byte{0xFF, 0xFE}, nil })
		}
		if err == nil || !strings.Contains(err.Error(), c.want) || !(errors.Is(err, ErrCSV) || errors.Is(err, ErrFormat)) {
			t.Errorf("%s: got %v, want %q", c.rule, err, c.want)
		}
	}
}
