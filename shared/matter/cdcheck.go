package matter

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"slices"
)

// DeviceInfo is what a commissioner reads from the device's Basic
// Information cluster.
type DeviceInfo struct {
	VendorID, ProductID uint16
}

// CheckCD checks a CD against the device's attestation chain as
// DefaultDACVerifier::ValidateCertificateDeclarationPayload does, taking the
// DAC's VID/PID as the Basic Information values (what a factory line knows
// before the device runs). See CheckCDFor.
func CheckCD(cd *CD, dac, pai, paa *x509.Certificate) error {
	return CheckCDFor(cd, dac, pai, paa, nil)
}

// CheckCDFor checks a CD against a DAC, PAI and PAA and, when info is not
// nil, the device's Basic Information VID/PID:
//   - vendor_id equals the Basic Information VendorID and product_id_array
//     holds its ProductID;
//   - with dac_origin_vendor_id/product_id: the DAC and PAI VIDs equal the
//     origin VID, the DAC PID (and a PAI PID, if any) the origin PID;
//   - otherwise: the DAC and PAI VIDs equal vendor_id, and the DAC PID (and
//     a PAI PID, if any) are in product_id_array;
//   - with authorized_paa_list: the PAA's SKID is in it.
//
// When info is nil and the CD has no dac_origin fields, the DAC's VID/PID
// stand in for the Basic Information values. Failures are *RuleError with
// rules cd.vendorIdMismatch (SDK result 604), cd.productIdMismatch (605) and
// cd.paaNotAuthorized (606).
func CheckCDFor(cd *CD, dac, pai, paa *x509.Certificate, info *DeviceInfo) error {
	if cd == nil || dac == nil || pai == nil {
		return fmt.Errorf("check cd: CD, DAC and PAI are required")
	}
	if err := cd.Content.Validate(); err != nil {
		return err
	}
	dv, err := ExtractVIDPID(dac.RawSubject)
	if err != nil {
		return ruleErr("dac", "subject.vidpid", "%v", err)
	}
	pv, err := ExtractVIDPID(pai.RawSubject)
	if err != nil {
		return ruleErr("pai", "subject.vidpid", "%v", err)
	}
	c := &cd.Content
	if info == nil && !c.HasDACOrigin {
		info = &DeviceInfo{VendorID: dv.VID, ProductID: dv.PID}
	}
	if info != nil {
		if c.VendorID != info.VendorID {
			return ruleErr("cd", "vendorIdMismatch", "CD vendor_id %04X is not the device VendorID %04X", c.VendorID, info.VendorID)
		}
		if !slices.Contains(c.ProductIDs, info.ProductID) {
			return ruleErr("cd", "productIdMismatch", "CD product_id_array %s does not hold the device ProductID %04X", hexList(c.ProductIDs), info.ProductID)
		}
	}
	if c.HasDACOrigin {
		if !dv.HasVID || dv.VID != c.DACOriginVendorID {
			return ruleErr("cd", "vendorIdMismatch", "DAC %s does not match dac_origin_vendor_id %04X", dv, c.DACOriginVendorID)
		}
		if !pv.HasVID || pv.VID != c.DACOriginVendorID {
			return ruleErr("cd", "vendorIdMismatch", "PAI %s does not match dac_origin_vendor_id %04X", pv, c.DACOriginVendorID)
		}
		if !dv.HasPID || dv.PID != c.DACOriginProductID {
			return ruleErr("cd", "productIdMismatch", "DAC %s does not match dac_origin_product_id %04X", dv, c.DACOriginProductID)
		}
		if pv.HasPID && pv.PID != c.DACOriginProductID {
			return ruleErr("cd", "productIdMismatch", "PAI %s does not match dac_origin_product_id %04X", pv, c.DACOriginProductID)
		}
	} else {
		if !dv.HasVID || dv.VID != c.VendorID {
			return ruleErr("cd", "vendorIdMismatch", "DAC %s does not match CD vendor_id %04X", dv, c.VendorID)
		}
		if !pv.HasVID || pv.VID != c.VendorID {
			return ruleErr("cd", "vendorIdMismatch", "PAI %s does not match CD vendor_id %04X", pv, c.VendorID)
		}
		if !dv.HasPID || !slices.Contains(c.ProductIDs, dv.PID) {
			return ruleErr("cd", "productIdMismatch", "DAC %s is not in CD product_id_array %s", dv, hexList(c.ProductIDs))
		}
		if pv.HasPID && !slices.Contains(c.ProductIDs, pv.PID) {
			return ruleErr("cd", "productIdMismatch", "PAI %s is not in CD product_id_array %s", pv, hexList(c.ProductIDs))
		}
	}
	if c.AuthorizedPAAs != nil {
		if paa == nil {
			return ruleErr("cd", "paaNotAuthorized", "CD has an authorized_paa_list but no PAA was given")
		}
		if !slices.ContainsFunc(c.AuthorizedPAAs, func(s []byte) bool { return bytes.Equal(s, paa.SubjectKeyId) }) {
			return ruleErr("cd", "paaNotAuthorized", "PAA SKID %X is not in the CD authorized_paa_list", paa.SubjectKeyId)
		}
	}
	return nil
}

func hexList(ids []uint16) string {
	s := "["
	for i, id := range ids {
		if i > 0 {
			s += " "
		}
		s += fmt.Sprintf("%04X", id)
	}
	return s + "]"
}
