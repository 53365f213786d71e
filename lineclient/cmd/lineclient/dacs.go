package main

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/dacline/dacline/lineclient/dacs"
	"github.com/dacline/dacline/shared/clirun"
)

func dacsCommand() *cli.Command {
	return &cli.Command{
		Name:  "dacs",
		Usage: "the DACs of provisioned modules",
		Subcommands: []*cli.Command{{
			Name:      "export",
			Usage:     "write one DAC file per finished module into DIR, for the device maker's back end",
			ArgsUsage: "DIR",
			Description: "Files are named by the module's MAC without separators (240ac4000102.pem) and never\n" +
				"overwritten: a file already there with the same DAC is left as it is, one with another\n" +
				"content stops the export. Finished (done) modules only, the devices that ship; --all adds\n" +
				"modules that hold a DAC but are not finished yet. Failed modules' DACs are never exported.",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "format", Value: "pem", Usage: "`pem` or der"},
				&cli.BoolFlag{Name: "all", Usage: "also modules with a DAC that are not finished yet"},
				&cli.StringFlag{Name: "batch", Usage: "only modules of batch `ID`"},
			},
			Action: routed(func(c *cli.Context) error {
				if err := clirun.Args(c, "DIR"); err != nil {
					return err
				}
				f, err := dacs.ParseFormat(c.String("format"))
				if err != nil {
					return clirun.Usage("--format: %v", err)
				}
				h, st, err := openStation(c)
				if err != nil {
					return err
				}
				defer h.Close()
				dir := userPath(c, c.Args().First())
				res, err := dacs.Export(st, dir, dacs.Options{Format: f, All: c.Bool("all"), Batch: c.String("batch")})
				switch {
				case errors.Is(err, dacs.ErrNothing):
					return clirun.WithHint(err, "DACs are exported for finished (done) modules, --all for every module holding one; see 'lineclient status'")
				case errors.Is(err, dacs.ErrExists):
					return clirun.WithHint(err, "the directory holds another DAC under that module's name: export into an empty directory")
				case err != nil:
					if res != nil && res.Written > 0 {
						return clirun.WithHint(err, "%d DAC files were written before the error; they are whole, and a new export into %s skips them", res.Written, dir)
					}
					return err
				}
				fmt.Fprintf(stdout(c), "exported %s (%s) to %s", plural(res.Written, "DAC"), f, dir)
				if res.Present > 0 {
					fmt.Fprintf(stdout(c), ", %d already there", res.Present)
				}
				fmt.Fprintln(stdout(c))
				return nil
			}),
		}},
	}
}
