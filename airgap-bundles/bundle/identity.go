package bundle

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"filippo.io/age"
)

// IdentityVersion is the version of the appliance.id and station identity files.
const IdentityVersion = 1

// maxIdentityFile caps what Read*Identity reads.
const maxIdentityFile = 64 << 10

// ApplianceIdentity is the public identity of an appliance (file appliance.id): what a
// station needs to encrypt to it, verify its signatures and check DAC chains. The
// fingerprint is read aloud when a station is set up.
type ApplianceIdentity struct {
	Version          int    `json:"version"`
	Name             string `json:"name"`
	AgeRecipient     string `json:"age_recipient"`
	NoteVerifier     string `json:"note_verifier"`
	Ed25519PublicKey string `json:"ed25519_public_key"` // base64, 32 bytes
	PAIPEM           string `json:"pai_pem"`
	PAAPEM           string `json:"paa_pem"`
	Fingerprint      string `json:"fingerprint"`
}

// StationIdentity is the public identity of a station: carried in station.json of an
// enrollment bundle and kept in the appliance's station registry.
type StationIdentity struct {
	Version          int    `json:"version"`
	Name             string `json:"name"`
	AgeRecipient     string `json:"age_recipient"`
	NoteVerifier     string `json:"note_verifier"`
	Ed25519PublicKey string `json:"ed25519_public_key"`
	VID              string `json:"vid,omitempty"` // product the station provisions, 4 hex digits
	PID              string `json:"pid,omitempty"`
	Fingerprint      string `json:"fingerprint"`
}

// NewApplianceIdentity fills in the derived fields (verifier key, fingerprint).
func NewApplianceIdentity(name string, rcpt *age.X25519Recipient, pub ed25519.PublicKey, paiDER, paaDER []byte) (*ApplianceIdentity, error) {
	vkey, err := VerifierKey(name, pub)
	if err != nil {
		return nil, err
	}
	id := &ApplianceIdentity{
		Version: IdentityVersion, Name: name, AgeRecipient: rcpt.String(), NoteVerifier: vkey,
		Ed25519PublicKey: base64.StdEncoding.EncodeToString(pub),
		PAIPEM:           string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: paiDER})),
		PAAPEM:           string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: paaDER})),
	}
	id.Fingerprint = fingerprint("appliance", name, id.AgeRecipient, pub, paiDER, paaDER)
	return id, id.Validate()
}

// NewStationIdentity fills in the derived fields.
func NewStationIdentity(name string, rcpt *age.X25519Recipient, pub ed25519.PublicKey, vid, pid string) (*StationIdentity, error) {
	vkey, err := VerifierKey(name, pub)
	if err != nil {
		return nil, err
	}
	id := &StationIdentity{
		Version: IdentityVersion, Name: name, AgeRecipient: rcpt.String(), NoteVerifier: vkey,
		Ed25519PublicKey: base64.StdEncoding.EncodeToString(pub), VID: vid, PID: pid,
	}
	id.Fingerprint = fingerprint("station", name, id.AgeRecipient, pub)
	return id, id.Validate()
}

// fingerprint is SHA-256 over the role, name, age recipient, Ed25519 key and (for an
// appliance) the PAI and PAA certificates, each length-prefixed, shown as 8 groups of 4
// hex digits (128 bits) to be read aloud and compared.
func fingerprint(role, name, rcpt string, pub ed25519.PublicKey, certs ...[]byte) string {
	h := sha256.New()
	for _, part := range append([][]byte{[]byte("dacline-fingerprint-v1"), []byte(role), []byte(name), []byte(rcpt), pub}, certs...) {
		var l [4]byte
		l[0], l[1], l[2], l[3] = byte(len(part)>>24), byte(len(part)>>16), byte(len(part)>>8), byte(len(part))
		h.Write(l[:])
		h.Write(part)
	}
	sum := hex.EncodeToString(h.Sum(nil)[:16])
	groups := make([]string, 0, 8)
	for i := 0; i < len(sum); i += 4 {
		groups = append(groups, sum[i:i+4])
	}
	return strings.Join(groups, " ")
}

// PublicKey returns the Ed25519 key.
func (a *ApplianceIdentity) PublicKey() (ed25519.PublicKey, error) {
	return decodeEd25519(a.Ed25519PublicKey)
}

// Recipient returns the age recipient.
func (a *ApplianceIdentity) Recipient() (*age.X25519Recipient, error) {
	return age.ParseX25519Recipient(a.AgeRecipient)
}

// Certificates returns the PAI and PAA certificates.
func (a *ApplianceIdentity) Certificates() (pai, paa *x509.Certificate, err error) {
	if pai, err = parseOnePEM("pai_pem", a.PAIPEM); err != nil {
		return nil, nil, err
	}
	if paa, err = parseOnePEM("paa_pem", a.PAAPEM); err != nil {
		return nil, nil, err
	}
	return pai, paa, nil
}

// Validate checks every field and that the derived fields match the keys. The error
// names the field.
func (a *ApplianceIdentity) Validate() error {
	if a.Version != IdentityVersion {
		return fmt.Errorf("appliance identity: version %d: want %d", a.Version, IdentityVersion)
	}
	if err := ValidateName(a.Name); err != nil {
		return fmt.Errorf("appliance identity: name: %w", err)
	}
	if _, err := a.Recipient(); err != nil {
		return fmt.Errorf("appliance identity: age_recipient: %w", err)
	}
	pub, err := a.PublicKey()
	if err != nil {
		return fmt.Errorf("appliance identity: ed25519_public_key: %w", err)
	}
	if vkey, _ := VerifierKey(a.Name, pub); vkey != a.NoteVerifier {
		return fmt.Errorf("appliance identity: note_verifier does not match name and ed25519_public_key")
	}
	pai, paa, err := a.Certificates()
	if err != nil {
		return fmt.Errorf("appliance identity: %w", err)
	}
	if err := pai.CheckSignatureFrom(paa); err != nil {
		return fmt.Errorf("appliance identity: pai_pem is not signed by paa_pem: %w", err)
	}
	if fp := fingerprint("appliance", a.Name, a.AgeRecipient, pub, pai.Raw, paa.Raw); fp != a.Fingerprint {
		return fmt.Errorf("appliance identity: fingerprint %q does not match the keys (want %q)", a.Fingerprint, fp)
	}
	return nil
}

// PublicKey returns the Ed25519 key.
func (s *StationIdentity) PublicKey() (ed25519.PublicKey, error) {
	return decodeEd25519(s.Ed25519PublicKey)
}

// Recipient returns the age recipient.
func (s *StationIdentity) Recipient() (*age.X25519Recipient, error) {
	return age.ParseX25519Recipient(s.AgeRecipient)
}

// Validate checks every field and the derived ones.
func (s *StationIdentity) Validate() error {
	if s.Version != IdentityVersion {
		return fmt.Errorf("station identity: version %d: want %d", s.Version, IdentityVersion)
	}
	if err := ValidateName(s.Name); err != nil {
		return fmt.Errorf("station identity: name: %w", err)
	}
	if _, err := s.Recipient(); err != nil {
		return fmt.Errorf("station identity: age_recipient: %w", err)
	}
	pub, err := s.PublicKey()
	if err != nil {
		return fmt.Errorf("station identity: ed25519_public_key: %w", err)
	}
	if vkey, _ := VerifierKey(s.Name, pub); vkey != s.NoteVerifier {
		return fmt.Errorf("station identity: note_verifier does not match name and ed25519_public_key")
	}
	for field, v := range map[string]string{"vid": s.VID, "pid": s.PID} {
		if v != "" && (len(v) != 4 || strings.ToUpper(v) != v || !isHex(v)) {
			return fmt.Errorf("station identity: %s %q: want 4 uppercase hex digits", field, v)
		}
	}
	if fp := fingerprint("station", s.Name, s.AgeRecipient, pub); fp != s.Fingerprint {
		return fmt.Errorf("station identity: fingerprint %q does not match the keys (want %q)", s.Fingerprint, fp)
	}
	return nil
}

// ReadApplianceIdentity reads and validates an appliance.id file.
func ReadApplianceIdentity(path string) (*ApplianceIdentity, error) {
	var a ApplianceIdentity
	if err := readStrictJSON(path, &a); err != nil {
		return nil, fmt.Errorf("appliance identity %s: %w", path, err)
	}
	if err := a.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &a, nil
}

// ParseStationIdentity decodes and validates station.json from r.
func ParseStationIdentity(r io.Reader) (*StationIdentity, error) {
	var s StationIdentity
	if err := decodeStrictJSON(io.LimitReader(r, maxIdentityFile+1), &s); err != nil {
		return nil, fmt.Errorf("station identity: %w", err)
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

// Write writes the identity as indented JSON to a new file (never overwriting).
func (a *ApplianceIdentity) Write(path string) error { return writeJSONFile(path, a) }

// Write writes the identity as indented JSON to a new file (never overwriting).
func (s *StationIdentity) Write(path string) error { return writeJSONFile(path, s) }

// ReadStationIdentity reads and validates a station identity file.
func ReadStationIdentity(path string) (*StationIdentity, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s, err := ParseStationIdentity(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

func writeJSONFile(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func readStrictJSON(path string, v any) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return decodeStrictJSON(io.LimitReader(f, maxIdentityFile+1), v)
}

func decodeStrictJSON(r io.Reader, v any) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if len(b) > maxIdentityFile {
		return fmt.Errorf("over %d bytes", maxIdentityFile)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after the JSON object")
	}
	return nil
}

func decodeEd25519(s string) (ed25519.PublicKey, error) {
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, errors.New("want base64 of a 32-byte Ed25519 public key")
	}
	return ed25519.PublicKey(b), nil
}

func parseOnePEM(field, s string) (*x509.Certificate, error) {
	blk, rest := pem.Decode([]byte(s))
	if blk == nil || blk.Type != "CERTIFICATE" || len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("%s: want exactly one PEM CERTIFICATE", field)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", field, err)
	}
	return c, nil
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil
}
