package bundle

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ageMagic is the first line of every binary age file (C2SP age spec, "Header").
const ageMagic = "age-encryption.org/v1\n"

// ageArmorBegin starts an ASCII-armored age file (age -a), which FORMAT.md §3
// does not allow for a bundle.
const ageArmorBegin = "-----BEGIN AGE ENCRYPTED FILE-----"

// AgeHeader is what the pre-parser learned from an age header before any
// decryption is attempted.
type AgeHeader struct {
	Size         int      // bytes up to and including the "---" MAC line
	StanzaTypes  []string // first argument of every "->" line, in order
	StanzaCounts int
}

// ParseAgeHeader reads an age header from r without trusting it: at most maxSize bytes
// are read, the version line must be exact, at most maxStanzas stanzas are allowed,
// every line must be printable ASCII, and scrypt (passphrase) stanzas are refused,
// because a bundle is always encrypted to an X25519 key and a hostile scrypt stanza
// can cost seconds of CPU per try. age itself re-parses and authenticates the header.
func ParseAgeHeader(r io.Reader, maxSize, maxStanzas int) (*AgeHeader, error) {
	buf := make([]byte, maxSize+1)
	n, err := io.ReadFull(r, buf)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, fmt.Errorf("read age header: %w", err)
	}
	buf = buf[:n]
	if !bytes.HasPrefix(buf, []byte(ageMagic)) {
		return nil, errors.New("not an age file (missing \"age-encryption.org/v1\" line)")
	}
	h := &AgeHeader{}
	pos := len(ageMagic)
	inStanza := false
	for {
		nl := bytes.IndexByte(buf[pos:], '\n')
		if nl < 0 {
			if len(buf) > maxSize {
				return nil, fmt.Errorf("age header longer than %d bytes: %w", maxSize, ErrTooLarge)
			}
			return nil, errors.New("age header truncated (no \"---\" line)")
		}
		line := string(buf[pos : pos+nl])
		pos += nl + 1
		if pos > maxSize {
			return nil, fmt.Errorf("age header longer than %d bytes: %w", maxSize, ErrTooLarge)
		}
		for _, c := range []byte(line) {
			if c < 0x20 || c > 0x7e {
				return nil, fmt.Errorf("age header: non-printable byte 0x%02x", c)
			}
		}
		switch {
		case strings.HasPrefix(line, "--- "):
			if h.StanzaCounts == 0 {
				return nil, errors.New("age header has no recipient stanzas")
			}
			h.Size = pos
			return h, nil
		case strings.HasPrefix(line, "-> "):
			args := strings.Split(line[3:], " ")
			if args[0] == "" {
				return nil, errors.New("age header: stanza without a type")
			}
			h.StanzaCounts++
			if h.StanzaCounts > maxStanzas {
				return nil, fmt.Errorf("age header: more than %d recipient stanzas: %w", maxStanzas, ErrTooLarge)
			}
			if strings.EqualFold(args[0], "scrypt") {
				return nil, errors.New("age header: scrypt (passphrase) stanza refused; bundles are encrypted to X25519 recipients")
			}
			h.StanzaTypes = append(h.StanzaTypes, args[0])
			inStanza = true
		case inStanza:
			// body line of the current stanza (base64, at most 64 columns)
			if len(line) > 64 {
				return nil, errors.New("age header: stanza body line over 64 columns")
			}
			if len(line) < 64 {
				inStanza = false
			}
		default:
			return nil, fmt.Errorf("age header: unexpected line %q", truncate(line, 40))
		}
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
