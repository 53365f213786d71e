package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/dacline/dacline/lineclient/stationhome"
	"github.com/dacline/dacline/shared/clirun"
	"github.com/dacline/dacline/shared/matter"
)

func crlCommand() *cli.Command {
	return &cli.Command{
		Name:  "crl",
		Usage: "the CRL of the station's PAI: DACs it lists are never written to a module",
		Subcommands: []*cli.Command{
			{
				Name:      "import",
				Usage:     "install the latest CRL from the appliance ('appliance crl issue')",
				ArgsUsage: "CRL",
				Description: "Checks that the station's PAI signed the CRL and that its CRL number is above the\n" +
					"installed one's, then installs it in the station home. From then on 'lineclient run'\n" +
					"fails every module whose DAC the CRL lists (reason dac-revoked) without writing it.",
				Action: crlImport,
			},
			{
				Name:   "show",
				Usage:  "show the installed CRL",
				Flags:  []cli.Flag{clirun.JSONFlag},
				Action: crlShowStation,
			},
		},
	}
}

func crlImport(c *cli.Context) error {
	if err := clirun.Args(c, "CRL"); err != nil {
		return err
	}
	f, err := os.Open(c.Args().First())
	if err != nil {
		return err
	}
	data, err := io.ReadAll(io.LimitReader(f, matter.MaxCRLSize+1))
	f.Close()
	if err != nil {
		return err
	}
	h, err := openHome(c)
	if err != nil {
		return err
	}
	defer h.Close()
	crl, err := h.ImportCRL(data)
	if errors.Is(err, stationhome.ErrCRLNotNewer) {
		return clirun.WithHint(err, "import the latest CRL the appliance issued ('appliance crl export --crl FILE' writes it)")
	}
	if err != nil {
		return clirun.WithHint(fmt.Errorf("crl import %s: %w", c.Args().First(), err), "the CRL must come from the appliance that issued this station's DACs")
	}
	fmt.Fprintf(clirun.Stdout, "crl number %s installed: %d DACs revoked, next update %s\n", crl.Number, len(crl.RevokedCertificateEntries), crl.NextUpdate.UTC().Format(time.RFC3339))
	return nil
}

type stationCRL struct {
	Number     string    `json:"crl_number"`
	ThisUpdate time.Time `json:"this_update"`
	NextUpdate time.Time `json:"next_update"`
	Revoked    []string  `json:"revoked"`
}

func crlShowStation(c *cli.Context) error {
	if err := clirun.Args(c); err != nil {
		return err
	}
	h, err := openHome(c)
	if err != nil {
		return err
	}
	defer h.Close()
	crl, err := h.CRL()
	if err != nil {
		return err
	}
	if crl == nil {
		if c.Bool("json") {
			return clirun.PrintJSON(clirun.Stdout, nil)
		}
		fmt.Fprintf(clirun.Stdout, "no crl installed\n")
		return nil
	}
	s := stationCRL{Number: crl.Number.String(), ThisUpdate: crl.ThisUpdate, NextUpdate: crl.NextUpdate, Revoked: []string{}}
	for _, e := range crl.RevokedCertificateEntries {
		s.Revoked = append(s.Revoked, fmt.Sprintf("%X", e.SerialNumber))
	}
	if c.Bool("json") {
		return clirun.PrintJSON(clirun.Stdout, s)
	}
	fmt.Fprintf(clirun.Stdout, "crl number %s, issued %s, next update %s, %d DACs revoked\n", s.Number, s.ThisUpdate.UTC().Format(time.RFC3339), s.NextUpdate.UTC().Format(time.RFC3339), len(s.Revoked))
	for _, r := range s.Revoked {
		fmt.Fprintf(clirun.Stdout, "  %s\n", r)
	}
	return nil
}
