package clirun

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// TestOtherProgramsHome: a --home or $DACLINE_HOME that is the other
// program's home is refused before any command runs, and says so.
func TestOtherProgramsHome(t *testing.T) {
	dir := t.TempDir()
	app, station := filepath.Join(dir, "app"), filepath.Join(dir, "station")
	os.MkdirAll(app, 0o700)
	os.MkdirAll(station, 0o700)
	os.WriteFile(filepath.Join(app, "appliance.db"), nil, 0o600)
	os.WriteFile(filepath.Join(station, "station.db"), nil, 0o600)
	ran := false
	newApp := func(role string) *cli.App {
		return &cli.App{Name: "prog", Flags: []cli.Flag{HomeFlag(role)},
			Commands: []*cli.Command{{Name: "status", Action: func(*cli.Context) error { ran = true; return nil }}}}
	}
	cases := []struct {
		role, env string
		args      []string
		want      string // "" = runs
	}{
		{"station", "", []string{"prog", "--home", app, "status"}, "is an appliance home, not a station home\nprog: hint: give --home the station home"},
		{"appliance", "", []string{"prog", "--home", station, "status"}, "is a station home, not an appliance home"},
		{"station", app, []string{"prog", "status"}, "hint: DACLINE_HOME points at the appliance's home"},
		{"station", "", []string{"prog", "--home", station, "status"}, ""},
		{"appliance", "", []string{"prog", "--home", app, "status"}, ""},
		{"station", app, []string{"prog", "status", "--help"}, ""},
	}
	for _, c := range cases {
		t.Setenv("DACLINE_HOME", c.env)
		if c.env == "" {
			os.Unsetenv("DACLINE_HOME")
		}
		ran = false
		var stderr bytes.Buffer
		code := Main(newApp(c.role), c.args, &stderr)
		if c.want == "" {
			if code != 0 || (!ran && !strings.Contains(strings.Join(c.args, " "), "--help")) {
				t.Errorf("%v: code %d ran %v: %s", c.args, code, ran, stderr.String())
			}
			continue
		}
		if code != 1 || ran || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%v (DACLINE_HOME=%q): code %d ran %v %q, want %q", c.args, c.env, code, ran, stderr.String(), c.want)
		}
	}
}
