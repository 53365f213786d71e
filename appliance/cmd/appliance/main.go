// Command appliance is dacline's air-gapped signing appliance: it keeps the PAI
// key in a PKCS#11 token, enrolls stations, runs signing ceremonies that turn
// CSR batches into DACs, and keeps the tamper-evident audit log.
//
// This package only parses flags and calls the domain packages.
package main

import (
	"os"

	"github.com/urfave/cli/v2"

	"github.com/dacline/dacline/shared/clirun"
)

func main() { os.Exit(run()) }

// run is the whole program; testscript calls it as the "appliance" command.
func run() int { return clirun.Main(newApp(), os.Args, os.Stderr) }

func newApp() *cli.App {
	return &cli.App{
		Name:  "appliance",
		Usage: "air-gapped Matter DAC signing appliance",
		Description: "The appliance holds the PAI key in a PKCS#11 token and signs batches of\n" +
			"device CSRs carried in on USB sticks. See docs/security-officer.md.",
		Flags:    []cli.Flag{clirun.HomeFlag("appliance")},
		Commands: withQuorumFlags(commands()),
	}
}

// commands lists every top-level command, in the order --help shows them.
func commands() []*cli.Command {
	return []*cli.Command{
		initCommand(), paaCommand(), paiCommand(), identityCommand(), statusCommand(),
		stationCommand(),
		logCommand(), auditCommand(),
		certCommand(), cdCommand(),
		signCommand(), ceremonyCommand(), policyCommand(),
		crlCommand(), quorumCommand(),
	}
}
