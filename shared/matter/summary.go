package matter

import (
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// CertSummary is the short, human-checkable description of an attestation
// certificate that reports and the CLI print.
type CertSummary struct {
	Subject   string    `json:"subject"`
	Issuer    string    `json:"issuer"`
	VID       string    `json:"vid,omitempty"`
	PID       string    `json:"pid,omitempty"`
	VIDPIDCN  bool      `json:"vidpid_from_cn,omitempty"`
	Serial    string    `json:"serial"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	NoExpiry  bool      `json:"no_expiry"`
	SKID      string    `json:"skid,omitempty"`
	AKID      string    `json:"akid,omitempty"`
}

// Summarize describes cert. VID/PID are empty when absent or malformed.
func Summarize(cert *x509.Certificate) CertSummary {
	s := CertSummary{
		Subject:   FormatName(cert.RawSubject),
		Issuer:    FormatName(cert.RawIssuer),
		NotBefore: cert.NotBefore.UTC(),
		NotAfter:  cert.NotAfter.UTC(),
		NoExpiry:  cert.NotAfter.Equal(NoExpiry),
		SKID:      strings.ToUpper(hex.EncodeToString(cert.SubjectKeyId)),
		AKID:      strings.ToUpper(hex.EncodeToString(cert.AuthorityKeyId)),
	}
	if cert.SerialNumber != nil {
		s.Serial = strings.ToUpper(cert.SerialNumber.Text(16))
	}
	if vp, err := ExtractVIDPID(cert.RawSubject); err == nil {
		if vp.HasVID {
			s.VID = fmt.Sprintf("%04X", vp.VID)
		}
		if vp.HasPID {
			s.PID = fmt.Sprintf("%04X", vp.PID)
		}
		s.VIDPIDCN = vp.FromCN
	}
	return s
}

// FormatName renders a DER Name with Matter attribute names
// ("CN=Matter Test DAC 0000, VID=FFF1, PID=8000").
func FormatName(raw []byte) string {
	attrs, err := parseRDNs(raw)
	if err != nil {
		return fmt.Sprintf("(malformed name %X)", raw)
	}
	names := map[string]string{
		"2.5.4.3": "CN", "2.5.4.10": "O", "2.5.4.11": "OU", "2.5.4.6": "C", "2.5.4.5": "serialNumber",
		OIDVendorID.String(): "VID", OIDProductID.String(): "PID",
	}
	parts := make([]string, 0, len(attrs))
	for _, a := range attrs {
		k, ok := names[a.oid.String()]
		if !ok {
			k = a.oid.String()
		}
		v := string(a.value)
		switch a.tag {
		case cbasn1.UTF8String, cbasn1.PrintableString, cbasn1.IA5String, cbasn1.T61String:
		default:
			v = "#" + hex.EncodeToString(a.value)
		}
		parts = append(parts, k+"="+v)
	}
	return strings.Join(parts, ", ")
}
