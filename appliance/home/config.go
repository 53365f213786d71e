package home

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/dacline/dacline/appliance/quorum"
	"io"
	"os"
	"regexp"
	"time"
)

// ConfigVersion is the version of config.json this code writes and reads.
const ConfigVersion = 1

// Config is config.json: everything needed to find the appliance's keys again.
// None of it is secret.
type Config struct {
	Version int       `json:"version"`
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
	HSM     HSM       `json:"hsm"`
	Keys    Keys      `json:"keys"`
	// AgeRecipient is the public half of the sealed age identity.
	AgeRecipient string `json:"age_recipient"`
	// VID and PID (4 uppercase hex digits) come from the installed PAI's subject.
	VID string `json:"vid,omitempty"`
	PID string `json:"pid,omitempty"`
	// Quorum is set when the token's PINs are split among officers (quorum.go).
	Quorum *quorum.Config `json:"quorum,omitempty"`
	// PAIRetired is set once the first PAI (keys.pai) is retired (pais.go).
	PAIRetired bool `json:"pai_retired,omitempty"`
	// PAIs are the further PAI keys `appliance pai rotate` made (pais.go).
	PAIs []PAIRecord `json:"pais,omitempty"`
}

// HSM says which PKCS#11 token holds the keys.
type HSM struct {
	Module     string `json:"module"`
	TokenLabel string `json:"token_label"`
	// SoftHSMConf is set when the token is a SoftHSM2 token kept inside the home
	// (a path relative to the home).
	SoftHSMConf string `json:"softhsm2_conf,omitempty"`
}

// Keys names the token's keys by label and records their public keys
// (base64 DER SubjectPublicKeyInfo), so a different key under the same label is
// noticed.
type Keys struct {
	Signing KeyRef `json:"signing"`  // Ed25519: bundle manifests, log checkpoints
	PAI     KeyRef `json:"pai"`      // P-256: signs DACs
	AgeWrap string `json:"age_wrap"` // AES-256: seals the age identity
	// TestPAA is the development PAA key (test vendor IDs only), once created.
	TestPAA *KeyRef `json:"test_paa,omitempty"`
}

// KeyRef is a key pair on the token.
type KeyRef struct {
	Label     string `json:"label"`
	PublicKey string `json:"public_key"`
}

// Default key labels.
const (
	LabelSigning = "dacline-appliance-signing"
	LabelPAI     = "dacline-pai"
	LabelAgeWrap = "dacline-age-wrap"
	LabelTestPAA = "dacline-test-paa"
)

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// ValidateName checks an appliance name. It becomes the signed-note key name, so
// it follows the same rule as station names: 1–63 of [a-z0-9._-], starting with a
// letter or digit.
func ValidateName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("appliance name %q: want 1-63 of [a-z0-9._-], starting with a letter or digit", name)
	}
	return nil
}

func (c *Config) validate() error {
	switch {
	case c.Version != ConfigVersion:
		return fmt.Errorf("version %d: this appliance understands version %d", c.Version, ConfigVersion)
	case c.HSM.Module == "":
		return errors.New("hsm.module is required")
	case c.HSM.TokenLabel == "":
		return errors.New("hsm.token_label is required")
	case c.Keys.Signing.Label == "" || c.Keys.Signing.PublicKey == "":
		return errors.New("keys.signing is incomplete")
	case c.Keys.PAI.Label == "" || c.Keys.PAI.PublicKey == "":
		return errors.New("keys.pai is incomplete")
	case c.Keys.AgeWrap == "":
		return errors.New("keys.age_wrap is required")
	case c.AgeRecipient == "":
		return errors.New("age_recipient is required")
	}
	if c.Quorum != nil {
		if err := c.Quorum.Validate(); err != nil {
			return err
		}
	}
	if err := c.validatePAIs(); err != nil {
		return err
	}
	return ValidateName(c.Name)
}

const maxConfig = 64 << 10

func readConfig(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxConfig+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxConfig {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxConfig)
	}
	c, err := parseConfig(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// parseConfig decodes config.json strictly: unknown fields, trailing data and
// invalid values are refused.
func parseConfig(b []byte) (*Config, error) {
	var c Config
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the JSON object")
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

func writeConfig(path string, c *Config) error {
	if err := c.validate(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(path, append(b, '\n'), 0o600)
}
