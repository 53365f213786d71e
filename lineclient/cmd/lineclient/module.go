package main

import (
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/dacline/dacline/lineclient/esp/inspect"
	"github.com/dacline/dacline/lineclient/manifest"
	"github.com/dacline/dacline/shared/clirun"
	"github.com/dacline/dacline/shared/matter"
)

func moduleCommand() *cli.Command {
	return &cli.Command{
		Name:        "module",
		Usage:       "look at what a module's flash holds; retry a module's failed lock",
		Subcommands: []*cli.Command{moduleInspectCommand(), moduleRetryCommand()},
	}
}

// errChecksFailed: the report was printed; some check failed.
var errChecksFailed = errors.New("module inspect: checks failed")

func moduleInspectCommand() *cli.Command {
	return &cli.Command{
		Name:      "inspect",
		Usage:     "print and check a module's flash: partition table, esp_secure_cert, factory NVS, DAC chain, CD, onboarding",
		UsageText: "lineclient module inspect FLASH.bin [--json] [--paa paa.pem] [--cd-signer cd-signer.pem] [--manifest manifest.csv]",
		Description: "FLASH.bin is a whole flash image (e.g. 'esptool.py read_flash 0 0x400000 FLASH.bin')\n" +
			"or one partition read back (esp_secure_cert at 0xd000, fctry at 0x3e0000), or a\n" +
			"partition table. Prints every TLV and NVS entry with its CRC and checks what an\n" +
			"esp-matter device would read: the DAC → PAI chain (→ PAA with --paa), that the DAC\n" +
			"certifies the stored key, the Certification Declaration (its signature with\n" +
			"--cd-signer), and with --manifest the onboarding data against the module's row\n" +
			"(found by its DAC): the device stores only the verifier, so the passcode comes from\n" +
			"the row and the QR payload and manual code are recomputed. Exits 1 when a check fails.",
		Flags: []cli.Flag{
			clirun.JSONFlag,
			&cli.StringFlag{Name: "paa", Usage: "PAA certificate (PEM or DER) the DAC chain must end at"},
			&cli.StringFlag{Name: "cd-signer", Usage: "certificate (PEM or DER) the Certification Declaration must be signed by"},
			&cli.StringFlag{Name: "manifest", Usage: "the station's manifest CSV (lineclient manifest export)"},
		},
		Action: func(c *cli.Context) error {
			if err := clirun.Args(c, "FLASH.bin"); err != nil {
				return err
			}
			b, err := os.ReadFile(c.Args().First())
			if err != nil {
				return err
			}
			var o inspect.Options
			readCert := func(flag string) (*x509.Certificate, error) {
				p := c.String(flag)
				if p == "" {
					return nil, nil
				}
				data, err := os.ReadFile(p)
				if err != nil {
					return nil, fmt.Errorf("--%s: %w", flag, err)
				}
				cert, err := matter.ParseCertificate(data)
				if err != nil {
					return nil, fmt.Errorf("--%s %s: %w", flag, p, err)
				}
				return cert, nil
			}
			if o.PAA, err = readCert("paa"); err != nil {
				return err
			}
			if o.CDSigner, err = readCert("cd-signer"); err != nil {
				return err
			}
			if p := c.String("manifest"); p != "" {
				f, err := os.Open(p)
				if err != nil {
					return fmt.Errorf("--manifest: %w", err)
				}
				o.Manifest, err = manifest.ReadAll(f)
				f.Close()
				if err != nil {
					return fmt.Errorf("--manifest %s: %w", p, err)
				}
				if o.Manifest == nil {
					o.Manifest = []manifest.Row{}
				}
			}
			r := inspect.Inspect(b, o)
			if c.Bool("json") {
				if err := clirun.PrintJSON(clirun.Stdout, r); err != nil {
					return err
				}
			} else {
				r.WriteText(clirun.Stdout)
			}
			if !r.OK {
				var names []string
				for _, f := range r.Failed() {
					names = append(names, f.Name)
				}
				return fmt.Errorf("%w: %v", errChecksFailed, names)
			}
			return nil
		},
	}
}
