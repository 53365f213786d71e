package home

import (
	"crypto/x509"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dacline/dacline/appliance/hsm"
	"github.com/dacline/dacline/shared/matter"
)

// An appliance holds one or more PAIs (issue 17). The first is keys.pai with
// its certificate in pai.pem, as before; `appliance pai rotate` adds further
// PAI keys, each recorded in config.json's "pais" with the certificate in
// pai-<label>.pem once imported. A PAI is pending (key, no certificate),
// active (may sign) or retired (signs nothing more; its key and certificate
// stay, so the DACs it issued stay verifiable).
//
// Invariants:
//   - every PAI key is on the token under its own label, with the public key
//     config.json records (findKey checks it on every unlock);
//   - a retired PAI never becomes active again and no certificate is
//     imported onto it;
//   - the ceremony signs only with an active PAI (IssuerFor).

// PAIRecord is one further PAI key in config.json.
type PAIRecord struct {
	Label     string `json:"label"`
	PublicKey string `json:"public_key"`
	// VID and PID (4 uppercase hex digits; PID optional) are what the key's
	// CSR asked for; the certificate's subject is authoritative once imported.
	VID     string `json:"vid"`
	PID     string `json:"pid,omitempty"`
	Retired bool   `json:"retired,omitempty"`
}

// PAI states.
const (
	PAIPending = "pending"
	PAIActive  = "active"
	PAIRetired = "retired"
)

// Sentinel errors of the PAI lifecycle.
var (
	// ErrPAIRetired: the PAI is retired; nothing is imported onto it and it signs nothing.
	ErrPAIRetired = errors.New("the PAI is retired")
	// ErrUnknownPAI: no PAI of this appliance has that label.
	ErrUnknownPAI = errors.New("no PAI with this label")
	// ErrNoPAIForProduct: no active PAI covers the product.
	ErrNoPAIForProduct = errors.New("no active PAI for this product")
)

// PAIView is one PAI as `appliance pai list` shows it.
type PAIView struct {
	Label string `json:"label"`
	// File is the certificate's file in the home ("" while pending).
	File      string            `json:"file,omitempty"`
	State     string            `json:"state"`
	Subject   string            `json:"subject,omitempty"`
	VID       string            `json:"vid"`
	PID       string            `json:"pid,omitempty"`
	NotBefore time.Time         `json:"not_before,omitempty"`
	NotAfter  time.Time         `json:"not_after,omitempty"`
	Cert      *x509.Certificate `json:"-"`
	// PublicKey is config.json's record of the key (base64 SPKI).
	PublicKey string `json:"-"`
	// First is the appliance's first PAI (keys.pai, pai.pem).
	First bool `json:"first"`
}

// paiFile is the certificate file of a rotated PAI.
func paiFile(label string) string { return "pai-" + label + ".pem" }

func (c *Config) validatePAIs() error {
	seen := map[string]bool{c.Keys.PAI.Label: true}
	for i, p := range c.PAIs {
		switch {
		case p.Label == "" || p.PublicKey == "":
			return fmt.Errorf("pais[%d] is incomplete", i)
		case !validPAILabel(p.Label):
			return fmt.Errorf("pais[%d].label %q: want [a-z0-9-]", i, p.Label)
		case seen[p.Label]:
			return fmt.Errorf("pais[%d].label %q is used twice", i, p.Label)
		}
		seen[p.Label] = true
	}
	return nil
}

func validPAILabel(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// PAIs lists every PAI of the appliance, the first one first, reading the
// certificates from the home (no token needed).
func (h *Home) PAIs() ([]PAIView, error) {
	first := PAIView{Label: h.Config.Keys.PAI.Label, PublicKey: h.Config.Keys.PAI.PublicKey, First: true,
		VID: h.Config.VID, PID: h.Config.PID}
	views := []PAIView{first}
	for _, p := range h.Config.PAIs {
		views = append(views, PAIView{Label: p.Label, PublicKey: p.PublicKey, VID: p.VID, PID: p.PID})
	}
	for i := range views {
		v := &views[i]
		name := PAIFile
		if !v.First {
			name = paiFile(v.Label)
		}
		c, err := h.readCert(name)
		if err != nil {
			return nil, err
		}
		retired := h.Config.PAIRetired
		if !v.First {
			retired = h.Config.PAIs[i-1].Retired
		}
		v.State = PAIActive
		switch {
		case retired:
			v.State = PAIRetired
		case c == nil:
			v.State = PAIPending
		}
		if c == nil {
			continue
		}
		v.File, v.Cert, v.Subject = name, c, DescribeName(c.RawSubject)
		v.NotBefore, v.NotAfter = c.NotBefore.UTC(), c.NotAfter.UTC()
		if ids, err := matter.ExtractVIDPID(c.RawSubject); err == nil {
			v.VID, v.PID = "", ""
			if ids.HasVID {
				v.VID = fmt.Sprintf("%04X", ids.VID)
			}
			if ids.HasPID {
				v.PID = fmt.Sprintf("%04X", ids.PID)
			}
		}
	}
	return views, nil
}

// PAI returns the PAI with this label.
func (h *Home) PAI(label string) (*PAIView, error) {
	views, err := h.PAIs()
	if err != nil {
		return nil, err
	}
	for i := range views {
		if views[i].Label == label {
			return &views[i], nil
		}
	}
	return nil, fmt.Errorf("%w: %q (see 'appliance pai list')", ErrUnknownPAI, label)
}

// setRetired marks the PAI with label retired in h.Config (not saved).
func (h *Home) setRetired(label string) {
	if label == h.Config.Keys.PAI.Label {
		h.Config.PAIRetired = true
		return
	}
	for i := range h.Config.PAIs {
		if h.Config.PAIs[i].Label == label {
			h.Config.PAIs[i].Retired = true
		}
	}
}

// nextPAILabel is the label of the next rotated PAI key: dacline-pai-2, -3, …
func (h *Home) nextPAILabel() string {
	n := 2
	for _, p := range h.Config.PAIs {
		if i := strings.LastIndexByte(p.Label, '-'); i >= 0 {
			if k, err := strconv.Atoi(p.Label[i+1:]); err == nil && k >= n {
				n = k + 1
			}
		}
	}
	return LabelPAI + "-" + strconv.Itoa(n)
}

// PAIKeyFor returns the token key of the PAI with label, checked against
// config.json.
func (u *Unlocked) PAIKeyFor(label string) (*hsm.Key, error) {
	if label == u.Home.Config.Keys.PAI.Label {
		return u.PAIKey, nil
	}
	for _, p := range u.Home.Config.PAIs {
		if p.Label == label {
			return findKey(u.Token, KeyRef{Label: p.Label, PublicKey: p.PublicKey})
		}
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownPAI, label)
}

// ChoosePAI returns the active PAI that signs DACs for vid/pid: the one
// mapped names (label by product, from the policy) when it names one, else
// among the active PAIs whose subject covers the product the one with a PID
// over one without, and of those the newest. It is resolved once per
// ceremony, not per CSR.
func (h *Home) ChoosePAI(vid, pid uint16, mapped string) (*PAIView, error) {
	views, err := h.PAIs()
	if err != nil {
		return nil, err
	}
	if mapped != "" {
		for i := range views {
			v := &views[i]
			if v.Label != mapped {
				continue
			}
			switch v.State {
			case PAIRetired:
				return nil, fmt.Errorf("the policy names PAI %q for %04X/%04X: %w", mapped, vid, pid, ErrPAIRetired)
			case PAIPending:
				return nil, fmt.Errorf("the policy names PAI %q for %04X/%04X: %w", mapped, vid, pid, ErrNoPAI)
			}
			return v, nil
		}
		return nil, fmt.Errorf("the policy names PAI %q for %04X/%04X: %w", mapped, vid, pid, ErrUnknownPAI)
	}
	type cand struct {
		v      *PAIView
		hasPID bool
		order  int
	}
	var cs []cand
	for i := range views {
		v := &views[i]
		if v.State != PAIActive {
			continue
		}
		ids, err := matter.ExtractVIDPID(v.Cert.RawSubject)
		if err != nil || !ids.HasVID || ids.VID != vid || (ids.HasPID && ids.PID != pid) {
			continue
		}
		cs = append(cs, cand{v, ids.HasPID, i})
	}
	if len(cs) == 0 {
		return nil, fmt.Errorf("%04X/%04X: %w", vid, pid, ErrNoPAIForProduct)
	}
	sort.SliceStable(cs, func(i, j int) bool {
		if cs[i].hasPID != cs[j].hasPID {
			return cs[i].hasPID
		}
		return cs[i].order > cs[j].order
	})
	return cs[0].v, nil
}

// ExpiryWarning: `appliance status` and `pai list` warn about a PAI that
// expires within this time.
const ExpiryWarning = 90 * 24 * time.Hour

// Covers reports whether the PAI's certificate may issue DACs for vid/pid
// (its VID, and its PID when it has one); false while pending.
func (v *PAIView) Covers(vid, pid uint16) bool {
	if v.Cert == nil {
		return false
	}
	ids, err := matter.ExtractVIDPID(v.Cert.RawSubject)
	return err == nil && ids.HasVID && ids.VID == vid && (!ids.HasPID || ids.PID == pid)
}
