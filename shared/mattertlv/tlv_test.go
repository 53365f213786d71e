package mattertlv

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// Encodings from Matter Core Appendix A.12 (TLV examples) and the SDK's
// shortest-width rule.
func TestWriterMatchesSpecExamples(t *testing.T) {
	cases := []struct {
		name  string
		write func(w *Writer)
		want  string
	}{
		{"signed 1-octet 42", func(w *Writer) { w.Int(Anonymous, 42) }, "002a"},
		{"signed 1-octet -17", func(w *Writer) { w.Int(Anonymous, -17) }, "00ef"},
		{"signed 2-octet 2000", func(w *Writer) { w.Int(Anonymous, 2000) }, "01d007"},
		{"signed 4-octet -170000", func(w *Writer) { w.Int(Anonymous, -170000) }, "02f067fdff"},
		{"signed 8-octet 40000000000", func(w *Writer) { w.Int(Anonymous, 40000000000) }, "0300902f5009000000"},
		{"unsigned 1-octet 42", func(w *Writer) { w.Uint(Anonymous, 42) }, "042a"},
		{"unsigned 2-octet 0xFFF1", func(w *Writer) { w.Uint(Anonymous, 0xFFF1) }, "05f1ff"},
		{"unsigned 8-octet 2^32", func(w *Writer) { w.Uint(Anonymous, 1<<32) }, "070000000001000000"},
		{"utf8 Hello!", func(w *Writer) { w.UTF8(Anonymous, "Hello!") }, "0c0648656c6c6f21"},
		{"octets 0..4", func(w *Writer) { w.OctetString(Anonymous, []byte{0, 1, 2, 3, 4}) }, "10050001020304"},
		{"empty structure", func(w *Writer) { w.StartStructure(Anonymous); w.End() }, "1518"},
		{"empty array", func(w *Writer) { w.StartArray(Anonymous); w.End() }, "1618"},
		{"context tag 1 uint 1 in structure", func(w *Writer) { w.StartStructure(Anonymous); w.Uint(Context(1), 1); w.End() }, "1524010118"},
		{"300-byte octet string uses a 2-byte length", func(w *Writer) { w.OctetString(Context(2), bytes.Repeat([]byte{0xAA}, 300)) }, "31022c01" + strings.Repeat("aa", 300)},
	}
	for _, c := range cases {
		var w Writer
		c.write(&w)
		if got := hex.EncodeToString(w.Bytes()); got != c.want {
			t.Errorf("%s: wrote %s, want %s", c.name, got, c.want)
		}
	}
}

func TestReaderRoundTrip(t *testing.T) {
	var w Writer
	w.StartStructure(Anonymous)
	w.Uint(Context(0), 1)
	w.Int(Context(1), -170000)
	w.UTF8(Context(2), "ZIG20142ZB330003-24")
	w.StartArray(Context(3))
	w.OctetString(Anonymous, []byte{1, 2, 3})
	w.End()
	w.End()
	r := NewReader(w.Bytes())
	want := []struct {
		tag  Tag
		typ  Type
		u    uint64
		i    int64
		data string
	}{
		{Anonymous, TypeStructure, 0, 0, ""},
		{Context(0), TypeUnsigned1, 1, 0, ""},
		{Context(1), TypeSigned1 + 2, 0, -170000, ""},
		{Context(2), TypeUTF8Len1, 0, 0, "ZIG20142ZB330003-24"},
		{Context(3), TypeArray, 0, 0, ""},
		{Anonymous, TypeBytesLen1, 0, 0, "\x01\x02\x03"},
		{Anonymous, TypeEndOfContainer, 0, 0, ""},
		{Anonymous, TypeEndOfContainer, 0, 0, ""},
	}
	for i, wnt := range want {
		e, err := r.Next()
		if err != nil {
			t.Fatalf("element %d: %v", i, err)
		}
		if e.Tag != wnt.tag || e.Type != wnt.typ || e.Uint != wnt.u || e.Int != wnt.i || string(e.Data) != wnt.data {
			t.Fatalf("element %d: got %+v, want %+v", i, e, wnt)
		}
	}
	if r.Len() != 0 || r.Offset() != len(w.Bytes()) {
		t.Fatalf("reader left %d bytes, offset %d of %d", r.Len(), r.Offset(), len(w.Bytes()))
	}
	if _, err := r.Next(); !errors.Is(err, ErrTruncated) {
		t.Fatalf("reading past the end: %v, want ErrTruncated", err)
	}
}

func TestReaderRefusals(t *testing.T) {
	cases := []struct {
		name, in, want string
		truncated      bool
	}{
		{"empty", "", "truncated", true},
		{"context tag missing", "24", "truncated", true},
		{"integer short", "060102", "truncated", true},
		{"length short", "0d01", "truncated", true},
		{"string past end", "0c0561", "runs past the end", true},
		{"8-byte length past end", "0fffffffffffffffff", "runs past the end", true},
		{"bad utf8", "0c01ff", "not valid UTF-8", false},
		{"boolean", "08", "unsupported TLV type 0x08", false},
		{"null", "14", "unsupported TLV type 0x14", false},
		{"float", "0a00000000", "unsupported TLV type 0x0A", false},
		{"profile tag", "4400", "unsupported tag control 0x40", false},
		{"tagged end", "3801", "end-of-container with a tag", false},
	}
	for _, c := range cases {
		in, _ := hex.DecodeString(c.in)
		_, err := NewReader(in).Next()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
			continue
		}
		if errors.Is(err, ErrTruncated) != c.truncated {
			t.Errorf("%s: errors.Is(ErrTruncated) = %v, want %v", c.name, !c.truncated, c.truncated)
		}
	}
}

// FuzzReader: never panics, never reads past its input, and every scalar it
// accepts re-encodes (shortest width) to an encoding that reads back the same.
func FuzzReader(f *testing.F) {
	for _, s := range []string{"1524010118", "0c0648656c6c6f21", "02f067fdff", "31022c01aa", "0fffffffffffffffff"} {
		b, _ := hex.DecodeString(s)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewReader(in)
		for i := 0; i < len(in)+1; i++ {
			before := r.Len()
			e, err := r.Next()
			if err != nil {
				return
			}
			if r.Len() >= before || r.Offset()+r.Len() != len(in) {
				t.Fatalf("reader did not advance correctly: %d → %d of %d", before, r.Len(), len(in))
			}
			var w Writer
			switch {
			case e.IsUint():
				w.Uint(e.Tag, e.Uint)
			case e.IsInt():
				w.Int(e.Tag, e.Int)
			case e.IsUTF8():
				w.UTF8(e.Tag, string(e.Data))
			case e.IsOctetString():
				w.OctetString(e.Tag, e.Data)
			default:
				continue
			}
			back, err := NewReader(w.Bytes()).Next()
			if err != nil || back.Tag != e.Tag || back.Uint != e.Uint || back.Int != e.Int || !bytes.Equal(back.Data, e.Data) {
				t.Fatalf("re-encoding %+v gave %+v (%v)", e, back, err)
			}
		}
	})
}
