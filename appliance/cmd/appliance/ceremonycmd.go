package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"go.etcd.io/bbolt"

	"github.com/dacline/dacline/appliance/ceremony"
	"github.com/dacline/dacline/appliance/issuance"
	"github.com/dacline/dacline/shared/auditlog"
	"github.com/dacline/dacline/shared/clirun"
)

func ceremonyCommand() *cli.Command {
	return &cli.Command{
		Name:  "ceremony",
		Usage: "manage unfinished signing ceremonies",
		Subcommands: []*cli.Command{
			{
				Name:   "list",
				Usage:  "list the signing ceremonies: batch, station, state, DACs issued of accepted",
				Flags:  []cli.Flag{&cli.BoolFlag{Name: "unfinished", Usage: "only ceremonies neither finished nor abandoned"}, clirun.JSONFlag},
				Action: ceremonyList,
			},
			{
				Name:      "abandon",
				Usage:     "end an unfinished ceremony for good; its issued DACs are listed for revocation",
				ArgsUsage: "BATCH-ID",
				Description: "An interrupted ceremony holds its CSRs' keys (a later batch refuses them) and\n" +
					"counts against the station's quota until it finishes. When it cannot finish\n" +
					"(the bundle is lost, the station is gone), abandon it: the ceremony-abandoned\n" +
					"entry records the officer, the reason and the serials of the DACs it issued,\n" +
					"which never left the appliance and are listed for revocation; its keys are\n" +
					"released, and the batch is never signed again.",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "reason", Usage: "why the ceremony is abandoned (`TEXT`, recorded in the audit log)"},
					&cli.StringFlag{Name: "officer", Usage: "security officer abandoning it (`NAME`, recorded; default: the login name)", EnvVars: []string{"DACLINE_OFFICER"}},
					&cli.StringFlag{Name: "out", Usage: "also write the serials to revoke to `FILE`, one per line (never overwritten)"},
					pinFileFlag,
					clirun.JSONFlag,
				},
				Action: ceremonyAbandon,
			},
		},
	}
}

// abandonResult is what 'ceremony abandon --json' prints.
type abandonResult struct {
	BatchID  string   `json:"batch_id"`
	Station  string   `json:"station"`
	LogIndex uint64   `json:"log_index"`
	Serials  []string `json:"serials_to_revoke"`
}

func ceremonyAbandon(c *cli.Context) error {
	if err := clirun.Args(c, "BATCH-ID"); err != nil {
		return err
	}
	reason := strings.TrimSpace(c.String("reason"))
	if reason == "" {
		return clirun.Usage("--reason TEXT is required: the audit log records why the ceremony was abandoned")
	}
	officer := officerName(c)
	if officer == "" {
		return clirun.Usage("--officer NAME is required: the audit log records who abandoned the ceremony, and the login name is unknown")
	}
	batchID := c.Args().First()
	out := c.String("out")
	if out != "" {
		if _, err := os.Stat(out); err == nil {
			return clirun.WithHint(fmt.Errorf("--out %s: %w", out, os.ErrExist), "outputs are never overwritten: choose another path or remove the file")
		}
	}
	h, u, err := unlockAppliance(c)
	if err != nil {
		return err
	}
	defer h.Close()
	defer u.Close()
	if err := issuance.InitDB(h.DB()); err != nil {
		return err
	}
	lg, err := u.AuditLog()
	if err != nil {
		return err
	}
	ab, err := ceremony.Abandon(h.DB(), ceremony.AuditRecorder{Log: lg}, batchID, officer, reason, time.Now())
	switch {
	case errors.Is(err, issuance.ErrNoCeremony):
		return clirun.WithHint(err, "'appliance log show' lists the ceremonies started (ceremony-started entries)")
	case errors.Is(err, issuance.ErrTransition):
		return clirun.WithHint(err, "only an unfinished ceremony can be abandoned; a finished one delivered its DACs")
	case err != nil:
		return withHints(err)
	}
	if out != "" {
		if err := writeNewFile(out, []byte(joinLines(ab.Serials)), 0o644); err != nil {
			return fmt.Errorf("ceremony abandoned and recorded (audit log entry %d), but --out: %w", ab.LogIndex, err)
		}
	}
	if c.Bool("json") {
		return clirun.PrintJSON(clirun.Stdout, abandonResult{BatchID: batchID, Station: ab.Ceremony.Station, LogIndex: ab.LogIndex, Serials: ab.Serials})
	}
	printf("ceremony for batch %s (station %s) abandoned\n", batchID, ab.Ceremony.Station)
	printf("audit log entry %d: %s\n", ab.LogIndex, auditlog.TypeCeremonyAbandoned)
	printf("%d DACs were issued and never delivered; listed for revocation:\n", len(ab.Serials))
	for _, s := range ab.Serials {
		printf("  %s\n", s)
	}
	if out != "" {
		printf("serials written to %s\n", out)
	}
	if p := ab.Ceremony.PendingOutputSHA256; p != "" {
		printf("warning: a return bundle of this batch was sealed (sha256 %s) and may be on a stick: never hand it to the station\n", p)
	}
	return checkpointAfter(u, "the abandon")
}

func joinLines(ss []string) string {
	if len(ss) == 0 {
		return ""
	}
	return strings.Join(ss, "\n") + "\n"
}

// ceremonyRow is one line of 'ceremony list'.
type ceremonyRow struct {
	BatchID   string    `json:"batch_id"`
	Station   string    `json:"station"`
	State     string    `json:"state"`
	Accepted  int       `json:"accepted"`
	Issued    int       `json:"issued"`
	Refused   int       `json:"refused"`
	StartedAt time.Time `json:"started_at,omitzero"`
	Restored  bool      `json:"restored,omitempty"`
}

func ceremonyList(c *cli.Context) error {
	if err := clirun.Args(c); err != nil {
		return err
	}
	h, err := openHome(c)
	if err != nil {
		return err
	}
	defer h.Close()
	rows := []ceremonyRow{}
	err = h.DB().View(func(tx *bbolt.Tx) error {
		if tx.Bucket([]byte("issuance")) == nil {
			return nil // no ceremony yet
		}
		return issuance.Ceremonies(tx, func(cr *issuance.Ceremony) error {
			done := cr.State == issuance.StateFinished || cr.State == issuance.StateAbandoned
			if c.Bool("unfinished") && done {
				return nil
			}
			rows = append(rows, ceremonyRow{BatchID: cr.BatchID, Station: cr.Station, State: cr.State, Accepted: cr.Accepted,
				Issued: cr.Issued, Refused: cr.Refused, StartedAt: cr.StartedAt, Restored: cr.Restored})
			return nil
		})
	})
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return clirun.PrintJSON(clirun.Stdout, rows)
	}
	if len(rows) == 0 {
		printf("no ceremonies\n")
		return nil
	}
	for _, r := range rows {
		note := ""
		if r.Restored {
			note = " (rebuilt from a log export)"
		}
		printf("%s  %-16s %-9s issued %d of %d, refused %d%s\n", r.BatchID, r.Station, r.State, r.Issued, r.Accepted, r.Refused, note)
	}
	return nil
}
