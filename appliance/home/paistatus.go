package home

import (
	"fmt"
	"time"
)

// paiStatus adds every PAI's key (the rotated ones; the first is already
// listed) and the PAI expiry warnings to s.
func (u *Unlocked) paiStatus(s *Status, now time.Time) error {
	views, err := u.Home.PAIs()
	if err != nil {
		return err
	}
	s.PAIs = views
	s.Warnings = []string{}
	for _, v := range views {
		if !v.First {
			k, err := u.PAIKeyFor(v.Label)
			if err != nil {
				return err
			}
			a, err := k.Attributes()
			if err != nil {
				return err
			}
			s.Keys = append(s.Keys, KeyStatus{Role: "PAI (" + v.State + ")", Label: k.Label(), Type: k.Type().String(), Attributes: a})
		}
		if w := PAIExpiryWarning(v, now); w != "" {
			s.Warnings = append(s.Warnings, w)
		}
	}
	return nil
}

// PAIExpiryWarning is the warning for an active PAI that has expired or
// expires within ExpiryWarning, "" otherwise.
func PAIExpiryWarning(v PAIView, now time.Time) string {
	if v.State != PAIActive || v.Cert == nil {
		return ""
	}
	left := v.NotAfter.Sub(now)
	switch {
	case left <= 0:
		return fmt.Sprintf("PAI %s expired at %s: it can issue no DAC; renew it ('appliance pai csr' then 'appliance pai import --renew') or rotate", v.Label, v.NotAfter.Format(time.RFC3339))
	case left < ExpiryWarning:
		return fmt.Sprintf("PAI %s expires in %d days (%s): renew it ('appliance pai csr' then 'appliance pai import --renew') or rotate", v.Label, int(left.Hours()/24), v.NotAfter.Format(time.RFC3339))
	}
	return ""
}
