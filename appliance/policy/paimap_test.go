package policy

import (
	"strings"
	"testing"
)

const withPAIs = `{
  "version": 1,
  "max_batch_size": 10,
  "stations": [{"name": "a", "products": [{"vid": "FFF1", "pids": ["8000", "8001"]}, {"vid": "FFF2", "pids": ["8000"]}]}],
  "pais": [
    {"label": "dacline-pai", "vid": "FFF1"},
    {"label": "dacline-pai-2", "vid": "FFF1", "pids": ["8001"]},
    {"label": "dacline-pai-3", "vid": "FFF2", "pids": ["8000"]}
  ]
}`

func TestPAIFor(t *testing.T) {
	p, err := Parse([]byte(withPAIs))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		vid, pid uint16
		want     string
	}{
		{0xFFF1, 0x8000, "dacline-pai"},   // the whole-VID mapping
		{0xFFF1, 0x8001, "dacline-pai-2"}, // a PID mapping wins over the whole VID
		{0xFFF2, 0x8000, "dacline-pai-3"},
		{0xFFF2, 0x8001, ""}, // not mapped
		{0xFFF3, 0x8000, ""},
	} {
		if got := p.PAIFor(c.vid, c.pid); got != c.want {
			t.Errorf("PAIFor(%04X, %04X) = %q, want %q", c.vid, c.pid, got, c.want)
		}
	}
	if got := strings.Join(p.PAILabels(), ","); got != "dacline-pai,dacline-pai-2,dacline-pai-3" {
		t.Errorf("PAILabels = %s", got)
	}
	none, err := Parse([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if none.PAIFor(0xFFF1, 0x8000) != "" || len(none.PAILabels()) != 0 {
		t.Error("a policy without pais maps something")
	}
}

func TestPAIMappingRefusals(t *testing.T) {
	const head = `{"version":1,"max_batch_size":1,"stations":[{"name":"a","products":[{"vid":"FFF1","pids":["8000"]}]}],"pais":`
	for _, tc := range []struct{ name, pais, want string }{
		{"no label", `[{"vid":"FFF1"}]`, "pais[0].label is required"},
		{"bad vid", `[{"label":"x","vid":"FFFFF"}]`, "pais[0].vid is invalid"},
		{"vid zero", `[{"label":"x","vid":"0000"}]`, "pais[0].vid vendor ID 0000"},
		{"bad pid", `[{"label":"x","vid":"FFF1","pids":["80G0"]}]`, "pais[0].pids[0] is invalid"},
		{"vid twice", `[{"label":"x","vid":"FFF1"},{"label":"y","vid":"fff1"}]`, "pais[1].vid FFF1 is already mapped as a whole by pais[0]"},
		{"pid twice", `[{"label":"x","vid":"FFF1","pids":["8000"]},{"label":"y","vid":"FFF1","pids":["8001","8000"]}]`, "pais[1].pids[1] FFF1/8000 is already mapped by pais[0]"},
		{"unknown field", `[{"label":"x","vid":"FFF1","key":"k"}]`, `unknown field "key"`},
		{"duplicate key", `[{"label":"x","label":"y","vid":"FFF1"}]`, "label"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(head + tc.pais + "}"))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want error containing %q", err, tc.want)
			}
		})
	}
}

// FuzzPAIFor: a parsed policy maps any product to "" or one of its labels.
func FuzzPAIFor(f *testing.F) {
	f.Add([]byte(withPAIs), uint16(0xFFF1), uint16(0x8001))
	f.Fuzz(func(t *testing.T, b []byte, vid, pid uint16) {
		p, err := Parse(b)
		if err != nil {
			return
		}
		got := p.PAIFor(vid, pid)
		if got == "" {
			return
		}
		for _, l := range p.PAILabels() {
			if l == got {
				return
			}
		}
		t.Fatalf("PAIFor gave %q, not a label of the policy", got)
	})
}
