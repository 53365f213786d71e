package clirun

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/urfave/cli/v2"
)

func testApp(got *[]string, out *string, yes *bool) *cli.App {
	return &cli.App{
		Name:  "appliance",
		Flags: []cli.Flag{&cli.StringFlag{Name: "home"}},
		Commands: []*cli.Command{{
			Name:  "sign",
			Flags: []cli.Flag{&cli.StringFlag{Name: "out"}, &cli.BoolFlag{Name: "dry-run"}},
			Action: func(c *cli.Context) error {
				*got = c.Args().Slice()
				*out = c.String("out")
				*yes = c.Bool("dry-run")
				return nil
			},
		}, {
			Name: "station",
			Subcommands: []*cli.Command{{
				Name:  "enroll",
				Flags: []cli.Flag{&cli.BoolFlag{Name: "yes"}},
				Action: func(c *cli.Context) error {
					*got = c.Args().Slice()
					*yes = c.Bool("yes")
					return nil
				},
			}},
		}},
	}
}

// DESIGN.md writes flags after the positional argument; both orders must parse
// the same way.
func TestFlagsAfterArguments(t *testing.T) {
	cases := []struct {
		args    []string
		pos     []string
		out     string
		boolset bool
	}{
		{[]string{"appliance", "sign", "b.age", "--out", "DIR"}, []string{"b.age"}, "DIR", false},
		{[]string{"appliance", "sign", "--out", "DIR", "b.age"}, []string{"b.age"}, "DIR", false},
		{[]string{"appliance", "--home", "H", "sign", "b.age", "--dry-run", "--out=D2"}, []string{"b.age"}, "D2", true},
		{[]string{"appliance", "station", "enroll", "e.age", "--yes"}, []string{"e.age"}, "", true},
		{[]string{"appliance", "sign", "--out", "D", "--", "-odd-name.age"}, []string{"-odd-name.age"}, "D", false},
	}
	for _, c := range cases {
		var pos []string
		var out string
		var b bool
		var stderr bytes.Buffer
		if code := Main(testApp(&pos, &out, &b), c.args, &stderr); code != 0 {
			t.Fatalf("%v: exit %d: %s", c.args, code, stderr.String())
		}
		if !reflect.DeepEqual(pos, c.pos) || out != c.out || b != c.boolset {
			t.Errorf("%v: args %v out %q bool %v; want %v %q %v", c.args, pos, out, b, c.pos, c.out, c.boolset)
		}
	}
}

func TestUnknownFlagAfterArgumentIsUsage(t *testing.T) {
	var pos []string
	var out string
	var b bool
	var stderr bytes.Buffer
	if code := Main(testApp(&pos, &out, &b), []string{"appliance", "sign", "b.age", "--bogus"}, &stderr); code != 2 {
		t.Fatalf("exit %d, want 2: %s", code, stderr.String())
	}
}
