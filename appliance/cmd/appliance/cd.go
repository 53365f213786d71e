package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/dacline/dacline/appliance/testcd"
	"github.com/dacline/dacline/shared/clirun"
)

func cdCommand() *cli.Command {
	return &cli.Command{
		Name:  "cd",
		Usage: "Certification Declarations",
		Subcommands: []*cli.Command{{
			Name:  "create-test",
			Usage: "sign a development Certification Declaration with a test CD signing key in the token (test vendor IDs FFF1-FFF4 only)",
			Description: "In production the CSA issues the CD; copy it to the stations with 'lineclient init --cd'.\n" +
				"For development the appliance signs one with the test CD signing key (made in the token\n" +
				"on first use; its certificate is kept in the home as " + testcd.SignerFile + "). The CD lists\n" +
				"the installed PAA as the only authorized PAA.",
			Flags: []cli.Flag{
				vidFlag,
				&cli.StringSliceFlag{Name: "pid", Usage: "product ID, 4 hex digits (`PID`; repeat for each product)"},
				&cli.StringFlag{Name: "device-type", Value: "0x0100", Usage: "primary device type `ID` (e.g. 0x0100 On/Off Light)"},
				&cli.StringFlag{Name: "certificate-id", Usage: "19-character certificate `ID` (default DEV<VID><PID>00000-01)"},
				&cli.StringFlag{Name: "out", Usage: "write the CD (DER) to `FILE` (never overwritten)"},
				pinFileFlag,
			},
			Action: createTestCD,
		}},
	}
}

func createTestCD(c *cli.Context) error {
	if err := clirun.Args(c); err != nil {
		return err
	}
	vid, err := requiredVID(c)
	if err != nil {
		return err
	}
	var pids []uint16
	for _, s := range c.StringSlice("pid") {
		p, err := parseID("pid", s)
		if err != nil {
			return err
		}
		pids = append(pids, p)
	}
	if len(pids) == 0 {
		return clirun.Usage("--pid is required")
	}
	dt, err := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(c.String("device-type")), "0x"), 16, 32)
	if err != nil {
		return clirun.Usage("--device-type %q: want hex digits, e.g. 0x0100", c.String("device-type"))
	}
	out := c.String("out")
	if out == "" {
		return clirun.Usage("--out is required")
	}
	if _, err := os.Lstat(out); err == nil {
		return withHints(fmt.Errorf("cd create-test: %s: %w", out, os.ErrExist))
	}
	h, u, err := unlockAppliance(c)
	if err != nil {
		return err
	}
	defer h.Close()
	defer u.Close()
	res, err := testcd.Create(u, testcd.Options{VID: vid, PIDs: pids, DeviceType: uint32(dt), CertificateID: c.String("certificate-id")}, time.Now())
	if errors.Is(err, testcd.ErrNotTestVID) {
		return clirun.WithHint(err, "development CDs are for the test vendor IDs FFF1 to FFF4; a real product's CD comes from the CSA")
	}
	if err != nil {
		return withHints(err)
	}
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return withHints(fmt.Errorf("cd create-test: %w", err))
	}
	if _, err := f.Write(res.CD); err != nil {
		f.Close()
		os.Remove(out)
		return fmt.Errorf("cd create-test: write %s: %w", out, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(out)
		return fmt.Errorf("cd create-test: write %s: %w", out, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("cd create-test: write %s: %w", out, err)
	}
	pidList := make([]string, len(pids))
	for i, p := range pids {
		pidList[i] = fmt.Sprintf("%04X", p)
	}
	printf("test CD written: %s (%d bytes)\n", out, len(res.CD))
	printf("  vendor %04X  products %s  device type 0x%04X  certificate id %s  type development\n",
		vid, strings.Join(pidList, ","), res.Content.DeviceTypeID, res.Content.CertificateID)
	if len(res.Content.AuthorizedPAAs) > 0 {
		printf("  authorized PAA %X\n", res.Content.AuthorizedPAAs[0])
	}
	state := "existing"
	if res.NewSigner {
		state = "new"
	}
	printf("  signed by %s (%s key %s in the token; certificate %s)\n", res.Signer.Subject.CommonName, state, testcd.KeyLabel, res.SignerPath)
	return nil
}
