package policy

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const good = `{
  "version": 1,
  "max_batch_size": 1000,
  "dac": {"common_name": "ACME DAC {vid}-{pid} {serial}", "backdate_seconds": 3600},
  "stations": [
    {"name": "line-1", "products": [{"vid": "FFF1", "pids": ["8000", "8001"]}], "max_dacs": 5000},
    {"name": "line-2", "products": [{"vid": "fff2", "pids": ["0x8000"]}]}
  ]
}`

func TestParseGood(t *testing.T) {
	p, err := Parse([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	s := p.Station("line-1")
	if s == nil || !s.Allows(0xFFF1, 0x8001) || s.Allows(0xFFF1, 0x8002) || s.Allows(0xFFF2, 0x8000) {
		t.Fatalf("line-1 allow list wrong: %+v", s)
	}
	if p.Station("line-2") == nil || !p.Station("line-2").Allows(0xFFF2, 0x8000) {
		t.Fatal("line-2 should allow FFF2/8000")
	}
	if p.Station("line-3") != nil {
		t.Fatal("unknown station found")
	}
	cn, err := p.DAC.CommonNameFor("0a1b", 0xFFF1, 0x8000)
	if err != nil || cn != "ACME DAC FFF1-8000 0A1B" {
		t.Fatalf("cn = %q, %v", cn, err)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)
	nb, na, err := p.DAC.Validity(now)
	if err != nil {
		t.Fatal(err)
	}
	if !nb.Equal(time.Date(2026, 1, 2, 2, 4, 5, 0, time.UTC)) || !na.Equal(NoExpiry) {
		t.Fatalf("validity %v %v", nb, na)
	}
}

func TestValidityDays(t *testing.T) {
	d := DAC{ValidityDays: 10}
	if err := d.validate(); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	nb, na, err := d.Validity(now)
	if err != nil || !nb.Equal(now) || !na.Equal(now.AddDate(0, 0, 10)) {
		t.Fatalf("%v %v %v", nb, na, err)
	}
	d = DAC{NotAfter: "20250101000000Z"}
	if err := d.validate(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.Validity(now); err == nil || !strings.Contains(err.Error(), "dac.not_after") {
		t.Fatalf("notAfter in the past accepted: %v", err)
	}
}

// TestRefusals has one row per rule; each names the field it expects in the error.
func TestRefusals(t *testing.T) {
	for _, tc := range []struct{ name, json, want string }{
		{"unknown field", `{"version":1,"max_batch_size":1,"stations":[{"name":"a","products":[{"vid":"FFF1","pids":["8000"]}]}],"extra":1}`, `unknown field "extra"`},
		{"unknown nested field", `{"version":1,"max_batch_size":1,"dac":{"cn":"x"},"stations":[]}`, `unknown field "cn"`},
		{"trailing data", `{"version":1,"max_batch_size":1,"stations":[{"name":"a","products":[{"vid":"FFF1","pids":["8000"]}]}]} {}`, "trailing data"},
		{"not json", `version: 1`, "invalid character"},
		{"version", `{"version":2}`, "version must be 1"},
		{"batch size", `{"version":1}`, "max_batch_size is required"},
		{"no stations", `{"version":1,"max_batch_size":1}`, "stations is required"},
		{"station name", `{"version":1,"max_batch_size":1,"stations":[{"products":[]}]}`, "stations[0].name is required"},
		{"dup station", `{"version":1,"max_batch_size":1,"stations":[{"name":"a","products":[{"vid":"FFF1","pids":["8000"]}]},{"name":"a"}]}`, "stations[1].name"},
		{"no products", `{"version":1,"max_batch_size":1,"stations":[{"name":"a"}]}`, "stations[0].products is required"},
		{"bad vid", `{"version":1,"max_batch_size":1,"stations":[{"name":"a","products":[{"vid":"FFF","pids":["8000"]}]}]}`, "stations[0].products[0].vid"},
		{"vid zero", `{"version":1,"max_batch_size":1,"stations":[{"name":"a","products":[{"vid":"0000","pids":["8000"]}]}]}`, "stations[0].products[0].vid"},
		{"bad pid", `{"version":1,"max_batch_size":1,"stations":[{"name":"a","products":[{"vid":"FFF1","pids":["8000","80G0"]}]}]}`, "stations[0].products[0].pids[1]"},
		{"dup pid", `{"version":1,"max_batch_size":1,"stations":[{"name":"a","products":[{"vid":"FFF1","pids":["8000","8000"]}]}]}`, "stations[0].products[0].pids[1]"},
		{"no pids", `{"version":1,"max_batch_size":1,"stations":[{"name":"a","products":[{"vid":"FFF1"}]}]}`, "stations[0].products[0].pids is required"},
		{"quota", `{"version":1,"max_batch_size":1,"stations":[{"name":"a","max_dacs":0,"products":[{"vid":"FFF1","pids":["8000"]}]}]}`, "stations[0].max_dacs"},
		{"cn placeholder", `{"version":1,"max_batch_size":1,"dac":{"common_name":"X {mac}"}}`, "dac.common_name"},
		{"cn brace", `{"version":1,"max_batch_size":1,"dac":{"common_name":"X {serial"}}`, "dac.common_name"},
		{"cn too long", `{"version":1,"max_batch_size":1,"dac":{"common_name":"` + strings.Repeat("x", 40) + `{serial}"}}`, "dac.common_name"},
		{"cn control", `{"version":1,"max_batch_size":1,"dac":{"common_name":"a\nb"}}`, "dac.common_name"},
		{"backdate", `{"version":1,"max_batch_size":1,"dac":{"backdate_seconds":-1}}`, "dac.backdate_seconds"},
		{"exclusive", `{"version":1,"max_batch_size":1,"dac":{"not_after":"99991231235959Z","validity_days":3}}`, "exclusive"},
		{"bad not_after", `{"version":1,"max_batch_size":1,"dac":{"not_after":"9999-12-31"}}`, "dac.not_after"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.json))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want error containing %q", err, tc.want)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	_, _, err := Load(filepath.Join(dir, FileName))
	if !errors.Is(err, ErrNoPolicy) {
		t.Fatalf("missing file: %v", err)
	}
	path := filepath.Join(dir, FileName)
	if err := os.WriteFile(path, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	_, h1, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(good+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, h2, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if h1 == h2 {
		t.Fatal("hash is not over the raw file")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte(`{"version":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse(b)
		if err != nil {
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("parsed policy fails Validate: %v", err)
		}
		if _, err := p.DAC.CommonNameFor(strings.Repeat("A", 32), 1, 2); err != nil {
			t.Fatalf("valid template fails to expand: %v", err)
		}
	})
}
