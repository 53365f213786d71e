package main

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/dacline/dacline/lineclient/batch"
	"github.com/dacline/dacline/lineclient/station"
	"github.com/dacline/dacline/shared/clirun"
)

func batchCommand() *cli.Command {
	return &cli.Command{
		Name:  "batch",
		Usage: "exchange CSR and DAC batches with the appliance",
		Subcommands: []*cli.Command{
			{
				Name:  "export",
				Usage: "write every CSR not yet in a batch as one csr-batch bundle",
				Description: "The bundle is signed by the station and encrypted to the appliance. A batch left\n" +
					"unwritten by a crash is written again (same ID, same CSRs) by the next export.",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "out", Usage: "directory to write the bundle into (the USB stick)", Required: true},
					&cli.IntFlag{Name: "limit", Usage: "at most this many CSRs in a new batch (0 = all)"},
					&cli.StringFlag{Name: "rewrite", Usage: "write batch `ID` again (a lost stick); it must not have been answered"},
				},
				Action: routed(func(c *cli.Context) error {
					if err := clirun.Args(c); err != nil {
						return err
					}
					h, st, err := openStation(c)
					if err != nil {
						return err
					}
					defer h.Close()
					signer, err := h.Signer()
					if err != nil {
						return err
					}
					rcpt, err := h.ApplianceRecipient()
					if err != nil {
						return err
					}
					vid, pid, err := product(h)
					if err != nil {
						return err
					}
					tmp, err := h.TempDir()
					if err != nil {
						return err
					}
					ex := &batch.Exporter{Store: st, Name: h.Config.Name, Signer: signer, Appliance: rcpt, VID: vid, PID: pid, TempDir: tmp}
					res, err := ex.Export(userPath(c, c.String("out")), batch.ExportOptions{Limit: c.Int("limit"), Rewrite: c.String("rewrite")})
					if errors.Is(err, station.ErrNothingToExport) {
						return clirun.WithHint(err, "modules get CSRs with 'lineclient run'; 'lineclient status' shows where they are")
					}
					if err != nil {
						return err
					}
					verb := "wrote"
					if res.Resumed {
						verb = "wrote again"
					}
					fmt.Fprintf(stdout(c), "%s batch %s: %d CSRs\n%s\n", verb, res.Batch.ID, res.Batch.Count, res.Path)
					return keepReceipt(h, res.Path)
				}),
			},
			{
				Name:      "import",
				Usage:     "verify a dac-batch bundle from the appliance and store its DACs",
				ArgsUsage: "BUNDLE",
				Action: routed(func(c *cli.Context) error {
					if err := clirun.Args(c, "BUNDLE"); err != nil {
						return err
					}
					h, st, err := openStation(c)
					if err != nil {
						return err
					}
					defer h.Close()
					id, err := h.AgeIdentity()
					if err != nil {
						return err
					}
					pai, paa, err := h.Certificates()
					if err != nil {
						return err
					}
					key, err := h.Appliance.PublicKey()
					if err != nil {
						return err
					}
					cd, err := h.CD()
					if err != nil {
						return err
					}
					cdSigner, err := h.CDSigner()
					if err != nil {
						return err
					}
					vid, pid, err := product(h)
					if err != nil {
						return err
					}
					tmp, err := h.TempDir()
					if err != nil {
						return err
					}
					im := &batch.Importer{Store: st, Identity: id, ApplianceName: h.Appliance.Name, ApplianceKey: key,
						PAI: pai, PAA: paa, VID: vid, PID: pid, CD: cd, CDSigner: cdSigner, TempDir: tmp,
						KeepPAI: h.KeepPAI}
					res, err := im.Import(userPath(c, c.Args().First()))
					if err != nil {
						return importHint(err)
					}
					fmt.Fprintf(stdout(c), "imported bundle %s for batch %s: %d DACs, %d refused, %d not returned\n",
						res.ReturnID, res.Batch.ID, res.DACs, res.Refused, res.NotReturned)
					for _, r := range res.Rejected {
						fmt.Fprintf(stdout(c), "  rejected %s: %s\n", r.MAC, r.Detail)
					}
					return keepReceipt(h, userPath(c, c.Args().First()))
				}),
			},
			batchCancelCommand(),
		},
	}
}
