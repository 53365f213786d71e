package main

import (
	"errors"
	"fmt"

	"github.com/dacline/dacline/appliance/ceremony"
	"github.com/dacline/dacline/appliance/home"
	"github.com/dacline/dacline/appliance/policy"
)

// productWarning says why the appliance will refuse every batch of a
// station being enrolled: no policy yet, the station not in it, or its
// product (VID/PID from its enrollment bundle) not among the station's
// products. Empty when the policy allows the product. Enrollment goes on
// either way: the policy may be set or changed after.
func productWarning(h *home.Home, name, vidHex, pidHex string) string {
	pol, _, err := policy.Load(h.Path(policy.FileName))
	if errors.Is(err, policy.ErrNoPolicy) {
		return "no policy is set: the appliance refuses every batch until 'appliance policy set' lists this station and its product"
	}
	if err != nil {
		return fmt.Sprintf("the policy could not be read (%v): batches are refused until it is fixed", err)
	}
	st := pol.Station(name)
	if st == nil {
		return fmt.Sprintf("station %s is not in the policy: the appliance refuses its batches until 'appliance policy set' lists it", name)
	}
	vid, verr := policy.ParseID(vidHex)
	pid, perr := policy.ParseID(pidHex)
	if verr != nil || perr != nil {
		return fmt.Sprintf("the station names no valid product (VID %q PID %q): the appliance refuses its CSRs", vidHex, pidHex)
	}
	if !st.Allows(vid, pid) {
		return fmt.Sprintf("the policy does not allow VID %04X PID %04X for station %s: the appliance refuses its CSRs until the policy lists the product", vid, pid, name)
	}
	return ""
}

// corruptCSRBundleHint is the fix for a csr-batch bundle damaged on the
// way (truncated copy, bad stick): nothing was signed.
const corruptCSRBundleHint = "the file is damaged (a truncated copy or a bad stick); nothing was signed: copy it again, or have the station write the same batch again ('lineclient batch export --rewrite ID --out DIR')"

// outcomeInterrupted is the summary's outcome of a ceremony stopped by
// Ctrl-C at a committed point: it is resumed by running sign again.
const outcomeInterrupted ceremony.Outcome = "interrupted"
