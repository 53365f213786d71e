package clirun

import (
	"bytes"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// TestUsageConventions: a required flag left out, an unknown command and a
// bare program or command group are usage errors (exit 2) that name the
// command and point at its own help, without the whole help on an error.
func TestUsageConventions(t *testing.T) {
	newApp := func(out *bytes.Buffer) *cli.App {
		return &cli.App{
			Name:   "prog",
			Writer: out,
			Commands: []*cli.Command{{
				Name:   "run",
				Flags:  []cli.Flag{&cli.StringSliceFlag{Name: "port", Required: true, EnvVars: []string{"PROG_TEST_PORTS"}}},
				Action: func(c *cli.Context) error { return nil },
			}, {
				Name: "batch",
				Subcommands: []*cli.Command{{
					Name:   "export",
					Flags:  []cli.Flag{&cli.StringFlag{Name: "out", Required: true}},
					Action: func(c *cli.Context) error { return Usage("--limit: bad") },
				}},
			}},
		}
	}
	cases := []struct {
		args   []string
		code   int
		stderr string
		help   bool // help printed on stdout
	}{
		{[]string{"prog", "run"}, 2, "prog: error: Required flag \"port\" not set\nprog: hint: run 'prog run --help' for usage\n", false},
		{[]string{"prog", "run", "--port", "x"}, 0, "", false},
		{[]string{"prog", "batch", "export"}, 2, "prog: error: Required flag \"out\" not set\nprog: hint: run 'prog batch export --help' for usage\n", false},
		{[]string{"prog", "batch", "export", "--out", "d"}, 2, "prog: error: --limit: bad\nprog: hint: run 'prog batch export --help' for usage\n", false},
		{[]string{"prog", "bogus"}, 2, "prog: error: unknown command \"bogus\"\nprog: hint: run 'prog --help' for usage\n", false},
		{[]string{"prog", "batch", "bogus"}, 2, "prog: error: unknown command \"batch bogus\"\nprog: hint: run 'prog batch --help' for usage\n", false},
		{[]string{"prog"}, 2, "", true},
		{[]string{"prog", "batch"}, 2, "", true},
	}
	for _, c := range cases {
		var stdout, stderr bytes.Buffer
		code := Main(newApp(&stdout), c.args, &stderr)
		if code != c.code || stderr.String() != c.stderr {
			t.Errorf("%v: code %d stderr %q, want %d %q", c.args, code, stderr.String(), c.code, c.stderr)
		}
		if got := strings.Contains(stdout.String(), "USAGE:"); got != c.help {
			t.Errorf("%v: help printed %v, want %v:\n%s", c.args, got, c.help, stdout.String())
		}
	}
	t.Setenv("PROG_TEST_PORTS", "/dev/x")
	var stdout, stderr bytes.Buffer
	if code := Main(newApp(&stdout), []string{"prog", "run"}, &stderr); code != 0 {
		t.Errorf("required flag from its environment variable: code %d %s", code, stderr.String())
	}
}
