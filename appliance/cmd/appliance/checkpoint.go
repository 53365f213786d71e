package main

import (
	"errors"
	"fmt"

	"github.com/dacline/dacline/appliance/applog"
	"github.com/dacline/dacline/appliance/home"
	"github.com/dacline/dacline/shared/auditlog"
	"github.com/dacline/dacline/shared/clirun"
)

// checkpointAfter signs a checkpoint of the audit log after a command that
// appended to it (what changed is already recorded; the checkpoint commits the
// appliance to it with its signature) and prints it in one line.
func checkpointAfter(u *home.Unlocked, what string) error {
	signed, err := u.Checkpoint()
	if err != nil {
		err = fmt.Errorf("%s is recorded in the audit log, but signing its checkpoint failed: %w", what, err)
		if errors.Is(err, applog.ErrRollback) || errors.Is(err, applog.ErrFork) || errors.Is(err, applog.ErrDamaged) {
			return clirun.WithHint(err, "the log no longer extends the last signed checkpoint: stop and have a security officer investigate (restored backup?) before any ceremony")
		}
		return withHints(err)
	}
	if c, err := auditlog.SplitSigned(signed); err == nil {
		printf("audit log: checkpoint of %d entries signed\n", c.Size)
	}
	return nil
}
