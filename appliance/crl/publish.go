package crl

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/dacline/dacline/shared/matter"
)

// DistributionPoint is the DCL's PKI revocation distribution point for a PAI
// that signs its own CRL (DCL MsgAddPkiRevocationDistributionPoint; field
// names as in the DCL's JSON). DataURL is where the maker will publish the
// CRL: the appliance is offline and leaves it empty for the maker to fill.
type DistributionPoint struct {
	VID                  uint16 `json:"vid"`
	PID                  uint16 `json:"pid"`   // the PAI's PID, 0 when the PAI names none
	IsPAA                bool   `json:"isPAA"` // false: a PAI signs these CRLs
	Label                string `json:"label"`
	CRLSignerCertificate string `json:"crlSignerCertificate"` // the PAI, PEM
	IssuerSubjectKeyID   string `json:"issuerSubjectKeyID"`   // the PAI's SKID, uppercase hex without colons
	DataURL              string `json:"dataURL"`
	DataFileSize         string `json:"dataFileSize"` // CRL size in bytes (a uint64, written as the DCL's JSON writes it: a string)
	DataDigest           string `json:"dataDigest"`   // base64 SHA-256 of the CRL file
	DataDigestType       int    `json:"dataDigestType"`
	RevocationType       int    `json:"revocationType"` // 1: RFC 5280 CRL
	SchemaVersion        int    `json:"schemaVersion"`
}

// DCL constants.
const (
	DigestTypeSHA256  = 1 // IANA "Named Information Hash Algorithm" sha-256
	RevocationTypeCRL = 1
)

// NewDistributionPoint describes crlDER, signed by pai, for the DCL.
func NewDistributionPoint(pai *x509.Certificate, crlDER []byte, label string) (*DistributionPoint, error) {
	ids, err := matter.ExtractVIDPID(pai.RawSubject)
	if err != nil || !ids.HasVID {
		return nil, fmt.Errorf("distribution point: pai subject has no vendor id")
	}
	if label == "" {
		return nil, fmt.Errorf("distribution point: label is required")
	}
	sum := sha256.Sum256(crlDER)
	dp := &DistributionPoint{
		VID: ids.VID, IsPAA: false, Label: label,
		CRLSignerCertificate: string(matter.EncodePEM(pai.Raw)),
		IssuerSubjectKeyID:   strings.ToUpper(hex.EncodeToString(pai.SubjectKeyId)),
		DataFileSize:         strconv.Itoa(len(crlDER)),
		DataDigest:           base64.StdEncoding.EncodeToString(sum[:]),
		DataDigestType:       DigestTypeSHA256,
		RevocationType:       RevocationTypeCRL,
	}
	if ids.HasPID {
		dp.PID = ids.PID
	}
	return dp, nil
}

// RevocationSet is one entry of the revocation set file that the Matter SDK's
// TestDACRevocationDelegateImpl (chip-tool --dac-revocation-set-path) and
// credentials/generate_revocation_set.py read: the issuer is matched on its
// base64 DER name and uppercase hex key ID, serials are uppercase hex of an
// even number of digits (the SDK's BytesToHex of the DER serial's bytes).
type RevocationSet struct {
	Type                 string   `json:"type"` // "revocation_set"
	IssuerSubjectKeyID   string   `json:"issuer_subject_key_id"`
	IssuerName           string   `json:"issuer_name"`
	RevokedSerialNumbers []string `json:"revoked_serial_numbers"`
	CRLSignerCert        string   `json:"crl_signer_cert"` // base64 DER
}

// NewRevocationSet converts crlDER, verified against pai, into the
// revocation set form. The file is a JSON array of such entries.
func NewRevocationSet(pai *x509.Certificate, crlDER []byte) (*RevocationSet, error) {
	crl, err := matter.ParseCRLFrom(crlDER, pai)
	if err != nil {
		return nil, err
	}
	rs := &RevocationSet{
		Type:                 "revocation_set",
		IssuerSubjectKeyID:   strings.ToUpper(hex.EncodeToString(pai.SubjectKeyId)),
		IssuerName:           base64.StdEncoding.EncodeToString(crl.RawIssuer),
		RevokedSerialNumbers: []string{},
		CRLSignerCert:        base64.StdEncoding.EncodeToString(pai.Raw),
	}
	for _, e := range crl.RevokedCertificateEntries {
		rs.RevokedSerialNumbers = append(rs.RevokedSerialNumbers, SDKSerialHex(e.SerialNumber.Bytes()))
	}
	return rs, nil
}

// SDKSerialHex is a serial as generate_revocation_set.py writes it:
// uppercase hex of the magnitude, an even number of digits. (DAC serials of
// this appliance never have the top bit set, so the SDK's hex of the DER
// INTEGER contents is the same text.)
func SDKSerialHex(magnitude []byte) string {
	return strings.ToUpper(hex.EncodeToString(magnitude))
}
