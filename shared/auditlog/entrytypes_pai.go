package auditlog

import (
	"errors"
	"time"
)

// PAI lifecycle entry types (issue 17: renewal, rotation, retirement). A
// rotated PAI's key is recorded by a key-generated entry under its own label
// and its certificate by a pai-added entry naming that label.
const (
	// TypePAIAdded: see PAIAdded.
	TypePAIAdded Type = "pai-added"

	// TypePAIRenewed: see PAIRenewed.
	TypePAIRenewed Type = "pai-renewed"
	// TypePAIRetired: see PAIRetired.
	TypePAIRetired Type = "pai-retired"
)

func init() {
	newEntry[TypePAIAdded] = func() Entry { return new(PAIAdded) }
	newEntry[TypePAIRenewed] = func() Entry { return new(PAIRenewed) }
	newEntry[TypePAIRetired] = func() Entry { return new(PAIRetired) }
}

// paiTypes are listed by Types after the others.
var paiTypes = []Type{TypePAIAdded, TypePAIRenewed, TypePAIRetired}

// PAIAdded is a "pai-added" entry: the certificate of a further PAI key
// (made by `appliance pai rotate`) was installed; the appliance's first PAI
// is recorded by pai-imported.
type PAIAdded struct {
	Label           string    `json:"label"`             // token label of the PAI key
	PAASHA256       string    `json:"paa_sha256"`        // hex SHA-256 of the PAA certificate DER
	PAISHA256       string    `json:"pai_sha256"`        // hex SHA-256 of the PAI certificate DER
	PID             uint16    `json:"pid"`               // PID in the PAI subject, 0 when absent
	PublicKeySHA256 string    `json:"public_key_sha256"` // as in the key's key-generated entry
	Seq             int64     `json:"seq"`               // zero-based index in the log
	Subject         string    `json:"subject"`           // PAI subject as the appliance shows it
	Time            Timestamp `json:"time"`              // when the appliance recorded it
	Type            Type      `json:"type"`              // TypePAIAdded
	VID             uint16    `json:"vid"`               // VID in the PAI subject
}

func (e *PAIAdded) EntryType() Type { return TypePAIAdded }
func (e *PAIAdded) Header() Header  { return Header{Seq: e.Seq, Time: e.Time.Time, Type: e.Type} }
func (e *PAIAdded) SetHeader(seq int64, t time.Time) {
	e.Seq, e.Time, e.Type = seq, Timestamp{t.UTC()}, TypePAIAdded
}

func (e *PAIAdded) validate() error {
	var err error
	if e.VID == 0 {
		err = errors.New("vid is required")
	}
	return joinErrs(err, checkName("label", e.Label), checkSHA256("pai_sha256", e.PAISHA256),
		checkSHA256("paa_sha256", e.PAASHA256), checkSHA256("public_key_sha256", e.PublicKeySHA256),
		checkName("subject", e.Subject))
}

// PAIRenewed is a "pai-renewed" entry: the PAI certificate of a key was
// replaced by a new certificate for the same key, subject and VID/PID, issued
// by the same PAA. The old certificate stays in the home (pai-history/).
type PAIRenewed struct {
	Label        string    `json:"label"`          // token label of the PAI key
	NewNotAfter  Timestamp `json:"new_not_after"`  // notAfter of the new certificate
	NewPAISHA256 string    `json:"new_pai_sha256"` // hex SHA-256 of the new PAI certificate DER
	OldPAISHA256 string    `json:"old_pai_sha256"` // hex SHA-256 of the replaced PAI certificate DER
	PAASHA256    string    `json:"paa_sha256"`     // hex SHA-256 of the PAA certificate DER
	Seq          int64     `json:"seq"`            // zero-based index in the log
	Subject      string    `json:"subject"`        // PAI subject (unchanged by a renewal)
	Time         Timestamp `json:"time"`           // when the appliance recorded it
	Type         Type      `json:"type"`           // TypePAIRenewed
}

func (e *PAIRenewed) EntryType() Type { return TypePAIRenewed }
func (e *PAIRenewed) Header() Header  { return Header{Seq: e.Seq, Time: e.Time.Time, Type: e.Type} }
func (e *PAIRenewed) SetHeader(seq int64, t time.Time) {
	e.Seq, e.Time, e.Type = seq, Timestamp{t.UTC()}, TypePAIRenewed
}

func (e *PAIRenewed) validate() error {
	var err error
	if e.OldPAISHA256 == e.NewPAISHA256 {
		err = errors.New("new_pai_sha256 equals old_pai_sha256: a renewal installs another certificate")
	}
	if e.NewNotAfter.IsZero() {
		err = joinErrs(err, errors.New("new_not_after is required"))
	}
	return joinErrs(err, checkName("label", e.Label), checkSHA256("new_pai_sha256", e.NewPAISHA256),
		checkSHA256("old_pai_sha256", e.OldPAISHA256), checkSHA256("paa_sha256", e.PAASHA256),
		checkName("subject", e.Subject))
}

// PAIRetired is a "pai-retired" entry: from here on the appliance signs
// nothing with this PAI. Its key stays on the token and its certificate in
// the home, so the DACs it issued stay verifiable.
type PAIRetired struct {
	Label     string    `json:"label"`      // token label of the PAI key
	PAISHA256 string    `json:"pai_sha256"` // hex SHA-256 of its certificate DER
	Seq       int64     `json:"seq"`        // zero-based index in the log
	Subject   string    `json:"subject"`    // its subject
	Time      Timestamp `json:"time"`       // when the appliance recorded it
	Type      Type      `json:"type"`       // TypePAIRetired
}

func (e *PAIRetired) EntryType() Type { return TypePAIRetired }
func (e *PAIRetired) Header() Header  { return Header{Seq: e.Seq, Time: e.Time.Time, Type: e.Type} }
func (e *PAIRetired) SetHeader(seq int64, t time.Time) {
	e.Seq, e.Time, e.Type = seq, Timestamp{t.UTC()}, TypePAIRetired
}

func (e *PAIRetired) validate() error {
	return joinErrs(checkName("label", e.Label), checkSHA256("pai_sha256", e.PAISHA256), checkName("subject", e.Subject))
}
