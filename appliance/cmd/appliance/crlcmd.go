package main

import (
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"go.etcd.io/bbolt"

	"github.com/dacline/dacline/appliance/crl"
	"github.com/dacline/dacline/appliance/home"
	"github.com/dacline/dacline/shared/auditlog"
	"github.com/dacline/dacline/shared/clirun"
	"github.com/dacline/dacline/shared/matter"
)

// maxSerialSource bounds a --serials file or a --unused-from manifest.
const maxSerialSource = 64 << 20

func crlCommand() *cli.Command {
	return &cli.Command{
		Name:  "crl",
		Usage: "revoke DACs: certificate revocation lists signed by the PAI (Matter DAC revocation)",
		Subcommands: []*cli.Command{
			{
				Name:      "issue",
				Usage:     "sign a new CRL with the PAI key, adding the serials named",
				UsageText: "appliance crl issue --out crl.der [--serial HEX]... [--serials FILE]... [--unused-from MANIFEST.csv]... [--next-update DURATION] [--reason NAME]",
				Description: "Signs a complete RFC 5280 v2 CRL with the PAI key in the token: every DAC revoked so far\n" +
					"plus the serials named now, which must be DACs this appliance issued with this PAI (a serial\n" +
					"it never issued refuses the whole command; nothing is written). Serials come from --serial,\n" +
					"from --serials files (one per line; 'appliance ceremony abandon --out' writes one) and from\n" +
					"the unused rows of line manifests (--unused-from: DACs of modules the station failed).\n" +
					"The CRL number goes up by one each time; the CRL and its crl-issued entry are recorded in\n" +
					"the audit log before the file is written.",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "out", Usage: "write the CRL (DER) to `FILE` (never overwritten)"},
					&cli.StringSliceFlag{Name: "serial", Usage: "revoke the DAC with serial `HEX`"},
					&cli.StringSliceFlag{Name: "serials", Usage: "revoke the serials listed in `FILE`, one per line"},
					&cli.StringSliceFlag{Name: "unused-from", Usage: "revoke the DACs of the unused rows of line manifest `CSV`"},
					&cli.StringFlag{Name: "next-update", Usage: "the CRL is current for `DURATION` (e.g. 720h, 30d)", Value: "30d"},
					&cli.StringFlag{Name: "reason", Usage: "RFC 5280 reason code `NAME` of the serials added (e.g. cessationOfOperation, keyCompromise)", Value: crl.ReasonCessationOfOperation.String()},
					&cli.StringFlag{Name: "officer", Usage: "security officer issuing it (`NAME`, recorded in the audit log; default: the login name)", EnvVars: []string{"DACLINE_OFFICER"}},
					pinFileFlag,
				},
				Action: crlIssue,
			},
			{
				Name:      "export",
				Usage:     "write the last CRL and the forms it is published in",
				UsageText: "appliance crl export [--crl FILE] [--dcl FILE --label LABEL] [--revocation-set FILE]",
				Description: "Reads the last CRL from the appliance's store (no token needed) and writes it again\n" +
					"(--crl), the DCL revocation distribution point fields for it (--dcl; dataURL is left\n" +
					"empty for the maker to fill in where it publishes the CRL), and the revocation set that\n" +
					"Matter commissioners and test harnesses read (--revocation-set).",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "crl", Usage: "write the CRL (DER) to `FILE`"},
					&cli.StringFlag{Name: "dcl", Usage: "write the DCL revocation distribution point (JSON) to `FILE`"},
					&cli.StringFlag{Name: "label", Usage: "the distribution point's `LABEL` in the DCL (unique per VID)"},
					&cli.StringFlag{Name: "revocation-set", Usage: "write the revocation set (JSON) to `FILE`"},
				},
				Action: crlExport,
			},
			{
				Name:   "show",
				Usage:  "list the revoked DACs and the last CRL number",
				Flags:  []cli.Flag{clirun.JSONFlag},
				Action: crlShow,
			},
		},
	}
}

func crlIssue(c *cli.Context) error {
	if err := clirun.Args(c); err != nil {
		return err
	}
	out := c.String("out")
	if out == "" {
		return clirun.Usage("--out FILE is required")
	}
	if _, err := os.Lstat(out); err == nil {
		return withHints(fmt.Errorf("--out %s: %w", out, os.ErrExist))
	}
	next, err := parseDays(c.String("next-update"))
	if err != nil {
		return clirun.Usage("--next-update: %v", err)
	}
	reason, err := crl.ParseReason(c.String("reason"))
	if err != nil {
		return clirun.Usage("--reason: %v", err)
	}
	officer := officerName(c)
	if officer == "" {
		return clirun.Usage("--officer NAME is required: the audit log records who issued the CRL")
	}
	serials, err := crlSerials(c)
	if err != nil {
		return err
	}
	h, u, err := unlockAppliance(c)
	if err != nil {
		return err
	}
	defer h.Close()
	defer u.Close()
	if u.PAI == nil {
		return withHints(home.ErrNoPAI)
	}
	l, err := u.AuditLog()
	if err != nil {
		return withHints(err)
	}
	is := &crl.Issuer{DB: h.DB(), Log: l, PAI: u.PAI, Signer: u.PAIKey.Signer()}
	res, err := is.Issue(crl.Request{Serials: serials, Reason: reason, NextUpdate: next, Officer: officer, Now: time.Now()})
	if errors.Is(err, crl.ErrNotIssued) {
		return clirun.WithHint(err, "check the serial against 'appliance log show' (dac-issued entries); a DAC of another appliance is revoked by that appliance")
	}
	if err != nil {
		return withHints(err)
	}
	if err := writeNewFile(out, res.DER, 0o644); err != nil {
		return fmt.Errorf("crl number %d is recorded (audit log entry %d), but --out: %w", res.Number, res.LogIndex, err)
	}
	printf("crl number %d written to %s: %d DACs revoked (%d added", res.Number, out, res.Revoked, len(res.Added))
	if len(res.Already) > 0 {
		printf(", %d already revoked", len(res.Already))
	}
	printf(")\n")
	for _, s := range res.Added {
		printf("  revoked %s (%s)\n", s, reason)
	}
	printf("audit log entry %d: %s\n", res.LogIndex, auditlog.TypeCRLIssued)
	return checkpointAfter(u, "the crl")
}

// crlSerials gathers the serials of --serial, --serials and --unused-from.
func crlSerials(c *cli.Context) ([]crl.Serial, error) {
	var out []crl.Serial
	for _, s := range c.StringSlice("serial") {
		n, err := auditlog.ParseSerial(s)
		if err != nil {
			return nil, clirun.Usage("--serial: %v", err)
		}
		out = append(out, crl.Serial{N: n, Source: "--serial"})
	}
	read := func(flag string, parse func(*os.File, string) ([]crl.Serial, error)) error {
		for _, path := range c.StringSlice(flag) {
			f, err := os.Open(path)
			if err != nil {
				return fmt.Errorf("--%s: %w", flag, err)
			}
			if fi, err := f.Stat(); err == nil && fi.Size() > maxSerialSource {
				f.Close()
				return fmt.Errorf("--%s %s: %d bytes, more than the %d allowed", flag, path, fi.Size(), maxSerialSource)
			}
			ss, err := parse(f, path)
			f.Close()
			if err != nil {
				return fmt.Errorf("--%s: %w", flag, err)
			}
			out = append(out, ss...)
		}
		return nil
	}
	if err := read("serials", func(f *os.File, p string) ([]crl.Serial, error) { return crl.ReadSerialsFile(f, p) }); err != nil {
		return nil, err
	}
	if err := read("unused-from", func(f *os.File, p string) ([]crl.Serial, error) { return crl.ReadUnusedFromManifest(f, p) }); err != nil {
		return nil, err
	}
	return out, nil
}

// parseDays is time.ParseDuration that also takes whole days ("30d").
func parseDays(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		var n int
		if _, err := fmt.Sscanf(d, "%d", &n); err != nil || n <= 0 || fmt.Sprint(n) != d {
			return 0, fmt.Errorf("%q: want a positive number of days, e.g. 30d", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	v, err := time.ParseDuration(s)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("%q: want a positive duration, e.g. 720h or 30d", s)
	}
	return v, nil
}

// latestCRL reads the last CRL from the store.
func latestCRL(h *home.Home) (*crl.State, error) {
	var st *crl.State
	err := h.DB().View(func(tx *bbolt.Tx) error {
		var err error
		st, err = crl.Load(tx)
		return err
	})
	if err != nil {
		return nil, err
	}
	return st, nil
}

func crlExport(c *cli.Context) error {
	if err := clirun.Args(c); err != nil {
		return err
	}
	if c.String("crl") == "" && c.String("dcl") == "" && c.String("revocation-set") == "" {
		return clirun.Usage("name at least one of --crl, --dcl, --revocation-set")
	}
	if c.String("dcl") != "" && c.String("label") == "" {
		return clirun.Usage("--dcl needs --label LABEL (the distribution point's label in the DCL)")
	}
	h, err := openHome(c)
	if err != nil {
		return err
	}
	defer h.Close()
	st, err := latestCRL(h)
	if err != nil {
		return withHints(err)
	}
	if st.Number == 0 {
		return clirun.WithHint(errors.New("no crl was issued yet"), "issue one with 'appliance crl issue --out crl.der'")
	}
	pai, err := readPAI(h)
	if err != nil {
		return err
	}
	if _, err := matter.ParseCRLFrom(st.Latest, pai); err != nil {
		return fmt.Errorf("the last crl (number %d) does not verify with the installed pai: %w", st.Number, err)
	}
	if p := c.String("crl"); p != "" {
		if err := writeNewFile(p, st.Latest, 0o644); err != nil {
			return withHints(fmt.Errorf("--crl: %w", err))
		}
		printf("crl number %d written to %s\n", st.Number, p)
	}
	if p := c.String("dcl"); p != "" {
		dp, err := crl.NewDistributionPoint(pai, st.Latest, c.String("label"))
		if err != nil {
			return err
		}
		if err := writeJSONNew(p, dp); err != nil {
			return withHints(fmt.Errorf("--dcl: %w", err))
		}
		printf("DCL revocation distribution point written to %s (fill in dataURL)\n", p)
	}
	if p := c.String("revocation-set"); p != "" {
		rs, err := crl.NewRevocationSet(pai, st.Latest)
		if err != nil {
			return err
		}
		if err := writeJSONNew(p, []*crl.RevocationSet{rs}); err != nil {
			return withHints(fmt.Errorf("--revocation-set: %w", err))
		}
		printf("revocation set written to %s: %d serials\n", p, len(rs.RevokedSerialNumbers))
	}
	return nil
}

func readPAI(h *home.Home) (*x509.Certificate, error) {
	pai, err := h.InstalledPAI()
	return pai, withHints(err)
}

func writeJSONNew(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeNewFile(path, append(b, '\n'), 0o644)
}

type crlShowResult struct {
	Number  uint64        `json:"crl_number"`
	Revoked []revokedJSON `json:"revoked"`
}

type revokedJSON struct {
	Serial    string    `json:"serial"`
	Reason    string    `json:"reason"`
	RevokedAt time.Time `json:"revoked_at"`
	CRLNumber uint64    `json:"crl_number"`
}

func crlShow(c *cli.Context) error {
	if err := clirun.Args(c); err != nil {
		return err
	}
	h, err := openHome(c)
	if err != nil {
		return err
	}
	defer h.Close()
	st, err := latestCRL(h)
	if err != nil {
		return withHints(err)
	}
	res := crlShowResult{Number: st.Number, Revoked: []revokedJSON{}}
	for _, r := range st.Revoked {
		res.Revoked = append(res.Revoked, revokedJSON{Serial: auditlog.SerialHex(r.Serial), Reason: r.Reason.String(), RevokedAt: r.RevokedAt, CRLNumber: r.CRLNumber})
	}
	if c.Bool("json") {
		return clirun.PrintJSON(clirun.Stdout, res)
	}
	if st.Number == 0 {
		printf("no crl issued yet\n")
		return nil
	}
	printf("last crl number %d, %d DACs revoked\n", st.Number, len(res.Revoked))
	for _, r := range res.Revoked {
		printf("  %s  %-22s %s (crl %d)\n", r.Serial, r.Reason, r.RevokedAt.Format(time.RFC3339), r.CRLNumber)
	}
	return nil
}
