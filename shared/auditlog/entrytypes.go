// Code in this file is one struct per entry type. JSON fields are declared in
// sorted key order (TestFieldsSorted checks it) so encoding/json writes canonical JSON.

package auditlog

import "time"

// ApplianceInit is a "appliance-init" entry: the appliance home was created; names the log's note verifier.
type ApplianceInit struct {
	Appliance    string    `json:"appliance"`     // appliance name
	NoteVerifier string    `json:"note_verifier"` // note verifier key (name+hash+key) that signs checkpoints
	Seq          int64     `json:"seq"`           // zero-based index in the log
	Time         Timestamp `json:"time"`          // when the appliance recorded it
	Type         Type      `json:"type"`          // TypeApplianceInit
}

func (e *ApplianceInit) EntryType() Type { return TypeApplianceInit }
func (e *ApplianceInit) Header() Header  { return Header{Seq: e.Seq, Time: e.Time.Time, Type: e.Type} }
func (e *ApplianceInit) SetHeader(seq int64, t time.Time) {
	e.Seq, e.Time, e.Type = seq, Timestamp{t.UTC()}, TypeApplianceInit
}

// KeyGenerated is a "key-generated" entry: a key was generated inside the HSM; Attributes are the PKCS#11 attributes read back after generation (CKA_SENSITIVE, CKA_EXTRACTABLE, ...).
type KeyGenerated struct {
	Attributes      map[string]bool `json:"attributes"`        // attribute name → value read back
	KeyType         string          `json:"key_type"`          // KeyTypeP256, KeyTypeEd25519 or KeyTypeAES256
	Label           string          `json:"label"`             // CKA_LABEL
	PublicKeySHA256 string          `json:"public_key_sha256"` // hex SHA-256 of the DER SubjectPublicKeyInfo; "" for a secret (AES) key, which has none
	Seq             int64           `json:"seq"`               // zero-based index in the log
	Time            Timestamp       `json:"time"`              // when the appliance recorded it
	Type            Type            `json:"type"`              // TypeKeyGenerated
}

func (e *KeyGenerated) EntryType() Type { return TypeKeyGenerated }
func (e *KeyGenerated) Header() Header  { return Header{Seq: e.Seq, Time: e.Time.Time, Type: e.Type} }
func (e *KeyGenerated) SetHeader(seq int64, t time.Time) {
	e.Seq, e.Time, e.Type = seq, Timestamp{t.UTC()}, TypeKeyGenerated
}

// PAIImported is a "pai-imported" entry: a PAI certificate was installed.
type PAIImported struct {
	PAASHA256 string    `json:"paa_sha256"` // hex SHA-256 of the PAA certificate DER
	PAISHA256 string    `json:"pai_sha256"` // hex SHA-256 of the PAI certificate DER
	PID       uint16    `json:"pid"`        // PID in the PAI subject, 0 when absent
	Seq       int64     `json:"seq"`        // zero-based index in the log
	Subject   string    `json:"subject"`    // PAI subject as the appliance shows it, e.g. "CN=…, VID=FFF1, PID=8000"
	Time      Timestamp `json:"time"`       // when the appliance recorded it
	Type      Type      `json:"type"`       // TypePAIImported
	VID       uint16    `json:"vid"`        // VID in the PAI subject
}

func (e *PAIImported) EntryType() Type { return TypePAIImported }
func (e *PAIImported) Header() Header  { return Header{Seq: e.Seq, Time: e.Time.Time, Type: e.Type} }
func (e *PAIImported) SetHeader(seq int64, t time.Time) {
	e.Seq, e.Time, e.Type = seq, Timestamp{t.UTC()}, TypePAIImported
}

// StationEnrolled is a "station-enrolled" entry: a station was enrolled after its fingerprint was checked.
// Build it with NewStationEnrolled, which derives PublicKeySHA256 from the key.
type StationEnrolled struct {
	AgeRecipient     string    `json:"age_recipient"`      // the station's age recipient (dac-batch bundles are encrypted to it)
	BundleSHA256     string    `json:"bundle_sha256"`      // hex SHA-256 of the enrollment bundle file as received
	Ed25519PublicKey string    `json:"ed25519_public_key"` // the station's Ed25519 key (signs its csr-batch bundles), standard base64 of the 32 bytes
	Fingerprint      string    `json:"fingerprint"`        // fingerprint read aloud at enrollment
	PublicKeySHA256  string    `json:"public_key_sha256"`  // hex SHA-256 of the 32-byte Ed25519 public key
	Seq              int64     `json:"seq"`                // zero-based index in the log
	Station          string    `json:"station"`            // station name
	Time             Timestamp `json:"time"`               // when the appliance recorded it
	Type             Type      `json:"type"`               // TypeStationEnrolled
}

func (e *StationEnrolled) EntryType() Type { return TypeStationEnrolled }
func (e *StationEnrolled) Header() Header  { return Header{Seq: e.Seq, Time: e.Time.Time, Type: e.Type} }
func (e *StationEnrolled) SetHeader(seq int64, t time.Time) {
	e.Seq, e.Time, e.Type = seq, Timestamp{t.UTC()}, TypeStationEnrolled
}

// StationRevoked is a "station-revoked" entry: a station was revoked; its batches are refused from now on.
type StationRevoked struct {
	Reason  string    `json:"reason"`  // officer's reason
	Seq     int64     `json:"seq"`     // zero-based index in the log
	Station string    `json:"station"` // station name
	Time    Timestamp `json:"time"`    // when the appliance recorded it
	Type    Type      `json:"type"`    // TypeStationRevoked
}

func (e *StationRevoked) EntryType() Type { return TypeStationRevoked }
func (e *StationRevoked) Header() Header  { return Header{Seq: e.Seq, Time: e.Time.Time, Type: e.Type} }
func (e *StationRevoked) SetHeader(seq int64, t time.Time) {
	e.Seq, e.Time, e.Type = seq, Timestamp{t.UTC()}, TypeStationRevoked
}

// PolicyChanged is a "policy-changed" entry: the issuance policy changed.
type PolicyChanged struct {
	PolicySHA256 string    `json:"policy_sha256"` // hex SHA-256 of the policy file
	Seq          int64     `json:"seq"`           // zero-based index in the log
	Time         Timestamp `json:"time"`          // when the appliance recorded it
	Type         Type      `json:"type"`          // TypePolicyChanged
}

func (e *PolicyChanged) EntryType() Type { return TypePolicyChanged }
func (e *PolicyChanged) Header() Header  { return Header{Seq: e.Seq, Time: e.Time.Time, Type: e.Type} }
func (e *PolicyChanged) SetHeader(seq int64, t time.Time) {
	e.Seq, e.Time, e.Type = seq, Timestamp{t.UTC()}, TypePolicyChanged
}

// CeremonyStarted is a "ceremony-started" entry: a signing ceremony began for one csr-batch bundle.
type CeremonyStarted struct {
	BatchID      string    `json:"batch_id"`      // batch id from the bundle
	BundleSHA256 string    `json:"bundle_sha256"` // hex SHA-256 of the bundle file as received
	Officer      string    `json:"officer"`       // name the officer typed
	PolicySHA256 string    `json:"policy_sha256"` // hex SHA-256 of the policy in force
	Seq          int64     `json:"seq"`           // zero-based index in the log
	Station      string    `json:"station"`       // station that sent the batch
	Time         Timestamp `json:"time"`          // when the appliance recorded it
	Type         Type      `json:"type"`          // TypeCeremonyStarted
}

func (e *CeremonyStarted) EntryType() Type { return TypeCeremonyStarted }
func (e *CeremonyStarted) Header() Header  { return Header{Seq: e.Seq, Time: e.Time.Time, Type: e.Type} }
func (e *CeremonyStarted) SetHeader(seq int64, t time.Time) {
	e.Seq, e.Time, e.Type = seq, Timestamp{t.UTC()}, TypeCeremonyStarted
}

// DACIssued is a "dac-issued" entry: one DAC was issued.
type DACIssued struct {
	BatchID    string    `json:"batch_id"`    // batch id
	DACSHA256  string    `json:"dac_sha256"`  // hex SHA-256 of the DAC DER
	Index      int       `json:"index"`       // index of the CSR in its batch
	PID        uint16    `json:"pid"`         // product id in the DAC subject
	Seq        int64     `json:"seq"`         // zero-based index in the log
	Serial     string    `json:"serial"`      // DAC serial number, lowercase hex of its magnitude (no leading zero byte)
	SPKISHA256 string    `json:"spki_sha256"` // hex SHA-256 of the DER SubjectPublicKeyInfo
	Station    string    `json:"station"`     // station that asked for it
	Time       Timestamp `json:"time"`        // when the appliance recorded it
	Type       Type      `json:"type"`        // TypeDACIssued
	VID        uint16    `json:"vid"`         // vendor id in the DAC subject
}

func (e *DACIssued) EntryType() Type { return TypeDACIssued }
func (e *DACIssued) Header() Header  { return Header{Seq: e.Seq, Time: e.Time.Time, Type: e.Type} }
func (e *DACIssued) SetHeader(seq int64, t time.Time) {
	e.Seq, e.Time, e.Type = seq, Timestamp{t.UTC()}, TypeDACIssued
}

// CSRRefused is a "csr-refused" entry: a CSR was refused and no DAC issued for it.
type CSRRefused struct {
	BatchID  string    `json:"batch_id"`  // batch id
	Index    int       `json:"index"`     // index of the CSR in its batch
	ModuleID string    `json:"module_id"` // module identity (chip id / MAC) from the batch
	PID      uint16    `json:"pid"`       // product id the batch line asked for
	Reason   string    `json:"reason"`    // why it was refused
	Seq      int64     `json:"seq"`       // zero-based index in the log
	Station  string    `json:"station"`   // station that sent the batch
	Time     Timestamp `json:"time"`      // when the appliance recorded it
	Type     Type      `json:"type"`      // TypeCSRRefused
	VID      uint16    `json:"vid"`       // vendor id the batch line asked for
}

func (e *CSRRefused) EntryType() Type { return TypeCSRRefused }
func (e *CSRRefused) Header() Header  { return Header{Seq: e.Seq, Time: e.Time.Time, Type: e.Type} }
func (e *CSRRefused) SetHeader(seq int64, t time.Time) {
	e.Seq, e.Time, e.Type = seq, Timestamp{t.UTC()}, TypeCSRRefused
}

// BundleWritten is a "bundle-written" entry: a return bundle was written.
type BundleWritten struct {
	BatchID      string    `json:"batch_id"`      // batch id
	BundleSHA256 string    `json:"bundle_sha256"` // hex SHA-256 of the bundle file
	FileName     string    `json:"file_name"`     // bundle file name
	Seq          int64     `json:"seq"`           // zero-based index in the log
	Time         Timestamp `json:"time"`          // when the appliance recorded it
	Type         Type      `json:"type"`          // TypeBundleWritten
}

func (e *BundleWritten) EntryType() Type { return TypeBundleWritten }
func (e *BundleWritten) Header() Header  { return Header{Seq: e.Seq, Time: e.Time.Time, Type: e.Type} }
func (e *BundleWritten) SetHeader(seq int64, t time.Time) {
	e.Seq, e.Time, e.Type = seq, Timestamp{t.UTC()}, TypeBundleWritten
}

// CeremonyFinished is a "ceremony-finished" entry: a ceremony ended.
type CeremonyFinished struct {
	BatchID string    `json:"batch_id"` // batch id
	Issued  int       `json:"issued"`   // DACs issued in this ceremony
	Refused int       `json:"refused"`  // CSRs refused
	Seq     int64     `json:"seq"`      // zero-based index in the log
	Station string    `json:"station"`  // station
	Time    Timestamp `json:"time"`     // when the appliance recorded it
	Type    Type      `json:"type"`     // TypeCeremonyFinished
}

func (e *CeremonyFinished) EntryType() Type { return TypeCeremonyFinished }
func (e *CeremonyFinished) Header() Header {
	return Header{Seq: e.Seq, Time: e.Time.Time, Type: e.Type}
}
func (e *CeremonyFinished) SetHeader(seq int64, t time.Time) {
	e.Seq, e.Time, e.Type = seq, Timestamp{t.UTC()}, TypeCeremonyFinished
}

// CeremonyAbandoned is a "ceremony-abandoned" entry: the officer ended an unfinished ceremony.
// Its DACs were issued but never delivered in a return bundle: they are listed for revocation.
type CeremonyAbandoned struct {
	BatchID string    `json:"batch_id"` // batch id
	Issued  int       `json:"issued"`   // DACs the ceremony issued, none delivered
	Officer string    `json:"officer"`  // officer who abandoned it
	Reason  string    `json:"reason"`   // officer's reason
	Seq     int64     `json:"seq"`      // zero-based index in the log
	Serials []string  `json:"serials"`  // serials of those DACs (canonical hex); all of them when issued <= MaxAbandonedSerials, else none (the batch's dac-issued entries list them)
	Station string    `json:"station"`  // station of the batch
	Time    Timestamp `json:"time"`     // when the appliance recorded it
	Type    Type      `json:"type"`     // TypeCeremonyAbandoned
}

func (e *CeremonyAbandoned) EntryType() Type { return TypeCeremonyAbandoned }
func (e *CeremonyAbandoned) Header() Header {
	return Header{Seq: e.Seq, Time: e.Time.Time, Type: e.Type}
}
func (e *CeremonyAbandoned) SetHeader(seq int64, t time.Time) {
	e.Seq, e.Time, e.Type = seq, Timestamp{t.UTC()}, TypeCeremonyAbandoned
}

// LogAnchored is a "log-anchored" entry: the officer anchored the log on the token (an appliance initialised before the
// log anchor existed); from here on a home older than the anchor is refused.
type LogAnchored struct {
	Officer string    `json:"officer"` // officer who anchored it
	Seq     int64     `json:"seq"`     // zero-based index in the log
	Time    Timestamp `json:"time"`    // when the appliance recorded it
	Type    Type      `json:"type"`    // TypeLogAnchored
}

func (e *LogAnchored) EntryType() Type { return TypeLogAnchored }
func (e *LogAnchored) Header() Header  { return Header{Seq: e.Seq, Time: e.Time.Time, Type: e.Type} }
func (e *LogAnchored) SetHeader(seq int64, t time.Time) {
	e.Seq, e.Time, e.Type = seq, Timestamp{t.UTC()}, TypeLogAnchored
}

// LogExported is a "log-exported" entry: the log was exported; the export's checkpoint covers this entry.
type LogExported struct {
	PreviousTreeSize int64     `json:"previous_tree_size"` // tree size of the previous export's checkpoint, 0 for the first export
	Seq              int64     `json:"seq"`                // zero-based index in the log
	Time             Timestamp `json:"time"`               // when the appliance recorded it
	Type             Type      `json:"type"`               // TypeLogExported
}

func (e *LogExported) EntryType() Type { return TypeLogExported }
func (e *LogExported) Header() Header  { return Header{Seq: e.Seq, Time: e.Time.Time, Type: e.Type} }
func (e *LogExported) SetHeader(seq int64, t time.Time) {
	e.Seq, e.Time, e.Type = seq, Timestamp{t.UTC()}, TypeLogExported
}
