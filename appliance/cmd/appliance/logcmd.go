package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/dacline/dacline/appliance/applog"
	"github.com/dacline/dacline/shared/auditlog"
	"github.com/dacline/dacline/shared/clirun"
)

func logCommand() *cli.Command {
	return &cli.Command{
		Name:  "log",
		Usage: "show or export the audit log",
		Subcommands: []*cli.Command{
			{
				Name:  "show",
				Usage: "show the log's size, latest checkpoint and last entries",
				Flags: []cli.Flag{
					&cli.IntFlag{Name: "last", Value: 20, Usage: "show the last `N` entries (0: none, -1: all)"},
					clirun.JSONFlag,
				},
				Action: logShow,
			},
			{
				Name:  "export",
				Usage: "write a signed log-export bundle for auditors",
				Description: "Appends a log-exported entry, signs a checkpoint with the appliance key\n" +
					"(refused if the log does not extend the last one signed), and writes a\n" +
					"signed-only log-export bundle to DIR: entries, every checkpoint, and the\n" +
					"consistency proof from the previous export. Verify it anywhere with\n" +
					"'appliance audit verify --log DIR --key appliance.id'.",
				Flags:  []cli.Flag{pinFileFlag, &cli.StringFlag{Name: "out", Usage: "write the bundle into `DIR` (e.g. the USB stick)"}},
				Action: logExport,
			},
			logRestoreCommand(),
			logAnchorCommand(),
		},
	}
}

// logSummary is what 'log show' prints.
type logSummary struct {
	Size             int64             `json:"size"`
	LatestCheckpoint string            `json:"latest_checkpoint,omitempty"` // signed note text
	Checkpoints      int               `json:"checkpoints"`
	Entries          []json.RawMessage `json:"entries"`
}

func logShow(c *cli.Context) error {
	if err := clirun.Args(c); err != nil {
		return err
	}
	h, err := openHome(c)
	if err != nil {
		return err
	}
	defer h.Close()
	lg, err := applog.OpenInHome(h.DB(), h.Dir())
	if err != nil {
		return err
	}
	s := logSummary{Entries: []json.RawMessage{}}
	if s.Size, err = lg.Size(); err != nil {
		return err
	}
	latest, err := lg.Latest()
	if err != nil {
		return err
	}
	s.LatestCheckpoint = string(latest)
	all, err := lg.Checkpoints()
	if err != nil {
		return err
	}
	s.Checkpoints = len(all)
	from := int64(0)
	if n := int64(c.Int("last")); n >= 0 {
		from = max(0, s.Size-n)
	}
	err = lg.ForEach(from, s.Size, func(_ int64, e []byte) error {
		s.Entries = append(s.Entries, json.RawMessage(append([]byte(nil), e...)))
		return nil
	})
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return clirun.PrintJSON(clirun.Stdout, s)
	}
	printf("audit log of %s: %d entries, %d checkpoints\n", h.Config.Name, s.Size, s.Checkpoints)
	if latest == nil {
		printf("latest checkpoint: none yet\n")
	} else if cp, err := auditlog.SplitSigned(latest); err == nil {
		unsigned := s.Size - cp.Size
		printf("latest checkpoint: %s (%d entries since)\n", cp, unsigned)
	}
	for _, e := range s.Entries {
		printf("%s\n", e)
	}
	return nil
}

func logExport(c *cli.Context) error {
	if err := clirun.Args(c); err != nil {
		return err
	}
	out := c.String("out")
	if out == "" {
		return clirun.Usage("--out is required")
	}
	if fi, err := os.Stat(out); err != nil || !fi.IsDir() {
		return clirun.WithHint(fmt.Errorf("--out %s: not a directory", out), "mount the USB stick and name its directory")
	}
	h, u, err := unlockAppliance(c)
	if err != nil {
		return err
	}
	defer h.Close()
	defer u.Close()
	lg, err := u.AuditLog()
	if err != nil {
		return err
	}
	tmp, err := h.TempDir()
	if err != nil {
		return err
	}
	path, res, err := lg.ExportBundle(out, h.Config.Name, u.Signing.Signer(), tmp)
	if err != nil {
		return withHints(err)
	}
	printf("log export written to %s\n", path)
	printf("checkpoint: %s", res.Signed)
	if res.PreviousSize > 0 {
		printf("consistent with the previous export (%d entries)\n", res.PreviousSize)
	}
	return nil
}
