package station

import (
	"encoding/binary"
	"errors"
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

// Module records are stored in a compact binary form (decoding JSON was
// three quarters of the cost of a million-module manifest): a format byte,
// then every field in declaration order — strings and byte strings with a
// uvarint length, integers as uvarints, times as varint Unix nanoseconds
// (0 for the zero time). A new field is appended at the end with a new
// format byte; decoding refuses anything it does not fully understand.
const moduleFormat = 1

func encodeModule(m *Module) ([]byte, error) {
	b := make([]byte, 0, 320)
	b = append(b, moduleFormat)
	str := func(s string) { b = binary.AppendUvarint(b, uint64(len(s))); b = append(b, s...) }
	num := func(v uint64) { b = binary.AppendUvarint(b, v) }
	tm := func(t time.Time) {
		if t.IsZero() {
			b = binary.AppendVarint(b, 0)
			return
		}
		b = binary.AppendVarint(b, t.UnixNano())
	}
	str(m.MAC)
	num(uint64(m.State))
	num(uint64(m.FailedFrom))
	str(string(m.Reason))
	str(m.Detail)
	str(m.ChipModel)
	str(m.Firmware)
	str(m.Port)
	str(m.SPKISHA256)
	num(uint64(m.VID))
	num(uint64(m.PID))
	str(m.SerialNumber)
	num(uint64(m.Passcode))
	num(uint64(m.Discriminator))
	str(m.BatchID)
	str(m.DACSerial)
	str(m.DACSHA256)
	str(m.CredentialsSHA256)
	num(uint64(m.WriteAttempts))
	num(uint64(m.LockAttempts))
	for _, t := range []time.Time{m.IdentifiedAt, m.KeyGeneratedAt, m.ExportedAt, m.DACReceivedAt, m.WrittenAt,
		m.AttestedAt, m.LockingAt, m.LockedAt, m.DoneAt, m.FailedAt, m.UpdatedAt} {
		tm(t)
	}
	return b, nil
}

type recordDecoder struct {
	b   []byte
	err error
}

func (d *recordDecoder) num(max uint64) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 || v > max {
		d.err = errors.New("bad integer")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *recordDecoder) str() string {
	n := d.num(1 << 16)
	if d.err != nil {
		return ""
	}
	if uint64(len(d.b)) < n {
		d.err = errors.New("string runs past the record")
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *recordDecoder) time() time.Time {
	if d.err != nil {
		return time.Time{}
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errors.New("bad time")
		return time.Time{}
	}
	d.b = d.b[n:]
	if v == 0 {
		return time.Time{}
	}
	return time.Unix(0, v).UTC()
}

func decodeModule(key, b []byte) (*Module, error) {
	if len(b) == 0 || b[0] != moduleFormat {
		return nil, fmt.Errorf("%w: module record %q has an unknown format", ErrCorrupt, key)
	}
	d := &recordDecoder{b: b[1:]}
	m := &Module{}
	m.MAC = d.str()
	m.State = State(d.num(uint64(StateFailed)))
	m.FailedFrom = State(d.num(uint64(StateFailed)))
	m.Reason = Reason(d.str())
	m.Detail = d.str()
	m.ChipModel = d.str()
	m.Firmware = d.str()
	m.Port = d.str()
	m.SPKISHA256 = d.str()
	m.VID = uint16(d.num(0xFFFF))
	m.PID = uint16(d.num(0xFFFF))
	m.SerialNumber = d.str()
	m.Passcode = uint32(d.num(0xFFFFFFFF))
	m.Discriminator = uint16(d.num(0xFFFF))
	m.BatchID = d.str()
	m.DACSerial = d.str()
	m.DACSHA256 = d.str()
	m.CredentialsSHA256 = d.str()
	m.WriteAttempts = int(d.num(1 << 31))
	m.LockAttempts = int(d.num(1 << 31))
	for _, t := range []*time.Time{&m.IdentifiedAt, &m.KeyGeneratedAt, &m.ExportedAt, &m.DACReceivedAt, &m.WrittenAt,
		&m.AttestedAt, &m.LockingAt, &m.LockedAt, &m.DoneAt, &m.FailedAt, &m.UpdatedAt} {
		*t = d.time()
	}
	if d.err == nil && len(d.b) != 0 {
		d.err = errors.New("trailing bytes")
	}
	if d.err != nil {
		return nil, fmt.Errorf("%w: module record %q does not decode: %v", ErrCorrupt, key, d.err)
	}
	if m.MAC != string(key) {
		return nil, fmt.Errorf("%w: module record under key %q names mac %q", ErrCorrupt, key, m.MAC)
	}
	if m.State == StateUnknown {
		return nil, fmt.Errorf("%w: module record %q has no state", ErrCorrupt, key)
	}
	return m, nil
}
