package quorum

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"filippo.io/age"
	"filippo.io/age/armor"
)

// Share is one officer's share, as it is inside its encrypted file.
type Share struct {
	Appliance string
	QuorumID  string
	Officer   string
	Threshold int
	X         int
	Y         []byte
}

// shareJSON is the plaintext of a share file; fields in sorted order.
type shareJSON struct {
	Appliance string `json:"appliance"`
	Officer   string `json:"officer"`
	QuorumID  string `json:"quorum_id"`
	Threshold int    `json:"threshold"`
	Type      string `json:"type"`
	Version   int    `json:"version"`
	X         int    `json:"x"`
	Y         []byte `json:"y"`
}

const shareType = "dacline-quorum-share"

// MaxShareFile bounds a share file.
const MaxShareFile = 16 << 10

// Clear overwrites the share's secret bytes.
func (s *Share) Clear() { clear(s.Y) }

// FileName is the share file's name for officer in appliance:
// share-APPLIANCE-OFFICER.age (spaces become hyphens).
func FileName(appliance, officer string) string {
	return "share-" + appliance + "-" + strings.ReplaceAll(officer, " ", "-") + ".age"
}

func parseRecipient(s string) (*age.X25519Recipient, error) {
	r, err := age.ParseX25519Recipient(s)
	if err != nil {
		return nil, fmt.Errorf("age recipient %q: %w", s, err)
	}
	return r, nil
}

// Encrypt seals the share to the officer's age recipient, ASCII-armored.
func (s *Share) Encrypt(recipient string) ([]byte, error) {
	r, err := parseRecipient(recipient)
	if err != nil {
		return nil, err
	}
	plain, err := json.Marshal(shareJSON{Appliance: s.Appliance, Officer: s.Officer, QuorumID: s.QuorumID,
		Threshold: s.Threshold, Type: shareType, Version: 1, X: s.X, Y: s.Y})
	if err != nil {
		return nil, err
	}
	defer clear(plain)
	var buf bytes.Buffer
	aw := armor.NewWriter(&buf)
	w, err := age.Encrypt(aw, r)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(plain); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	if err := aw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ErrNotForIdentity: none of the identities given opens the share file.
var ErrNotForIdentity = errors.New("no --share-identity opens this share")

// Decrypt opens a share file (armored or binary age) with any of ids and
// parses it.
func Decrypt(data []byte, ids []age.Identity) (*Share, error) {
	if len(data) > MaxShareFile {
		return nil, fmt.Errorf("%w: %d bytes, more than a share file holds", ErrCorruptShare, len(data))
	}
	var src io.Reader = bytes.NewReader(data)
	if bytes.HasPrefix(bytes.TrimSpace(data), []byte(armor.Header)) {
		src = armor.NewReader(bytes.NewReader(bytes.TrimSpace(data)))
	}
	r, err := age.Decrypt(src, ids...)
	var nm *age.NoIdentityMatchError
	if errors.As(err, &nm) {
		return nil, ErrNotForIdentity
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorruptShare, err)
	}
	plain, err := io.ReadAll(io.LimitReader(r, MaxShareFile))
	defer clear(plain)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorruptShare, err)
	}
	return ParseShare(plain)
}

// ParseShare parses a share file's plaintext strictly. Errors never quote
// the input: it is secret.
func ParseShare(plain []byte) (*Share, error) {
	dec := json.NewDecoder(bytes.NewReader(plain))
	dec.DisallowUnknownFields()
	var j shareJSON
	if err := dec.Decode(&j); err != nil {
		return nil, fmt.Errorf("%w: not a share file", ErrCorruptShare)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data", ErrCorruptShare)
	}
	switch {
	case j.Type != shareType || j.Version != 1:
		return nil, fmt.Errorf("%w: type %q version %d, want %s version 1", ErrCorruptShare, j.Type, j.Version, shareType)
	case j.X < 1 || j.X > 255 || j.Threshold < 1 || j.Threshold > 255 || len(j.Y) == 0 || len(j.Y) > 1024:
		return nil, fmt.Errorf("%w: x, threshold or share length out of range", ErrCorruptShare)
	case ValidateOfficerName(j.Officer) != nil || j.Appliance == "" || len(j.Appliance) > 64 || len(j.QuorumID) != 32:
		return nil, fmt.Errorf("%w: officer, appliance or quorum id malformed", ErrCorruptShare)
	}
	return &Share{Appliance: j.Appliance, QuorumID: j.QuorumID, Officer: j.Officer, Threshold: j.Threshold, X: j.X, Y: j.Y}, nil
}
