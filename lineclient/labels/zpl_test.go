package labels

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// zplCommand is one ZPL command: its two-letter name and its parameters
// (for ^FD, the field data).
type zplCommand struct {
	name string
	arg  string
}

var zplName = regexp.MustCompile(`^[A-Z][A-Z0-9@]`)

// parseZPL splits a ZPL stream into formats (^XA … ^XZ), checking the syntax
// the printer needs: nothing but whitespace outside commands, every command
// a caret and a known-shape two-character name, every ^FD closed by ^FS, and
// no format left open.
func parseZPL(zpl string) ([][]zplCommand, error) {
	if i := strings.IndexByte(zpl, '^'); i < 0 || strings.TrimSpace(zpl[:i]) != "" {
		return nil, fmt.Errorf("zpl does not start with a command: %.40q", zpl)
	}
	var formats [][]zplCommand
	var cur []zplCommand
	open := false
	for _, part := range strings.Split(zpl, "^")[1:] {
		if !zplName.MatchString(part) {
			return nil, fmt.Errorf("bad command ^%.10q", part)
		}
		c := zplCommand{name: part[:2], arg: strings.TrimRight(part[2:], "\n")}
		if strings.ContainsAny(c.arg, "\n~") {
			return nil, fmt.Errorf("^%s: stray characters after the command: %q", c.name, c.arg)
		}
		if n := len(cur); open && n > 0 && cur[n-1].name == "FD" && c.name != "FS" {
			return nil, fmt.Errorf("^FD%s not closed by ^FS", cur[n-1].arg)
		}
		switch c.name {
		case "XA":
			if open {
				return nil, fmt.Errorf("^XA inside a format")
			}
			open, cur = true, nil
		case "XZ":
			if !open {
				return nil, fmt.Errorf("^XZ without ^XA")
			}
			formats, open = append(formats, cur), false
			continue
		}
		if !open {
			return nil, fmt.Errorf("^%s outside ^XA … ^XZ", c.name)
		}
		cur = append(cur, c)
	}
	if open {
		return nil, fmt.Errorf("format not closed by ^XZ")
	}
	return formats, nil
}

func ints(t *testing.T, s string) []int {
	t.Helper()
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("%q: not a number list", s)
		}
		out = append(out, n)
	}
	return out
}

// TestZPL: one format per label, the label size in dots, the QR code as the
// printer's own ^BQ with the payload, and the manual code, serial and MAC
// as text fields inside the label.
func TestZPL(t *testing.T) {
	ls := testLabels(t, 3)
	for _, dpi := range []int{203, 300} {
		var buf bytes.Buffer
		if err := WriteZPL(&buf, ls, DefaultRollSize, dpi); err != nil {
			t.Fatal(err)
		}
		formats, err := parseZPL(buf.String())
		if err != nil {
			t.Fatalf("%d dpi: %v\n%s", dpi, err, buf.String())
		}
		if len(formats) != len(ls) {
			t.Fatalf("%d dpi: %d formats for %d labels", dpi, len(formats), len(ls))
		}
		wantW, wantH := 2*dpi, dpi
		for i, f := range formats {
			l := ls[i]
			var pw, ll int
			var fields []string
			var qr string
			x, y := -1, -1
			for j, c := range f {
				switch c.name {
				case "PW":
					pw = ints(t, c.arg)[0]
				case "LL":
					ll = ints(t, c.arg)[0]
				case "FO":
					xy := ints(t, c.arg)
					x, y = xy[0], xy[1]
					if x < 0 || y < 0 || x >= wantW || y >= wantH {
						t.Errorf("label %d: field at %d,%d is off the %d × %d label", i, x, y, wantW, wantH)
					}
				case "BQ":
					p := strings.Split(c.arg, ",")
					mag, _ := strconv.Atoi(p[2])
					if len(p) != 4 || p[0] != "N" || p[1] != "2" || mag < 1 || mag > 10 || p[3] != "M" {
						t.Errorf("label %d: ^BQ%s, want ^BQN,2,<1-10>,M", i, c.arg)
					}
					// 25 modules (version 2) at mag dots each stay on the label.
					if x+25*mag > wantW || y+25*mag > wantH {
						t.Errorf("label %d: qr code at %d,%d of %d dots runs off the label", i, x, y, 25*mag)
					}
					if f[j+1].name != "FD" {
						t.Fatalf("label %d: ^BQ not followed by ^FD", i)
					}
					qr = f[j+1].arg
				case "FB":
					w := ints(t, strings.Split(c.arg, ",L")[0])[0]
					if x+w > wantW {
						t.Errorf("label %d: text block %d..%d runs off the %d-dot label", i, x, x+w, wantW)
					}
				case "FD":
					fields = append(fields, c.arg)
				}
			}
			if pw != wantW || ll != wantH {
				t.Errorf("label %d at %d dpi: ^PW%d ^LL%d, want %d × %d", i, dpi, pw, ll, wantW, wantH)
			}
			if qr != "MA,"+l.QRPayload {
				t.Errorf("label %d: qr field data %q, want %q", i, qr, "MA,"+l.QRPayload)
			}
			for _, want := range []string{l.ManualCode, "SN " + l.Serial, "MAC " + l.MAC} {
				found := false
				for _, f := range fields {
					found = found || f == want
				}
				if !found {
					t.Errorf("label %d: no field %q in %q", i, want, fields)
				}
			}
		}
	}
	var buf bytes.Buffer
	if err := WriteZPL(&buf, ls, DefaultRollSize, 250); err == nil {
		t.Error("250 dpi accepted")
	}
	if err := WriteZPL(&buf, nil, DefaultRollSize, 203); err != ErrNoLabels {
		t.Errorf("no labels: %v", err)
	}
	bad := ls[0]
	bad.Serial = "X^XZ^XA"
	if err := WriteZPL(&buf, []Label{bad}, DefaultRollSize, 203); err == nil {
		t.Error("a serial carrying ZPL commands was written")
	}
}

// TestParseZPLCatchesBrokenZPL: the syntax check above can fail.
func TestParseZPLCatchesBrokenZPL(t *testing.T) {
	for _, z := range []string{"^XA^FDx^XZ", "^XA^FO1,1", "junk^XA^XZ", "^XZ", "^XA^XA^XZ", "^XA^fo1,1^XZ"} {
		if _, err := parseZPL(z); err == nil {
			t.Errorf("%q passed the syntax check", z)
		}
	}
}
