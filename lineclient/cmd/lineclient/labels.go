package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
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
		Usage: "print new labels (QR code, manual code, serial, MAC) as a PDF, PNGs or ZPL for a thermal printer",
		Description: "Labels come from the finished modules in the store, or from a manifest file with --manifest\n" +
			"(its unused rows, failed modules' DACs, get no label). Only labels not printed before are\n" +
			"printed, and recorded as printed once the file is written; --all prints every label again,\n" +
			"--mac picks modules to reprint.\n\n" +
			"--format follows --out unless given: .pdf is a PDF, .zpl is ZPL, anything else a directory\n" +
			"that gets <serial>.png per module. A PDF is printed on --paper a4 (24 labels of 63.5 x 33.9 mm)\n" +
			"or letter (30 labels of 2.625 x 1 in), or on a roll (one label of --size per page). PNG and\n" +
			"ZPL are roll labels of --size; --dpi is the printer's resolution.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Usage: "write to `PATH`: labels.pdf, labels.zpl, or a directory for PNGs", Required: true},
			&cli.StringFlag{Name: "format", Usage: "`pdf`, png or zpl (default: from --out)"},
			&cli.StringFlag{Name: "paper", Usage: "PDF paper: `a4`, letter, or roll (default a4; png and zpl are roll labels)"},
			&cli.StringFlag{Name: "size", Value: labels.DefaultRollSize.String(), Usage: "roll label `WxH` in in or mm, e.g. 2x1in, 50x25mm"},
			&cli.IntFlag{Name: "dpi", Usage: "printer resolution in `DPI`: png (default 300) or zpl (152, 203, 300, 600; default 203)"},
			&cli.BoolFlag{Name: "all", Usage: "print every label, also those printed before"},
			&cli.StringSliceFlag{Name: "mac", Usage: "only the module with this `MAC` (repeatable), printed before or not"},
			&cli.StringFlag{Name: "manifest", Usage: "read modules from this manifest `FILE` instead of the store"},
			&cli.StringFlag{Name: "batch", Usage: "only modules of batch `ID`"},
			flowFlag, discoveryFlag,
		},
		Action: routed(func(c *cli.Context) error {
			if err := clirun.Args(c); err != nil {
				return err
			}
			out := labelOutputOf(c)
			if err := out.parse(c); err != nil {
				return err
			}
			src, err := openLabelSource(c)
			if err != nil {
				return err
			}
			defer src.close()
			macs, unmatched := map[string]bool{}, map[string]string{}
			for _, m := range c.StringSlice("mac") {
				macs[normalMAC(m)], unmatched[normalMAC(m)] = true, m
			}
			var ls []labels.Label
			skipped := 0
			for _, r := range src.rows {
				delete(unmatched, normalMAC(r.MAC))
				if b := c.String("batch"); b != "" && r.BatchID != b {
					continue
				}
				if len(macs) > 0 && !macs[normalMAC(r.MAC)] {
					continue
				}
				if _, done := src.printed[r.MAC]; done && !c.Bool("all") && len(macs) == 0 {
					skipped++
					continue
				}
				ls = append(ls, labels.Of(r))
			}
			for _, m := range c.StringSlice("mac") {
				if _, ok := unmatched[normalMAC(m)]; ok {
					return clirun.WithHint(fmt.Errorf("--mac %s: no finished module has this mac", m),
						"labels are printed for finished (done) modules; see 'lineclient status'")
				}
			}
			if len(ls) == 0 {
				if skipped > 0 {
					return clirun.WithHint(errors.New("no new labels to print"),
						"the labels of all %d finished modules were printed before; --all prints them again, --mac MAC reprints one", skipped)
				}
				return clirun.WithHint(labels.ErrNoLabels, "labels are printed for finished (done) modules; see 'lineclient status'")
			}
			n, werr := out.write(ls)
			// Record what is on disk, even after a failure part way: those
			// files are whole and durable. What failed is printed next time.
			if n > 0 && src.store != nil {
				var done []string
				for _, l := range ls[:n] {
					done = append(done, l.MAC)
				}
				if err := src.store.RecordLabelsPrinted(done); err != nil {
					return clirun.WithHint(fmt.Errorf("labels written to %s but not recorded as printed: %w", out.path, err),
						"the next 'lineclient labels' prints them again")
				}
			}
			if werr != nil {
				if n > 0 {
					return clirun.WithHint(werr, "%d of %d labels were written and recorded; the next 'lineclient labels' prints the rest", n, len(ls))
				}
				return werr
			}
			fmt.Fprintf(stdout(c), "wrote %s to %s (%s)\n", plural(n, "label"), out.path, out.describe())
			if skipped > 0 {
				fmt.Fprintf(stdout(c), "%s printed before %s left out (--all prints them again)\n", plural(skipped, "label"),
					map[bool]string{true: "was", false: "were"}[skipped == 1])
			}
			return nil
		}),
	}
}

// labelOutput is where and how labels are written.
type labelOutput struct {
	path   string
	format string // pdf, png, zpl
	media  labels.Media
	dpi    int
}

func labelOutputOf(c *cli.Context) *labelOutput {
	o := &labelOutput{path: userPath(c, c.String("out")), format: strings.ToLower(c.String("format"))}
	if o.format == "" {
		switch strings.ToLower(filepath.Ext(o.path)) {
		case ".pdf":
			o.format = "pdf"
		case ".zpl":
			o.format = "zpl"
		default:
			o.format = "png"
		}
	}
	return o
}

// parse checks the flags against the format: a sheet exists only for PDF,
// --size only for roll labels, --dpi only for raster and thermal output.
func (o *labelOutput) parse(c *cli.Context) error {
	size, err := labels.ParseSize(c.String("size"))
	if err != nil {
		return clirun.Usage("--size: %v", err)
	}
	paper := strings.ToLower(c.String("paper"))
	switch o.format {
	case "pdf":
		if paper == "" {
			paper = "a4"
		}
		if c.IsSet("dpi") {
			return clirun.Usage("--dpi is for png and zpl; a PDF has no resolution")
		}
	case "png", "zpl":
		if paper != "" && paper != "roll" {
			return clirun.Usage("--paper %s: %s labels are roll labels, one per image or format; sheets are PDF (--format pdf)", paper, o.format)
		}
		paper = "roll"
		o.dpi = c.Int("dpi")
		if o.dpi == 0 {
			o.dpi = map[string]int{"png": labels.PNGDPI, "zpl": labels.DefaultZPLDPI}[o.format]
		}
	default:
		return clirun.Usage("--format %q: want pdf, png or zpl", o.format)
	}
	if paper == "roll" {
		o.media = labels.OnRoll(size)
		return nil
	}
	sheet, ok := labels.SheetByName(paper)
	if !ok {
		return clirun.Usage("--paper %q: want a4, letter or roll", paper)
	}
	if c.IsSet("size") {
		return clirun.Usage("--size is for roll labels; %s sheets have labels of %s", sheet.Name, sheet.Label)
	}
	o.media = labels.OnSheet(sheet)
	return nil
}

func (o *labelOutput) describe() string {
	switch {
	case o.media.Sheet != nil:
		return fmt.Sprintf("%s sheets of %d", o.media.Sheet.Name, o.media.Sheet.PerPage())
	case o.format == "pdf":
		return "one " + o.media.Size.String() + " label per page"
	}
	return fmt.Sprintf("%s labels, %s at %d dpi", o.media.Size, o.format, o.dpi)
}

// write writes the labels and returns how many are durably on disk.
func (o *labelOutput) write(ls []labels.Label) (int, error) {
	switch o.format {
	case "pdf":
		if err := labels.WritePDFFile(o.path, ls, o.media); err != nil {
			return 0, err
		}
	case "zpl":
		if err := labels.WriteZPLFile(o.path, ls, o.media.Size, o.dpi); err != nil {
			return 0, err
		}
	default:
		return labels.WritePNGs(o.path, ls, o.media.Size, o.dpi)
	}
	return len(ls), nil
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// normalMAC compares MACs written with or without separators, in any case.
func normalMAC(s string) string {
	return strings.NewReplacer(":", "", "-", "").Replace(strings.ToLower(strings.TrimSpace(s)))
}

// labelSource is the modules to label: the store's finished modules (with
// which were printed before), or a manifest file's deployed rows (nothing
// recorded: the file may come from another station).
type labelSource struct {
	rows    []manifest.Row
	printed map[string]struct{}
	store   *station.Store
	close   func()
}

func openLabelSource(c *cli.Context) (*labelSource, error) {
	if path := c.String("manifest"); path != "" {
		f, err := os.Open(userPath(c, path))
		if err != nil {
			return nil, err
		}
		defer f.Close()
		all, err := manifest.ReadAll(io.LimitReader(f, 1<<30))
		if err != nil {
			return nil, err
		}
		// Labels are for modules that ship: unused rows (failed modules'
		// DACs, listed for the auditor) and in-progress rows get none.
		rows := all[:0]
		for _, r := range all {
			if r.Deployed() {
				rows = append(rows, r)
			}
		}
		return &labelSource{rows: rows, close: func() {}}, nil
	}
	opt, err := manifestOptions(c)
	if err != nil {
		return nil, err
	}
	h, st, err := openStation(c)
	if err != nil {
		return nil, err
	}
	src := &labelSource{store: st, printed: map[string]struct{}{}, close: func() { h.Close() }}
	printed, err := st.LabelsPrinted()
	if err != nil {
		h.Close()
		return nil, err
	}
	for mac := range printed {
		src.printed[mac] = struct{}{}
	}
	err = st.ForEachInState(station.StateDone, func(m *station.Module) error {
		r, err := manifest.RowOf(m, opt)
		if err != nil {
			return err
		}
		src.rows = append(src.rows, r)
		return nil
	})
	if err != nil {
		h.Close()
		return nil, err
	}
	return src, nil
}
