package clirun

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/urfave/cli/v2"
)

func TestExitCodes(t *testing.T) {
	refused := errors.New("bundle csr-batch-a-1.age: signature by unknown key")
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"success", nil, 0},
		{"refused", refused, 1},
		{"refused with hint", WithHint(refused, "enroll the station first"), 1},
		{"usage", Usage("sign needs BUNDLE"), 2},
		{"wrapped usage", fmt.Errorf("sign: %w", Usage("bad flag")), 2},
	}
	for _, tt := range tests {
		if got := ExitCode(tt.err); got != tt.want {
			t.Errorf("%s: ExitCode = %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestReportFoldsLinesAndPrintsHint(t *testing.T) {
	var buf bytes.Buffer
	Report(&buf, "appliance", WithHint(errors.New("token \"x\"\nnot found"), "list tokens with %s", "softhsm2-util --show-slots"))
	want := "appliance: error: token \"x\" not found\nappliance: hint: list tokens with softhsm2-util --show-slots\n"
	if buf.String() != want {
		t.Fatalf("Report =\n%q\nwant\n%q", buf.String(), want)
	}
}

func TestMainMapsUsageAndFailure(t *testing.T) {
	newApp := func() *cli.App {
		return &cli.App{
			Name: "prog",
			Commands: []*cli.Command{{
				Name:   "fail",
				Action: func(c *cli.Context) error { return errors.New("it broke") },
			}, {
				Name:   "one",
				Action: func(c *cli.Context) error { return Args(c, "FILE") },
			}},
		}
	}
	cases := []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"prog", "fail"}, 1, "prog: error: it broke\n"},
		{[]string{"prog", "one"}, 2, "prog: error: one needs FILE (got 0 argument(s))\nprog: hint: run 'prog one --help' for usage\n"},
		{[]string{"prog", "--bogus"}, 2, "prog: error: flag provided but not defined: -bogus\nprog: hint: run 'prog --help' for usage\n"},
	}
	for _, c := range cases {
		var stderr bytes.Buffer
		code := Main(newApp(), c.args, &stderr)
		if code != c.code || stderr.String() != c.out {
			t.Errorf("%v: code %d stderr %q, want %d %q", c.args, code, stderr.String(), c.code, c.out)
		}
	}
}
