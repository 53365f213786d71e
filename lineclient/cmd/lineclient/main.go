// Command lineclient is dacline's factory station: it drives modules on jigs
// over serial ports (on-chip keygen, CSR collection, credential writes,
// attestation, lock), exchanges batches with the appliance on USB sticks, and
// writes the manifest and labels.
//
// This package only parses flags and calls the domain packages.
package main

import (
	"os"

	"github.com/urfave/cli/v2"

	"github.com/dacline/dacline/shared/clirun"
)

func main() { os.Exit(run()) }

// run is the whole program; testscript calls it as the "lineclient" command.
func run() int {
	invocation = os.Args
	return clirun.Main(newApp(), os.Args, os.Stderr)
}

func newApp() *cli.App {
	return &cli.App{
		Name:  "lineclient",
		Usage: "Matter factory station: provisions modules on jigs",
		Description: "The line client drives modules over serial ports and exchanges CSR and DAC\n" +
			"batches with the signing appliance. See docs/line-operator.md.",
		Flags:    []cli.Flag{clirun.HomeFlag("station")},
		Commands: commands(),
	}
}

// commands lists every top-level command, in the order --help shows them.
func commands() []*cli.Command {
	return []*cli.Command{
		initCommand(), enrollCommand(),
		onboardingCommand(), simCommand(), chipCommand(), flashCommand(),
		runCommand(), crlCommand(), batchCommand(), statusCommand(), manifestCommand(), labelsCommand(), dacsCommand(),
		espCommand(), moduleCommand(),
	}
}
