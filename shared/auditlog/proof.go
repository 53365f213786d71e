package auditlog

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Header lines of the two proof formats.
const (
	// TLogProofHeader starts a C2SP tlog-proof (c2sp.org/tlog-proof).
	TLogProofHeader = "c2sp.org/tlog-proof@v1"
	// ConsistencyProofHeader starts dacline's consistency proof file
	// (docs/audit-log.md, "Consistency proof").
	ConsistencyProofHeader = "dacline.dev/log-consistency@v1"
)

// maxProofHashes bounds the hash lines of either proof: a tree of 2^63
// entries needs at most 2·63.
const maxProofHashes = 128

// maxProofSize bounds a proof file.
const maxProofSize = 32 << 10

// Proof is a parsed tlog-proof: the entry index, the RFC 6962 inclusion path
// (leaf's sibling first), optional unauthenticated extra data, and the signed
// checkpoint the path leads to, verbatim.
type Proof struct {
	Extra      []byte
	Index      int64
	Hashes     tlog.RecordProof
	Checkpoint []byte
}

// FormatProof writes a tlog-proof (c2sp.org/tlog-proof@v1).
func FormatProof(p Proof) []byte {
	var b bytes.Buffer
	b.WriteString(TLogProofHeader + "\n")
	if len(p.Extra) > 0 {
		b.WriteString("extra " + base64.StdEncoding.EncodeToString(p.Extra) + "\n")
	}
	fmt.Fprintf(&b, "index %d\n", p.Index)
	for _, h := range p.Hashes {
		b.WriteString(base64.StdEncoding.EncodeToString(h[:]) + "\n")
	}
	b.WriteString("\n")
	b.Write(p.Checkpoint)
	return b.Bytes()
}

// ParseProof parses a tlog-proof strictly. It does not verify it; see
// VerifyProof.
func ParseProof(data []byte) (*Proof, error) {
	if len(data) > maxProofSize {
		return nil, errors.New("tlog-proof: too large")
	}
	head, ckpt, ok := bytes.Cut(data, []byte("\n\n"))
	if !ok {
		return nil, errors.New("tlog-proof: no blank line before the checkpoint")
	}
	lines := strings.Split(string(head), "\n")
	if lines[0] != TLogProofHeader {
		return nil, fmt.Errorf("tlog-proof: first line is not %q", TLogProofHeader)
	}
	lines = lines[1:]
	p := &Proof{Checkpoint: ckpt}
	if len(lines) > 0 && strings.HasPrefix(lines[0], "extra ") {
		x, err := base64.StdEncoding.Strict().DecodeString(strings.TrimPrefix(lines[0], "extra "))
		if err != nil || len(x) == 0 {
			return nil, errors.New("tlog-proof: bad extra line")
		}
		p.Extra, lines = x, lines[1:]
	}
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "index ") {
		return nil, errors.New("tlog-proof: missing index line")
	}
	idx, err := parseDecimal(strings.TrimPrefix(lines[0], "index "))
	if err != nil {
		return nil, fmt.Errorf("tlog-proof: index: %w", err)
	}
	p.Index = idx
	hs, err := parseHashLines(lines[1:])
	if err != nil {
		return nil, fmt.Errorf("tlog-proof: %w", err)
	}
	p.Hashes = hs
	if len(ckpt) == 0 {
		return nil, errors.New("tlog-proof: no checkpoint")
	}
	return p, nil
}

// VerifyProof checks a tlog-proof for the entry whose leaf hash is leaf:
// the checkpoint's signature with v, then the inclusion path to its root.
// It returns the verified checkpoint.
func VerifyProof(p *Proof, leaf tlog.Hash, v note.Verifier) (Checkpoint, error) {
	c, err := OpenCheckpoint(p.Checkpoint, v)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("tlog-proof for entry %d: %w", p.Index, err)
	}
	if p.Index >= c.Size {
		return c, fmt.Errorf("tlog-proof: entry %d is not in a checkpoint of size %d", p.Index, c.Size)
	}
	if err := tlog.CheckRecord(p.Hashes, c.Size, c.Root, p.Index, leaf); err != nil {
		return c, fmt.Errorf("tlog-proof: entry %d is not included in checkpoint %s: %w", p.Index, c, err)
	}
	return c, nil
}

// ConsistencyProof proves that the tree of size New extends the tree of size
// Old (RFC 6962 2.1.2 consistency proof).
type ConsistencyProof struct {
	Old, New int64
	Hashes   tlog.TreeProof
}

// Format writes the consistency proof file.
func (p ConsistencyProof) Format() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\nold %d\nnew %d\n", ConsistencyProofHeader, p.Old, p.New)
	for _, h := range p.Hashes {
		b.WriteString(base64.StdEncoding.EncodeToString(h[:]) + "\n")
	}
	return b.Bytes()
}

// ParseConsistencyProof parses a consistency proof file strictly.
func ParseConsistencyProof(data []byte) (ConsistencyProof, error) {
	if len(data) > maxProofSize {
		return ConsistencyProof{}, errors.New("consistency proof: too large")
	}
	if !bytes.HasSuffix(data, []byte("\n")) {
		return ConsistencyProof{}, errors.New("consistency proof: must end with a newline")
	}
	lines := strings.Split(string(data[:len(data)-1]), "\n")
	if len(lines) < 3 || lines[0] != ConsistencyProofHeader {
		return ConsistencyProof{}, fmt.Errorf("consistency proof: first line is not %q", ConsistencyProofHeader)
	}
	var p ConsistencyProof
	var err error
	if !strings.HasPrefix(lines[1], "old ") || !strings.HasPrefix(lines[2], "new ") {
		return p, errors.New("consistency proof: want 'old N' and 'new M' lines")
	}
	if p.Old, err = parseDecimal(strings.TrimPrefix(lines[1], "old ")); err != nil {
		return p, fmt.Errorf("consistency proof: old: %w", err)
	}
	if p.New, err = parseDecimal(strings.TrimPrefix(lines[2], "new ")); err != nil {
		return p, fmt.Errorf("consistency proof: new: %w", err)
	}
	if p.Old > p.New {
		return p, fmt.Errorf("consistency proof: old size %d is larger than new size %d", p.Old, p.New)
	}
	hs, err := parseHashLines(lines[3:])
	if err != nil {
		return p, fmt.Errorf("consistency proof: %w", err)
	}
	p.Hashes = tlog.TreeProof(hs)
	return p, nil
}

// Verify checks that the checkpoint newer extends older, using the proof.
func (p ConsistencyProof) Verify(older, newer Checkpoint) error {
	if older.Size != p.Old || newer.Size != p.New {
		return fmt.Errorf("consistency proof is for sizes %d→%d, checkpoints are %d→%d", p.Old, p.New, older.Size, newer.Size)
	}
	if older.Size == 0 {
		return nil // the empty tree is a prefix of every tree
	}
	if older.Size == newer.Size {
		if older.Root != newer.Root || len(p.Hashes) != 0 {
			return fmt.Errorf("%w: checkpoints %s and %s have the same size and different roots", ErrFork, older, newer)
		}
		return nil
	}
	if err := tlog.CheckTree(p.Hashes, newer.Size, newer.Root, older.Size, older.Root); err != nil {
		return fmt.Errorf("%w: checkpoint %s is not a prefix of %s: %v", ErrFork, older, newer, err)
	}
	return nil
}

// ErrFork: two checkpoints that cannot both describe one append-only log.
var ErrFork = errors.New("forked log")

func parseDecimal(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != s {
		return 0, fmt.Errorf("%q is not a canonical non-negative decimal", s)
	}
	return n, nil
}

func parseHashLines(lines []string) ([]tlog.Hash, error) {
	if len(lines) > maxProofHashes {
		return nil, fmt.Errorf("%d hash lines, more than %d", len(lines), maxProofHashes)
	}
	hs := make([]tlog.Hash, 0, len(lines))
	for i, l := range lines {
		b, err := base64.StdEncoding.Strict().DecodeString(l)
		if err != nil || len(b) != tlog.HashSize {
			return nil, fmt.Errorf("hash line %d is not a base64 32-byte hash", i+1)
		}
		var h tlog.Hash
		copy(h[:], b)
		hs = append(hs, h)
	}
	return hs, nil
}
