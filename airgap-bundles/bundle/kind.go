package bundle

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
)

// Kind says what a bundle carries and in which direction it travels.
type Kind string

const (
	// KindEnrollment carries a station's public identity to the appliance (station → appliance).
	KindEnrollment Kind = "enrollment"
	// KindCSRBatch carries device CSRs to be signed (station → appliance).
	KindCSRBatch Kind = "csr-batch"
	// KindDACBatch carries issued DACs back to the station (appliance → station).
	KindDACBatch Kind = "dac-batch"
	// KindLogExport carries the appliance audit log to auditors; it may be signed-only.
	KindLogExport Kind = "log-export"
)

// Kinds lists every kind this version of the format knows.
var Kinds = []Kind{KindEnrollment, KindCSRBatch, KindDACBatch, KindLogExport}

// Known reports whether k is a kind of this format version.
func (k Kind) Known() bool {
	for _, x := range Kinds {
		if k == x {
			return true
		}
	}
	return false
}

// SignedOnlyAllowed reports whether a bundle of kind k may travel without age encryption.
func (k Kind) SignedOnlyAllowed() bool { return k == KindLogExport }

// RequiredFiles are the payload files a bundle of kind k must contain (FORMAT.md, "Kinds").
func (k Kind) RequiredFiles() []string {
	switch k {
	case KindEnrollment:
		return []string{"station.json"}
	case KindCSRBatch:
		return []string{CSRFile}
	case KindDACBatch:
		return []string{DACFile}
	}
	return nil
}

// BatchID is the 128-bit random identifier every bundle carries. It names
// one batch: the same ID with the same manifest.json bytes is the same batch
// written again (a csr-batch re-export, a reproduced dac-batch); an ID is
// never reused for a different manifest (FORMAT.md §2), and a receiver
// refuses a batch ID it has consumed before.
type BatchID [16]byte

// NewBatchID draws a batch ID from crypto/rand.
func NewBatchID() (BatchID, error) {
	var id BatchID
	if _, err := rand.Read(id[:]); err != nil {
		return id, fmt.Errorf("batch id: %w", err)
	}
	return id, nil
}

// String is the canonical form: 32 lowercase hex digits.
func (id BatchID) String() string { return hex.EncodeToString(id[:]) }

// IsZero reports whether id is unset.
func (id BatchID) IsZero() bool { return id == BatchID{} }

// ParseBatchID accepts only the canonical form (32 lowercase hex digits, not all zero).
func ParseBatchID(s string) (BatchID, error) {
	var id BatchID
	if len(s) != 32 || strings.ToLower(s) != s {
		return id, fmt.Errorf("batch id %q: want 32 lowercase hex digits", s)
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return id, fmt.Errorf("batch id %q: %w", s, err)
	}
	if id.IsZero() {
		return id, fmt.Errorf("batch id %q: all zero", s)
	}
	return id, nil
}

// MarshalText implements encoding.TextMarshaler.
func (id BatchID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseBatchID's rules.
func (id *BatchID) UnmarshalText(b []byte) error {
	v, err := ParseBatchID(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// ValidateName checks a sender name (station or appliance name): 1–63 characters of
// lowercase letters, digits, '.', '_' and '-', starting with a letter or digit. The
// name is a signed-note key name and part of a file name, so it has no spaces, '+' or '/'.
func ValidateName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("name %q: want 1-63 of [a-z0-9._-], starting with a letter or digit", name)
	}
	return nil
}

var fileNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,99}$`)

// ValidateFileName checks a payload file name: flat (no directories), 1–100 characters of
// [a-z0-9._-], starting with a letter or digit, not one of the reserved names.
func ValidateFileName(name string) error {
	if !fileNameRE.MatchString(name) {
		return fmt.Errorf("file name %q: want 1-100 of [a-z0-9._-], starting with a letter or digit, no directories", name)
	}
	if name == ManifestName || name == SignatureName {
		return fmt.Errorf("file name %q is reserved", name)
	}
	return nil
}

// Names of the two entries every bundle starts with.
const (
	ManifestName  = "manifest.json"
	SignatureName = "manifest.sig"
)

// FileName is the name a bundle is written under: <kind>-<sender>-<batch id>.age, or
// .tar for a signed-only bundle.
func FileName(kind Kind, sender string, id BatchID, encrypted bool) string {
	ext := ".tar"
	if encrypted {
		ext = ".age"
	}
	return string(kind) + "-" + sender + "-" + id.String() + ext
}
