package home

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dacline/dacline/shared/auditlog"
	"github.com/dacline/dacline/shared/matter"
)

// PAIHistoryDir keeps the certificates renewals replaced:
// pai-history/<label>-<first 16 hex digits of the certificate's SHA-256>.pem.
const PAIHistoryDir = "pai-history"

// ErrRenewChanges: a renewal must keep the PAI's subject (and so its VID/PID).
var ErrRenewChanges = errors.New("a renewal must keep the PAI's subject and VID/PID")

// ImportOptions of ImportPAIWith.
type ImportOptions struct {
	// Renew replaces the installed certificate of the PAI whose key the new
	// certificate certifies (same key, subject and PAA).
	Renew bool
	// Label, when set, is the PAI the certificate must be for.
	Label string
}

// ImportPAIWith installs a PAI certificate for one of the appliance's PAI
// keys: the first PAI (pai.pem), a rotated one still pending
// (pai-<label>.pem), or — with Renew — a new certificate replacing an
// installed one. The key is found from the certificate: a certificate for
// no key of this appliance is refused (ErrPAIKeyMismatch), and so is one for
// a retired PAI (ErrPAIRetired). Nothing changes when it is refused.
func (u *Unlocked) ImportPAIWith(paiData, paaData []byte, opt ImportOptions, now time.Time) (*x509.Certificate, *PAIView, error) {
	what := "import PAI"
	if opt.Renew {
		what = "renew PAI"
	}
	fail := func(err error) (*x509.Certificate, *PAIView, error) {
		return nil, nil, fmt.Errorf("%s: %w", what, err)
	}
	if !opt.Renew && opt.Label == "" && u.PAI != nil && len(u.Home.Config.PAIs) == 0 {
		// The one-PAI appliance, as before rotation existed.
		return fail(fmt.Errorf("%w (%s)", ErrPAIInstalled, u.Home.Path(PAIFile)))
	}
	pai, paa, err := u.checkImportedPAI(paiData, paaData, now)
	if err != nil {
		return fail(err)
	}
	pub, err := encodePublicKey(pai.PublicKey)
	if err != nil {
		return fail(err)
	}
	views, err := u.Home.PAIs()
	if err != nil {
		return fail(err)
	}
	var t *PAIView
	for i := range views {
		if views[i].PublicKey == pub {
			t = &views[i]
		}
	}
	switch {
	case t == nil:
		return fail(ErrPAIKeyMismatch)
	case opt.Label != "" && t.Label != opt.Label:
		return fail(fmt.Errorf("the certificate is for PAI %q, not %q", t.Label, opt.Label))
	case t.State == PAIRetired:
		return fail(fmt.Errorf("%q: %w: nothing is imported onto a retired PAI (rotate to make a new one)", t.Label, ErrPAIRetired))
	}
	if _, err := u.PAIKeyFor(t.Label); err != nil { // the key is on the token, as config.json records it
		return fail(err)
	}
	if opt.Renew {
		if t.Cert == nil {
			return fail(fmt.Errorf("%q has no certificate to renew: import it without --renew", t.Label))
		}
		if err := u.renewPAI(t, pai, paa); err != nil {
			return fail(err)
		}
		return pai, t, nil
	}
	if t.Cert != nil {
		return fail(fmt.Errorf("%w for %q (%s): use --renew to replace it", ErrPAIInstalled, t.Label, u.Home.Path(t.File)))
	}
	if t.First {
		if err := u.installPAI(pai, paa); err != nil {
			return fail(err)
		}
	} else if err := u.addPAI(t, pai, paa); err != nil {
		return fail(err)
	}
	t.File, t.Cert = paiFileOf(t), pai
	return pai, t, nil
}

func paiFileOf(v *PAIView) string {
	if v.First {
		return PAIFile
	}
	return paiFile(v.Label)
}

func hexSum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// renewPAI replaces t's certificate by pai after checking that subject and
// VID/PID are unchanged. Order: the old certificate is copied to
// pai-history/, the new one staged; the pai-renewed entry is committed (not
// again on a re-run after a crash before the rename); the staged file is
// renamed over the old one.
func (u *Unlocked) renewPAI(t *PAIView, pai, paa *x509.Certificate) error {
	h := u.Home
	old := t.Cert
	if bytes.Equal(old.Raw, pai.Raw) {
		return fmt.Errorf("%w for %q: this very certificate is installed", ErrPAIInstalled, t.Label)
	}
	oldIDs, err1 := matter.ExtractVIDPID(old.RawSubject)
	newIDs, err2 := matter.ExtractVIDPID(pai.RawSubject)
	if err := errors.Join(err1, err2); err != nil {
		return err
	}
	if oldIDs != newIDs {
		return fmt.Errorf("%w: the installed PAI is for %s, the new one for %s", ErrRenewChanges, oldIDs, newIDs)
	}
	if !bytes.Equal(old.RawSubject, pai.RawSubject) {
		return fmt.Errorf("%w: subject %q becomes %q", ErrRenewChanges, DescribeName(old.RawSubject), DescribeName(pai.RawSubject))
	}
	oldSum, newSum := hexSum(old.Raw), hexSum(pai.Raw)
	hist := h.Path(PAIHistoryDir)
	if err := os.MkdirAll(hist, 0o700); err != nil {
		return err
	}
	keep := filepath.Join(hist, t.Label+"-"+oldSum[:16]+".pem")
	if _, err := os.Stat(keep); errors.Is(err, os.ErrNotExist) {
		if err := writeFileNew(keep, matter.EncodePEM(old.Raw), 0o644); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	path := h.Path(paiFileOf(t))
	tmp := path + ".new"
	os.Remove(tmp) // left by an interrupted run
	if err := writeFileNew(tmp, matter.EncodePEM(pai.Raw), 0o644); err != nil {
		return err
	}
	defer os.Remove(tmp)
	l, err := h.AuditLog()
	if err != nil {
		return err
	}
	done, err := lastEntryWith(l, auditlog.TypePAIRenewed, true, `"new_pai_sha256":"`+newSum+`"`)
	if err != nil {
		return err
	}
	if !done {
		e := &auditlog.PAIRenewed{Label: t.Label, NewNotAfter: auditlog.Timestamp{Time: pai.NotAfter.UTC()},
			NewPAISHA256: newSum, OldPAISHA256: oldSum, PAASHA256: hexSum(paa.Raw), Subject: DescribeName(pai.RawSubject)}
		if err := appendEntries(l, e); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if err := syncDir(h.Dir()); err != nil {
		return err
	}
	if t.First {
		u.PAI = pai
	}
	t.Cert = pai
	return nil
}

// addPAI installs the first certificate of a rotated PAI: staged, pai-added
// entry committed (once), linked into place (never replacing a file).
func (u *Unlocked) addPAI(t *PAIView, pai, paa *x509.Certificate) error {
	h := u.Home
	ids, err := matter.ExtractVIDPID(pai.RawSubject)
	if err != nil {
		return err
	}
	path := h.Path(paiFile(t.Label))
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("%s: %w", path, os.ErrExist)
	}
	tmp := path + ".new"
	os.Remove(tmp)
	if err := writeFileNew(tmp, matter.EncodePEM(pai.Raw), 0o644); err != nil {
		return err
	}
	defer os.Remove(tmp)
	key, err := u.PAIKeyFor(t.Label)
	if err != nil {
		return err
	}
	e, err := keyPairEntry(key)
	if err != nil {
		return err
	}
	sum := hexSum(pai.Raw)
	l, err := h.AuditLog()
	if err != nil {
		return err
	}
	done, err := lastEntryWith(l, auditlog.TypePAIAdded, true, `"pai_sha256":"`+sum+`"`)
	if err != nil {
		return err
	}
	if !done {
		a := &auditlog.PAIAdded{Label: t.Label, PAASHA256: hexSum(paa.Raw), PAISHA256: sum,
			PublicKeySHA256: e.PublicKeySHA256, Subject: DescribeName(pai.RawSubject), VID: ids.VID}
		if ids.HasPID {
			a.PID = ids.PID
		}
		if err := appendEntries(l, a); err != nil {
			return err
		}
	}
	if err := os.Link(tmp, path); err != nil {
		return fmt.Errorf("install %s: %w", path, err)
	}
	return syncDir(h.Dir())
}

// RetirePAI retires the PAI with label: the pai-retired entry is committed,
// then config.json marks it. It signs nothing more; its key and certificate
// stay.
func (u *Unlocked) RetirePAI(label string) (*PAIView, error) {
	h := u.Home
	t, err := h.PAI(label)
	if err != nil {
		return nil, fmt.Errorf("retire PAI: %w", err)
	}
	switch t.State {
	case PAIRetired:
		return nil, fmt.Errorf("retire PAI %q: %w already", label, ErrPAIRetired)
	case PAIPending:
		return nil, fmt.Errorf("retire PAI %q: it has no certificate yet, so it never signed anything", label)
	}
	sum := hexSum(t.Cert.Raw)
	l, err := h.AuditLog()
	if err != nil {
		return nil, fmt.Errorf("retire PAI: %w", err)
	}
	done, err := lastEntryWith(l, auditlog.TypePAIRetired, false, `"label":"`+label+`"`, `"pai_sha256":"`+sum+`"`)
	if err != nil {
		return nil, err
	}
	if !done {
		if err := appendEntries(l, &auditlog.PAIRetired{Label: label, PAISHA256: sum, Subject: t.Subject}); err != nil {
			return nil, fmt.Errorf("retire PAI: %w", err)
		}
	}
	h.setRetired(label)
	if err := h.SaveConfig(); err != nil {
		return nil, fmt.Errorf("retire PAI: %w", err)
	}
	t.State = PAIRetired
	return t, nil
}

// PAICertFor returns the certificate of the PAI labelled label that was
// installed when a DAC with notBefore nb was issued: among its current
// certificate and those renewals replaced (pai-history/), the latest whose
// notBefore is not after nb (else the current one). A ceremony reproduced
// after a renewal writes the PAI it was signed under.
func (h *Home) PAICertFor(v *PAIView, nb time.Time) (*x509.Certificate, error) {
	best := v.Cert
	ents, err := os.ReadDir(h.Path(PAIHistoryDir))
	if errors.Is(err, os.ErrNotExist) {
		return best, nil
	}
	if err != nil {
		return nil, err
	}
	cands := []*x509.Certificate{v.Cert}
	for _, e := range ents {
		n := e.Name()
		rest, ok := strings.CutPrefix(n, v.Label+"-")
		if !ok || len(rest) != 16+len(".pem") || !strings.HasSuffix(rest, ".pem") {
			continue
		}
		if _, err := hex.DecodeString(rest[:16]); err != nil {
			continue
		}
		c, err := h.readCert(filepath.Join(PAIHistoryDir, n))
		if err != nil {
			return nil, err
		}
		cands = append(cands, c)
	}
	var pick *x509.Certificate
	for _, c := range cands {
		if c == nil || c.NotBefore.After(nb) || !bytes.Equal(c.RawSubject, v.Cert.RawSubject) {
			continue
		}
		if pick == nil || c.NotBefore.After(pick.NotBefore) {
			pick = c
		}
	}
	if pick != nil {
		best = pick
	}
	return best, nil
}
