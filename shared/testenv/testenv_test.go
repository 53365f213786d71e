package testenv

import (
	"strings"
	"testing"
)

// recorder captures what Missing does to a test without stopping the real one.
type recorder struct {
	testing.TB
	fatal, skip string
}

func (r *recorder) Helper()                           {}
func (r *recorder) Fatalf(format string, args ...any) { r.fatal = format }
func (r *recorder) Skipf(format string, args ...any)  { r.skip = format }

func TestMissingFailsUnderCI(t *testing.T) {
	for _, tc := range []struct {
		ci         string
		fail, skip bool
	}{{"true", true, false}, {"1", true, false}, {"", false, true}, {"false", false, true}, {"yes please", false, true}} {
		t.Setenv("CI", tc.ci)
		r := &recorder{TB: t}
		RequireTool(r, "dacline-no-such-tool-x")
		if (r.fatal != "") != tc.fail || (r.skip != "") != tc.skip {
			t.Errorf("CI=%q: fatal %q skip %q", tc.ci, r.fatal, r.skip)
		}
	}
	t.Setenv("CI", "true")
	r := &recorder{TB: t}
	RequireTool(r, "go")
	RequireFile(r, "testenv.go", "this file")
	if r.fatal != "" || r.skip != "" {
		t.Errorf("present prerequisites stopped the test: %q %q", r.fatal, r.skip)
	}
	RequireFile(r, "no-such-file", "thing")
	if !strings.Contains(r.fatal, "required under CI") {
		t.Errorf("missing file under CI: %q", r.fatal)
	}
}
