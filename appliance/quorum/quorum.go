package quorum

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"

	"github.com/dacline/dacline/appliance/shamir"
)

// Sentinel errors callers branch on.
var (
	ErrTooFewShares     = errors.New("too few shares")
	ErrOtherAppliance   = errors.New("share is for another appliance or quorum")
	ErrCorruptShare     = errors.New("share is corrupted")
	ErrUnknownOfficer   = errors.New("officer is not in the quorum")
	ErrDuplicateOfficer = errors.New("two shares of one officer")
)

// Config is the public record of a quorum, kept in config.json.
type Config struct {
	ID        string    `json:"id"`        // 16 random bytes, hex; every share carries it
	Threshold int       `json:"threshold"` // M: shares needed
	Officers  []Officer `json:"officers"`  // N officers, one share each
	HasSOPIN  bool      `json:"has_so_pin"`
	// Check is hex SHA-256 over the ID and the whole secret (PINs and
	// random tail): it tells a right combination from a wrong one.
	Check string `json:"check"`
}

// Officer is one share holder.
type Officer struct {
	Name string `json:"name"`
	// Recipient is the officer's age recipient; "paper" for a share kept on
	// paper.
	Recipient string `json:"recipient"`
	X         int    `json:"x"`
	// ShareSHA256 commits to the share (shareDigest).
	ShareSHA256 string `json:"share_sha256"`
}

// PaperRecipient marks an officer whose share is printed, not encrypted.
const PaperRecipient = "paper"

// Names lists the officers' names in share order.
func (c *Config) Names() []string {
	var out []string
	for _, o := range c.Officers {
		out = append(out, o.Name)
	}
	return out
}

// Officer returns the officer named name, or nil.
func (c *Config) Officer(name string) *Officer {
	for i := range c.Officers {
		if c.Officers[i].Name == name {
			return &c.Officers[i]
		}
	}
	return nil
}

// Validate checks a Config read from disk.
func (c *Config) Validate() error {
	if b, err := hex.DecodeString(c.ID); err != nil || len(b) != 16 {
		return fmt.Errorf("quorum: id %q: want 32 hex digits", c.ID)
	}
	if c.Threshold < 1 || c.Threshold > len(c.Officers) || len(c.Officers) > shamir.MaxShares {
		return fmt.Errorf("quorum: threshold %d of %d officers", c.Threshold, len(c.Officers))
	}
	xs := map[int]bool{}
	for _, o := range c.Officers {
		if err := ValidateOfficerName(o.Name); err != nil {
			return fmt.Errorf("quorum: %w", err)
		}
		if o.X < 1 || o.X > shamir.MaxShares || xs[o.X] {
			return fmt.Errorf("quorum: officer %s: share x %d", o.Name, o.X)
		}
		xs[o.X] = true
	}
	return nil
}

var officerRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9 ._-]{0,62}$`)

// ValidateOfficerName: 1–63 of letters, digits, space, dot, underscore,
// hyphen, starting with a letter (it names the share file).
func ValidateOfficerName(n string) error {
	if !officerRE.MatchString(n) {
		return fmt.Errorf("officer name %q: want 1 to 63 of letters, digits, space . _ -, starting with a letter", n)
	}
	return nil
}

// PINs are what the quorum guards: the token's user PIN, and its SO PIN
// when init set one.
type PINs struct {
	User []byte
	SO   []byte
}

// Clear overwrites the PINs.
func (p *PINs) Clear() { clear(p.User); clear(p.SO) }

const tailLen = 32

// encodeSecret: version 1 | u8 len | user PIN | u8 len | SO PIN | 32 random bytes.
func encodeSecret(p PINs, tail []byte) ([]byte, error) {
	if len(p.User) == 0 || len(p.User) > 255 || len(p.SO) > 255 {
		return nil, errors.New("quorum: PINs must be 1 to 255 bytes")
	}
	b := []byte{1, byte(len(p.User))}
	b = append(b, p.User...)
	b = append(b, byte(len(p.SO)))
	b = append(b, p.SO...)
	return append(b, tail...), nil
}

func decodeSecret(b []byte) (PINs, error) {
	bad := errors.New("quorum: combined secret is malformed")
	if len(b) < 3+tailLen || b[0] != 1 {
		return PINs{}, bad
	}
	u := int(b[1])
	if 2+u+1+tailLen > len(b) {
		return PINs{}, bad
	}
	s := int(b[2+u])
	if 3+u+s+tailLen != len(b) {
		return PINs{}, bad
	}
	p := PINs{User: append([]byte(nil), b[2:2+u]...)}
	if s > 0 {
		p.SO = append([]byte(nil), b[3+u:3+u+s]...)
	}
	return p, nil
}

func checkOf(id string, secret []byte) string {
	h := sha256.New()
	h.Write([]byte("dacline quorum check v1\x00"))
	h.Write([]byte(id))
	h.Write(secret)
	return hex.EncodeToString(h.Sum(nil))
}

func shareDigest(id string, x int, y []byte) string {
	h := sha256.New()
	h.Write([]byte("dacline quorum share v1\x00"))
	h.Write([]byte(id))
	h.Write(binary.BigEndian.AppendUint16(nil, uint16(x)))
	h.Write(y)
	return hex.EncodeToString(h.Sum(nil))
}

// OfficerSpec names an officer and where the share goes: an age recipient,
// or PaperRecipient.
type OfficerSpec struct {
	Name      string
	Recipient string
}

// ParseOfficerSpec reads NAME=AGE-RECIPIENT (or NAME=paper).
func ParseOfficerSpec(s string) (OfficerSpec, error) {
	name, rcpt, ok := strings.Cut(s, "=")
	if !ok || rcpt == "" {
		return OfficerSpec{}, fmt.Errorf("officer %q: want NAME=AGE-RECIPIENT or NAME=paper", s)
	}
	if err := ValidateOfficerName(name); err != nil {
		return OfficerSpec{}, err
	}
	if rcpt != PaperRecipient {
		if _, err := parseRecipient(rcpt); err != nil {
			return OfficerSpec{}, fmt.Errorf("officer %s: %w", name, err)
		}
	}
	return OfficerSpec{Name: name, Recipient: rcpt}, nil
}

// Split makes a new quorum for pins: the public Config and one Share per
// officer, in the officers' order. rand supplies the quorum ID, the random
// tail and the polynomials.
func Split(appliance string, pins PINs, m int, officers []OfficerSpec, rand io.Reader) (*Config, []*Share, error) {
	seen := map[string]bool{}
	for _, o := range officers {
		if seen[strings.ToLower(o.Name)] {
			return nil, nil, fmt.Errorf("quorum: officer %s is named twice", o.Name)
		}
		seen[strings.ToLower(o.Name)] = true
	}
	if m < 1 || m > len(officers) {
		return nil, nil, fmt.Errorf("quorum: threshold %d with %d officers: want 1 <= M <= N", m, len(officers))
	}
	var rnd [16 + tailLen]byte
	if _, err := io.ReadFull(rand, rnd[:]); err != nil {
		return nil, nil, fmt.Errorf("quorum: random: %w", err)
	}
	id := hex.EncodeToString(rnd[:16])
	secret, err := encodeSecret(pins, rnd[16:])
	if err != nil {
		return nil, nil, err
	}
	defer clear(secret)
	parts, err := shamir.Split(secret, m, len(officers), rand)
	if err != nil {
		return nil, nil, err
	}
	cfg := &Config{ID: id, Threshold: m, HasSOPIN: len(pins.SO) > 0, Check: checkOf(id, secret)}
	var shares []*Share
	for i, o := range officers {
		x := int(parts[i].X)
		cfg.Officers = append(cfg.Officers, Officer{Name: o.Name, Recipient: o.Recipient, X: x, ShareSHA256: shareDigest(id, x, parts[i].Y)})
		shares = append(shares, &Share{Appliance: appliance, QuorumID: id, Officer: o.Name, Threshold: m, X: x, Y: parts[i].Y})
	}
	return cfg, shares, nil
}

// Combine checks the shares against cfg (see the package invariants) and
// returns the PINs and the names of the officers whose shares were used.
func Combine(cfg *Config, appliance string, shares []*Share) (PINs, []string, error) {
	var parts []shamir.Share
	var names []string
	used := map[string]bool{}
	for _, s := range shares {
		if s.QuorumID != cfg.ID || s.Appliance != appliance {
			return PINs{}, nil, fmt.Errorf("share of officer %s: %w (appliance %s, quorum %s; this is appliance %s, quorum %s)",
				s.Officer, ErrOtherAppliance, s.Appliance, short(s.QuorumID), appliance, short(cfg.ID))
		}
		o := cfg.Officer(s.Officer)
		if o == nil {
			return PINs{}, nil, fmt.Errorf("share of %s: %w (officers: %s)", s.Officer, ErrUnknownOfficer, strings.Join(cfg.Names(), ", "))
		}
		if used[o.Name] {
			return PINs{}, nil, fmt.Errorf("officer %s: %w", o.Name, ErrDuplicateOfficer)
		}
		want, _ := hex.DecodeString(o.ShareSHA256)
		got, _ := hex.DecodeString(shareDigest(cfg.ID, s.X, s.Y))
		if s.X != o.X || subtle.ConstantTimeCompare(want, got) != 1 {
			return PINs{}, nil, fmt.Errorf("share of officer %s: %w (it is not the share made for %s)", o.Name, ErrCorruptShare, o.Name)
		}
		used[o.Name] = true
		parts = append(parts, shamir.Share{X: byte(s.X), Y: s.Y})
		names = append(names, o.Name)
	}
	if len(parts) < cfg.Threshold {
		have := "none"
		if len(names) > 0 {
			have = strings.Join(names, ", ")
		}
		return PINs{}, nil, fmt.Errorf("%w: %d of the %d officers (%s) must unlock together; shares given: %s",
			ErrTooFewShares, cfg.Threshold, len(cfg.Officers), strings.Join(cfg.Names(), ", "), have)
	}
	secret, err := shamir.Combine(parts)
	if err != nil {
		return PINs{}, nil, err
	}
	defer clear(secret)
	want, _ := hex.DecodeString(cfg.Check)
	got, _ := hex.DecodeString(checkOf(cfg.ID, secret))
	if subtle.ConstantTimeCompare(want, got) != 1 {
		return PINs{}, nil, errors.New("quorum: the shares do not combine to this appliance's PINs (config.json quorum check differs)")
	}
	pins, err := decodeSecret(secret)
	if err != nil {
		return PINs{}, nil, err
	}
	sort.Strings(names)
	return pins, names, nil
}

func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

var _ = bytes.Equal
