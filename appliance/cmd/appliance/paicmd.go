package main

import (
	"bytes"
	"crypto"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/dacline/dacline/appliance/ceremony"
	"github.com/dacline/dacline/appliance/home"
	"github.com/dacline/dacline/appliance/policy"
	"github.com/dacline/dacline/shared/clirun"
)

// The PAI lifecycle commands (issue 17): rotate, list, retire. Renewal is
// `pai csr` then `pai import --renew` (pkisetup.go).

func paiRotateCommand() *cli.Command {
	return &cli.Command{
		Name:  "rotate",
		Usage: "generate a further PAI key in the token under a new label and write its CSR for the PAA",
		Description: "The new key is recorded in the audit log (key-generated) and listed as pending by\n" +
			"'appliance pai list' until 'appliance pai import' installs its certificate. Running\n" +
			"rotate again for the same VID/PID while it is pending writes the same key's CSR again.",
		Flags: []cli.Flag{vidFlag, pidFlag, pinFileFlag,
			&cli.StringFlag{Name: "out", Usage: "write the request to `FILE` (never overwritten)"}},
		Action: func(c *cli.Context) error {
			r, err := openPAIRequest(c)
			if err != nil {
				return err
			}
			defer r.close()
			vid, pid, out, u := r.vid, r.pid, r.out, r.u
			label, csr, err := u.RotatePAI(vid, pid)
			if err != nil {
				return paiHint(err)
			}
			if err := writeNew(out, csr); err != nil {
				return err
			}
			printf("PAI key %s generated in the token (pending)\n", label)
			printf("certificate request for vendor %04X written to %s\n", vid, out)
			printf("next: have the PAA sign it, then 'appliance pai import PAI-CERT'\n")
			return checkpointAfter(u, "the PAI key")
		},
	}
}

func paiListCommand() *cli.Command {
	return &cli.Command{
		Name:  "list",
		Usage: "list the appliance's PAIs: label, subject, VID/PID, validity, state (active, pending, retired)",
		Flags: []cli.Flag{clirun.JSONFlag},
		Action: func(c *cli.Context) error {
			if err := clirun.Args(c); err != nil {
				return err
			}
			h, err := openHome(c)
			if err != nil {
				return err
			}
			defer h.Close()
			views, err := h.PAIs()
			if err != nil {
				return paiHint(err)
			}
			if c.Bool("json") {
				return clirun.PrintJSON(clirun.Stdout, views)
			}
			now := time.Now()
			for _, v := range views {
				ids := v.VID
				if v.PID != "" {
					ids += "/" + v.PID
				}
				printf("%-20s %-8s %-10s", v.Label, v.State, ids)
				if v.Cert != nil {
					printf(" %s .. %s%s  %s", v.NotBefore.Format(time.RFC3339), v.NotAfter.Format(time.RFC3339),
						expiryNote(v.NotAfter, now), v.Subject)
				}
				printf("\n")
			}
			return nil
		},
	}
}

// expiryNote marks a certificate that has expired or expires within
// home.ExpiryWarning.
func expiryNote(notAfter, now time.Time) string {
	switch {
	case now.After(notAfter):
		return " EXPIRED"
	case notAfter.Sub(now) < home.ExpiryWarning:
		return fmt.Sprintf(" EXPIRES IN %d DAYS", int(notAfter.Sub(now).Hours()/24))
	}
	return ""
}

func paiRetireCommand() *cli.Command {
	return &cli.Command{
		Name:      "retire",
		Usage:     "retire a PAI: it signs nothing more; its key and certificate stay, so its DACs stay verifiable",
		ArgsUsage: "LABEL",
		Flags:     []cli.Flag{pinFileFlag},
		Action: func(c *cli.Context) error {
			if err := clirun.Args(c, "LABEL"); err != nil {
				return err
			}
			h, u, err := unlockAppliance(c)
			if err != nil {
				return err
			}
			defer h.Close()
			defer u.Close()
			v, err := u.RetirePAI(c.Args().First())
			if err != nil {
				return paiHint(err)
			}
			printf("PAI %s retired: %s\n", v.Label, v.Subject)
			return checkpointAfter(u, "the retirement")
		},
	}
}

// paiHint adds the fix for the PAI lifecycle's refusals, else withHints'.
func paiHint(err error) error {
	if err == nil || clirun.HintOf(err) != "" {
		return err
	}
	for _, h := range []struct {
		target error
		hint   string
	}{
		{home.ErrRenewChanges, "a renewal only extends the validity: ask the PAA for a certificate with the installed subject, or make a new PAI key with 'appliance pai rotate'"},
		{home.ErrPAIRetired, "a retired PAI stays retired; make a new PAI key with 'appliance pai rotate --vid V --out pai.csr'"},
		{home.ErrUnknownPAI, "'appliance pai list' shows the labels of this appliance's PAIs"},
		{home.ErrNoPAIForProduct, "install a PAI for this product ('appliance pai rotate', then 'appliance pai import') or map the product to a PAI in the policy's \"pais\""},
	} {
		if errors.Is(err, h.target) {
			return clirun.WithHint(err, "%s", h.hint)
		}
	}
	return withHints(err)
}

// checkPolicyPAIs refuses a policy whose "pais" names a PAI this appliance
// does not have (a parse error is left to policy.Install, which reports it).
func checkPolicyPAIs(h *home.Home, file string, raw []byte) error {
	p, err := policy.Parse(raw)
	if err != nil {
		return nil
	}
	for _, label := range p.PAILabels() {
		v, err := h.PAI(label)
		if err != nil {
			return paiHint(fmt.Errorf("%s: policy: pais names PAI %q: %w", file, label, err))
		}
		if v.State == home.PAIRetired {
			return paiHint(fmt.Errorf("%s: policy: pais names PAI %q: %w", file, label, home.ErrPAIRetired))
		}
	}
	// A mapping to an installed PAI must be within what its certificate
	// covers, else every CSR of the product would be refused.
	for i, m := range p.PAIs {
		v, _ := h.PAI(m.Label)
		if v.Cert == nil {
			continue // pending: checked when a ceremony needs it
		}
		vid, _ := policy.ParseID(m.VID)
		pids := m.PIDs
		if len(pids) == 0 && v.PID != "" {
			return fmt.Errorf("%s: policy: pais[%d] maps every product of %04X to PAI %q, which covers only PID %s", file, i, vid, m.Label, v.PID)
		}
		for _, ps := range pids {
			pid, _ := policy.ParseID(ps)
			if !v.Covers(vid, pid) {
				return fmt.Errorf("%s: policy: pais[%d] maps %04X/%04X to PAI %q, whose certificate covers %s/%s", file, i, vid, pid, m.Label, v.VID, orAny(v.PID))
			}
		}
		if len(pids) == 0 && !v.Covers(vid, 0) {
			return fmt.Errorf("%s: policy: pais[%d] maps %04X to PAI %q, whose certificate covers %s", file, i, vid, m.Label, v.VID)
		}
	}
	return nil
}

func orAny(pid string) string {
	if pid == "" {
		return "any PID"
	}
	return pid
}

// batchIssuer resolves, once per ceremony, the PAI that signs batch b: the
// PAI that issued the DACs of a ceremony under way, else the one the policy
// names for the batch's product, else the newest active PAI covering it.
func batchIssuer(h *home.Home, u *home.Unlocked, pol *policy.Policy, b *ceremony.Batch) (*home.PAIView, ceremony.Issuer, error) {
	var none ceremony.Issuer
	views, err := h.PAIs()
	if err != nil {
		return nil, none, err
	}
	var v *home.PAIView
	prev, err := ceremony.BatchIssuer(h.DB(), b.ID)
	if err != nil {
		return nil, none, err
	}
	if prev != nil {
		for i := range views {
			c := views[i].Cert
			if c != nil && bytes.Equal(c.RawSubject, prev.RawIssuer) && bytes.Equal(c.SubjectKeyId, prev.AuthorityKeyId) {
				v = &views[i]
			}
		}
		if v == nil {
			return nil, none, fmt.Errorf("batch %s: %w: none of the appliance's PAIs issued its DACs", b.ID, home.ErrUnknownPAI)
		}
	} else {
		vid, pid, ok, err := ceremony.BatchProduct(b)
		if err != nil {
			return nil, none, err
		}
		if !ok { // no CSR: nothing is signed; any active PAI answers
			for i := range views {
				if v == nil && views[i].State == home.PAIActive {
					v = &views[i]
				}
			}
			if v == nil {
				return nil, none, fmt.Errorf("batch %s: %w", b.ID, home.ErrNoPAI)
			}
		} else if v, err = h.ChoosePAI(vid, pid, pol.PAIFor(vid, pid)); err != nil {
			return nil, none, paiHint(fmt.Errorf("batch %s: %w", b.ID, err))
		}
	}
	key, err := u.PAIKeyFor(v.Label)
	if err != nil {
		return nil, none, err
	}
	cert := v.Cert
	if prev != nil {
		// The certificate it was signed under, should a renewal have replaced it since.
		if cert, err = h.PAICertFor(v, prev.NotBefore); err != nil {
			return nil, none, err
		}
	}
	is := ceremony.Issuer{PAI: cert, PAA: u.PAA, Signer: key.X509Signer(), Random: u.Token.Random}
	if v.State == home.PAIRetired {
		// A finished ceremony of a retired PAI is reproduced (nothing is
		// signed); one left unfinished is not completed with it.
		is.Signer = retiredSigner{key.X509Signer(), v.Label}
	}
	return v, is, nil
}

// retiredSigner refuses every signature: a retired PAI signs nothing more.
type retiredSigner struct {
	crypto.Signer
	label string
}

func (s retiredSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, fmt.Errorf("PAI %q: %w: it signs nothing more (abandon the unfinished ceremony: 'appliance ceremony abandon')", s.label, home.ErrPAIRetired)
}

// paiRequest is what 'pai csr' and 'pai rotate' both start from: the product
// named by --vid/--pid, the --out file and the unlocked appliance.
type paiRequest struct {
	vid uint16
	pid *uint16 // nil: no --pid
	out string
	h   *home.Home
	u   *home.Unlocked
}

// openPAIRequest checks the arguments (usage errors before the PIN is asked
// for) and unlocks the appliance; close releases both.
func openPAIRequest(c *cli.Context) (*paiRequest, error) {
	if err := clirun.Args(c); err != nil {
		return nil, err
	}
	vid, err := requiredVID(c)
	if err != nil {
		return nil, err
	}
	pid, err := optionalPID(c)
	if err != nil {
		return nil, err
	}
	out := c.String("out")
	if out == "" {
		return nil, clirun.Usage("--out is required")
	}
	h, u, err := unlockAppliance(c)
	if err != nil {
		return nil, err
	}
	return &paiRequest{vid: vid, pid: pid, out: out, h: h, u: u}, nil
}

func (r *paiRequest) close() {
	r.u.Close()
	r.h.Close()
}
