package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"os/user"
	"sort"
	"syscall"

	"filippo.io/age"
	"github.com/urfave/cli/v2"

	"github.com/dacline/dacline/airgap-bundles/bundle"
	"github.com/dacline/dacline/appliance/ceremony"
	"github.com/dacline/dacline/appliance/enrollment"
	"github.com/dacline/dacline/appliance/issuance"
	"github.com/dacline/dacline/appliance/policy"
	"github.com/dacline/dacline/shared/auditlog"
	"github.com/dacline/dacline/shared/clirun"
)

func signCommand() *cli.Command {
	return &cli.Command{
		Name:      "sign",
		Usage:     "run the signing ceremony: a csr-batch bundle in, a dac-batch bundle out (resumable)",
		ArgsUsage: "BUNDLE",
		Description: "Checks the bundle (enrolled station, signature, batch never seen) and every CSR,\n" +
			"issues one DAC per accepted CSR with the PAI key in the HSM, records each in the\n" +
			"issuance store and the audit log, and writes the return bundle to --out. Run it\n" +
			"again with the same bundle after an interruption to finish the batch; run it on a\n" +
			"finished batch to write the same return bundle again (nothing is signed twice).",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Usage: "write the dac-batch bundle into `DIR` (the USB stick)"},
			&cli.BoolFlag{Name: "dry-run", Usage: "check the bundle and every CSR, report, record nothing"},
			&cli.StringFlag{Name: "officer", Usage: "security officer running the ceremony (`NAME`, recorded in the audit log; default: the login name)", EnvVars: []string{"DACLINE_OFFICER"}},
			&cli.IntFlag{Name: "commit-every", Value: 256, Usage: "DACs per commit (one bbolt transaction with their audit entries); Ctrl-C stops at the next commit"},
			pinFileFlag,
			clirun.JSONFlag,
		},
		Action: signAction,
	}
}

func signAction(c *cli.Context) error {
	if err := clirun.Args(c, "BUNDLE"); err != nil {
		return err
	}
	dry := c.Bool("dry-run")
	out := c.String("out")
	if out == "" && !dry {
		return clirun.Usage("--out DIR is required (where the dac-batch bundle goes)")
	}
	officer := officerName(c)
	if officer == "" && !dry {
		return clirun.Usage("--officer NAME is required: the audit log records who ran the ceremony, and the login name is unknown")
	}
	if out != "" {
		if fi, err := os.Stat(out); err != nil || !fi.IsDir() {
			return fmt.Errorf("--out %s: not a directory", out)
		}
	}
	if c.Int("commit-every") < 1 || c.Int("commit-every") > 65536 {
		return clirun.Usage("--commit-every must be between 1 and 65536")
	}
	path := c.Args().First()

	h, u, err := unlockAppliance(c)
	if err != nil {
		return err
	}
	defer h.Close()
	defer u.Close()
	if u.PAI == nil || u.PAA == nil {
		return signHint(fmt.Errorf("sign: %w", errNoPKI))
	}
	pol, polSum, err := policy.Load(h.Path(policy.FileName))
	if err != nil {
		return policyHint(err)
	}
	if err := issuance.InitDB(h.DB()); err != nil {
		return err
	}
	lg, err := u.AuditLog() // checkpoints refuse a log behind the token's anchor and move it on
	if err != nil {
		return err
	}
	reg, err := enrollment.New(h.DB())
	if err != nil {
		return err
	}
	id, err := u.AgeIdentity()
	if err != nil {
		return err
	}
	// Decrypted copy and return-bundle spool under the home, where a killed
	// run's leftovers are removed by the next run (home.TempDir).
	tmp, err := h.TempDir()
	if err != nil {
		return err
	}
	b, bnd, err := ceremony.OpenBatch(path, []age.Identity{id}, registryStations{reg}, tmp)
	if err != nil {
		return signHint(err)
	}
	defer bnd.Close()

	ns, err := bundle.NewNoteSigner(h.Config.Name, u.Signing.Signer())
	if err != nil {
		return err
	}
	cs, err := auditlog.NoteSigner(h.Config.Name, u.Signing.Signer())
	if err != nil {
		return err
	}
	paiView, issuer, err := batchIssuer(h, u, pol, b) // paicmd.go: once per ceremony
	if err != nil {
		return signHint(err)
	}
	r := &ceremony.Runner{
		DB: h.DB(), Policy: pol, PolicySHA256: polSum,
		Issuer:    issuer,
		Log:       ceremony.AuditRecorder{Log: lg, Signer: cs},
		Appliance: ns, Officer: officer, ChunkSize: c.Int("commit-every"), TempDir: tmp,
	}
	if !c.Bool("json") {
		r.Progress = newProgress(os.Stderr)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	ceremony.LimitMemory()
	res, err := r.Run(ctx, b, ceremony.Options{DryRun: dry, OutDir: out})
	if res != nil {
		res.PAI = paiView.Label
	}
	if errors.Is(err, ceremony.ErrInterrupted) {
		if res != nil && !c.Bool("json") {
			res.Outcome = outcomeInterrupted // not "signed": the batch is not finished
			printSummary(res)
		}
		return clirun.WithHint(err, "nothing is lost: run 'appliance sign %s --out DIR' again to finish the batch", path)
	}
	if err != nil {
		return signHint(err)
	}
	if c.Bool("json") {
		return clirun.PrintJSON(clirun.Stdout, res)
	}
	printSummary(res)
	return nil
}

var errNoPKI = errors.New("no PAI and PAA installed")

func printSummary(res *ceremony.Result) {
	printf("batch %s from station %s: %s\n", res.BatchID, res.Station, res.Outcome)
	if res.PAI != "" {
		printf("  pai       %s\n", res.PAI)
	}
	printf("  CSRs      %d\n", res.CSRs)
	printf("  accepted  %d\n", res.Accepted)
	printf("  refused   %d\n", res.Refused)
	reasons := make([]string, 0, len(res.ByReason))
	for k := range res.ByReason {
		reasons = append(reasons, k)
	}
	sort.Strings(reasons)
	for _, k := range reasons {
		printf("    %-24s %d\n", k, res.ByReason[k])
	}
	if res.Outcome == ceremony.OutcomeChecked {
		for i, rf := range res.Refusals {
			if i == 50 {
				printf("  … %d more refusals\n", len(res.Refusals)-50)
				break
			}
			printf("  csr %d (%s): %s: %s\n", rf.Index, rf.ModuleID, rf.Reason, rf.Detail)
		}
		printf("dry run: nothing was signed or recorded\n")
		return
	}
	printf("  issued    %d (%d in this run)\n", res.Issued, res.IssuedNow)
	printf("  time      %s", res.Elapsed.Round(1e6))
	if res.IssuedNow > 0 {
		printf(", %.0f DACs/s", res.SignRate)
	}
	printf("\n")
	if res.OutputPath != "" {
		printf("return bundle: %s\n", res.OutputPath)
		printf("sha256 %s\n", res.OutputSHA256)
		if res.Outcome == ceremony.OutcomeReproduced {
			printf("(the batch was finished before: the same DACs, manifest and payload; only the age encryption is new)\n")
		}
	}
}

// registryStations adapts the enrollment registry to the ceremony.
type registryStations struct{ r *enrollment.Registry }

func (s registryStations) Lookup(name string) (ed25519.PublicKey, string, error) {
	key, err := s.r.Resolve(name, bundle.KindCSRBatch)
	if err != nil {
		return nil, "", err
	}
	rcpt, err := s.r.Recipient(name)
	if err != nil {
		return nil, "", err
	}
	return key, rcpt.String(), nil
}

func signHint(err error) error {
	hints := []struct {
		target error
		hint   string
	}{
		{ceremony.ErrReplayed, "a batch ID is signed once: the station must export a new batch ('lineclient batch export')"},
		{ceremony.ErrStationNotInPolicy, "add the station to the policy and install it with 'appliance policy set FILE'"},
		{ceremony.ErrBatchTooLarge, "ask the station for smaller batches, or raise max_batch_size in the policy"},
		{ceremony.ErrQuotaExceeded, "the station's max_dacs in the policy is reached; raise it with 'appliance policy set FILE' if that is intended"},
		{ceremony.ErrAbandoned, "an abandoned batch is never signed: the station exports its modules in a new batch ('lineclient batch export')"},
		{ceremony.ErrRestoredCeremony, "this batch was signed before the home was restored (docs/security-officer.md, \"Backup and restore\"): if its return bundle was never delivered, abandon it ('appliance ceremony abandon BATCH-ID') and have the station export a new batch"},
		{ceremony.ErrPolicyChanged, "restore the policy the ceremony started under to finish this batch ('appliance policy set FILE')"},
		{ceremony.ErrOutputExists, "move the file away or write to another directory with --out"},
		{bundle.ErrUnknownSender, "enroll the station first ('appliance station enroll BUNDLE'), or check it is not revoked"},
		{bundle.ErrWrongRecipient, "the bundle is for another appliance: check the station's appliance.id"},
		{bundle.ErrCiphertext, corruptCSRBundleHint},
		{bundle.ErrStructure, corruptCSRBundleHint},
		{bundle.ErrHashMismatch, corruptCSRBundleHint},
		{bundle.ErrAgeHeader, corruptCSRBundleHint},
		{ceremony.ErrDACOutlivesPAI, "shorten the DACs (dac.validity_days or dac.not_after in the policy), or renew or rotate the PAI first ('appliance pai list' shows its validity)"},
		{ceremony.ErrPAINotValid, "a DAC's notBefore (ceremony time minus dac.backdate_seconds) must fall within the PAI's validity: lower backdate_seconds in the policy or install a PAI valid since then"},
		{errNoPKI, "install a PAI and PAA first ('appliance pai create-test' or 'appliance pai import')"},
	}
	for _, h := range hints {
		if errors.Is(err, h.target) {
			return clirun.WithHint(err, "%s", h.hint)
		}
	}
	return withHints(err)
}

// officerName is the officer recorded in the ceremony-started entry: --officer
// (or DACLINE_OFFICER), else the login name of the account running the
// ceremony, so that `appliance sign BUNDLE --out DIR` (DESIGN.md) works as
// written and still records who ran it.
func officerName(c *cli.Context) string {
	if n := c.String("officer"); n != "" {
		return n
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return ""
}
