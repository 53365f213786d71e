package auditlog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Type names the kind of event an entry records. It is the "type" field.
type Type string

// The entry types (docs/audit-log.md, "Entry types").
const (
	TypeApplianceInit    Type = "appliance-init"
	TypeKeyGenerated     Type = "key-generated"
	TypePAIImported      Type = "pai-imported"
	TypeStationEnrolled  Type = "station-enrolled"
	TypeStationRevoked   Type = "station-revoked"
	TypePolicyChanged    Type = "policy-changed"
	TypeCeremonyStarted  Type = "ceremony-started"
	TypeDACIssued        Type = "dac-issued"
	TypeCSRRefused       Type = "csr-refused"
	TypeBundleWritten    Type = "bundle-written"
	TypeCeremonyFinished Type = "ceremony-finished"
	TypeLogExported      Type = "log-exported"
	// TypeCeremonyAbandoned: see CeremonyAbandoned.
	TypeCeremonyAbandoned Type = "ceremony-abandoned"
	// TypeLogAnchored: see LogAnchored.
	TypeLogAnchored Type = "log-anchored"
)

// Entry is one event in the log. Every implementation is a pointer to one of
// the structs in entrytypes.go; their JSON fields are declared in sorted order
// so that encoding/json writes canonical JSON directly.
type Entry interface {
	// EntryType is the constant type of the event.
	EntryType() Type
	// Header returns the fields every entry has.
	Header() Header
	// SetHeader sets seq and time; the log writer calls it on append.
	SetHeader(seq int64, t time.Time)
	// validate checks the event's own fields (hex lengths, required values).
	validate() error
}

// Header is what every entry carries besides its event fields.
type Header struct {
	Seq  int64
	Time time.Time
	Type Type
}

// Sentinel errors callers branch on.
var (
	// ErrNotCanonical: the entry decodes but is not in canonical form.
	ErrNotCanonical = errors.New("entry is not canonical JSON")
	// ErrUnknownType: the "type" field names no known entry type.
	ErrUnknownType = errors.New("unknown entry type")
)

// MaxEntrySize bounds one encoded entry; longer lines are refused unread.
const MaxEntrySize = 64 << 10

var newEntry = map[Type]func() Entry{
	TypeApplianceInit:     func() Entry { return new(ApplianceInit) },
	TypeKeyGenerated:      func() Entry { return new(KeyGenerated) },
	TypePAIImported:       func() Entry { return new(PAIImported) },
	TypeStationEnrolled:   func() Entry { return new(StationEnrolled) },
	TypeStationRevoked:    func() Entry { return new(StationRevoked) },
	TypePolicyChanged:     func() Entry { return new(PolicyChanged) },
	TypeCeremonyStarted:   func() Entry { return new(CeremonyStarted) },
	TypeDACIssued:         func() Entry { return new(DACIssued) },
	TypeCSRRefused:        func() Entry { return new(CSRRefused) },
	TypeBundleWritten:     func() Entry { return new(BundleWritten) },
	TypeCeremonyFinished:  func() Entry { return new(CeremonyFinished) },
	TypeLogExported:       func() Entry { return new(LogExported) },
	TypeCeremonyAbandoned: func() Entry { return new(CeremonyAbandoned) },
	TypeLogAnchored:       func() Entry { return new(LogAnchored) },
}

// Types lists every entry type in a stable order.
func Types() []Type {
	return append([]Type{TypeApplianceInit, TypeKeyGenerated, TypePAIImported, TypeStationEnrolled,
		TypeStationRevoked, TypePolicyChanged, TypeCeremonyStarted, TypeDACIssued, TypeCSRRefused,
		TypeBundleWritten, TypeCeremonyFinished, TypeLogExported, TypeCeremonyAbandoned, TypeLogAnchored},
		slices.Concat(revocationQuorumTypes, paiTypes)...) // entrytypes_revocation.go, entrytypes_pai.go
}

// NewEntry returns an empty entry of type t, or nil when t is unknown.
func NewEntry(t Type) Entry {
	if f, ok := newEntry[t]; ok {
		return f()
	}
	return nil
}

// Marshal returns the canonical encoding of e (no trailing newline). It
// validates e first, so the log never holds an entry ParseEntry would refuse.
func Marshal(e Entry) ([]byte, error) {
	if e == nil {
		return nil, errors.New("nil entry")
	}
	h := e.Header()
	if h.Type != e.EntryType() {
		return nil, fmt.Errorf("entry seq %d: type field %q does not match %s entry", h.Seq, h.Type, e.EntryType())
	}
	if h.Seq < 0 {
		return nil, fmt.Errorf("%s entry: negative seq %d", h.Type, h.Seq)
	}
	if h.Time.IsZero() {
		return nil, fmt.Errorf("%s entry seq %d: time not set", h.Type, h.Seq)
	}
	if err := e.validate(); err != nil {
		return nil, fmt.Errorf("%s entry seq %d: %w", h.Type, h.Seq, err)
	}
	return marshalCanonical(e)
}

// marshalCanonical encodes without HTML escaping (so "<" stays "<") and
// without the encoder's trailing newline.
func marshalCanonical(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// ParseEntry decodes one entry strictly: known type, no unknown or missing
// fields, valid field values, no trailing data, and canonical bytes (the
// decoded entry re-encodes to exactly data). Errors name the seq when it
// could be read.
func ParseEntry(data []byte) (_ Entry, err error) {
	if len(data) > MaxEntrySize {
		return nil, fmt.Errorf("entry is %d bytes, more than the %d allowed", len(data), MaxEntrySize)
	}
	t, ok := typeHint(data)
	where := "entry"
	if !ok {
		var peek struct {
			Seq  *int64 `json:"seq"`
			Type Type   `json:"type"`
		}
		if err := json.Unmarshal(data, &peek); err != nil {
			return nil, fmt.Errorf("entry: %w", err)
		}
		if peek.Seq != nil {
			where = fmt.Sprintf("entry seq %d", *peek.Seq)
		}
		t = peek.Type
	}
	e := NewEntry(t)
	if e == nil {
		return nil, fmt.Errorf("%s: %w %q", where, ErrUnknownType, t)
	}
	defer func() {
		// Name the seq in errors when the entry got far enough to have one.
		if err != nil && where == "entry" && e.Header().Seq > 0 {
			err = fmt.Errorf("entry seq %d: %w", e.Header().Seq, err)
		}
	}()
	peek := struct{ Type Type }{t}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(e); err != nil {
		return nil, fmt.Errorf("%s (%s): %w", where, peek.Type, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%s: trailing data after the JSON object", where)
	}
	if rest := data[dec.InputOffset():]; len(rest) != 0 {
		return nil, fmt.Errorf("%s: %w: trailing bytes", where, ErrNotCanonical)
	}
	if e.Header().Seq < 0 {
		return nil, fmt.Errorf("%s: negative seq", where)
	}
	if e.Header().Type != e.EntryType() {
		return nil, fmt.Errorf("%s: type %q decoded as %s", where, e.Header().Type, e.EntryType())
	}
	if err := e.validate(); err != nil {
		return nil, fmt.Errorf("%s (%s): %w", where, peek.Type, err)
	}
	again, err := marshalCanonical(e)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	if !bytes.Equal(again, data) {
		return nil, fmt.Errorf("%s (%s): %w (re-encodes to %d different bytes: key order, whitespace, escaping or a missing field)",
			where, peek.Type, ErrNotCanonical, len(again))
	}
	return e, nil
}

// typeHint finds the top-level "type" value of a canonical entry without a
// full decode: in JSON an unescaped `"type":"` can only be a key, and only
// top-level keys have string values named type in our entries. The hint only
// picks the struct to decode into; the strict decode and the canonical
// comparison still decide.
func typeHint(data []byte) (Type, bool) {
	const key = `"type":"`
	i := bytes.Index(data, []byte(key))
	if i < 0 {
		return "", false
	}
	rest := data[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return "", false
	}
	t := Type(rest[:j])
	if _, ok := newEntry[t]; !ok {
		return "", false
	}
	return t, true
}

// Timestamp is an entry's time: RFC 3339 in UTC with a "Z" and only as many
// fractional digits as needed (Go's time.RFC3339Nano), the one canonical form.
type Timestamp struct{ time.Time }

// MarshalJSON writes the canonical form.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return nil, errors.New("time not set")
	}
	return []byte(`"` + t.UTC().Format(time.RFC3339Nano) + `"`), nil
}

// UnmarshalJSON accepts only the canonical form.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("time: %w", err)
	}
	p, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("time %q: %w", s, err)
	}
	if p.UTC().Format(time.RFC3339Nano) != s {
		return fmt.Errorf("time %q is not RFC 3339 UTC in canonical form", s)
	}
	t.Time = p.UTC()
	return nil
}
