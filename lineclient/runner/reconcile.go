package runner

import (
	"fmt"

	"github.com/dacline/dacline/lineclient/station"
	"github.com/dacline/dacline/shared/lineproto"
)

// lockedAhead decides about a module that reports lock state while its record
// is short of locking. That happens to a good module when station.db was
// restored from a copy taken before the module was finished and locked; it
// must then be reconciled from the module's own read-back, not scrapped.
//
// A module whose record holds a DAC and whose committed items are exactly the
// record's credential set (the DAC the record shows, the PAI, the CD and its
// onboarding data, by digest) goes on along the ordinary steps, which never
// write to it again: write finds nothing missing and records
// credentials-written; attest has it sign a fresh nonce with the DAC key and
// validates chain and CD as a commissioner would; lock finds every step
// already burned; verify-lock reads the lock state back and records done.
// Each step is recorded on the module's own answer, so a module that is not
// what its record says fails there (lying-module, attestation-failed), and a
// kill between steps resumes here.
//
// Anything else locked (no DAC in the record, or other items on the module)
// fails locked-without-attestation as before: the station cannot vouch for it.
// ok reports whether the module may go on.
func (p *Provisioner) lockedAhead(mac string, id *lineproto.IdentifyResponse, rec *station.Module, fail failFunc) (o outcome, ok bool, err error) {
	early := func(detail string) (outcome, bool, error) {
		o, err := fail(StepIdentify, station.ReasonLockedEarly,
			fmt.Sprintf("module reports lock mask %04b in state %s%s", id.LockMask, rec.State, detail))
		return o, false, err
	}
	if !rec.State.HasDAC() {
		return early("")
	}
	_, items, err := p.credentialItems(mac)
	if err != nil {
		return outcome{}, false, err
	}
	if missing := missingItems(items, id.Digests); len(missing) > 0 {
		return early(fmt.Sprintf(" and does not hold our %v", missing))
	}
	return outcome{}, true, nil
}
