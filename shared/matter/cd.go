package matter

import (
	"fmt"
	"unicode/utf8"

	"github.com/dacline/dacline/shared/mattertlv"
)

// Certification Declaration content limits (src/credentials/CertificationDeclaration.h).
const (
	CDFormatVersion        = 1
	CDCertificateIDLength  = 19  // kCertificateIdLength
	maxCDProductIDs        = 100 // kMaxProductIdsCount
	maxCDAuthorizedPAAs    = 10  // kMaxAuthorizedPAAListSize
	MaxCDSize              = 790 // kMaxCMSSignedCDMessage
	CertificationTypeDev   = 0
	CertificationTypeProv  = 1
	CertificationTypeOffic = 2
)

// CD TLV context tags (CertificationDeclaration.cpp).
const (
	cdTagFormatVersion = iota
	cdTagVendorID
	cdTagProductIDArray
	cdTagDeviceTypeID
	cdTagCertificateID
	cdTagSecurityLevel
	cdTagSecurityInformation
	cdTagVersionNumber
	cdTagCertificationType
	cdTagDACOriginVendorID
	cdTagDACOriginProductID
	cdTagAuthorizedPAAList
)

// CDContent is the Matter-TLV payload of a Certification Declaration
// (Matter Core 6.3.1), tags 0 to 11 in order.
type CDContent struct {
	FormatVersion       uint8    // tag 0, must be 1
	VendorID            uint16   // tag 1
	ProductIDs          []uint16 // tag 2, 1..100 entries
	DeviceTypeID        uint32   // tag 3
	CertificateID       string   // tag 4, exactly 19 characters
	SecurityLevel       uint8    // tag 5 (ignored by commissioners)
	SecurityInformation uint16   // tag 6 (ignored by commissioners)
	VersionNumber       uint16   // tag 7
	CertificationType   uint8    // tag 8: 0 development, 1 provisional, 2 official
	// Tags 9 and 10 appear together or not at all.
	HasDACOrigin       bool
	DACOriginVendorID  uint16
	DACOriginProductID uint16
	// Tag 11: SKIDs (20 bytes) of the PAAs allowed to root this product's DACs.
	// Nil means absent.
	AuthorizedPAAs [][]byte
}

// Validate checks the content rules a commissioner's decoder enforces.
func (c *CDContent) Validate() error {
	switch {
	case c.FormatVersion != CDFormatVersion:
		return ruleErr("cd", "formatVersion", "format_version is %d, must be %d", c.FormatVersion, CDFormatVersion)
	case len(c.ProductIDs) == 0 || len(c.ProductIDs) > maxCDProductIDs:
		return ruleErr("cd", "productIds.count", "product_id_array has %d entries, must have 1 to %d", len(c.ProductIDs), maxCDProductIDs)
	case len(c.CertificateID) != CDCertificateIDLength || !utf8.ValidString(c.CertificateID):
		return ruleErr("cd", "certificateId.length", "certificate_id %q is %d bytes, must be %d characters", c.CertificateID, len(c.CertificateID), CDCertificateIDLength)
	case c.CertificationType > CertificationTypeOffic:
		return ruleErr("cd", "certificationType", "certification_type %d is not 0, 1 or 2", c.CertificationType)
	case c.AuthorizedPAAs != nil && (len(c.AuthorizedPAAs) == 0 || len(c.AuthorizedPAAs) > maxCDAuthorizedPAAs):
		return ruleErr("cd", "authorizedPaaList.count", "authorized_paa_list has %d entries, must have 1 to %d", len(c.AuthorizedPAAs), maxCDAuthorizedPAAs)
	}
	for i, skid := range c.AuthorizedPAAs {
		if len(skid) != keyIdentifierLen {
			return ruleErr("cd", "authorizedPaaList.entry", "authorized_paa_list entry %d is %d bytes, must be %d", i, len(skid), keyIdentifierLen)
		}
	}
	return nil
}

// MarshalTLV validates c and encodes it as the SDK's EncodeCertificationElements does.
func (c *CDContent) MarshalTLV() ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	var w mattertlv.Writer
	w.StartStructure(mattertlv.Anonymous)
	w.Uint(cdTagFormatVersion, uint64(c.FormatVersion))
	w.Uint(cdTagVendorID, uint64(c.VendorID))
	w.StartArray(cdTagProductIDArray)
	for _, pid := range c.ProductIDs {
		w.Uint(mattertlv.Anonymous, uint64(pid))
	}
	w.End()
	w.Uint(cdTagDeviceTypeID, uint64(c.DeviceTypeID))
	w.UTF8(cdTagCertificateID, c.CertificateID)
	w.Uint(cdTagSecurityLevel, uint64(c.SecurityLevel))
	w.Uint(cdTagSecurityInformation, uint64(c.SecurityInformation))
	w.Uint(cdTagVersionNumber, uint64(c.VersionNumber))
	w.Uint(cdTagCertificationType, uint64(c.CertificationType))
	if c.HasDACOrigin {
		w.Uint(cdTagDACOriginVendorID, uint64(c.DACOriginVendorID))
		w.Uint(cdTagDACOriginProductID, uint64(c.DACOriginProductID))
	}
	if c.AuthorizedPAAs != nil {
		w.StartArray(cdTagAuthorizedPAAList)
		for _, skid := range c.AuthorizedPAAs {
			w.OctetString(mattertlv.Anonymous, skid)
		}
		w.End()
	}
	w.End()
	return w.Bytes(), nil
}

// ParseCDContent decodes CD TLV strictly: the elements in tag order with the
// types the SDK's DecodeCertificationElements expects, no unknown elements,
// nothing after the structure; then Validate.
func ParseCDContent(tlv []byte) (*CDContent, error) {
	c, err := decodeCDContent(tlv)
	if err != nil {
		return nil, ruleErr("cd", "content", "%v", err)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

func decodeCDContent(tlv []byte) (*CDContent, error) {
	r := cdReader{mattertlv.NewReader(tlv)}
	e, err := r.Next()
	if err != nil {
		return nil, err
	}
	if e.Type != mattertlv.TypeStructure || e.Tag != mattertlv.Anonymous {
		return nil, fmt.Errorf("content is not an anonymous structure")
	}
	c := &CDContent{}
	v, err := r.expectUint(cdTagFormatVersion, 0xFF, "format_version")
	if err != nil {
		return nil, err
	}
	c.FormatVersion = uint8(v)
	if v, err = r.expectUint(cdTagVendorID, 0xFFFF, "vendor_id"); err != nil {
		return nil, err
	}
	c.VendorID = uint16(v)

	e, err = r.Next()
	if err != nil {
		return nil, fmt.Errorf("product_id_array: %w", err)
	}
	if e.Tag != cdTagProductIDArray || e.Type != mattertlv.TypeArray {
		return nil, fmt.Errorf("product_id_array: expected an array at context tag 2, found type 0x%02X at %s", e.Type, e.Tag)
	}
	c.ProductIDs = []uint16{}
	for {
		e, err = r.Next()
		if err != nil {
			return nil, fmt.Errorf("product_id_array: %w", err)
		}
		if e.IsEnd() {
			break
		}
		if e.Tag != mattertlv.Anonymous || !e.IsUint() || e.Uint > 0xFFFF {
			return nil, fmt.Errorf("product_id_array: entry %d is not an anonymous 16-bit unsigned integer", len(c.ProductIDs))
		}
		if len(c.ProductIDs) == maxCDProductIDs {
			return nil, fmt.Errorf("product_id_array: more than %d entries", maxCDProductIDs)
		}
		c.ProductIDs = append(c.ProductIDs, uint16(e.Uint))
	}
	if v, err = r.expectUint(cdTagDeviceTypeID, 0xFFFFFFFF, "device_type_id"); err != nil {
		return nil, err
	}
	c.DeviceTypeID = uint32(v)

	e, err = r.Next()
	if err != nil {
		return nil, fmt.Errorf("certificate_id: %w", err)
	}
	if e.Tag != cdTagCertificateID || !e.IsUTF8() {
		return nil, fmt.Errorf("certificate_id: expected a UTF-8 string at context tag 4, found %s", e.Tag)
	}
	c.CertificateID = string(e.Data)

	if v, err = r.expectUint(cdTagSecurityLevel, 0xFF, "security_level"); err != nil {
		return nil, err
	}
	c.SecurityLevel = uint8(v)
	if v, err = r.expectUint(cdTagSecurityInformation, 0xFFFF, "security_information"); err != nil {
		return nil, err
	}
	c.SecurityInformation = uint16(v)
	if v, err = r.expectUint(cdTagVersionNumber, 0xFFFF, "version_number"); err != nil {
		return nil, err
	}
	c.VersionNumber = uint16(v)
	if v, err = r.expectUint(cdTagCertificationType, 0xFF, "certification_type"); err != nil {
		return nil, err
	}
	c.CertificationType = uint8(v)

	e, err = r.Next()
	if err != nil {
		return nil, err
	}
	if e.Tag == cdTagDACOriginVendorID {
		if !e.IsUint() || e.Uint > 0xFFFF {
			return nil, fmt.Errorf("dac_origin_vendor_id: not a 16-bit unsigned integer")
		}
		c.HasDACOrigin, c.DACOriginVendorID = true, uint16(e.Uint)
		if v, err = r.expectUint(cdTagDACOriginProductID, 0xFFFF, "dac_origin_product_id"); err != nil {
			return nil, err
		}
		c.DACOriginProductID = uint16(v)
		if e, err = r.Next(); err != nil {
			return nil, err
		}
	} else if e.Tag == cdTagDACOriginProductID {
		return nil, fmt.Errorf("dac_origin_product_id without dac_origin_vendor_id")
	}
	if e.Tag == cdTagAuthorizedPAAList {
		if e.Type != mattertlv.TypeArray {
			return nil, fmt.Errorf("authorized_paa_list: not an array")
		}
		c.AuthorizedPAAs = [][]byte{}
		for {
			if e, err = r.Next(); err != nil {
				return nil, fmt.Errorf("authorized_paa_list: %w", err)
			}
			if e.IsEnd() {
				break
			}
			if e.Tag != mattertlv.Anonymous || !e.IsOctetString() {
				return nil, fmt.Errorf("authorized_paa_list: entry %d is not an anonymous octet string", len(c.AuthorizedPAAs))
			}
			if len(c.AuthorizedPAAs) == maxCDAuthorizedPAAs {
				return nil, fmt.Errorf("authorized_paa_list: more than %d entries", maxCDAuthorizedPAAs)
			}
			c.AuthorizedPAAs = append(c.AuthorizedPAAs, append([]byte(nil), e.Data...))
		}
		if e, err = r.Next(); err != nil {
			return nil, err
		}
	}
	if !e.IsEnd() {
		return nil, fmt.Errorf("unexpected element at %s after certification_type", e.Tag)
	}
	if r.Len() != 0 {
		return nil, fmt.Errorf("%d bytes after the content structure", r.Len())
	}
	return c, nil
}
