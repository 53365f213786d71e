package nvs

import (
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Row is one line of the generator's CSV: key,type,encoding,value.
type Row struct {
	Line     int // 1-based line in the file
	Key      string
	Type     string // namespace, data or file
	Encoding string // u8 … i64, string, hex2bin, base64, binary
	Value    string // the value, or the file path of a file row
}

// ErrCSV reports a CSV the generator would refuse or misread.
var ErrCSV = errors.New("nvs csv")

// ReadCSV parses the generator's CSV: a header naming the columns key,
// type, encoding and value, then one row per namespace or entry. Lines that
// start with '#' are comments, as in nvs_partition_gen.py.
func ReadCSV(r io.Reader) ([]Row, error) {
	text, err := io.ReadAll(io.LimitReader(r, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCSV, err)
	}
	if !utf8.Valid(text) {
		return nil, fmt.Errorf("%w: not utf-8", ErrCSV)
	}
	// Drop comment lines but keep line numbers for messages.
	var kept strings.Builder
	var lineOf []int
	for i, line := range strings.SplitAfter(string(text), "\n") {
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		kept.WriteString(line)
		lineOf = append(lineOf, i+1)
	}
	cr := csv.NewReader(strings.NewReader(kept.String()))
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	records, err := cr.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCSV, err)
	}
	if len(records) == 0 {
		return nil, fmt.Errorf("%w: empty file (want a header key,type,encoding,value)", ErrCSV)
	}
	col := map[string]int{}
	for i, name := range records[0] {
		col[name] = i
	}
	for _, name := range []string{"key", "type", "encoding", "value"} {
		if _, ok := col[name]; !ok {
			return nil, fmt.Errorf("%w: line %d: header has no %q column", ErrCSV, lineOf[0], name)
		}
	}
	var rows []Row
	for i, rec := range records[1:] {
		line := i + 2
		if i+1 < len(lineOf) {
			line = lineOf[i+1]
		}
		get := func(name string) (string, error) {
			if c := col[name]; c < len(rec) {
				return rec[c], nil
			}
			return "", fmt.Errorf("%w: line %d: no %s column", ErrCSV, line, name)
		}
		row := Row{Line: line}
		for _, f := range []struct {
			name string
			dst  *string
		}{{"key", &row.Key}, {"type", &row.Type}, {"encoding", &row.Encoding}, {"value", &row.Value}} {
			v, err := get(f.name)
			if err != nil && f.name != "encoding" && f.name != "value" {
				return nil, err
			}
			*f.dst = v
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// WriteRows writes rows into w, reading file rows through readFile (paths
// as written in the CSV; the caller decides what they are relative to).
func WriteRows(w *Writer, rows []Row, readFile func(path string) ([]byte, error)) error {
	for _, r := range rows {
		if err := writeRow(w, r, readFile); err != nil {
			return err
		}
	}
	return w.Err()
}

func writeRow(w *Writer, r Row, readFile func(string) ([]byte, error)) error {
	at := func(format string, args ...any) error {
		return fmt.Errorf("%w: line %d (key %q): %s", ErrCSV, r.Line, r.Key, fmt.Sprintf(format, args...))
	}
	if len(r.Key) > maxKeyLen {
		return at("key is %d bytes, at most %d", len(r.Key), maxKeyLen)
	}
	var value []byte
	switch r.Type {
	case "namespace":
		if err := w.Namespace(r.Key); err != nil {
			return at("%v", err)
		}
		return nil
	case "data":
		value = []byte(r.Value)
	case "file":
		if r.Value == "" {
			return at("file row names no file")
		}
		b, err := readFile(r.Value)
		if err != nil {
			return at("%v", err)
		}
		value = b
	default:
		return at("type %q is not namespace, data or file", r.Type)
	}
	e := Entry{Key: r.Key}
	switch r.Encoding {
	case "u8", "i8", "u16", "i16", "u32", "i32", "u64", "i64":
		t := map[string]Type{"u8": TypeU8, "i8": TypeI8, "u16": TypeU16, "i16": TypeI16,
			"u32": TypeU32, "i32": TypeI32, "u64": TypeU64, "i64": TypeI64}[r.Encoding]
		e.Type = t
		s := strings.TrimSpace(string(value))
		bits := t.intSize() * 8
		if t.Signed() {
			v, err := strconv.ParseInt(s, 10, bits)
			if err != nil {
				return at("%q is not a %s (%d..%d)", s, r.Encoding, int64(-1)<<(bits-1), int64(math.MaxInt64>>(64-bits)))
			}
			e.Int = v
		} else {
			v, err := strconv.ParseUint(strings.TrimPrefix(s, "+"), 10, bits)
			if err != nil {
				return at("%q is not a %s (0..%d)", s, r.Encoding, uint64(math.MaxUint64>>(64-bits)))
			}
			e.Uint = v
		}
	case "string":
		if !utf8.Valid(value) {
			return at("string is not utf-8")
		}
		e.Type, e.Data = TypeString, value
	case "hex2bin":
		b, err := hex.DecodeString(strings.TrimSpace(string(value)))
		if err != nil {
			return at("hex2bin value: %v (want an even number of hex digits)", err)
		}
		e.Type, e.Data = TypeBlob, b
	case "base64":
		s := strings.Map(func(r rune) rune {
			if r == '\n' || r == '\r' || r == ' ' || r == '\t' {
				return -1
			}
			return r
		}, string(value))
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return at("base64 value: %v", err)
		}
		e.Type, e.Data = TypeBlob, b
	case "binary":
		e.Type, e.Data = TypeBlob, value
	default:
		return at("encoding %q is not one of u8 i8 u16 i16 u32 i32 u64 i64 string hex2bin base64 binary", r.Encoding)
	}
	if err := w.Put(e); err != nil {
		return at("%v", err)
	}
	return nil
}
