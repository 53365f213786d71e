package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/dacline/dacline/airgap-bundles/bundle"
	"github.com/dacline/dacline/lineclient/station"
	"github.com/dacline/dacline/lineclient/stationhome"
	"github.com/dacline/dacline/shared/clirun"
	"github.com/dacline/dacline/shared/storecheck"
)

func initCommand() *cli.Command {
	return &cli.Command{
		Name:  "init",
		Usage: "create the station home: identity keys, the appliance's trust anchors, product settings",
		Description: "Creates the station home (--home) with a fresh age X25519 identity and Ed25519\n" +
			"signing key (files 0600), copies the appliance's public identity and PAA/PAI, and\n" +
			"records the product (VID/PID) and optional Certification Declaration. With\n" +
			"--cd-signer the CD must verify with that certificate, here and at every batch\n" +
			"import and run; without it only the CD's content is checked against each DAC.\n" +
			"Compare the appliance fingerprint printed here with the one the officer reads\n" +
			"from the appliance.",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "appliance", Usage: "the appliance's public identity file (appliance.id)", Required: true},
			&cli.StringFlag{Name: "vid", Usage: "vendor ID, 4 hex digits (e.g. FFF1)", Required: true},
			&cli.StringFlag{Name: "pid", Usage: "product ID, 4 hex digits (e.g. 8000)", Required: true},
			&cli.StringFlag{Name: "cd", Usage: "Certification Declaration (DER) to write into modules"},
			&cli.BoolFlag{Name: "no-cd", Usage: "set up without a Certification Declaration, on purpose (modules cannot be finished until a home with one is set up)"},
			&cli.StringFlag{Name: "cd-signer", Usage: "certificate (PEM or DER) the --cd must be signed by, kept as a trust anchor"},
			&cli.StringFlag{Name: "name", Usage: "station name ([a-z0-9._-], default: from the host name)"},
		}, productFlags()...),
		Action: func(c *cli.Context) error {
			if err := clirun.Args(c); err != nil {
				return err
			}
			vid, err := parseID16("vid", c.String("vid"))
			if err != nil {
				return err
			}
			pid, err := parseID16("pid", c.String("pid"))
			if err != nil {
				return err
			}
			prod, err := productInfo(c)
			if err != nil {
				return err
			}
			name := c.String("name")
			if name == "" {
				name = stationhome.DefaultName()
			}
			if err := bundle.ValidateName(name); err != nil {
				return clirun.Usage("--name: %v", err)
			}
			app, err := bundle.ReadApplianceIdentity(c.String("appliance"))
			if err != nil {
				return clirun.WithHint(err, "use the file written by 'appliance identity --out appliance.id'")
			}
			var cd, cdSigner []byte
			if c.String("cd") == "" && !c.Bool("no-cd") && c.String("cd-signer") == "" {
				return clirun.WithHint(clirun.Usage("init needs --cd: without a certification declaration no module can be finished"),
					"give the product's CD with --cd cd.der (for a test VID: 'appliance cd create-test'), or --no-cd to set up a station that only generates keys")
			}
			if c.String("cd") != "" && c.Bool("no-cd") {
				return clirun.Usage("--cd and --no-cd contradict each other")
			}
			if p := c.String("cd"); p != "" {
				if cd, err = os.ReadFile(p); err != nil {
					return fmt.Errorf("read --cd: %w", err)
				}
			}
			if p := c.String("cd-signer"); p != "" {
				if cd == nil {
					return clirun.Usage("--cd-signer needs --cd (the certification declaration it signed)")
				}
				if cdSigner, err = os.ReadFile(p); err != nil {
					return fmt.Errorf("read --cd-signer: %w", err)
				}
			}
			h, err := stationhome.Init(c.String("home"), stationhome.InitOptions{Appliance: app, Name: name, VID: vid, PID: pid, CD: cd, CDSigner: cdSigner, Product: prod})
			if errors.Is(err, stationhome.ErrExists) {
				return clirun.WithHint(err, "this station is already set up; use another --home to set up a new one")
			}
			if errors.Is(err, stationhome.ErrCDNotForProduct) {
				return clirun.WithHint(err, "check --vid/--pid, or ask for the CD of this product: every DAC would fail the CD check")
			}
			if errors.Is(err, stationhome.ErrPAINotForProduct) {
				return clirun.WithHint(err, "the appliance cannot issue DACs for this product: check --vid/--pid, or ask the officer for the appliance.id of an appliance whose PAI covers it")
			}
			if err != nil {
				return err
			}
			defer h.Close()
			w := clirun.Stdout
			fmt.Fprintf(w, "station %s initialized in %s\n", h.Config.Name, h.Dir())
			fmt.Fprintf(w, "product: VID %s PID %s\n", h.Config.VID, h.Config.PID)
			if h.Config.Product != nil {
				fmt.Fprintln(w, describeProduct(h.Config.Product))
			}
			fmt.Fprintf(w, "appliance %s fingerprint: %s\n", app.Name, app.Fingerprint)
			fmt.Fprintf(w, "station fingerprint: %s\n", h.Identity.Fingerprint)
			switch signer, err := h.CDSigner(); {
			case err != nil:
				return err
			case signer != nil:
				fmt.Fprintf(w, "certification declaration: signature verified with %s\n", signer.Subject)
			case h.Config.HasCD:
				fmt.Fprintf(w, "certification declaration: content checked against each DAC; signature not checked (no --cd-signer)\n")
			}
			fmt.Fprintf(w, "next: lineclient enroll --out DIR, then carry the bundle to the appliance\n")
			return nil
		},
	}
}

func enrollCommand() *cli.Command {
	return &cli.Command{
		Name:  "enroll",
		Usage: "write this station's enrollment bundle for the appliance",
		Description: "Writes enrollment-<station>-<id>.age into DIR (a USB stick): the station's public\n" +
			"identity, signed by its key and encrypted to the appliance. The officer runs\n" +
			"'appliance station enroll BUNDLE' and compares the fingerprint printed here.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Usage: "directory to write the bundle into", Required: true},
		},
		Action: func(c *cli.Context) error {
			if err := clirun.Args(c); err != nil {
				return err
			}
			h, err := openHome(c)
			if err != nil {
				return err
			}
			defer h.Close()
			path, _, err := h.WriteEnrollment(c.String("out"))
			if err != nil {
				return err
			}
			fmt.Fprintf(clirun.Stdout, "wrote %s\n", path)
			fmt.Fprintf(clirun.Stdout, "station %s fingerprint: %s\n", h.Config.Name, h.Identity.Fingerprint)
			return nil
		},
	}
}

// openHome opens the station home named by --home, with a hint when it is missing.
func openHome(c *cli.Context) (*stationhome.Home, error) {
	h, err := stationhome.Open(c.String("home"))
	switch {
	case errors.Is(err, stationhome.ErrNotInitialized):
		return nil, clirun.WithHint(err, "run 'lineclient init --appliance appliance.id --vid VID --pid PID' first")
	case errors.Is(err, stationhome.ErrInUse):
		return nil, clirun.WithHint(err, "another lineclient is running on this home; wait for it or stop it")
	case errors.Is(err, storecheck.ErrMissing), errors.Is(err, storecheck.ErrEmpty):
		return nil, clirun.WithHint(err, "%s", storeLostHint)
	case errors.Is(err, storecheck.ErrDamaged):
		return nil, clirun.WithHint(err, "%s", station.RecoveryHint)
	case errors.Is(err, stationhome.ErrPermissions):
		return nil, clirun.WithHint(err, "chmod 0700 the home and 0600 its key files")
	}
	return h, err
}

// parseID16 parses a VID or PID given as 4 hex digits (an optional 0x prefix is accepted).
func parseID16(flag, s string) (uint16, error) {
	t := strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	v, err := strconv.ParseUint(t, 16, 16)
	if err != nil || len(t) != 4 {
		return 0, clirun.Usage("--%s %q: want 4 hex digits, e.g. FFF1", flag, s)
	}
	return uint16(v), nil
}
