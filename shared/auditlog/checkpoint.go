package auditlog

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Checkpoint is the body of a C2SP tlog-checkpoint: the log's origin, its
// size (number of entries) and the RFC 6962 root hash of those entries.
type Checkpoint struct {
	Origin string
	Size   int64
	Root   tlog.Hash
}

// MaxCheckpointSize bounds a signed checkpoint note; larger files are refused.
const MaxCheckpointSize = 16 << 10

// ErrBadSignature: a checkpoint's signature does not verify with the
// appliance's key (forged, or signed by another key).
var ErrBadSignature = errors.New("checkpoint signature does not verify")

// Text formats the checkpoint body: three lines, each ending in a newline.
// dacline writes no extension lines.
func (c Checkpoint) Text() []byte {
	return fmt.Appendf(nil, "%s\n%d\n%s\n", c.Origin, c.Size, base64.StdEncoding.EncodeToString(c.Root[:]))
}

// String is a short form for messages: "size 42 root 3q2+…".
func (c Checkpoint) String() string {
	r := base64.StdEncoding.EncodeToString(c.Root[:])
	return fmt.Sprintf("size %d root %s", c.Size, r[:12])
}

// ParseCheckpoint parses a checkpoint body (the note text, not the
// signatures). It is strict: exactly three lines, a valid origin, a canonical
// decimal size and a 32-byte base64 root. Extension lines are refused since
// dacline never writes them.
func ParseCheckpoint(text []byte) (Checkpoint, error) {
	if len(text) > MaxCheckpointSize {
		return Checkpoint{}, errors.New("checkpoint: too large")
	}
	if !utf8.Valid(text) {
		return Checkpoint{}, errors.New("checkpoint: not UTF-8")
	}
	if !bytes.HasSuffix(text, []byte("\n")) {
		return Checkpoint{}, errors.New("checkpoint: body must end with a newline")
	}
	lines := strings.Split(string(text[:len(text)-1]), "\n")
	if len(lines) != 3 {
		return Checkpoint{}, fmt.Errorf("checkpoint: want 3 lines (origin, size, root), got %d", len(lines))
	}
	if err := checkOrigin(lines[0]); err != nil {
		return Checkpoint{}, err
	}
	n, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != lines[1] {
		return Checkpoint{}, fmt.Errorf("checkpoint: size %q is not a canonical decimal", lines[1])
	}
	h, err := base64.StdEncoding.Strict().DecodeString(lines[2])
	if err != nil || len(h) != tlog.HashSize {
		return Checkpoint{}, fmt.Errorf("checkpoint: root %q is not a base64 32-byte hash", lines[2])
	}
	c := Checkpoint{Origin: lines[0], Size: n}
	copy(c.Root[:], h)
	return c, nil
}

// checkOrigin applies the signed-note key name rules to the origin: it is the
// key's name, so it must be a valid one (non-empty, no spaces, no "+").
func checkOrigin(o string) error {
	if o == "" {
		return errors.New("checkpoint: empty origin line")
	}
	if strings.ContainsAny(o, " \t+") || strings.ContainsFunc(o, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return fmt.Errorf("checkpoint: origin %q has spaces, '+' or control characters", o)
	}
	return nil
}

// OpenCheckpoint verifies a signed checkpoint with v and parses it. The
// checkpoint's origin must equal the key name v.Name(). A signature by any
// other key is reported as ErrBadSignature.
func OpenCheckpoint(signed []byte, v note.Verifier) (Checkpoint, error) {
	if len(signed) > MaxCheckpointSize {
		return Checkpoint{}, errors.New("signed checkpoint: too large")
	}
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		var unverified *note.UnverifiedNoteError
		var invalid *note.InvalidSignatureError
		switch {
		case errors.As(err, &unverified):
			return Checkpoint{}, fmt.Errorf("%w: no signature by %s (signed by %s)", ErrBadSignature, v.Name(), signerNames(unverified.Note))
		case errors.As(err, &invalid):
			return Checkpoint{}, fmt.Errorf("%w: %v", ErrBadSignature, err)
		}
		return Checkpoint{}, fmt.Errorf("signed checkpoint: %w", err)
	}
	c, err := ParseCheckpoint([]byte(n.Text))
	if err != nil {
		return Checkpoint{}, err
	}
	if c.Origin != v.Name() {
		return Checkpoint{}, fmt.Errorf("checkpoint origin %q is not the log's key name %q", c.Origin, v.Name())
	}
	return c, nil
}

// SplitSigned returns the body of a signed note without verifying it, for
// error messages and tools that only display a checkpoint.
func SplitSigned(signed []byte) (Checkpoint, error) {
	i := bytes.LastIndex(signed, []byte("\n\n"))
	if i < 0 {
		return Checkpoint{}, errors.New("signed checkpoint: no signature block")
	}
	return ParseCheckpoint(signed[:i+1])
}

func signerNames(n *note.Note) string {
	if n == nil || len(n.UnverifiedSigs) == 0 {
		return "nobody"
	}
	var names []string
	for _, s := range n.UnverifiedSigs {
		names = append(names, fmt.Sprintf("%s+%08x", s.Name, s.Hash))
	}
	return strings.Join(names, ", ")
}
