package main

import (
	"github.com/urfave/cli/v2"

	"github.com/dacline/dacline/shared/clirun"
)

func identityCommand() *cli.Command {
	return &cli.Command{
		Name:  "identity",
		Usage: "write the appliance's public identity file for stations (appliance.id)",
		Description: "The file holds the age recipient, the Ed25519 signing key (as a signed-note\n" +
			"verifier), the PAI and PAA certificates and a fingerprint that officers read aloud\n" +
			"when a station is set up. It holds no secret.",
		Flags: []cli.Flag{pinFileFlag, &cli.StringFlag{Name: "out", Usage: "write to `FILE` (never overwritten)"}},
		Action: func(c *cli.Context) error {
			if err := clirun.Args(c); err != nil {
				return err
			}
			out := c.String("out")
			if out == "" {
				return clirun.Usage("--out is required")
			}
			h, u, err := unlockApplianceUnchecked(c)
			if err != nil {
				return err
			}
			defer h.Close()
			defer u.Close()
			id, err := u.PublicIdentity()
			if err != nil {
				return withHints(err)
			}
			if err := id.Write(out); err != nil {
				return withHints(err)
			}
			printf("appliance identity of %s written to %s\n", id.Name, out)
			printf("fingerprint: %s\n", id.Fingerprint)
			return nil
		},
	}
}
