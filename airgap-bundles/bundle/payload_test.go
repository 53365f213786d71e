package bundle

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestLineRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w := NewLineWriter(&buf, DACFile, MaxDACLine)
	in := []DACLine{
		{ID: "24:0a:c4:00:00:01", Index: 0, SPKISHA256: strings.Repeat("ab", 32), DAC: []byte{0x30, 0x82}, VID: "FFF1", PID: "8000", Serial: "0A1B", LogIndex: 7, TLogProof: "c2sp.org/tlog-proof@v1\nindex 7\n"},
		{ID: "<&>", Index: 2, DAC: []byte{1}},
	}
	for _, l := range in {
		if err := w.Write(l); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if w.Lines() != 2 || bytes.Count(buf.Bytes(), []byte("\n")) != 2 {
		t.Fatalf("%d lines written: %q", w.Lines(), buf.String())
	}
	r := NewLineReader(&buf, DACFile, MaxDACLine)
	for i, want := range in {
		var got DACLine
		if err := r.Next(&got); err != nil {
			t.Fatal(err)
		}
		if r.Line() != i+1 || got.ID != want.ID || got.Index != want.Index || !bytes.Equal(got.DAC, want.DAC) ||
			got.TLogProof != want.TLogProof || got.LogIndex != want.LogIndex || got.Serial != want.Serial {
			t.Fatalf("line %d: got %+v, want %+v", r.Line(), got, want)
		}
	}
	var l DACLine
	if err := r.Next(&l); err != io.EOF {
		t.Fatalf("after the last line: %v, want io.EOF", err)
	}
}

// TestLineFieldNames pins the JSON field names of the three line types: they
// are the contract between appliance and station (FORMAT.md §8).
func TestLineFieldNames(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want string
	}{
		{CSRLine{ID: "m", CSR: []byte{0x30}}, `{"id":"m","csr":"MA=="}`},
		{CSRLine{ID: "m", CSR: []byte{0x30}, VID: "FFF1", PID: "8001"}, `{"id":"m","csr":"MA==","vid":"FFF1","pid":"8001"}`},
		{DACLine{ID: "m", Index: 1, SPKISHA256: "00", DAC: []byte{0x30}, VID: "FFF1", PID: "8000", Serial: "01", LogIndex: 9, TLogProof: "p"},
			`{"id":"m","index":1,"spki_sha256":"00","dac":"MA==","vid":"FFF1","pid":"8000","serial":"01","log_index":9,"tlog_proof":"p"}`},
		{RefusalLine{ID: "m", Index: 3, Reason: "vid-pid-not-allowed", Detail: "d", LogIndex: 4},
			`{"id":"m","index":3,"reason":"vid-pid-not-allowed","detail":"d","log_index":4}`},
	} {
		var buf bytes.Buffer
		w := NewLineWriter(&buf, "x.jsonl", 4096)
		if err := w.Write(tc.v); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		if got := buf.String(); got != tc.want+"\n" {
			t.Errorf("got %s want %s", got, tc.want)
		}
	}
}

func TestLineReaderRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		line     int
		want     string
	}{
		{"unknown field", `{"id":"a","csr":"MAA="}` + "\n" + `{"id":"a","csr":"MAA=","subject":"x"}` + "\n", 2, `unknown field "subject"`},
		{"trailing data", `{"id":"a","csr":"MAA="} {}` + "\n", 1, "trailing data"},
		{"two objects", `{"id":"a","csr":"MAA="}{"id":"b"}` + "\n", 1, "trailing data"},
		{"bad base64", `{"id":"a","csr":"!!"}` + "\n", 1, "illegal base64"},
		{"no final newline", `{"id":"a","csr":"MAA="}`, 1, "does not end with a newline"},
		{"long line", `{"id":"` + strings.Repeat("x", 5000) + `","csr":"MAA="}` + "\n", 1, "longer than 4096"},
		{"long line without newline", strings.Repeat("x", 10000), 1, "longer than 4096"},
		{"line of max+1 bytes", `{"id":"` + strings.Repeat("x", 4096-9) + `"}` + "\n", 1, "longer than 4096"},
		{"not json", "hello\n", 1, "invalid character"},
		{"empty line", "\n", 1, "no JSON object"},
		{"blank line", "  \n", 1, "no JSON object"},
		{"truncated object", "{\"id\":\n", 1, "unexpected EOF"},
		{"array", "[]\n", 1, "cannot unmarshal array"},
		{"wrong type", `{"id":1}` + "\n", 1, "cannot unmarshal number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewLineReader(strings.NewReader(tc.in), CSRFile, MaxCSRLine)
			var err error
			for err == nil {
				var l CSRLine
				err = r.Next(&l)
			}
			var le *LineError
			if !errors.Is(err, ErrPayloadLine) || !errors.As(err, &le) || le.Line != tc.line || le.File != CSRFile || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want ErrPayloadLine at %s line %d containing %q", err, CSRFile, tc.line, tc.want)
			}
			var l CSRLine
			if again := r.Next(&l); again != err {
				t.Fatalf("error is not sticky: %v then %v", err, again)
			}
		})
	}
	// A line of exactly max bytes is accepted.
	in := `{"id":"` + strings.Repeat("x", 4096-10) + `"}` + "\n"
	if len(in) != MaxCSRLine {
		t.Fatalf("test line is %d bytes", len(in))
	}
	var l CSRLine
	if err := NewLineReader(strings.NewReader(in), CSRFile, MaxCSRLine).Next(&l); err != nil {
		t.Fatalf("line of exactly %d bytes: %v", MaxCSRLine, err)
	}
}

func TestLineWriterRefusesLongLine(t *testing.T) {
	var buf bytes.Buffer
	w := NewLineWriter(&buf, CSRFile, MaxCSRLine)
	err := w.Write(CSRLine{ID: "m", CSR: make([]byte, 4096)})
	if !errors.Is(err, ErrPayloadLine) || !strings.Contains(err.Error(), "csrs.jsonl line 1") {
		t.Fatalf("got %v", err)
	}
	if err := w.Write(CSRLine{ID: "m", CSR: []byte{1}}); err != nil || w.Lines() != 1 {
		t.Fatalf("after a refused line: %v, %d lines", err, w.Lines())
	}
	w.Flush()
	if strings.Count(buf.String(), "\n") != 1 {
		t.Fatalf("refused line was written: %q", buf.String())
	}
}

// FuzzLineReader: the reader never panics, never returns a line longer than
// the limit, and whatever it accepts re-encodes to a line the reader accepts.
func FuzzLineReader(f *testing.F) {
	f.Add([]byte(`{"id":"a","csr":"MAA="}` + "\n"))
	f.Add([]byte(`{"id":"b","csr":"MAA=","vid":"FFF1","pid":"8001"}` + "\n" + `{"id":"c","csr":""}` + "\n"))
	f.Add([]byte(`{"id":"a","csr":"MAA="} {}` + "\n"))
	f.Add([]byte("\n\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewLineReader(bytes.NewReader(in), CSRFile, 256)
		for {
			var l CSRLine
			err := r.Next(&l)
			if err == io.EOF {
				return
			}
			if err != nil {
				if !errors.Is(err, ErrPayloadLine) {
					t.Fatalf("not a LineError: %v", err)
				}
				return
			}
			var buf bytes.Buffer
			w := NewLineWriter(&buf, CSRFile, 1<<20)
			if err := w.Write(l); err != nil {
				t.Fatal(err)
			}
			w.Flush()
			var back CSRLine
			if err := NewLineReader(&buf, CSRFile, 1<<20).Next(&back); err != nil || back.ID != l.ID || !bytes.Equal(back.CSR, l.CSR) || back.VID != l.VID || back.PID != l.PID {
				t.Fatalf("re-encoded line does not read back: %v %+v %+v", err, l, back)
			}
		}
	})
}

// TestFormatExamples decodes every example line of FORMAT.md §8.2–8.3: the
// spec's examples have exactly the fields of the line types, and those not
// shortened with "…" pass the strict reader.
func TestFormatExamples(t *testing.T) {
	doc, err := os.ReadFile("../FORMAT.md")
	if err != nil {
		t.Fatal(err)
	}
	sec := string(doc)
	sec = sec[strings.Index(sec, "### 8.2 csr-batch"):strings.Index(sec, "### 8.4 log-export")]
	seen := map[string]int{}
	for _, line := range strings.Split(sec, "\n") {
		if !strings.HasPrefix(line, `{"id":`) {
			continue
		}
		var v any
		var typ string
		switch {
		case strings.Contains(line, `"tlog_proof"`):
			v, typ = &DACLine{}, DACFile
		case strings.Contains(line, `"reason"`):
			v, typ = &RefusalLine{}, RefusalFile
		default:
			v, typ = &CSRLine{}, CSRFile
		}
		seen[typ]++
		var fields map[string]json.RawMessage
		if err := json.Unmarshal([]byte(line), &fields); err != nil {
			t.Fatalf("%s example: %v\n%s", typ, err, line)
		}
		want := jsonFields(reflect.TypeOf(v).Elem())
		for k := range fields {
			if _, ok := want[k]; !ok {
				t.Errorf("%s example has field %q the format does not define", typ, k)
			}
		}
		for k, optional := range want {
			if _, ok := fields[k]; !ok && !optional {
				t.Errorf("%s example lacks field %q", typ, k)
			}
		}
		if !strings.Contains(line, "…") {
			if err := NewLineReader(strings.NewReader(line+"\n"), typ, 8192).Next(v); err != nil {
				t.Errorf("%s example: %v", typ, err)
			}
		}
	}
	if seen[CSRFile] == 0 || seen[DACFile] == 0 || seen[RefusalFile] == 0 {
		t.Fatalf("examples found: %v", seen)
	}
}

// jsonFields maps the JSON names of a struct's fields to whether they are omitempty.
func jsonFields(t reflect.Type) map[string]bool {
	out := map[string]bool{}
	for i := 0; i < t.NumField(); i++ {
		name, opts, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		out[name] = strings.Contains(opts, "omitempty")
	}
	return out
}
