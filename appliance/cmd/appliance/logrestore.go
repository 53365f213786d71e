package main

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/dacline/dacline/appliance/applog"
	"github.com/dacline/dacline/appliance/home"
	"github.com/dacline/dacline/shared/auditlog"
	"github.com/dacline/dacline/shared/clirun"
)

// restoreRunbook is where an officer reads what to do with a restored home.
const restoreRunbook = "docs/security-officer.md, \"Backup and restore\""

// anchorHint explains a refused anchor check.
func anchorHint(err error) error {
	switch {
	case errors.Is(err, applog.ErrBehindAnchor):
		return clirun.WithHint(err, "this home was restored from an older backup: bring the missing log tail back with 'appliance log restore --from DIR' (the latest log export), see %s", restoreRunbook)
	case errors.Is(err, applog.ErrNoAnchor):
		return clirun.WithHint(err, "if this appliance was initialised before log anchors existed, anchor it once with 'appliance log anchor'; if the anchor was deleted, stop and investigate (%s)", restoreRunbook)
	}
	return withHints(err)
}

func logRestoreCommand() *cli.Command {
	return &cli.Command{
		Name:      "restore",
		Usage:     "bring back the audit log entries a restored home lost, from a log export",
		ArgsUsage: " ",
		Description: "After the home (or appliance.db) was restored from a backup, its log is older\n" +
			"than the anchor on the token and every signing command refuses. This reads a\n" +
			"log export of this appliance (a directory or a log-export bundle), checks its\n" +
			"signature and checkpoints with the appliance key and that it continues the\n" +
			"home's log, appends the missing entries byte for byte, and rebuilds the issuance\n" +
			"store from them (keys certified, batches signed). Run it with the latest export\n" +
			"until it reports the anchor check passes.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "from", Usage: "the log export: `PATH` of a log-export bundle or directory"},
			pinFileFlag,
		},
		Action: logRestore,
	}
}

func logRestore(c *cli.Context) error {
	if err := clirun.Args(c); err != nil {
		return err
	}
	from := c.String("from")
	if from == "" {
		return clirun.Usage("--from PATH is required (the latest log export)")
	}
	h, u, err := unlockApplianceUnchecked(c)
	if err != nil {
		return err
	}
	defer h.Close()
	defer u.Close()
	res, err := u.RestoreLog(from)
	if res == nil && err != nil {
		if errors.Is(err, applog.ErrRestoreMismatch) {
			return clirun.WithHint(err, "use a log export of this appliance taken after the backup; if entries were appended to the restored home, see %s", restoreRunbook)
		}
		return withHints(err)
	}
	if res.After > res.Before {
		printf("audit log: %d entries restored (seq %d to %d) from %s, checkpoint %s\n", res.After-res.Before, res.Before, res.After-1, from, res.Checkpoint)
	} else {
		printf("audit log: nothing to restore from %s (the home's log has %d entries, the export's checkpoint covers %d)\n", from, res.Before, res.Checkpoint.Size)
	}
	for _, name := range res.Revoked {
		printf("station %s: revoked after the backup; revoked again now (new station-revoked entry)\n", name)
	}
	for _, name := range res.ToEnroll {
		printf("station %s: enrolled after the backup; enroll it again ('appliance station enroll BUNDLE'): its batches are refused until then\n", name)
	}
	if err != nil {
		if res.Anchor == nil && (errors.Is(err, applog.ErrBehindAnchor) || errors.Is(err, applog.ErrNoAnchor)) {
			return anchorHint(fmt.Errorf("the log is still behind the token's anchor: %w", err))
		}
		return withHints(err)
	}
	printf("anchor check: OK (the log has %d entries, the token's anchor %d)\n", res.Anchor.LogSize, res.Anchor.Anchored.Size)
	return nil
}

func logAnchorCommand() *cli.Command {
	return &cli.Command{
		Name:      "anchor",
		Usage:     "anchor the audit log on the token (once, for an appliance initialised before log anchors)",
		ArgsUsage: " ",
		Description: "Records a log-anchored entry naming the officer, signs a checkpoint and stores it\n" +
			"on the token as the log anchor. From then on a home whose log is older than the\n" +
			"anchor is refused before anything is signed. Refused when the token has an anchor.\n" +
			"Appliances initialised with this version get their anchor at init.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "officer", Usage: "security officer anchoring the log (`NAME`, recorded; default: the login name)", EnvVars: []string{"DACLINE_OFFICER"}},
			pinFileFlag,
		},
		Action: logAnchor,
	}
}

func logAnchor(c *cli.Context) error {
	if err := clirun.Args(c); err != nil {
		return err
	}
	officer := officerName(c)
	if officer == "" {
		return clirun.Usage("--officer NAME is required: the audit log records who anchored it, and the login name is unknown")
	}
	h, u, err := unlockApplianceUnchecked(c)
	if err != nil {
		return err
	}
	defer h.Close()
	defer u.Close()
	signed, err := u.CreateAnchor(officer)
	if errors.Is(err, home.ErrAnchorExists) {
		return clirun.WithHint(err, "nothing to do; if the home is behind it, see %s", restoreRunbook)
	}
	if err != nil {
		return withHints(err)
	}
	if cp, err := auditlog.SplitSigned(signed); err == nil {
		printf("audit log anchored on token %s: checkpoint of %d entries\n", h.Config.HSM.TokenLabel, cp.Size)
	}
	return nil
}
