package station

import (
	"encoding/json"
	"fmt"
	"time"
)

// Module is one module's record. It is kept small (no certificates, no CSR,
// no verifier) so that status and manifest walk millions of them quickly; the
// large and secret parts live in their own buckets (CSR, DAC, Onboarding).
type Module struct {
	MAC   string `json:"mac"`
	State State  `json:"state"`

	// Set when State is StateFailed.
	FailedFrom State  `json:"failed_from,omitzero"`
	Reason     Reason `json:"reason,omitempty"`
	Detail     string `json:"detail,omitempty"`

	// As the module identified itself when last seen.
	ChipModel string `json:"chip_model,omitempty"`
	Firmware  string `json:"firmware,omitempty"`
	Port      string `json:"port,omitempty"`

	// Set with the CSR (state key-generated).
	SPKISHA256    string `json:"spki_sha256,omitempty"` // hex SHA-256 of the CSR's SubjectPublicKeyInfo
	VID           uint16 `json:"vid,omitzero"`
	PID           uint16 `json:"pid,omitzero"`
	SerialNumber  string `json:"serial_number,omitempty"`
	Passcode      uint32 `json:"passcode,omitzero"`
	Discriminator uint16 `json:"discriminator"`

	BatchID string `json:"batch_id,omitempty"` // csr-batch the CSR left in

	// Set with the DAC (state dac-received).
	DACSerial string `json:"dac_serial,omitempty"` // hex, as in the certificate
	DACSHA256 string `json:"dac_sha256,omitempty"` // hex SHA-256 of the DAC DER

	// CredentialsSHA256 is the digest of the credential set the module
	// confirmed (state credentials-written).
	CredentialsSHA256 string `json:"credentials_sha256,omitempty"`

	WriteAttempts int `json:"write_attempts,omitzero"`
	LockAttempts  int `json:"lock_attempts,omitzero"`

	IdentifiedAt   time.Time `json:"identified_at,omitzero"`
	KeyGeneratedAt time.Time `json:"key_generated_at,omitzero"`
	ExportedAt     time.Time `json:"exported_at,omitzero"`
	DACReceivedAt  time.Time `json:"dac_received_at,omitzero"`
	WrittenAt      time.Time `json:"written_at,omitzero"`
	AttestedAt     time.Time `json:"attested_at,omitzero"`
	LockingAt      time.Time `json:"locking_at,omitzero"`
	LockedAt       time.Time `json:"locked_at,omitzero"`
	DoneAt         time.Time `json:"done_at,omitzero"`
	FailedAt       time.Time `json:"failed_at,omitzero"`
	UpdatedAt      time.Time `json:"updated_at,omitzero"`
}

// Onboarding is a module's commissioning data, generated from crypto/rand
// when its CSR is taken. It is written to the module and never leaves the
// station except in the manifest (passcode) and labels.
type Onboarding struct {
	Passcode      uint32 `json:"passcode"`
	Discriminator uint16 `json:"discriminator"`
	Salt          []byte `json:"salt"`       // 32 bytes
	Iterations    uint32 `json:"iterations"` // PBKDF2 iterations for the SPAKE2+ verifier
	Verifier      []byte `json:"verifier"`   // 97 bytes: w0 ‖ L
	SerialNumber  string `json:"serial_number"`
	RotatingID    []byte `json:"rotating_id_unique_id"` // 16 bytes
}

func encodeModule(m *Module) ([]byte, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode module %s: %w", m.MAC, err)
	}
	return b, nil
}

func decodeModule(key, b []byte) (*Module, error) {
	m := new(Module)
	if err := json.Unmarshal(b, m); err != nil {
		return nil, fmt.Errorf("%w: module record %q does not decode: %v", ErrCorrupt, key, err)
	}
	if m.MAC != string(key) {
		return nil, fmt.Errorf("%w: module record under key %q names mac %q", ErrCorrupt, key, m.MAC)
	}
	return m, nil
}
