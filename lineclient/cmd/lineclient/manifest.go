package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/dacline/dacline/lineclient/manifest"
	"github.com/dacline/dacline/shared/clirun"
	"github.com/dacline/dacline/shared/onboarding"
)

var (
	flowFlag      = &cli.StringFlag{Name: "flow", Value: "std", Usage: "commissioning flow in the QR payload: std, user-intent, custom"}
	discoveryFlag = &cli.StringFlag{Name: "discovery", Value: "ble", Usage: "discovery capabilities in the QR payload, e.g. ble or ble,onnetwork"}
)

func manifestOptions(c *cli.Context) (manifest.Options, error) {
	flow, err := onboarding.ParseFlow(c.String("flow"))
	if err != nil {
		return manifest.Options{}, clirun.Usage("--flow: %v", err)
	}
	disc, err := onboarding.ParseDiscovery(c.String("discovery"))
	if err != nil {
		return manifest.Options{}, clirun.Usage("--discovery: %v", err)
	}
	return manifest.Options{Flow: flow, Discovery: disc}, nil
}

func manifestCommand() *cli.Command {
	return &cli.Command{
		Name:  "manifest",
		Usage: "CSV of every finished module, failed modules' DACs as unused, unfinished ones as in-progress (docs/manifest.md); it holds passcodes",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Usage: "write to `FILE` (atomically, mode 0600) instead of stdout"},
			&cli.BoolFlag{Name: "json", Usage: "write the rows as a JSON array instead of CSV"},
			flowFlag, discoveryFlag,
		},
		Action: routed(func(c *cli.Context) error {
			if err := clirun.Args(c); err != nil {
				return err
			}
			opt, err := manifestOptions(c)
			if err != nil {
				return err
			}
			h, st, err := openStation(c)
			if err != nil {
				return err
			}
			defer h.Close()
			opt.Station = h.Config.Name
			var counts manifest.Counts
			if out := userPath(c, c.String("out")); out != "" {
				if counts, err = manifest.WriteFileAs(out, st, opt, c.Bool("json")); err != nil {
					return err
				}
				fmt.Fprintf(stdout(c), "wrote %d rows to %s (mode 0600: it holds setup passcodes)\n", counts.Rows(), out)
			} else {
				if c.Bool("json") {
					counts, err = manifest.WriteJSON(stdout(c), st, opt)
				} else {
					counts, err = manifest.WriteCSV(stdout(c), st, opt)
				}
				if err != nil {
					return err
				}
			}
			if n := counts.InProgress; n > 0 {
				fmt.Fprintf(stderr(c), "lineclient: warning: %s still in progress (a DAC, not finished yet): listed as in-progress, not deployed; run 'lineclient manifest' again once they are done\n",
					plural(n, "module"))
			}
			return nil
		}),
	}
}
