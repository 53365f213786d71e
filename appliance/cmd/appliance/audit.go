package main

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"
	"golang.org/x/mod/sumdb/note"

	"github.com/dacline/dacline/airgap-bundles/bundle"
	"github.com/dacline/dacline/appliance/applog"
	"github.com/dacline/dacline/appliance/home"
	"github.com/dacline/dacline/shared/auditlog"
	"github.com/dacline/dacline/shared/clirun"
)

func auditCommand() *cli.Command {
	return &cli.Command{
		Name:  "audit",
		Usage: "check an exported audit log offline (no HSM needed)",
		Subcommands: []*cli.Command{{
			Name:  "verify",
			Usage: "verify a log export and reconcile it with bundles and line manifests",
			Description: "Checks every checkpoint signature with the appliance key, that the entries hash\n" +
				"to the checkpoints, consistency with the previous export and with --checkpoint\n" +
				"files kept from earlier, every tlog-proof under --bundles (*.tlog-proof files and\n" +
				"the dacs.jsonl of decrypted dac-batch bundles), and reconciles the issued DACs\n" +
				"with the line manifests. Exits 1 on any discrepancy. See docs/audit-log.md.",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "log", Usage: "log export: a `DIR`ectory, a log-export bundle, or a directory holding one"},
				&cli.StringFlag{Name: "bundles", Usage: "`DIR` with tlog-proofs / dacs.jsonl of dac-batch bundles"},
				&cli.StringSliceFlag{Name: "manifest", Usage: "line manifest `CSV` (repeatable)"},
				&cli.StringSliceFlag{Name: "checkpoint", Usage: "`FILE` of signed checkpoints kept from an earlier export (its checkpoints.txt) or bundle (repeatable)"},
				&cli.StringFlag{Name: "key", Usage: "appliance identity `FILE` (appliance.id); default: the appliance home's key"},
				clirun.JSONFlag,
			},
			Action: auditVerify,
		}},
	}
}

func auditVerify(c *cli.Context) error {
	if err := clirun.Args(c); err != nil {
		return err
	}
	if c.String("log") == "" {
		return clirun.Usage("--log is required")
	}
	name, pub, v, err := applianceKey(c)
	if err != nil {
		return err
	}
	x, closeExport, err := applog.OpenExport(c.String("log"), name, pub, "")
	if err != nil {
		return err
	}
	defer closeExport()
	vkey, err := auditlog.VerifierKey(name, pub)
	if err != nil {
		return err
	}
	// The key as text: entry 0 (appliance-init) must record exactly it.
	opts := auditlog.VerifyOptions{Verifier: v, VerifierKey: vkey}
	if dir := c.String("bundles"); dir != "" {
		if opts.Proofs, err = auditlog.ProofsFromDir(dir); err != nil {
			return err
		}
	}
	for _, p := range c.StringSlice("checkpoint") {
		k, err := auditlog.ReadKnownCheckpoints(p)
		if err != nil {
			return err
		}
		opts.Known = append(opts.Known, k...)
	}
	for _, p := range c.StringSlice("manifest") {
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		opts.Manifests = append(opts.Manifests, auditlog.Manifest{Name: p, R: f})
	}
	r, err := auditlog.Verify(x, opts)
	if err != nil {
		return err
	}
	r.ApplianceFingerprint = applianceFingerprint(c)
	if c.Bool("json") {
		err = clirun.PrintJSON(clirun.Stdout, r)
	} else {
		err = r.WriteText(clirun.Stdout)
	}
	if err != nil {
		return err
	}
	if !r.OK() {
		return fmt.Errorf("audit failed: %s in %s", auditlog.Discrepancies(int64(len(r.Discrepancies))+r.Omitted), x.Name)
	}
	return nil
}

// applianceKey is the key the log must be signed with: from --key
// (appliance.id, the auditor's copy) or else from the appliance home's
// configuration (on the appliance itself; no PIN needed).
func applianceKey(c *cli.Context) (name string, pub ed25519.PublicKey, v note.Verifier, err error) {
	if path := c.String("key"); path != "" {
		id, err := bundle.ReadApplianceIdentity(path)
		if err != nil {
			return "", nil, nil, err
		}
		if pub, err = id.PublicKey(); err != nil {
			return "", nil, nil, err
		}
		if v, err = auditlog.NewVerifier(id.NoteVerifier); err != nil {
			return "", nil, nil, err
		}
		if v.Name() != id.Name {
			return "", nil, nil, fmt.Errorf("%s: note_verifier names %q, identity is %q", path, v.Name(), id.Name)
		}
		return id.Name, pub, v, nil
	}
	h, err := home.Open(c.String("home"))
	if err != nil {
		if errors.Is(err, home.ErrNoHome) {
			return "", nil, nil, clirun.WithHint(applog.ErrNoKey, "pass --key appliance.id (written by 'appliance identity' on the appliance)")
		}
		return "", nil, nil, withHints(err)
	}
	defer h.Close()
	der, err := base64.StdEncoding.DecodeString(h.Config.Keys.Signing.PublicKey)
	if err != nil {
		return "", nil, nil, fmt.Errorf("appliance config: signing public key: %w", err)
	}
	k, err := x509.ParsePKIXPublicKey(der)
	pub, ok := k.(ed25519.PublicKey)
	if err != nil || !ok {
		return "", nil, nil, fmt.Errorf("appliance config: signing public key is not Ed25519")
	}
	vkey, err := auditlog.VerifierKey(h.Config.Name, pub)
	if err != nil {
		return "", nil, nil, err
	}
	v, err = auditlog.NewVerifier(vkey)
	return h.Config.Name, pub, v, err
}
