// Package policy holds the appliance's signing policy: which products each
// enrolled station may ask DACs for, how long those DACs are valid, how their
// subject common name is built, and how many DACs a batch and a station may get.
//
// The policy is one JSON file in the appliance home (policy.json), parsed
// strictly like boulder's ceremony configuration: unknown fields, duplicate
// keys (at any depth, compared without case as encoding/json matches them),
// trailing data and missing required fields are errors, and every validation error names the
// bad field by its path ("stations[1].products[0].pids[2]: …"). The SHA-256 of
// the raw file is recorded in the audit log entry of every ceremony, so an
// auditor can tell exactly which policy a DAC was issued under.
//
// Invariants:
//   - the DAC subject is built from the policy only (common name template plus
//     the VID/PID the policy allows); nothing is copied from a CSR;
//   - a station the policy does not name can get no DAC at all;
//   - a parsed Policy has passed Validate, so callers never see defaults unset.
package policy

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// FileName is the policy file's name inside the appliance home.
const FileName = "policy.json"

// MaxFileSize caps how much of a policy file is read.
const MaxFileSize = 1 << 20

// DefaultCommonName is the DAC common name template when the policy gives none.
const DefaultCommonName = "Matter DAC {serial}"

// NoExpiry is the Matter "no well-defined expiration" notAfter, 99991231235959Z.
var NoExpiry = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)

// maxBackdate bounds backdate_seconds: a DAC backdated by more than a year
// points at a clock problem, not a policy.
const maxBackdate = 366 * 24 * 3600

// maxCommonName is ub-common-name (RFC 5280 appendix A).
const maxCommonName = 64

// ErrNoPolicy is returned when the appliance home has no policy file.
var ErrNoPolicy = errors.New("no signing policy")

// Policy is the parsed, validated signing policy.
type Policy struct {
	// Version must be 1.
	Version int `json:"version"`
	// MaxBatchSize is the largest number of CSRs one csr-batch bundle may carry;
	// a bigger batch is refused as a whole before anything is issued.
	MaxBatchSize int `json:"max_batch_size"`
	// DAC sets validity and subject of every DAC.
	DAC DAC `json:"dac"`
	// Stations lists, by enrolled station name, what each station may ask for.
	Stations []Station `json:"stations"`
	// PAIs maps products to the appliance's PAIs by label (paimap.go).
	// Absent: each batch is signed by the newest active PAI whose subject
	// covers its product.
	PAIs []PAIMapping `json:"pais,omitempty"`
}

// DAC is the part of the policy that shapes each certificate.
type DAC struct {
	// CommonName is the subject CN template: literal text with the
	// placeholders {serial} (the DAC serial number, uppercase hex), {vid}
	// and {pid} (4 uppercase hex digits). Default DefaultCommonName.
	CommonName string `json:"common_name,omitempty"`
	// BackdateSeconds moves notBefore back from the ceremony time (clock skew
	// on devices without a trusted clock). Default 0.
	BackdateSeconds int64 `json:"backdate_seconds,omitempty"`
	// NotAfter is an X.509 GeneralizedTime ("99991231235959Z"). Default the
	// Matter no-expiry value. Exclusive with ValidityDays.
	NotAfter string `json:"not_after,omitempty"`
	// ValidityDays sets notAfter = notBefore + days. Exclusive with NotAfter.
	ValidityDays int `json:"validity_days,omitempty"`
}

// Station is what one enrolled station may ask for.
type Station struct {
	// Name is the station's enrolled name.
	Name string `json:"name"`
	// Products lists the allowed vendor ID and its product IDs.
	Products []Product `json:"products"`
	// MaxDACs is the station's quota: DACs it may get in total over the life
	// of the appliance. Absent means no quota.
	MaxDACs *int64 `json:"max_dacs,omitempty"`
}

// Product is one allowed vendor ID with its allowed product IDs, each
// written as 4 hex digits ("FFF1").
type Product struct {
	VID  string   `json:"vid"`
	PIDs []string `json:"pids"`
}

// Parse strictly parses and validates a policy file's bytes.
func Parse(raw []byte) (*Policy, error) {
	if err := checkDuplicateKeys(raw); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var p Policy
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("policy: trailing data after the JSON object")
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// Load reads, parses and validates the policy file at path and returns it with
// the SHA-256 of the raw file. A missing file gives an error wrapping ErrNoPolicy.
func Load(path string) (*Policy, [32]byte, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, [32]byte{}, fmt.Errorf("%w: %s does not exist", ErrNoPolicy, path)
	}
	if err != nil {
		return nil, [32]byte{}, fmt.Errorf("policy: %w", err)
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, [32]byte{}, fmt.Errorf("policy: reading %s: %w", path, err)
	}
	if len(raw) > MaxFileSize {
		return nil, [32]byte{}, fmt.Errorf("policy: %s is larger than %d bytes", path, MaxFileSize)
	}
	p, err := Parse(raw)
	if err != nil {
		return nil, [32]byte{}, fmt.Errorf("%s: %w", path, err)
	}
	return p, sha256.Sum256(raw), nil
}

// Validate checks every field and fills defaults; the error names the field by path.
func (p *Policy) Validate() error {
	if p.Version != 1 {
		return fieldErr("version", "must be 1, got %d", p.Version)
	}
	if p.MaxBatchSize <= 0 {
		return fieldErr("max_batch_size", "is required and must be positive")
	}
	if err := p.DAC.validate(); err != nil {
		return err
	}
	if len(p.Stations) == 0 {
		return fieldErr("stations", "is required: no station could get a DAC")
	}
	seen := map[string]int{}
	for i := range p.Stations {
		s := &p.Stations[i]
		path := fmt.Sprintf("stations[%d]", i)
		if s.Name == "" {
			return fieldErr(path+".name", "is required")
		}
		if j, dup := seen[s.Name]; dup {
			return fieldErr(path+".name", "%q already appears in stations[%d]", s.Name, j)
		}
		seen[s.Name] = i
		if s.MaxDACs != nil && *s.MaxDACs <= 0 {
			return fieldErr(path+".max_dacs", "must be positive (leave it out for no quota)")
		}
		if len(s.Products) == 0 {
			return fieldErr(path+".products", "is required")
		}
		vids := map[uint16]bool{}
		for k, pr := range s.Products {
			pp := fmt.Sprintf("%s.products[%d]", path, k)
			vid, err := ParseID(pr.VID)
			if err != nil {
				return fieldErr(pp+".vid", "is invalid: %v", err)
			}
			if vid == 0 {
				return fieldErr(pp+".vid", "vendor ID 0000 is not a valid vendor")
			}
			if vids[vid] {
				return fieldErr(pp+".vid", "%04X is listed twice for this station", vid)
			}
			vids[vid] = true
			if len(pr.PIDs) == 0 {
				return fieldErr(pp+".pids", "is required")
			}
			pids := map[uint16]bool{}
			for m, ps := range pr.PIDs {
				pid, err := ParseID(ps)
				if err != nil {
					return fieldErr(fmt.Sprintf("%s.pids[%d]", pp, m), "is invalid: %v", err)
				}
				if pids[pid] {
					return fieldErr(fmt.Sprintf("%s.pids[%d]", pp, m), "%04X is listed twice", pid)
				}
				pids[pid] = true
			}
		}
	}
	return p.validatePAIs()
}

func (d *DAC) validate() error {
	if d.CommonName == "" {
		d.CommonName = DefaultCommonName
	}
	longest, err := expandCN(d.CommonName, strings.Repeat("F", 32), 0xFFFF, 0xFFFF)
	if err != nil {
		return fieldErr("dac.common_name", "is invalid: %v", err)
	}
	if len(longest) > maxCommonName {
		return fieldErr("dac.common_name", "expands to up to %d characters, more than %d", len(longest), maxCommonName)
	}
	if d.BackdateSeconds < 0 || d.BackdateSeconds > maxBackdate {
		return fieldErr("dac.backdate_seconds", "must be between 0 and %d", maxBackdate)
	}
	if d.NotAfter != "" && d.ValidityDays != 0 {
		return fieldErr("dac.not_after", "and dac.validity_days are exclusive: give one")
	}
	if d.ValidityDays < 0 {
		return fieldErr("dac.validity_days", "must be positive")
	}
	if d.NotAfter != "" {
		if _, err := parseGeneralizedTime(d.NotAfter); err != nil {
			return fieldErr("dac.not_after", "is invalid: %v", err)
		}
	}
	return nil
}

// Validity returns the DAC notBefore and notAfter for a ceremony started at now.
func (d DAC) Validity(now time.Time) (notBefore, notAfter time.Time, err error) {
	notBefore = now.UTC().Truncate(time.Second).Add(-time.Duration(d.BackdateSeconds) * time.Second)
	switch {
	case d.ValidityDays > 0:
		notAfter = notBefore.AddDate(0, 0, d.ValidityDays)
	case d.NotAfter != "":
		notAfter, err = parseGeneralizedTime(d.NotAfter)
		if err != nil {
			return time.Time{}, time.Time{}, fieldErr("dac.not_after", "is invalid: %v", err)
		}
	default:
		notAfter = NoExpiry
	}
	if !notAfter.After(now) {
		return time.Time{}, time.Time{}, fieldErr("dac.not_after", "%s is not after the ceremony time %s",
			notAfter.Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	if notAfter.After(NoExpiry) {
		notAfter = NoExpiry
	}
	return notBefore, notAfter, nil
}

// CommonNameFor expands the common name template for one DAC.
func (d DAC) CommonNameFor(serialHex string, vid, pid uint16) (string, error) {
	return expandCN(d.CommonName, serialHex, vid, pid)
}

func expandCN(tmpl, serialHex string, vid, pid uint16) (string, error) {
	var b strings.Builder
	rest := tmpl
	for {
		i := strings.IndexAny(rest, "{}")
		if i < 0 {
			b.WriteString(rest)
			break
		}
		if rest[i] == '}' {
			return "", errors.New("unmatched '}' in template")
		}
		b.WriteString(rest[:i])
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return "", errors.New("unmatched '{' in template")
		}
		switch name := rest[i+1 : i+j]; name {
		case "serial":
			b.WriteString(strings.ToUpper(serialHex))
		case "vid":
			fmt.Fprintf(&b, "%04X", vid)
		case "pid":
			fmt.Fprintf(&b, "%04X", pid)
		default:
			return "", fmt.Errorf("unknown placeholder {%s} (known: {serial}, {vid}, {pid})", name)
		}
		rest = rest[i+j+1:]
	}
	cn := b.String()
	if strings.TrimSpace(cn) == "" {
		return "", errors.New("template gives an empty common name")
	}
	for _, r := range cn {
		if r < 0x20 || r == 0x7f {
			return "", errors.New("template contains a control character")
		}
	}
	return cn, nil
}

// Station returns the policy for the named station, or nil.
func (p *Policy) Station(name string) *Station {
	for i := range p.Stations {
		if p.Stations[i].Name == name {
			return &p.Stations[i]
		}
	}
	return nil
}

// Allows reports whether the station may get a DAC for vid/pid.
func (s *Station) Allows(vid, pid uint16) bool {
	for _, pr := range s.Products {
		v, _ := ParseID(pr.VID)
		if v != vid {
			continue
		}
		for _, ps := range pr.PIDs {
			if q, _ := ParseID(ps); q == pid {
				return true
			}
		}
	}
	return false
}

// ParseID parses a 16-bit vendor or product ID written as 4 hex digits
// (an optional 0x prefix is accepted).
func ParseID(s string) (uint16, error) {
	t := strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	if len(t) != 4 {
		return 0, fmt.Errorf("%q is not 4 hex digits", s)
	}
	v, err := strconv.ParseUint(t, 16, 16)
	if err != nil {
		return 0, fmt.Errorf("%q is not 4 hex digits", s)
	}
	return uint16(v), nil
}

func parseGeneralizedTime(s string) (time.Time, error) {
	t, err := time.Parse("20060102150405Z", s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a GeneralizedTime like 99991231235959Z", s)
	}
	return t, nil
}

// FieldError is a validation failure of one policy field.
type FieldError struct {
	Field  string
	Detail string
}

func (e *FieldError) Error() string { return "policy: " + e.Field + " " + e.Detail }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Detail: fmt.Sprintf(format, args...)}
}
