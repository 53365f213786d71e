package policy

import (
	"strings"
	"testing"
)

// Issue 12 item 11: the policy parser is strict, so a repeated key is an
// error wherever it is (encoding/json would keep the last value).
func TestDuplicateKeysRefused(t *testing.T) {
	for _, c := range []struct{ name, from, to, want string }{
		{"top level", `"max_batch_size": 1000,`, `"max_batch_size": 1000, "max_batch_size": 5,`, `the top level: duplicate key "max_batch_size"`},
		{"in a station", `"max_dacs": 5000}`, `"max_dacs": 5000, "max_dacs": 900000}`, `stations[0]: duplicate key "max_dacs"`},
		{"in a product", `"pids": ["0x8000"]}`, `"pids": ["0x8000"], "pids": ["0x8001"]}`, `stations[1].products[0]: duplicate key "pids"`},
		{"in dac", `"backdate_seconds": 3600}`, `"backdate_seconds": 3600, "backdate_seconds": 1}`, `dac: duplicate key "backdate_seconds"`},
		{"another case", `"max_dacs": 5000}`, `"max_dacs": 5000, "MAX_DACS": 900000}`, `stations[0]: duplicate key "MAX_DACS" (as "max_dacs"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			raw := strings.Replace(good, c.from, c.to, 1)
			if raw == good {
				t.Fatal("test edit did not apply")
			}
			_, err := Parse([]byte(raw))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error with %q", err, c.want)
			}
		})
	}
	// Control: the same key in two different objects is no duplicate.
	if _, err := Parse([]byte(good)); err != nil {
		t.Fatalf("control: %v", err)
	}
}

func FuzzCheckDuplicateKeys(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte(`{"a":{"b":1,"B":2}}`))
	f.Add([]byte(`[{"a":1},{"a":1}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = checkDuplicateKeys(b) // never panics, on any input
	})
}
