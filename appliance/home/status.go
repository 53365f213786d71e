package home

import (
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/dacline/dacline/appliance/hsm"
	"github.com/dacline/dacline/shared/matter"
)

// Status is what `appliance status` shows: the token, every key with the
// attributes the token reports for it, and the installed certificates.
type Status struct {
	Name         string        `json:"name"`
	Home         string        `json:"home"`
	Created      time.Time     `json:"created"`
	Token        hsm.TokenInfo `json:"token"`
	Keys         []KeyStatus   `json:"keys"`
	AgeRecipient string        `json:"age_recipient"`
	PAI          *CertStatus   `json:"pai"`
	PAA          *CertStatus   `json:"paa"`
	// LogAnchor is the check of the audit log against the token's anchor.
	LogAnchor *AnchorStatus `json:"log_anchor"`
	// PAIs lists every PAI (pais.go); Warnings what needs an officer soon
	// (a PAI that expires within ExpiryWarning).
	PAIs     []PAIView `json:"pais"`
	Warnings []string  `json:"warnings"`
}

// KeyStatus describes one key on the token.
type KeyStatus struct {
	Role  string `json:"role"`
	Label string `json:"label"`
	Type  string `json:"type"`
	// PublicKeySHA256 is the SHA-256 of the DER SubjectPublicKeyInfo (none for AES).
	PublicKeySHA256 string            `json:"public_key_sha256,omitempty"`
	Attributes      hsm.KeyAttributes `json:"attributes"`
}

// CertStatus describes an installed certificate.
type CertStatus struct {
	Subject   string    `json:"subject"`
	Issuer    string    `json:"issuer"`
	Serial    string    `json:"serial"`
	VIDPID    string    `json:"vid_pid"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	ValidNow  bool      `json:"valid_now"`
	SHA256    string    `json:"sha256"`
}

// Status reads everything back from the token and the home.
func (u *Unlocked) Status(now time.Time) (*Status, error) {
	h := u.Home
	s := &Status{Name: h.Config.Name, Home: h.Dir(), Created: h.Config.Created, Token: u.Token.Info(), AgeRecipient: h.Config.AgeRecipient}
	add := func(role string, k *hsm.Key) error {
		a, err := k.Attributes()
		if err != nil {
			return err
		}
		der, err := x509.MarshalPKIXPublicKey(k.Public())
		if err != nil {
			return err
		}
		sum := sha256.Sum256(der)
		s.Keys = append(s.Keys, KeyStatus{Role: role, Label: k.Label(), Type: k.Type().String(), PublicKeySHA256: hex.EncodeToString(sum[:]), Attributes: a})
		return nil
	}
	if err := add("appliance signing", u.Signing); err != nil {
		return nil, err
	}
	if err := add("PAI", u.PAIKey); err != nil {
		return nil, err
	}
	if ref := h.Config.Keys.TestPAA; ref != nil {
		k, err := findKey(u.Token, *ref)
		if err != nil {
			return nil, err
		}
		if err := add("test PAA", k); err != nil {
			return nil, err
		}
	}
	wrap, err := u.Token.FindAESKey(h.Config.Keys.AgeWrap)
	if err != nil {
		return nil, err
	}
	a, err := wrap.Attributes()
	if err != nil {
		return nil, err
	}
	s.Keys = append(s.Keys, KeyStatus{Role: "age identity wrap", Label: wrap.Label(), Type: "AES-256", Attributes: a})
	s.PAI = certStatus(u.PAI, now)
	s.PAA = certStatus(u.PAA, now)
	s.LogAnchor = u.anchorStatus()
	if err := u.paiStatus(s, now); err != nil {
		return nil, err
	}
	return s, nil
}

func certStatus(c *x509.Certificate, now time.Time) *CertStatus {
	if c == nil {
		return nil
	}
	ids := "-"
	if v, err := matter.ExtractVIDPID(c.RawSubject); err == nil {
		ids = v.String()
	}
	sum := sha256.Sum256(c.Raw)
	return &CertStatus{
		Subject: DescribeName(c.RawSubject), Issuer: DescribeName(c.RawIssuer), Serial: fmt.Sprintf("%X", c.SerialNumber),
		VIDPID: ids, NotBefore: c.NotBefore.UTC(), NotAfter: c.NotAfter.UTC(),
		ValidNow: !now.Before(c.NotBefore) && !now.After(c.NotAfter), SHA256: hex.EncodeToString(sum[:]),
	}
}

// DescribeName shows a Matter DN readably: "CN=…, VID=FFF1, PID=8000" (Go's
// pkix.Name.String shows the Matter attributes as re-encoded OIDs, in reverse).
func DescribeName(raw []byte) string {
	var name pkix.RDNSequence
	if rest, err := asn1.Unmarshal(raw, &name); err != nil || len(rest) != 0 {
		return "(unparsable name)"
	}
	var parts []string
	for _, rdn := range name {
		for _, atv := range rdn {
			v, _ := atv.Value.(string)
			switch {
			case atv.Type.Equal(matter.OIDVendorID):
				parts = append(parts, "VID="+v)
			case atv.Type.Equal(matter.OIDProductID):
				parts = append(parts, "PID="+v)
			case atv.Type.Equal(asn1.ObjectIdentifier{2, 5, 4, 3}):
				parts = append(parts, "CN="+v)
			default:
				parts = append(parts, fmt.Sprintf("%s=%v", atv.Type, atv.Value))
			}
		}
	}
	return strings.Join(parts, ", ")
}
