package main

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/dacline/dacline/lineclient/station"
	"github.com/dacline/dacline/lineclient/stationhome"
	"github.com/dacline/dacline/shared/clirun"
	"github.com/dacline/dacline/shared/storecheck"
)

// openStation opens the station home and its state store. A state file that
// cannot be trusted stops the command with the recovery procedure; it is
// never reset.
func openStation(c *cli.Context) (*stationhome.Home, *station.Store, error) {
	h, inRun, err := sharedHome(c)
	if !inRun {
		h, err = stationhome.Open(c.String("home"))
	}
	if err != nil {
		switch {
		case errors.Is(err, stationhome.ErrNotInitialized):
			return nil, nil, clirun.WithHint(err, "run 'lineclient init --appliance appliance.id --vid V --pid P' first, or set --home / DACLINE_HOME")
		case errors.Is(err, stationhome.ErrInUse):
			return nil, nil, clirun.WithHint(err, "another lineclient (batch, status, manifest, labels, …) is using this station; wait for it and try again (while 'lineclient run' runs, these commands go through it)")
		case errors.Is(err, storecheck.ErrMissing), errors.Is(err, storecheck.ErrEmpty):
			return nil, nil, clirun.WithHint(err, "%s", storeLostHint)
		case errors.Is(err, storecheck.ErrDamaged):
			return nil, nil, clirun.WithHint(err, "%s", station.RecoveryHint)
		case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum),
			errors.Is(err, berrors.ErrVersionMismatch), errors.Is(err, berrors.ErrInvalidMapping):
			return nil, nil, clirun.WithHint(fmt.Errorf("%w: %v", station.ErrCorrupt, err), "%s", station.RecoveryHint)
		}
		return nil, nil, err
	}
	st, err := station.New(h.DB())
	if err != nil {
		h.Close()
		if errors.Is(err, station.ErrCorrupt) {
			return nil, nil, clirun.WithHint(err, "%s", station.RecoveryHint)
		}
		return nil, nil, err
	}
	return h, st, nil
}

// storeLostHint is the fix for a missing or emptied station.db.
const storeLostHint = "do not delete the home or run init again: station.db is the only record of which modules hold " +
	"which keys and DACs; stop every lineclient process and restore station.db (or the whole station home) from the " +
	"latest backup; modules re-identify on the jig and are reconciled against the restored records"

// product returns the station's VID and PID.
func product(h *stationhome.Home) (vid, pid uint16, err error) {
	if _, err := fmt.Sscanf(h.Config.VID+" "+h.Config.PID, "%04X %04X", &vid, &pid); err != nil {
		return 0, 0, fmt.Errorf("station config: vid %q pid %q: %w", h.Config.VID, h.Config.PID, err)
	}
	return vid, pid, nil
}
