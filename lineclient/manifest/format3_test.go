package manifest

import (
	"path/filepath"

	"bytes"
	"encoding/json"
	"github.com/dacline/dacline/lineclient/station"
	"strings"
	"testing"
)

// TestReadsEveryFormat: the 12-column first format, the 14-column second
// (status, reason), the third (flashing columns) and the current one
// (station) are all read; an
// in-progress row must name a state between dac-received and locked, and a
// station column a station name.
func TestReadsEveryFormat(t *testing.T) {
	s := mixedStore(t)
	var buf bytes.Buffer
	if _, err := WriteCSV(&buf, s, Options{Station: "line-1"}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	cut := func(n int) string {
		var b strings.Builder
		for i, l := range lines {
			f := strings.Split(l, ",")
			if i > 0 && n < 13 && f[12] != "deployed" {
				continue // the first format has deployed rows only
			}
			b.WriteString(strings.Join(f[:n], ",") + "\n")
		}
		return b.String()
	}
	for _, n := range []int{12, 14, 16, 17} {
		rows, err := ReadAll(strings.NewReader(cut(n)))
		if err != nil {
			t.Fatalf("%d columns: %v", n, err)
		}
		if n == 17 && rows[0].Station != "line-1" || n < 17 && rows[0].Station != "" {
			t.Errorf("%d columns: station %q", n, rows[0].Station)
		}
	}
	bad := map[string]string{
		"writing,,,line-1": "", // control: accepted
		"done,,,line-1":    "not a state between",
		"bogus,,,line-1":   "not a state between",
		"writing,,,Line 1": "not a station name",
	}
	last := lines[len(lines)-1]
	for tail, want := range bad {
		i := strings.Index(last, "in-progress,")
		l := last[:i] + "in-progress," + tail
		_, err := ReadAll(strings.NewReader(lines[0] + "\n" + l + "\n"))
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("%s: %v, want %q", tail, err, want)
		}
	}
}

// TestJSONForm: the JSON form has the CSV's rows, in order, with its column
// names; unused and in-progress rows carry no onboarding codes.
func TestJSONForm(t *testing.T) {
	s := mixedStore(t)
	var buf bytes.Buffer
	c, err := WriteJSON(&buf, s, Options{Station: "line-1"})
	if err != nil {
		t.Fatal(err)
	}
	var rows []map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rows); err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	if len(rows) != c.Rows() || len(rows) != 5 {
		t.Fatalf("%d rows, counts %+v", len(rows), c)
	}
	if rows[0]["status"] != "deployed" || rows[0]["passcode"] == nil || rows[0]["station"] != "line-1" {
		t.Errorf("deployed row %v", rows[0])
	}
	if rows[4]["status"] != "in-progress" || rows[4]["reason"] != "writing" || rows[4]["passcode"] != nil || rows[4]["qr_payload"] != nil {
		t.Errorf("in-progress row %v", rows[4])
	}
	var empty bytes.Buffer
	if _, err := WriteJSON(&empty, openEmpty(t), Options{}); err != nil || strings.TrimSpace(empty.String()) != "[\n]" {
		t.Errorf("empty manifest JSON %q %v", empty.String(), err)
	}
}

func openEmpty(t *testing.T) *station.Store {
	s, err := station.OpenFile(filepath.Join(t.TempDir(), "station.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
