package home

import (
	"crypto/ed25519"
	"errors"
	"fmt"

	"go.etcd.io/bbolt"

	"github.com/dacline/dacline/appliance/applog"
	"github.com/dacline/dacline/appliance/ceremony"
	"github.com/dacline/dacline/appliance/enrollment"
	"github.com/dacline/dacline/appliance/issuance"
	"github.com/dacline/dacline/shared/auditlog"
)

// RestoreReport is what RestoreLog did.
type RestoreReport struct {
	applog.RestoreResult
	// Anchor is the anchor check afterwards (nil when it still fails).
	Anchor *applog.AnchorState
	// Revoked are stations the restored entries revoked and the registry
	// still trusted: they are revoked again now (a new station-revoked entry).
	Revoked []string
	// ToEnroll are stations the restored entries enrolled that the registry
	// does not know: the officer enrolls them again (their bundles are refused
	// until then).
	ToEnroll []string
}

// RestoreLog brings back, from a log export of this appliance (a directory
// or a log-export bundle), the entries the home's log lost in a restore, and
// rebuilds from them what the appliance's safety rests on: the issuance
// store (ceremony.RestoreFromEntry: keys certified, batches signed) and the
// station revocations (a station revoked after the backup is revoked again
// at once). It checks the export's signature and checkpoints with the
// appliance key and appends only a tail that continues the home's log. The
// error is non-nil when the log is still behind the token's anchor
// afterwards (the report then says what was restored).
func (u *Unlocked) RestoreLog(path string) (*RestoreReport, error) {
	pub, ok := u.Signing.Public().(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("appliance signing key is %T, want Ed25519", u.Signing.Public())
	}
	tmp, err := u.Home.TempDir()
	if err != nil {
		return nil, err
	}
	x, closeX, err := applog.OpenExport(path, u.Home.Config.Name, pub, tmp)
	if err != nil {
		return nil, err
	}
	defer closeX()
	a, err := newTokenAnchor(u.Token, u.Home.Config.Name, u.Signing)
	if err != nil {
		return nil, err
	}
	l, err := u.AuditLog()
	if err != nil {
		return nil, err
	}
	if err := issuance.InitDB(u.Home.db); err != nil {
		return nil, err
	}
	reg, err := enrollment.New(u.Home.db)
	if err != nil {
		return nil, err
	}
	// The last enrollment change of each station among the restored entries:
	// "" for an enrollment, the revocation's reason for a revocation.
	var order []string
	last := map[string]*string{}
	res, err := l.RestoreTail(x, a.v, func(tx *bbolt.Tx, e auditlog.Entry) error {
		var name, change string
		switch e := e.(type) {
		case *auditlog.StationEnrolled:
			name = e.Station
		case *auditlog.StationRevoked:
			name, change = e.Station, fmt.Sprintf("revoked at seq %d, before the home was restored: %s", e.Seq, e.Reason)
		default:
			return ceremony.RestoreFromEntry(tx, e)
		}
		if last[name] == nil {
			order = append(order, name)
		}
		last[name] = &change
		return nil
	})
	if err != nil {
		return nil, err
	}
	rep := &RestoreReport{RestoreResult: *res}
	for _, name := range order {
		s, err := reg.Get(name)
		switch reason := *last[name]; {
		case reason == "" && errors.Is(err, enrollment.ErrNotEnrolled):
			rep.ToEnroll = append(rep.ToEnroll, name)
		case reason != "" && err == nil && s.State == enrollment.StateActive:
			if _, _, err := reg.RevokeLogged(name, reason); err != nil {
				return rep, fmt.Errorf("station %s was revoked after the backup, and revoking it again failed: %w", name, err)
			}
			rep.Revoked = append(rep.Revoked, name)
		}
	}
	st, err := l.CheckAnchor()
	if err == nil {
		rep.Anchor = st
	}
	return rep, err
}
