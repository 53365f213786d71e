package bundle

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"filippo.io/age"
)

// FormatName and FormatVersion identify this format in every manifest.
const (
	FormatName    = "dacline-bundle"
	FormatVersion = 1
)

// Manifest is manifest.json, the first entry of every bundle (schema in FORMAT.md).
// Field order is the JSON order; the signed bytes are whatever the writer produced,
// and the reader never re-serializes them.
type Manifest struct {
	Format    string    `json:"format"`
	Version   int       `json:"version"`
	Kind      Kind      `json:"kind"`
	BatchID   BatchID   `json:"batch_id"`
	Sender    string    `json:"sender"`
	Recipient string    `json:"recipient"` // age recipient (age1…) the bundle is encrypted to; "" when signed-only
	Created   time.Time `json:"created"`   // UTC, whole seconds; also the mtime of every tar entry
	// InReplyTo is the batch ID this bundle answers (a dac-batch names its csr-batch).
	InReplyTo string `json:"in_reply_to,omitempty"`
	// Counts are kind-specific record counts (csr-batch: "csrs"; dac-batch: "dacs", "refusals").
	Counts map[string]int64 `json:"counts"`
	// Labels are kind-specific short strings (e.g. "vid": "FFF1", "pid": "8000").
	Labels map[string]string `json:"labels,omitempty"`
	Files  []FileEntry       `json:"files"`
}

// FileEntry describes one payload file, in tar order.
type FileEntry struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`          // lowercase hex
	Lines  *int64 `json:"lines,omitempty"` // newline count; required for *.jsonl files
}

// File returns the entry named name, or nil.
func (m *Manifest) File(name string) *FileEntry {
	for i := range m.Files {
		if m.Files[i].Name == name {
			return &m.Files[i]
		}
	}
	return nil
}

// parseManifest decodes manifest.json strictly: unknown fields, trailing data and
// duplicate keys at the top level are refused, then Validate runs.
func parseManifest(b []byte, lim Limits) (*Manifest, error) {
	if err := checkNoDuplicateKeys(b); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("trailing data after the manifest object")
	}
	if err := m.Validate(lim); err != nil {
		return nil, err
	}
	// RFC 3339 §4.3: "-00:00" says the local offset is unknown; time.Parse
	// reads it as UTC, the format does not (FORMAT.md §5).
	var raw struct {
		Created string `json:"created"`
	}
	if err := json.Unmarshal(b, &raw); err == nil && strings.HasSuffix(raw.Created, "-00:00") {
		return nil, fmt.Errorf("created: %s: offset -00:00 means an unknown local offset (RFC 3339 §4.3), want UTC (Z or +00:00)", raw.Created)
	}
	m.Created = m.Created.UTC()
	return &m, nil
}

// checkNoDuplicateKeys refuses a JSON object with a repeated key at the top level,
// compared without case (encoding/json would silently keep the last one).
func checkNoDuplicateKeys(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	t, err := dec.Token()
	if err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	if d, ok := t.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("decode: manifest is not a JSON object")
	}
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return fmt.Errorf("decode: %w", err)
		}
		k, _ := t.(string)
		// encoding/json matches field names without case: "Created" and
		// "created" are the same field to it, so they are duplicates here.
		if seen[strings.ToLower(k)] {
			return fmt.Errorf("duplicate key %q", k)
		}
		seen[strings.ToLower(k)] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return fmt.Errorf("decode %q: %w", k, err)
		}
	}
	return nil
}

// Validate checks every field against the format rules and lim. The returned
// error names the field.
func (m *Manifest) Validate(lim Limits) error {
	lim = lim.withDefaults()
	if m.Format != FormatName {
		return fmt.Errorf("format: got %q, want %q", m.Format, FormatName)
	}
	if m.Version != FormatVersion {
		return fmt.Errorf("version: %d: %w", m.Version, ErrUnknownVersion)
	}
	if !m.Kind.Known() {
		return fmt.Errorf("kind: %q: %w", m.Kind, ErrUnknownKind)
	}
	if m.BatchID.IsZero() {
		return fmt.Errorf("batch_id: missing")
	}
	if err := ValidateName(m.Sender); err != nil {
		return fmt.Errorf("sender: %w", err)
	}
	if m.Recipient != "" {
		if _, err := age.ParseX25519Recipient(m.Recipient); err != nil {
			return fmt.Errorf("recipient: %w", err)
		}
	}
	// FORMAT.md §5: RFC 3339 with a zero UTC offset ("Z" as written, or
	// "+00:00") in whole seconds. The offset is checked, not the Location:
	// a parsed "+00:00" carries time.Local when the machine runs on UTC.
	if _, off := m.Created.Zone(); off != 0 {
		return fmt.Errorf("created: %s: offset %+d s, want UTC (Z or +00:00)", m.Created.Format(time.RFC3339), off)
	}
	if m.Created.IsZero() || m.Created.Unix() < 0 || m.Created.Unix() >= 1<<33 {
		return fmt.Errorf("created: %s: outside 1970 … 2242", m.Created.Format(time.RFC3339))
	}
	if m.Created.Nanosecond() != 0 {
		return fmt.Errorf("created: %s: not whole seconds", m.Created.Format(time.RFC3339Nano))
	}
	if m.InReplyTo != "" {
		if _, err := ParseBatchID(m.InReplyTo); err != nil {
			return fmt.Errorf("in_reply_to: %w", err)
		}
	}
	if m.Counts == nil {
		return fmt.Errorf("counts: missing (use {} when there is nothing to count)")
	}
	for k, v := range m.Counts {
		if !labelKeyRE.MatchString(k) {
			return fmt.Errorf("counts: key %q: want [a-z0-9_]{1,32}", k)
		}
		if v < 0 || v > lim.MaxLines {
			return fmt.Errorf("counts.%s: %d outside 0..%d: %w", k, v, lim.MaxLines, ErrTooLarge)
		}
	}
	if len(m.Labels) > 32 {
		return fmt.Errorf("labels: %d entries, at most 32", len(m.Labels))
	}
	for k, v := range m.Labels {
		if !labelKeyRE.MatchString(k) {
			return fmt.Errorf("labels: key %q: want [a-z0-9_]{1,32}", k)
		}
		if len(v) > 256 || strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return fmt.Errorf("labels.%s: at most 256 printable characters", k)
		}
	}
	if len(m.Files) > lim.MaxFiles {
		return fmt.Errorf("files: %d entries, limit %d: %w", len(m.Files), lim.MaxFiles, ErrTooLarge)
	}
	seen := map[string]bool{}
	var total int64
	for i, f := range m.Files {
		if err := ValidateFileName(f.Name); err != nil {
			return fmt.Errorf("files[%d]: %w", i, err)
		}
		if seen[f.Name] {
			return fmt.Errorf("files[%d]: duplicate name %q", i, f.Name)
		}
		seen[f.Name] = true
		if f.Size < 0 || f.Size > lim.MaxFileSize {
			return fmt.Errorf("files[%d] %s: size %d outside 0..%d: %w", i, f.Name, f.Size, lim.MaxFileSize, ErrTooLarge)
		}
		total += f.Size
		if total > lim.MaxTotalSize {
			return fmt.Errorf("files: total size over %d: %w", lim.MaxTotalSize, ErrTooLarge)
		}
		if b, err := hex.DecodeString(f.SHA256); err != nil || len(b) != 32 || strings.ToLower(f.SHA256) != f.SHA256 {
			return fmt.Errorf("files[%d] %s: sha256: want 64 lowercase hex digits", i, f.Name)
		}
		jsonl := strings.HasSuffix(f.Name, ".jsonl")
		switch {
		case jsonl && f.Lines == nil:
			return fmt.Errorf("files[%d] %s: lines: required for a .jsonl file", i, f.Name)
		case !jsonl && f.Lines != nil:
			return fmt.Errorf("files[%d] %s: lines: only for .jsonl files", i, f.Name)
		case f.Lines != nil && (*f.Lines < 0 || *f.Lines > lim.MaxLines || *f.Lines > f.Size):
			return fmt.Errorf("files[%d] %s: lines %d outside 0..%d: %w", i, f.Name, *f.Lines, lim.MaxLines, ErrTooLarge)
		}
	}
	for _, req := range m.Kind.RequiredFiles() {
		if !seen[req] {
			return fmt.Errorf("files: %s bundle without %s", m.Kind, req)
		}
	}
	return nil
}

var labelKeyRE = regexp.MustCompile(`^[a-z0-9_]{1,32}$`)
