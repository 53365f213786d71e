package quorum

import (
	"bytes"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"strings"
)

// The paper form of a share, for an officer who keeps it written down
// rather than encrypted: groups of four characters of the RFC 4648 base32
// alphabet (A–Z, 2–7: no 0/O or 1/I to confuse), eight groups a line.
//
//	payload  = quorum id (first 4 bytes) | x | y
//	checksum = first 5 bytes of SHA-256("dacline paper share v1" | payload)
//	text     = base32(payload | checksum), no padding, in groups of 4
//
// A mistyped group fails the checksum (a 2^-40 chance of passing), and the
// commitment in config.json catches anything else.

var paperEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

const paperChecksumLen = 5

func paperChecksum(payload []byte) []byte {
	h := sha256.Sum256(append([]byte("dacline paper share v1\x00"), payload...))
	return h[:paperChecksumLen]
}

// Paper is the share written for paper storage.
func (s *Share) Paper() (string, error) {
	id, err := hex.DecodeString(s.QuorumID)
	if err != nil || len(id) < 4 {
		return "", fmt.Errorf("quorum: share of %s: bad quorum id", s.Officer)
	}
	payload := append(append(id[:4:4], byte(s.X)), s.Y...)
	text := paperEncoding.EncodeToString(append(payload, paperChecksum(payload)...))
	var b strings.Builder
	for i := 0; i < len(text); i += 4 {
		switch {
		case i == 0:
		case i%32 == 0:
			b.WriteByte('\n')
		default:
			b.WriteByte(' ')
		}
		b.WriteString(text[i:min(i+4, len(text))])
	}
	return b.String(), nil
}

// ParsePaper reads a paper share as typed (spaces, hyphens, line breaks and
// case do not matter) for the quorum cfg of appliance. Errors never quote
// the text: it is secret.
func ParsePaper(text string, cfg *Config, appliance string) (*Share, error) {
	clean := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '\n', '\r', '\t':
			return -1
		}
		if r >= 'a' && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}, text)
	raw, err := paperEncoding.DecodeString(clean)
	if err != nil || len(raw) < 4+1+1+paperChecksumLen {
		return nil, fmt.Errorf("%w: paper share: not groups of base32 characters (A-Z, 2-7) of a share's length", ErrCorruptShare)
	}
	payload, sum := raw[:len(raw)-paperChecksumLen], raw[len(raw)-paperChecksumLen:]
	if !bytes.Equal(sum, paperChecksum(payload)) {
		return nil, fmt.Errorf("%w: paper share: checksum does not match (a group was mistyped?)", ErrCorruptShare)
	}
	prefix := hex.EncodeToString(payload[:4])
	if !strings.HasPrefix(cfg.ID, prefix) {
		return nil, fmt.Errorf("paper share (quorum %s): %w (this is appliance %s, quorum %s)", prefix, ErrOtherAppliance, appliance, short(cfg.ID))
	}
	x := int(payload[4])
	for _, o := range cfg.Officers {
		if o.X == x {
			return &Share{Appliance: appliance, QuorumID: cfg.ID, Officer: o.Name, Threshold: cfg.Threshold, X: x,
				Y: append([]byte(nil), payload[5:]...)}, nil
		}
	}
	return nil, fmt.Errorf("paper share x %d: %w", x, ErrUnknownOfficer)
}
