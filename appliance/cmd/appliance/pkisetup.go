package main

import (
	"crypto/x509"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/dacline/dacline/appliance/home"
	"github.com/dacline/dacline/shared/clirun"
)

var (
	vidFlag = &cli.StringFlag{Name: "vid", Usage: "vendor ID, 4 hex digits (`VID`)"}
	pidFlag = &cli.StringFlag{Name: "pid", Usage: "product ID, 4 hex digits (`PID`, optional)"}
)

func paaCommand() *cli.Command {
	return &cli.Command{
		Name:  "paa",
		Usage: "development Product Attestation Authority",
		Subcommands: []*cli.Command{{
			Name:  "create-test",
			Usage: "generate a test PAA key in the token and its self-signed certificate (test vendor IDs FFF1-FFF4 only)",
			Flags: []cli.Flag{vidFlag, pinFileFlag},
			Action: func(c *cli.Context) error {
				if err := clirun.Args(c); err != nil {
					return err
				}
				vid, err := requiredVID(c)
				if err != nil {
					return err
				}
				h, u, err := unlockAppliance(c)
				if err != nil {
					return err
				}
				defer h.Close()
				defer u.Close()
				cert, err := u.CreateTestPAA(vid, time.Now())
				if err != nil {
					return withHints(err)
				}
				printCert("test PAA", h.Path(home.PAAFile), cert)
				return checkpointAfter(u, "the test PAA key")
			},
		}},
	}
}

func paiCommand() *cli.Command {
	return &cli.Command{
		Name:  "pai",
		Usage: "the Product Attestation Intermediate certificate for the token's PAI key",
		Subcommands: []*cli.Command{
			{
				Name:  "create-test",
				Usage: "issue a test PAI for the token's PAI key, signed by the test PAA (test vendor IDs only)",
				Flags: []cli.Flag{vidFlag, pidFlag, pinFileFlag},
				Action: func(c *cli.Context) error {
					if err := clirun.Args(c); err != nil {
						return err
					}
					vid, err := requiredVID(c)
					if err != nil {
						return err
					}
					pid, err := optionalPID(c)
					if err != nil {
						return err
					}
					h, u, err := unlockAppliance(c)
					if err != nil {
						return err
					}
					defer h.Close()
					defer u.Close()
					cert, err := u.CreateTestPAI(vid, pid, time.Now())
					if err != nil {
						return withHints(err)
					}
					printCert("test PAI", h.Path(home.PAIFile), cert)
					return checkpointAfter(u, "the PAI")
				},
			},
			{
				Name:  "csr",
				Usage: "write a PKCS#10 request, signed by the token's PAI key, for a real PAA",
				Flags: []cli.Flag{vidFlag, pidFlag, pinFileFlag,
					&cli.StringFlag{Name: "out", Usage: "write the request to `FILE` (never overwritten)"},
					&cli.StringFlag{Name: "label", Usage: "the PAI key `LABEL` (default the first PAI key; see 'appliance pai list')"}},
				Action: func(c *cli.Context) error {
					r, err := openPAIRequest(c)
					if err != nil {
						return err
					}
					defer r.close()
					vid, pid, out, u := r.vid, r.pid, r.out, r.u
					csr, err := u.PAICSRFor(c.String("label"), vid, pid)
					if err != nil {
						return paiHint(err)
					}
					if err := writeNew(out, csr); err != nil {
						return err
					}
					printf("PAI certificate request for vendor %04X written to %s\n", vid, out)
					return nil
				},
			},
			{
				Name:      "import",
				Usage:     "install the PAI issued by the PAA for one of this appliance's PAI keys (--renew: replace its certificate)",
				ArgsUsage: "PAI-CERT [--paa PAA-CERT] [--renew] [--label LABEL]",
				Flags: []cli.Flag{pinFileFlag,
					&cli.StringFlag{Name: "paa", Usage: "the PAA certificate `FILE` (required unless one is installed)"},
					&cli.BoolFlag{Name: "renew", Usage: "replace the installed certificate of the same key (same subject, VID/PID and PAA); the old one is kept in pai-history/"},
					&cli.StringFlag{Name: "label", Usage: "refuse unless the certificate is for the PAI key `LABEL` (see 'appliance pai list')"}},
				Action: func(c *cli.Context) error {
					// DESIGN.md writes "pai import pai.pem [--paa paa.pem]": the
					// trailing flag is parsed by clirun.Interspersed.
					if err := clirun.Args(c, "PAI-CERT"); err != nil {
						return err
					}
					paaFile := c.String("paa")
					paiData, err := readSmall(c.Args().First())
					if err != nil {
						return err
					}
					var paaData []byte
					if f := paaFile; f != "" {
						if paaData, err = readSmall(f); err != nil {
							return err
						}
					}
					h, u, err := unlockAppliance(c)
					if err != nil {
						return err
					}
					defer h.Close()
					defer u.Close()
					opt := home.ImportOptions{Renew: c.Bool("renew"), Label: c.String("label")}
					cert, v, err := u.ImportPAIWith(paiData, paaData, opt, time.Now())
					if err != nil {
						return paiHint(err)
					}
					what := "PAI " + v.Label
					if opt.Renew {
						what += " renewed,"
					}
					printCert(what, h.Path(v.File), cert)
					return checkpointAfter(u, "the PAI")
				},
			},
			paiRotateCommand(), paiListCommand(), paiRetireCommand(),
		},
	}
}

func printCert(what, path string, c *x509.Certificate) {
	printf("%s installed: %s\n", what, path)
	printf("  subject %s\n  issuer  %s\n  valid   %s .. %s\n", home.DescribeName(c.RawSubject), home.DescribeName(c.RawIssuer),
		c.NotBefore.UTC().Format(time.RFC3339), c.NotAfter.UTC().Format(time.RFC3339))
}

// readSmall reads an input certificate file (bounded: certificates are small).
func readSmall(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	const limit = 64 << 10
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(b) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, limit)
	}
	return b, nil
}

// writeNew writes an output file that must not exist yet.
func writeNew(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return withHints(err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}
