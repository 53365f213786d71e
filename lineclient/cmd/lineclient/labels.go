package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/dacline/dacline/lineclient/labels"
	"github.com/dacline/dacline/lineclient/manifest"
	"github.com/dacline/dacline/lineclient/station"
	"github.com/dacline/dacline/shared/clirun"
)

func labelsCommand() *cli.Command {
	return &cli.Command{
		Name:  "labels",
		Usage: "print labels (QR code, manual code, serial) as a PDF sheet or one PNG per module",
		Description: "--out ending in .pdf writes A4 sheets of 24 labels; any other --out is a directory\n" +
			"that gets <serial>.png per module. Labels come from the finished modules in the store,\n" +
			"or from a manifest file with --manifest (its unused rows, failed modules' DACs, get no label).",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Usage: "labels.pdf or a `DIR`", Required: true},
			&cli.StringFlag{Name: "manifest", Usage: "read modules from this manifest `FILE` instead of the store"},
			&cli.StringFlag{Name: "batch", Usage: "only modules of batch `ID`"},
			flowFlag, discoveryFlag,
		},
		Action: func(c *cli.Context) error {
			if err := clirun.Args(c); err != nil {
				return err
			}
			rows, err := labelRows(c)
			if err != nil {
				return err
			}
			var ls []labels.Label
			for _, r := range rows {
				if b := c.String("batch"); b == "" || r.BatchID == b {
					ls = append(ls, labels.Of(r))
				}
			}
			if len(ls) == 0 {
				return clirun.WithHint(labels.ErrNoLabels, "labels are printed for finished (done) modules; see 'lineclient status'")
			}
			out := c.String("out")
			if strings.HasSuffix(strings.ToLower(out), ".pdf") {
				if err := labels.WritePDFFile(out, ls); err != nil {
					return err
				}
				fmt.Fprintf(clirun.Stdout, "wrote %d labels to %s\n", len(ls), out)
				return nil
			}
			n, err := labels.WritePNGs(out, ls)
			if err != nil {
				return err
			}
			fmt.Fprintf(clirun.Stdout, "wrote %d label images to %s\n", n, out)
			return nil
		},
	}
}

func labelRows(c *cli.Context) ([]manifest.Row, error) {
	if path := c.String("manifest"); path != "" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		all, err := manifest.ReadAll(io.LimitReader(f, 1<<30))
		if err != nil {
			return nil, err
		}
		// Labels are for modules that ship: unused rows (failed modules'
		// DACs, listed for the auditor) get none.
		rows := all[:0]
		for _, r := range all {
			if !r.Unused() {
				rows = append(rows, r)
			}
		}
		return rows, nil
	}
	opt, err := manifestOptions(c)
	if err != nil {
		return nil, err
	}
	h, st, err := openStation(c)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	var rows []manifest.Row
	err = st.ForEachInState(station.StateDone, func(m *station.Module) error {
		r, err := manifest.RowOf(m, opt)
		if err != nil {
			return err
		}
		rows = append(rows, r)
		return nil
	})
	return rows, err
}
