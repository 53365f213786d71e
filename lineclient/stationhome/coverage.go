package stationhome

import (
	"errors"
	"fmt"
	"slices"

	"github.com/dacline/dacline/airgap-bundles/bundle"
	"github.com/dacline/dacline/shared/matter"
)

// Errors of a product the station could never provision: every DAC would
// be refused at import or attestation, and the station re-enrolled.
var (
	ErrCDNotForProduct  = errors.New("certification declaration does not cover the product")
	ErrPAINotForProduct = errors.New("appliance's PAI does not cover the product")
)

// CheckProduct refuses a VID/PID the appliance's PAI cannot issue DACs for
// (its subject names another vendor or product), or that the CD does not
// cover (the commissioner's rule: the CD's vendor_id and product_id_array
// name the device, or, with dac_origin_*, the DAC's VID/PID are the origin's).
// cd may be nil (a station set up with --no-cd).
func CheckProduct(app *bundle.ApplianceIdentity, cd []byte, vid, pid uint16) error {
	pai, _, err := app.Certificates()
	if err != nil {
		return err
	}
	vp, err := matter.ExtractVIDPID(pai.RawSubject)
	if err != nil {
		return fmt.Errorf("appliance PAI subject: %w", err)
	}
	if (vp.HasVID && vp.VID != vid) || (vp.HasPID && vp.PID != pid) {
		return fmt.Errorf("%w: VID %04X PID %04X, the PAI is for %s", ErrPAINotForProduct, vid, pid, vp)
	}
	if cd == nil {
		return nil
	}
	c, err := matter.ParseCD(cd)
	if err != nil {
		return fmt.Errorf("certification declaration: %w", err)
	}
	ct := c.Content
	if ct.HasDACOrigin {
		if ct.DACOriginVendorID != vid || ct.DACOriginProductID != pid {
			return fmt.Errorf("%w: its DAC origin is VID %04X PID %04X, the station's DACs carry VID %04X PID %04X",
				ErrCDNotForProduct, ct.DACOriginVendorID, ct.DACOriginProductID, vid, pid)
		}
		return nil
	}
	if ct.VendorID != vid || !slices.Contains(ct.ProductIDs, pid) {
		ids := ""
		for i, p := range ct.ProductIDs {
			if i > 0 {
				ids += ","
			}
			ids += fmt.Sprintf("%04X", p)
		}
		return fmt.Errorf("%w: it is for VID %04X PID %s, not VID %04X PID %04X", ErrCDNotForProduct, ct.VendorID, ids, vid, pid)
	}
	return nil
}
