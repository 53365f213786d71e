package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/dacline/dacline/appliance/applog"
	"github.com/dacline/dacline/appliance/policy"
	"github.com/dacline/dacline/shared/auditlog"
	"github.com/dacline/dacline/shared/clirun"
)

func policyCommand() *cli.Command {
	return &cli.Command{
		Name:  "policy",
		Usage: "show or set the signing policy (stations, VID/PIDs, DAC validity and subject, limits)",
		Subcommands: []*cli.Command{
			{
				Name:      "show",
				Usage:     "print the signing policy in force and its SHA-256",
				ArgsUsage: " ",
				Flags:     []cli.Flag{clirun.JSONFlag},
				Action:    policyShow,
			},
			{
				Name:      "set",
				Usage:     "validate FILE and make it the signing policy (logged as policy-changed)",
				ArgsUsage: "FILE",
				// With an officer quorum, changing the policy needs a quorum too
				// (requireQuorum), although it does not use the token; --pin-file
				// brings the share flags (withQuorumFlags).
				Flags:  []cli.Flag{pinFileFlag},
				Action: policySet,
			},
		},
	}
}

func policyShow(c *cli.Context) error {
	if err := clirun.Args(c); err != nil {
		return err
	}
	h, err := openHome(c)
	if err != nil {
		return err
	}
	defer h.Close()
	path := h.Path(policy.FileName)
	p, sum, err := policy.Load(path)
	if err != nil {
		return policyHint(err)
	}
	if c.Bool("json") {
		return clirun.PrintJSON(clirun.Stdout, struct {
			SHA256 string         `json:"sha256"`
			Policy *policy.Policy `json:"policy"`
		}{hex.EncodeToString(sum[:]), p})
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	printf("# %s\n# sha256 %x\n", path, sum)
	_, err = clirun.Stdout.Write(raw)
	return err
}

func policySet(c *cli.Context) error {
	if err := clirun.Args(c, "FILE"); err != nil {
		return err
	}
	f, err := os.Open(c.Args().First())
	if err != nil {
		return err
	}
	raw, err := io.ReadAll(io.LimitReader(f, policy.MaxFileSize+1))
	f.Close()
	if err != nil {
		return err
	}
	if err := requireQuorum(c); err != nil {
		return err
	}
	h, err := openHome(c)
	if err != nil {
		return err
	}
	defer h.Close()
	if err := checkPolicyPAIs(h, c.Args().First(), raw); err != nil { // paicmd.go
		return err
	}
	lg, err := applog.OpenInHome(h.DB(), h.Dir())
	if err != nil {
		return err
	}
	sum, err := policy.Install(h.Dir(), raw, func(sum [32]byte) error {
		_, err := lg.Append(&auditlog.PolicyChanged{PolicySHA256: hex.EncodeToString(sum[:])})
		return err
	})
	if err != nil {
		return fmt.Errorf("%s: %w", c.Args().First(), err)
	}
	printf("policy installed: %s\nsha256 %x\n", h.Path(policy.FileName), sum)
	return nil
}

func policyHint(err error) error {
	if errors.Is(err, policy.ErrNoPolicy) {
		return clirun.WithHint(err, "write a policy file (see docs/security-officer.md) and install it with 'appliance policy set FILE'")
	}
	return err
}
