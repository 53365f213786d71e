// Package clirun holds the conventions both dacline command-line programs share:
// how a failure is printed, which exit code it gets, and how a version is reported.
//
// Exit codes (DESIGN.md, "Interfaces users rely on"):
//
//	0  success
//	1  a refused or failed operation: one line "<prog>: error: …" on stderr,
//	   followed by "<prog>: hint: …" when the fix is known
//	2  bad usage (unknown flag, missing argument, malformed flag value)
//
// Commands return errors; only Main decides how they are shown and which code the
// process exits with. Domain packages never print or exit.
package clirun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/urfave/cli/v2"
)

// Version is set at build time with -ldflags "-X github.com/dacline/dacline/shared/clirun.Version=…";
// when it is not, the module version from the build info is used.
var Version = ""

// VersionString reports the program version.
func VersionString() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			return bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "devel-" + s.Value[:12]
			}
		}
	}
	return "devel"
}

// hinted is an error that carries the fix the user should try.
type hinted struct {
	err  error
	hint string
}

func (h *hinted) Error() string { return h.err.Error() }
func (h *hinted) Unwrap() error { return h.err }

// WithHint attaches a hint line to err. A nil err stays nil.
func WithHint(err error, hint string, args ...any) error {
	if err == nil {
		return nil
	}
	return &hinted{err: err, hint: fmt.Sprintf(hint, args...)}
}

// HintOf returns the innermost hint attached to err, or "".
func HintOf(err error) string {
	var h *hinted
	if errors.As(err, &h) {
		return h.hint
	}
	return ""
}

// usageError marks a failure that is the caller's wording, not the operation.
// cmd is the command it was made for ("batch export"), when known: the hint
// then points at that command's help.
type usageError struct {
	err error
	cmd string
}

func (u *usageError) Error() string { return u.err.Error() }
func (u *usageError) Unwrap() error { return u.err }

// Usage returns an error that exits with code 2.
func Usage(format string, args ...any) error {
	return &usageError{err: fmt.Errorf(format, args...)}
}

// IsUsage reports whether err asks for exit code 2.
func IsUsage(err error) bool {
	var u *usageError
	return errors.As(err, &u)
}

// exited is the outcome of a command another process already ran and
// reported (a request forwarded to a running lineclient): Main prints
// nothing more and exits with its code.
type exited struct{ code int }

func (e *exited) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// Exited returns an error that makes Main exit with code and print nothing:
// what went wrong was reported already. Code 0 returns nil.
func Exited(code int) error {
	if code == 0 {
		return nil
	}
	return &exited{code: code}
}

// ExitCode maps an error returned by a command to the process exit code.
func ExitCode(err error) int {
	var e *exited
	switch {
	case err == nil:
		return 0
	case errors.As(err, &e):
		return e.code
	case IsUsage(err):
		return 2
	default:
		return 1
	}
}

// Report prints err the way every dacline program does: one "error:" line
// (multi-line messages are folded into one) and an optional "hint:" line.
func Report(w io.Writer, prog string, err error) {
	var e *exited
	if err == nil || errors.As(err, &e) {
		return
	}
	msg := strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", " ")), " ")
	fmt.Fprintf(w, "%s: error: %s\n", prog, msg)
	var u *usageError
	if h := HintOf(err); h != "" {
		fmt.Fprintf(w, "%s: hint: %s\n", prog, h)
	} else if errors.As(err, &u) && u.cmd != "" {
		fmt.Fprintf(w, "%s: hint: run '%s %s --help' for usage\n", prog, prog, u.cmd)
	} else if IsUsage(err) {
		fmt.Fprintf(w, "%s: hint: run '%s --help' for usage\n", prog, prog)
	}
}

// Configure applies the shared conventions to an application: version flag,
// usage errors mapped to exit code 2, no os.Exit inside urfave/cli.
func Configure(app *cli.App) {
	app.Version = VersionString()
	app.EnableBashCompletion = false
	app.HideHelpCommand = true
	app.ExitErrHandler = func(*cli.Context, error) {} // Main decides the exit code
	app.OnUsageError = func(c *cli.Context, err error, isSubcommand bool) error {
		return Usage("%v", err)
	}
	// A bare program prints its help and exits 2; an unknown command is
	// named.
	if app.Action == nil {
		app.Action = func(c *cli.Context) error {
			if c.NArg() > 0 {
				return Usage("unknown command %q", c.Args().First())
			}
			cli.ShowAppHelp(c)
			return Exited(2)
		}
	}
	for _, cmd := range app.Commands {
		configureCommand(cmd, "")
	}
	configureHomeCheck(app)
}

func configureCommand(cmd *cli.Command, parent string) {
	path := strings.TrimSpace(parent + " " + cmd.Name)
	if cmd.OnUsageError == nil {
		cmd.OnUsageError = func(c *cli.Context, err error, isSubcommand bool) error {
			return &usageError{err: err, cmd: path}
		}
	}
	// A required flag left out is a usage error (exit 2) with this
	// command's help hint, not the whole help and exit 1: the check is done
	// here, after parsing, instead of by urfave/cli.
	var required []string
	for _, f := range cmd.Flags {
		if isRequired(f) {
			required = append(required, f.Names()[0])
			unrequire(f)
		}
	}
	if len(cmd.Subcommands) > 0 && cmd.Action == nil {
		// A bare command group prints its help and exits 2.
		cmd.Action = func(c *cli.Context) error {
			if c.NArg() > 0 {
				return &usageError{err: fmt.Errorf("unknown command %q", path+" "+c.Args().First()), cmd: path}
			}
			cli.ShowSubcommandHelp(c)
			return Exited(2)
		}
	}
	if action := cmd.Action; action != nil {
		cmd.Action = func(c *cli.Context) error {
			for _, name := range required {
				if !c.IsSet(name) {
					return &usageError{err: fmt.Errorf("Required flag %q not set", name), cmd: path}
				}
			}
			err := action(c)
			var u *usageError
			if errors.As(err, &u) && u.cmd == "" {
				u.cmd = path
			}
			return err
		}
	}
	for _, sub := range cmd.Subcommands {
		configureCommand(sub, path)
	}
}

// wasRequired remembers the flags Configure made optional: a flag value
// shared by several commands, or by the apps one process configures (a
// lineclient serving its control socket builds one per request), stays
// required for all of them.
var wasRequired sync.Map // cli.Flag → true

func isRequired(f cli.Flag) bool {
	if rf, ok := f.(cli.RequiredFlag); ok && rf.IsRequired() {
		wasRequired.Store(f, true)
		return true
	}
	_, ok := wasRequired.Load(f)
	return ok
}

// unrequire clears a flag's Required field (the flag types urfave/cli has).
func unrequire(f cli.Flag) {
	switch f := f.(type) {
	case *cli.StringFlag:
		f.Required = false
	case *cli.StringSliceFlag:
		f.Required = false
	case *cli.IntFlag:
		f.Required = false
	case *cli.BoolFlag:
		f.Required = false
	case *cli.DurationFlag:
		f.Required = false
	case *cli.Int64Flag:
		f.Required = false
	case *cli.UintFlag:
		f.Required = false
	case *cli.Float64Flag:
		f.Required = false
	case *cli.PathFlag:
		f.Required = false
	case *cli.GenericFlag:
		f.Required = false
	case *cli.IntSliceFlag:
		f.Required = false
	case *cli.TimestampFlag:
		f.Required = false
	}
}

// Main runs app with args and returns the exit code; the program's main calls
// os.Exit with it.
func Main(app *cli.App, args []string, stderr io.Writer) int {
	return MainContext(context.Background(), app, args, stderr)
}

// MainContext is Main with a context the commands see as c.Context: a
// process that runs commands on behalf of another (lineclient run serving
// its control socket) passes what they share through it.
func MainContext(ctx context.Context, app *cli.App, args []string, stderr io.Writer) int {
	Configure(app)
	err := app.RunContext(ctx, Interspersed(app, args))
	if err != nil && strings.Contains(err.Error(), "flag provided but not defined") && !IsUsage(err) {
		err = Usage("%v", err)
	}
	if err != nil && isUnknownCommand(err) {
		name := strings.TrimSuffix(strings.TrimPrefix(err.Error(), "No help topic for '"), "'")
		err = Usage("unknown command %q", name)
	}
	Report(stderr, app.Name, err)
	return ExitCode(err)
}

func isUnknownCommand(err error) bool {
	return strings.HasPrefix(err.Error(), "No help topic for")
}

// Args checks that a command got exactly n positional arguments, named in
// names for the message.
func Args(c *cli.Context, names ...string) error {
	if c.NArg() != len(names) {
		if len(names) == 0 {
			return Usage("%s takes no arguments, got %d", commandPath(c), c.NArg())
		}
		return Usage("%s needs %s (got %d argument(s))", commandPath(c), strings.Join(names, " "), c.NArg())
	}
	return nil
}

// commandPath names the command as the user typed it, without the program:
// "onboarding decode", not just "decode".
func commandPath(c *cli.Context) string {
	if c.Command == nil {
		return c.App.Name
	}
	if c.App != nil && strings.HasPrefix(c.Command.HelpName, c.App.Name+" ") {
		return strings.TrimPrefix(c.Command.HelpName, c.App.Name+" ")
	}
	return c.Command.FullName()
}

// Stdout is where commands write their normal output; tests replace it.
var Stdout io.Writer = os.Stdout
