package main

import (
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/dacline/dacline/shared/clirun"
	"github.com/dacline/dacline/shared/matter"
)

// certCommand is `appliance cert`: offline checks of Matter attestation
// certificates against the profile, chain and CD rules a commissioner applies.
func certCommand() *cli.Command {
	return &cli.Command{
		Name:  "cert",
		Usage: "inspect Matter attestation certificates",
		Subcommands: []*cli.Command{{
			Name:      "validate",
			Usage:     "check a DAC, PAI or PAA against the Matter profile (and its chain and CD)",
			ArgsUsage: "CERT",
			Description: "CERT is PEM or DER. With --pai (and --paa) the chain is checked the way a\n" +
				"commissioner does: issuer, signature, VID/PID rules, validity at the DAC's\n" +
				"notBefore, and the DAC valid now. --cd with --cd-signer also checks a\n" +
				"Certification Declaration against the DAC and PAI. Prints \"valid\" and a\n" +
				"summary, or the rule that failed (exit 1).",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "type", Usage: "certificate type: dac, pai or paa", Required: true},
				&cli.StringFlag{Name: "pai", Usage: "PAI certificate file (PEM or DER)"},
				&cli.StringFlag{Name: "paa", Usage: "PAA certificate file (PEM or DER)"},
				&cli.StringFlag{Name: "cd", Usage: "Certification Declaration file (DER)"},
				&cli.StringFlag{Name: "cd-signer", Usage: "certificate of the key that signed --cd"},
				&cli.StringFlag{Name: "at", Usage: "validation time, RFC 3339 (default: now)"},
				crlValidateFlag,
				clirun.JSONFlag,
			},
			Action: certValidate,
		}},
	}
}

type validateReport struct {
	Valid   bool                `json:"valid"`
	Type    string              `json:"type"`
	Rule    string              `json:"rule,omitempty"`
	Detail  string              `json:"detail,omitempty"`
	Checked []string            `json:"checked"`
	Cert    *matter.CertSummary `json:"certificate,omitempty"`
	CD      *cdSummary          `json:"cd,omitempty"`
}

type cdSummary struct {
	VendorID      string   `json:"vendor_id"`
	ProductIDs    []string `json:"product_ids"`
	CertificateID string   `json:"certificate_id"`
	Type          uint8    `json:"certification_type"`
	SignerKeyID   string   `json:"signer_key_id"`
}

func certValidate(c *cli.Context) error {
	if err := clirun.Args(c, "CERT"); err != nil {
		return err
	}
	typ, err := matter.ParseCertType(c.String("type"))
	if err != nil {
		return clirun.Usage("--type: %v", err)
	}
	now := time.Now()
	if at := c.String("at"); at != "" {
		if now, err = time.Parse(time.RFC3339, at); err != nil {
			return clirun.Usage("--at: %v", err)
		}
	}
	if (c.String("cd") == "") != (c.String("cd-signer") == "") {
		return clirun.Usage("--cd and --cd-signer go together")
	}
	if typ == matter.PAA && (c.IsSet("pai") || c.IsSet("paa")) {
		return clirun.Usage("a PAA is a root: --pai and --paa do not apply")
	}
	if typ == matter.PAI && c.IsSet("pai") {
		return clirun.Usage("--pai does not apply to --type pai; give its PAA with --paa")
	}
	if c.IsSet("cd") && (typ != matter.DAC || !c.IsSet("pai")) {
		return clirun.Usage("--cd needs --type dac and --pai (the CD is checked against the DAC and PAI)")
	}
	if c.IsSet("crl") && (typ != matter.DAC || !c.IsSet("pai")) {
		return clirun.Usage("--crl needs --type dac and --pai (the PAI signs the CRL of its DACs)")
	}
	if typ == matter.DAC && c.IsSet("paa") && !c.IsSet("pai") {
		return clirun.Usage("--paa with a DAC needs --pai too")
	}

	rep := &validateReport{Type: typ.String(), Checked: []string{}}
	verr := runValidate(c, typ, now, rep)
	if verr == nil {
		rep.Valid = true
	} else {
		var re *matter.RuleError
		if !errors.As(verr, &re) {
			return verr // could not read an input: not a verdict
		}
		rep.Rule, rep.Detail = re.Rule, re.Detail
	}
	if c.Bool("json") {
		if err := clirun.PrintJSON(clirun.Stdout, rep); err != nil {
			return err
		}
	} else if rep.Valid {
		printValid(rep)
	}
	if verr != nil {
		return clirun.WithHint(verr, "%s", ruleHint(rep.Rule))
	}
	return nil
}

// runValidate fills rep as far as the checks get and returns the first failure.
func runValidate(c *cli.Context, typ matter.CertType, now time.Time, rep *validateReport) error {
	cert, err := loadCert(c.Args().First(), typ)
	if err != nil {
		return err
	}
	s := matter.Summarize(cert)
	rep.Cert = &s
	rep.Checked = append(rep.Checked, "profile")
	if typ == matter.DAC {
		if err := matter.ValidateDACTimeAt(cert, now); err != nil {
			return err
		}
		rep.Checked = append(rep.Checked, "validity")
	}
	var pai, paa *x509.Certificate
	if f := c.String("pai"); f != "" {
		if pai, err = loadCert(f, matter.PAI); err != nil {
			return err
		}
	}
	if f := c.String("paa"); f != "" {
		if paa, err = loadCert(f, matter.PAA); err != nil {
			return err
		}
	}
	switch {
	case typ == matter.DAC && paa != nil:
		if err := matter.ValidateChainAt(cert, pai, paa, now); err != nil {
			return err
		}
		rep.Checked = append(rep.Checked, "chain")
	case typ == matter.DAC && pai != nil:
		if err := matter.ValidateIssuedBy(cert, pai, matter.DAC); err != nil {
			return err
		}
		rep.Checked = append(rep.Checked, "issuer")
	case typ == matter.PAI && paa != nil:
		if err := matter.ValidateIssuedBy(cert, paa, matter.PAI); err != nil {
			return err
		}
		rep.Checked = append(rep.Checked, "issuer")
	}
	if err := checkCRL(c, cert, pai, rep); err != nil {
		return err
	}
	if f := c.String("cd"); f != "" {
		cd, err := loadCD(f)
		if err != nil {
			return err
		}
		rep.CD = summarizeCD(cd)
		signer, err := loadCert(c.String("cd-signer"), -1)
		if err != nil {
			return err
		}
		if err := cd.Verify(signer); err != nil {
			return err
		}
		if err := matter.CheckCD(cd, cert, pai, paa); err != nil {
			return err
		}
		rep.Checked = append(rep.Checked, "cd")
	}
	return nil
}

// loadCert reads a certificate file; typ < 0 means "any certificate".
func loadCert(path string, typ matter.CertType) (*x509.Certificate, error) {
	b, err := readBounded(path, 8192)
	if err != nil {
		return nil, err
	}
	if typ < 0 {
		cert, err := matter.ParseCertificate(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return cert, nil
	}
	cert, err := matter.ParseCertificateAs(b, typ)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cert, nil
}

func loadCD(path string) (*matter.CD, error) {
	b, err := readBounded(path, 8192)
	if err != nil {
		return nil, err
	}
	cd, err := matter.ParseCD(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cd, nil
}

// readBounded reads a small input file, refusing anything larger than max.
func readBounded(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	if st.Size() > max {
		return nil, fmt.Errorf("%s: %d bytes, larger than any Matter credential (%d)", path, st.Size(), max)
	}
	return os.ReadFile(path)
}

func summarizeCD(cd *matter.CD) *cdSummary {
	s := &cdSummary{
		VendorID:      fmt.Sprintf("%04X", cd.Content.VendorID),
		CertificateID: cd.Content.CertificateID,
		Type:          cd.Content.CertificationType,
		SignerKeyID:   fmt.Sprintf("%X", cd.SignerKeyID),
	}
	for _, p := range cd.Content.ProductIDs {
		s.ProductIDs = append(s.ProductIDs, fmt.Sprintf("%04X", p))
	}
	return s
}

func printValid(rep *validateReport) {
	w := clirun.Stdout
	s := rep.Cert
	fmt.Fprintln(w, "valid")
	fmt.Fprintf(w, "type:     %s\n", rep.Type)
	fmt.Fprintf(w, "subject:  %s\n", s.Subject)
	vp := "VID " + orDash(s.VID) + " PID " + orDash(s.PID)
	if s.VIDPIDCN {
		vp += " (legacy CN encoding)"
	}
	fmt.Fprintf(w, "vid/pid:  %s\n", vp)
	fmt.Fprintf(w, "serial:   %s\n", s.Serial)
	until := s.NotAfter.Format(time.RFC3339)
	if s.NoExpiry {
		until += " (no expiry)"
	}
	fmt.Fprintf(w, "validity: %s .. %s\n", s.NotBefore.Format(time.RFC3339), until)
	if rep.CD != nil {
		fmt.Fprintf(w, "cd:       vendor_id %s, product_ids %v, certificate_id %s\n", rep.CD.VendorID, rep.CD.ProductIDs, rep.CD.CertificateID)
	}
	fmt.Fprintf(w, "checked:  %v\n", rep.Checked)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// ruleHint says what usually causes a failed rule; "" when nothing useful.
func ruleHint(rule string) string {
	switch rule {
	case "chain.paaNotFound", "chain.paiNotFound":
		return "the issuer given is not the one that signed this certificate; check --pai/--paa"
	case "chain.dacExpired", "chain.dacNotYetValid":
		return "check the system clock, or pass --at to validate at another time"
	case "cd.signerNotFound":
		return "--cd-signer must be the certificate whose SKID the CD names"
	}
	return ""
}
