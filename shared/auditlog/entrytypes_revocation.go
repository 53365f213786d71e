// Entry types of revocation (CRLs) and officer quorum (issue 17). They are
// kept in their own file so the PAI lifecycle types can grow beside them;
// JSON fields in sorted key order like every entry type.

package auditlog

import (
	"errors"
	"fmt"
	"time"
)

// The revocation and quorum entry types.
const (
	// TypeCRLIssued: see CRLIssued.
	TypeCRLIssued Type = "crl-issued"
	// TypeQuorumCreated: see QuorumCreated.
	TypeQuorumCreated Type = "quorum-created"
	// TypeQuorumUnlocked: see QuorumUnlocked.
	TypeQuorumUnlocked Type = "quorum-unlocked"
)

// revocationQuorumTypes are listed by Types after the older types.
var revocationQuorumTypes = []Type{TypeCRLIssued, TypeQuorumCreated, TypeQuorumUnlocked}

func init() {
	newEntry[TypeCRLIssued] = func() Entry { return new(CRLIssued) }
	newEntry[TypeQuorumCreated] = func() Entry { return new(QuorumCreated) }
	newEntry[TypeQuorumUnlocked] = func() Entry { return new(QuorumUnlocked) }
}

// CRLIssued is a "crl-issued" entry: the PAI signed a certificate revocation
// list. The CRL is complete (never a delta): Revoked counts every serial it
// lists; Added names those it revokes for the first time.
type CRLIssued struct {
	Added      []string  `json:"added"`       // serials (canonical hex) first revoked by this CRL
	CRLNumber  int64     `json:"crl_number"`  // the CRL number extension (RFC 5280 5.2.3), one more than the last
	CRLSHA256  string    `json:"crl_sha256"`  // hex SHA-256 of the CRL DER
	NextUpdate Timestamp `json:"next_update"` // nextUpdate
	Officer    string    `json:"officer"`     // officer who issued it
	PAISHA256  string    `json:"pai_sha256"`  // hex SHA-256 of the signing PAI certificate DER
	Reason     string    `json:"reason"`      // RFC 5280 reason code name of the added serials
	Revoked    int       `json:"revoked"`     // serials listed in the CRL
	Seq        int64     `json:"seq"`         // zero-based index in the log
	ThisUpdate Timestamp `json:"this_update"` // thisUpdate
	Time       Timestamp `json:"time"`        // when the appliance recorded it
	Type       Type      `json:"type"`        // TypeCRLIssued
}

func (e *CRLIssued) EntryType() Type { return TypeCRLIssued }
func (e *CRLIssued) Header() Header  { return Header{Seq: e.Seq, Time: e.Time.Time, Type: e.Type} }
func (e *CRLIssued) SetHeader(seq int64, t time.Time) {
	e.Seq, e.Time, e.Type = seq, Timestamp{t.UTC()}, TypeCRLIssued
}

// MaxCRLAddedSerials bounds the serials one crl-issued entry names.
const MaxCRLAddedSerials = 1000

func (e *CRLIssued) validate() error {
	errs := []error{checkSHA256("crl_sha256", e.CRLSHA256), checkSHA256("pai_sha256", e.PAISHA256),
		checkName("officer", e.Officer), checkName("reason", e.Reason), checkIndex("revoked", e.Revoked)}
	if e.CRLNumber < 1 {
		errs = append(errs, fmt.Errorf("crl_number: want 1 or more, got %d", e.CRLNumber))
	}
	if e.Added == nil {
		errs = append(errs, errors.New("added: missing (an empty list when the CRL only renews the last one)"))
	}
	if len(e.Added) > MaxCRLAddedSerials || len(e.Added) > e.Revoked {
		errs = append(errs, fmt.Errorf("added: %d serials, more than the %d allowed or the %d revoked", len(e.Added), MaxCRLAddedSerials, e.Revoked))
	}
	for i, s := range e.Added {
		if err := checkSerial(s); err != nil {
			errs = append(errs, fmt.Errorf("added[%d]: %w", i, err))
			break
		}
	}
	if e.ThisUpdate.IsZero() || !e.NextUpdate.After(e.ThisUpdate.Time) {
		errs = append(errs, errors.New("next_update: must be after this_update"))
	}
	return joinErrs(errs...)
}

// QuorumCreated is a "quorum-created" entry: the token's PINs were split into
// shares for named officers, any Threshold of whom unlock the appliance.
// It names the officers, never a share.
type QuorumCreated struct {
	Officers  []string  `json:"officers"`  // the officers holding a share, in share order
	QuorumID  string    `json:"quorum_id"` // the quorum's id (hex); every share carries it
	Seq       int64     `json:"seq"`       // zero-based index in the log
	Threshold int       `json:"threshold"` // shares needed (M of N)
	Time      Timestamp `json:"time"`      // when the appliance recorded it
	Type      Type      `json:"type"`      // TypeQuorumCreated
}

func (e *QuorumCreated) EntryType() Type { return TypeQuorumCreated }
func (e *QuorumCreated) Header() Header  { return Header{Seq: e.Seq, Time: e.Time.Time, Type: e.Type} }
func (e *QuorumCreated) SetHeader(seq int64, t time.Time) {
	e.Seq, e.Time, e.Type = seq, Timestamp{t.UTC()}, TypeQuorumCreated
}

func (e *QuorumCreated) validate() error {
	errs := []error{checkName("quorum_id", e.QuorumID)}
	if e.Threshold < 1 || e.Threshold > len(e.Officers) || len(e.Officers) > 255 {
		errs = append(errs, fmt.Errorf("threshold %d of %d officers: want 1 <= M <= N <= 255", e.Threshold, len(e.Officers)))
	}
	for i, o := range e.Officers {
		if err := checkName(fmt.Sprintf("officers[%d]", i), o); err != nil {
			errs = append(errs, err)
		}
	}
	return joinErrs(errs...)
}

// QuorumUnlocked is a "quorum-unlocked" entry: a quorum of officers unlocked
// the token for one command. It names the officers, never a share.
type QuorumUnlocked struct {
	Command  string    `json:"command"`   // the command they unlocked it for, e.g. "crl issue"
	Officers []string  `json:"officers"`  // officers whose shares were combined
	QuorumID string    `json:"quorum_id"` // the quorum's id (hex)
	Seq      int64     `json:"seq"`       // zero-based index in the log
	Time     Timestamp `json:"time"`      // when the appliance recorded it
	Type     Type      `json:"type"`      // TypeQuorumUnlocked
}

func (e *QuorumUnlocked) EntryType() Type { return TypeQuorumUnlocked }
func (e *QuorumUnlocked) Header() Header  { return Header{Seq: e.Seq, Time: e.Time.Time, Type: e.Type} }
func (e *QuorumUnlocked) SetHeader(seq int64, t time.Time) {
	e.Seq, e.Time, e.Type = seq, Timestamp{t.UTC()}, TypeQuorumUnlocked
}

func (e *QuorumUnlocked) validate() error {
	errs := []error{checkName("command", e.Command), checkName("quorum_id", e.QuorumID)}
	if len(e.Officers) == 0 {
		errs = append(errs, errors.New("officers: none named"))
	}
	for i, o := range e.Officers {
		if err := checkName(fmt.Sprintf("officers[%d]", i), o); err != nil {
			errs = append(errs, err)
		}
	}
	return joinErrs(errs...)
}
