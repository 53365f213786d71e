package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/dacline/dacline/lineclient/esp/espimage"
	"github.com/dacline/dacline/lineclient/esp/romloader"
	"github.com/dacline/dacline/lineclient/runner"
	"github.com/dacline/dacline/lineclient/station"
	"github.com/dacline/dacline/lineclient/stationhome"
	"github.com/dacline/dacline/shared/clirun"
)

// loadFlashPlan reads the product's flash.json from the station home;
// ok=false when the station has none.
func loadFlashPlan(h *stationhome.Home) (plan *runner.FlashPlan, ok bool, err error) {
	p := h.Path(runner.FlashPlanFile)
	if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	plan, err = runner.LoadFlashPlan(p)
	if err != nil {
		return nil, false, err
	}
	return plan, true, nil
}

// flashProductionConfigured: the station locks a module only after its
// production images are flashed when flash.json names any.
func flashProductionConfigured(h *stationhome.Home) (bool, error) {
	plan, ok, err := loadFlashPlan(h)
	if err != nil {
		return false, err
	}
	return ok && len(plan.Production) > 0, nil
}

func flashModuleCommand() *cli.Command {
	return &cli.Command{
		Name:  "module",
		Usage: "flash the product's images into the module on a jig, recorded in the station",
		Description: "The module must be in download mode. Reads the images and key digests from\n" +
			"flash.json in the station home, checks them against the chip, records 'flashing\n" +
			"started', writes every region and reads it back by MD5, records 'flashed' with each\n" +
			"image's SHA-256, then lets the module boot. --phase provisioning: the provisioning\n" +
			"firmware on a blank module; --phase production: the customer's images, once the\n" +
			"module is attested (the station does not lock it before). See docs/esp32-flashing.md.",
		Flags: []cli.Flag{
			romPortFlag(),
			&cli.StringFlag{Name: "phase", Usage: "provisioning or production", Required: true},
		},
		Action: func(c *cli.Context) error {
			if err := clirun.Args(c); err != nil {
				return err
			}
			path, err := romPort(c)
			if err != nil {
				return err
			}
			phase := station.FlashPhase(c.String("phase"))
			if phase != station.FlashProvisioning && phase != station.FlashProduction {
				return clirun.Usage("--phase %q: want provisioning or production", c.String("phase"))
			}
			h, st, err := openStation(c)
			if err != nil {
				return err
			}
			defer h.Close()
			plan, ok, err := loadFlashPlan(h)
			if err != nil {
				return err
			}
			if !ok {
				return clirun.WithHint(fmt.Errorf("no %s in %s", runner.FlashPlanFile, h.Dir()), "write the product's key digests and images there (docs/esp32-flashing.md §3)")
			}
			cl, port, err := romloader.Dial(path, 10)
			if err != nil {
				return clirun.WithHint(err, "put the module in download mode (hold BOOT while resetting)")
			}
			defer port.Close()
			f := &runner.Flasher{Store: st, Plan: plan}
			rec, err := f.Flash(cl, phase)
			if err != nil {
				switch {
				case errors.Is(err, station.ErrFlashOrder) || errors.Is(err, station.ErrNotFound):
					return clirun.WithHint(err, "production images go in after 'lineclient run' has attested the module, and before it locks it")
				case errors.Is(err, espimage.ErrKeyNotAllowed) || errors.Is(err, espimage.ErrUnsigned) || errors.Is(err, espimage.ErrBadSignature):
					return clirun.WithHint(err, "the image is not signed by one of the product's keys (key_digests in %s): quarantine it", runner.FlashPlanFile)
				case errors.Is(err, runner.ErrNothingToFlash):
					return clirun.WithHint(err, "list the %s images in %s (docs/esp32-flashing.md §3)", phase, runner.FlashPlanFile)
				case errors.Is(err, romloader.ErrRefused):
					return clirun.WithHint(err, "nothing was written or recorded")
				}
				return clirun.WithHint(err, "the module is recorded as 'flashing started', not flashed: run the command again")
			}
			st2 := rec.Provisioning
			if phase == station.FlashProduction {
				st2 = rec.Production
			}
			for _, im := range st2.Images {
				fmt.Fprintf(clirun.Stdout, "%s: 0x%06x %-15s %7d bytes  sha256 %s  verified\n", im.Name, im.Offset, im.Kind, im.Size, im.SHA256)
			}
			fmt.Fprintf(clirun.Stdout, "module %s: %s images flashed (attempt %d)\n", rec.MAC, phase, st2.Attempts)
			// Leave the loader: the module boots what was flashed.
			if err := cl.FlashEnd(true); err != nil {
				return fmt.Errorf("module %s flashed, but leaving the ROM loader failed (reset it by hand): %w", rec.MAC, err)
			}
			return nil
		},
	}
}

func chipLockCheckCommand() *cli.Command {
	return &cli.Command{
		Name:  "lock-check",
		Usage: "read the lock through the chip's ROM (GET_SECURITY_INFO) and record it",
		Description: "After 'lineclient run' has locked the module, reset it into download mode and run\n" +
			"this: the ROM's own security summary must show flash encryption in release mode\n" +
			"(SPI_BOOT_CRYPT_CNT=7), secure boot, JTAG disabled and secure download mode. A locked\n" +
			"chip's ROM no longer gives its MAC: --mac names the module the station locked on\n" +
			"this jig. Exit 1 when a bit is missing.",
		Flags: []cli.Flag{romPortFlag(), &cli.StringFlag{Name: "mac", Usage: "the module on the jig, as the station shows it (02:da:c1:…)", Required: true}},
		Action: func(c *cli.Context) error {
			if err := clirun.Args(c); err != nil {
				return err
			}
			path, err := romPort(c)
			if err != nil {
				return err
			}
			h, st, err := openStation(c)
			if err != nil {
				return err
			}
			defer h.Close()
			cl, port, err := romloader.Dial(path, 10)
			if err != nil {
				return clirun.WithHint(err, "put the module in download mode (hold BOOT while resetting)")
			}
			defer port.Close()
			chk, err := (&runner.Flasher{Store: st}).CheckROMLock(cl, c.String("mac"))
			if chk != nil {
				fmt.Fprintf(clirun.Stdout, "module %s: rom security flags 0x%08x, SPI_BOOT_CRYPT_CNT %d: ", c.String("mac"), chk.Flags, chk.FlashCryptCnt)
				if chk.OK {
					fmt.Fprintln(clirun.Stdout, "locked")
				} else {
					fmt.Fprintf(clirun.Stdout, "NOT locked, missing %v\n", chk.Missing)
				}
			}
			if err != nil {
				if errors.Is(err, runner.ErrROMLockIncomplete) {
					return clirun.WithHint(err, "quarantine the module: the ROM contradicts the provisioning firmware's lock report")
				}
				return err
			}
			return nil
		},
	}
}
