package matter

import (
	"bytes"
	"encoding/asn1"
	"fmt"
	"strings"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Matter DN attribute OIDs (Matter Core 6.2.2.2 / 6.1.1).
var (
	OIDVendorID  = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 37244, 2, 1}
	OIDProductID = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 37244, 2, 2}
	oidCN        = asn1.ObjectIdentifier{2, 5, 4, 3}
)

// Test vendor IDs reserved by the CSA for development (Matter Core 2.5.2).
const (
	VendorIDTestMin uint16 = 0xFFF1
	VendorIDTestMax uint16 = 0xFFF4
)

// IsTestVendorID reports whether vid is one of the development vendor IDs.
func IsTestVendorID(vid uint16) bool { return vid >= VendorIDTestMin && vid <= VendorIDTestMax }

// Limits from src/crypto/CHIPCryptoPAL.h.
const (
	maxDNLength          = 200 // kMaxCertificateDistinguishedNameLength
	maxCommonNameScanned = 64  // kMax_CommonNameAttr_Length: the CN fallback only looks this far
	vidPIDHexLength      = 4
	vidPrefixCN          = "Mvid:"
	pidPrefixCN          = "Mpid:"
)

// Subject is the subject DN dacline puts into attestation certificates:
// an optional common name followed by the Matter VID and PID attributes,
// each a UTF8String of 4 uppercase hex digits.
type Subject struct {
	CommonName string
	VID, PID   uint16
	HasVID     bool
	HasPID     bool
}

// RawSubject encodes s as a DER RDNSequence with one attribute per RDN, in the
// order CN, VID, PID, every value a UTF8String (tag 0x0C) as in the SDK's test
// certificates. (Go's pkix.Name would encode the VID/PID as PrintableString.)
func (s Subject) RawSubject() ([]byte, error) {
	if s.CommonName == "" && !s.HasVID && !s.HasPID {
		return nil, fmt.Errorf("subject is empty")
	}
	var b cryptobyte.Builder
	add := func(b *cryptobyte.Builder, oid asn1.ObjectIdentifier, value string) {
		b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier(oid)
				b.AddASN1(cbasn1.UTF8String, func(b *cryptobyte.Builder) { b.AddBytes([]byte(value)) })
			})
		})
	}
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		if s.CommonName != "" {
			add(b, oidCN, s.CommonName)
		}
		if s.HasVID {
			add(b, OIDVendorID, fmt.Sprintf("%04X", s.VID))
		}
		if s.HasPID {
			add(b, OIDProductID, fmt.Sprintf("%04X", s.PID))
		}
	})
	der, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("encode subject: %w", err)
	}
	if len(der) > maxDNLength {
		return nil, fmt.Errorf("subject is %d bytes, Matter allows at most %d", len(der), maxDNLength)
	}
	return der, nil
}

// VIDPID is what a certificate's subject says about vendor and product.
type VIDPID struct {
	VID, PID       uint16
	HasVID, HasPID bool
	// FromCN is true when the values came from the legacy "Mvid:XXXX Mpid:XXXX"
	// common-name encoding (used only when no Matter OID attribute exists).
	FromCN bool
}

func (v VIDPID) initialized() bool { return v.HasVID || v.HasPID }

// String formats v as "VID FFF1 PID 8000" (absent values shown as "-").
func (v VIDPID) String() string {
	f := func(has bool, x uint16) string {
		if !has {
			return "-"
		}
		return fmt.Sprintf("%04X", x)
	}
	return "VID " + f(v.HasVID, v.VID) + " PID " + f(v.HasPID, v.PID)
}

// subjectAttr is one attribute of a DN, with its raw string tag.
type subjectAttr struct {
	oid   asn1.ObjectIdentifier
	tag   cbasn1.Tag
	value []byte
}

// parseRDNs walks a DER Name and returns its attributes in order.
func parseRDNs(raw []byte) ([]subjectAttr, error) {
	in := cryptobyte.String(raw)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() {
		return nil, fmt.Errorf("malformed name")
	}
	var attrs []subjectAttr
	for !seq.Empty() {
		var set cryptobyte.String
		if !seq.ReadASN1(&set, cbasn1.SET) {
			return nil, fmt.Errorf("malformed relative distinguished name")
		}
		for !set.Empty() {
			var atv cryptobyte.String
			var a subjectAttr
			if !set.ReadASN1(&atv, cbasn1.SEQUENCE) ||
				!atv.ReadASN1ObjectIdentifier(&a.oid) ||
				!atv.ReadAnyASN1((*cryptobyte.String)(&a.value), &a.tag) || !atv.Empty() {
				return nil, fmt.Errorf("malformed attribute")
			}
			attrs = append(attrs, a)
		}
	}
	return attrs, nil
}

// ExtractVIDPID reads the Matter VID/PID from a DER subject the way the SDK's
// ExtractVIDPIDFromX509Cert does: Matter OID attributes must be exactly 4
// uppercase hex digits and appear at most once; the legacy CN form
// ("Mvid:FFF1", "Mpid:8000", leftmost valid match, within the first 64 bytes)
// counts only when no OID attribute is present. A prefix with no valid value
// after it is an error, as in Find16BitUpperCaseHexAfterPrefix.
func ExtractVIDPID(rawSubject []byte) (VIDPID, error) {
	attrs, err := parseRDNs(rawSubject)
	if err != nil {
		return VIDPID{}, err
	}
	var fromAttr, fromCN VIDPID
	for _, a := range attrs {
		switch {
		case a.oid.Equal(OIDVendorID), a.oid.Equal(OIDProductID):
			isVID := a.oid.Equal(OIDVendorID)
			name := "PID"
			if isVID {
				name = "VID"
			}
			v, ok := upperHex16(a.value)
			if !ok {
				return VIDPID{}, fmt.Errorf("%s attribute %q is not 4 uppercase hex digits", name, a.value)
			}
			if isVID {
				if fromAttr.HasVID {
					return VIDPID{}, fmt.Errorf("VID attribute appears more than once")
				}
				fromAttr.VID, fromAttr.HasVID = v, true
			} else {
				if fromAttr.HasPID {
					return VIDPID{}, fmt.Errorf("PID attribute appears more than once")
				}
				fromAttr.PID, fromAttr.HasPID = v, true
			}
		case a.oid.Equal(oidCN):
			if len(a.value) == 0 {
				return VIDPID{}, fmt.Errorf("common name is empty")
			}
			if fromCN.initialized() {
				continue
			}
			cn := a.value
			if len(cn) > maxCommonNameScanned {
				cn = cn[:maxCommonNameScanned]
			}
			vid, found, err := findHexAfterPrefix(cn, vidPrefixCN)
			if err != nil {
				return VIDPID{}, err
			}
			if found {
				fromCN.VID, fromCN.HasVID = vid, true
			}
			pid, found, err := findHexAfterPrefix(cn, pidPrefixCN)
			if err != nil {
				return VIDPID{}, err
			}
			if found {
				fromCN.PID, fromCN.HasPID = pid, true
			}
		}
	}
	if fromAttr.initialized() {
		return fromAttr, nil
	}
	fromCN.FromCN = fromCN.initialized()
	return fromCN, nil
}

// findHexAfterPrefix finds the leftmost prefix followed by 4 uppercase hex
// digits. It fails when the prefix occurs but never with a valid value.
func findHexAfterPrefix(s []byte, prefix string) (uint16, bool, error) {
	seen := false
	for i := 0; i+len(prefix) <= len(s); i++ {
		if !bytes.HasPrefix(s[i:], []byte(prefix)) {
			continue
		}
		seen = true
		rest := s[i+len(prefix):]
		if len(rest) < vidPIDHexLength {
			break
		}
		if v, ok := upperHex16(rest[:vidPIDHexLength]); ok {
			return v, true, nil
		}
	}
	if seen {
		return 0, false, fmt.Errorf("common name has %q without 4 uppercase hex digits after it", strings.TrimSuffix(prefix, ":"))
	}
	return 0, false, nil
}

func upperHex16(b []byte) (uint16, bool) {
	if len(b) != vidPIDHexLength {
		return 0, false
	}
	var v uint16
	for _, c := range b {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		v = v<<4 | uint16(d)
	}
	return v, true
}
