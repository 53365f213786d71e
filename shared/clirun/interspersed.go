package clirun

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// Interspersed reorders args so that flags written after positional arguments
// are parsed as flags. The command surface in DESIGN.md writes commands as
// `appliance sign BUNDLE --out DIR` and `appliance station enroll BUNDLE --yes`,
// and scripts outside this repository are written against that form, but
// urfave/cli v2 stops parsing flags at the first positional argument.
//
// The command path is found by walking app's command tree; the leaf command's
// flag definitions say which flags take a value. Everything after "--" is left
// alone, as are arguments of commands that skip flag parsing.
func Interspersed(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	out := []string{args[0]}
	rest := args[1:]

	// Global flags come before the command name; copy them through.
	flags := app.Flags
	cmds := app.Commands
	var leaf *cli.Command
	for len(rest) > 0 {
		a := rest[0]
		if a == "--" {
			break
		}
		if strings.HasPrefix(a, "-") && a != "-" {
			out = append(out, a)
			rest = rest[1:]
			if takesValue(flags, a) && len(rest) > 0 {
				out = append(out, rest[0])
				rest = rest[1:]
			}
			continue
		}
		next := findCommand(cmds, a)
		if next == nil {
			break
		}
		out = append(out, a)
		rest = rest[1:]
		leaf = next
		flags = next.Flags
		cmds = next.Subcommands
	}
	if leaf == nil || leaf.SkipFlagParsing || len(leaf.Subcommands) > 0 {
		return append(out, rest...)
	}

	var flagArgs, positional []string
	for len(rest) > 0 {
		a := rest[0]
		rest = rest[1:]
		switch {
		case a == "--":
			positional = append(positional, rest...)
			rest = nil
		case strings.HasPrefix(a, "-") && a != "-":
			flagArgs = append(flagArgs, a)
			if takesValue(flags, a) && len(rest) > 0 {
				flagArgs = append(flagArgs, rest[0])
				rest = rest[1:]
			}
		default:
			positional = append(positional, a)
		}
	}
	out = append(out, flagArgs...)
	if len(positional) > 0 {
		// "--" keeps a positional argument that starts with "-" from being
		// read as a flag.
		out = append(out, "--")
		out = append(out, positional...)
	}
	return out
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.Name == name {
			return c
		}
		for _, alias := range c.Aliases {
			if alias == name {
				return c
			}
		}
	}
	return nil
}

// takesValue reports whether the flag written as arg ("-x", "--name") is
// defined in flags and needs the next argument as its value.
func takesValue(flags []cli.Flag, arg string) bool {
	name := strings.TrimLeft(arg, "-")
	if strings.Contains(name, "=") {
		return false
	}
	for _, f := range flags {
		for _, n := range f.Names() {
			if n != name {
				continue
			}
			if df, ok := f.(cli.DocGenerationFlag); ok {
				return df.TakesValue()
			}
			return true
		}
	}
	// Built-in help and version flags take no value; an unknown flag is left
	// for the parser to report.
	return false
}
