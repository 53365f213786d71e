package main

import (
	"github.com/urfave/cli/v2"

	"github.com/dacline/dacline/lineclient/esp/romloader"
	"github.com/dacline/dacline/lineclient/sim"
	"github.com/dacline/dacline/shared/clirun"
)

// downloadOptions reads the ROM-loader flags of 'lineclient sim'.
func downloadOptions(c *cli.Context) (sim.Download, string, error) {
	chip, err := romloader.ChipByName(c.String("chip"))
	if err != nil {
		return sim.Download{}, "", clirun.Usage("--chip: %v", err)
	}
	faults, err := sim.ParseROMFaults(c.String("rom-faults"))
	if err != nil {
		return sim.Download{}, "", clirun.Usage("--rom-faults: %v", err)
	}
	d := sim.Download{Enabled: c.Bool("download"), SecureDownload: c.Bool("secure-download"), Faults: faults}
	if !d.Enabled && (d.SecureDownload || c.String("rom-faults") != "") {
		return sim.Download{}, "", clirun.Usage("--secure-download and --rom-faults need --download")
	}
	if d.SecureDownload && !chip.SecureDownload {
		return sim.Download{}, "", clirun.Usage("--secure-download: %s has no secure download mode", chip.Name)
	}
	return d, chip.Name, nil
}
