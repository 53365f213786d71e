package station

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"go.etcd.io/bbolt"
)

// Sighting is what a module reports about itself on IDENTIFY.
type Sighting struct {
	MAC       string
	ChipModel string
	Firmware  string
	Port      string
}

// Identify records that a module is on a jig ("identify"). A module never
// seen before is created in state identified; a known one only gets its
// chip model, firmware and port refreshed (its state does not change).
func (s *Store) Identify(sg Sighting) (*Module, error) {
	// A module seen again on the same port needs no write: polling a settled
	// module must not cost a committed transaction per poll.
	if m, err := s.Get(sg.MAC); err == nil && m.ChipModel == sg.ChipModel && m.Firmware == sg.Firmware && m.Port == sg.Port {
		return m, nil
	}
	return s.transition("identify", sg.MAC, func(tx *bbolt.Tx, m *Module) error {
		if m.State == StateUnknown {
			m.State = StateIdentified
			m.IdentifiedAt = s.now()
		}
		m.ChipModel, m.Firmware, m.Port = sg.ChipModel, sg.Firmware, sg.Port
		return nil
	})
}

// CSR is a verified certificate signing request as the module produced it.
type CSR struct {
	DER        []byte   // PKCS#10, signature already checked by the caller
	SPKISHA256 [32]byte // SHA-256 of its SubjectPublicKeyInfo DER
	VID, PID   uint16
}

// RecordCSR stores a module's CSR with its freshly generated onboarding data
// ("record-csr": identified → key-generated).
//
// Idempotent for the same key: a module already past identified that presents
// the CSR key recorded for it is left unchanged (the store returns the record
// as is, and ob is discarded). A different key returns ErrKeyChanged; a key
// recorded for another module returns ErrDuplicateKey. Either way nothing is
// stored: a module never gets a second key.
func (s *Store) RecordCSR(mac string, csr CSR, ob *Onboarding) (*Module, error) {
	spki := hex.EncodeToString(csr.SPKISHA256[:])
	return s.transition("record-csr", mac, func(tx *bbolt.Tx, m *Module) error {
		if m.State != StateIdentified {
			if m.SPKISHA256 != "" && m.SPKISHA256 == spki {
				return nil
			}
			if m.SPKISHA256 != "" {
				return fmt.Errorf("%w: recorded %s, presented %s", ErrKeyChanged, m.SPKISHA256[:16], spki[:16])
			}
			return fmt.Errorf("%w: no csr can be recorded in state %s", ErrTransition, m.State)
		}
		if owner := tx.Bucket(bucketBySPKI).Get([]byte(spki)); owner != nil && string(owner) != mac {
			return fmt.Errorf("%w: key %s belongs to module %s", ErrDuplicateKey, spki[:16], owner)
		}
		if ob == nil {
			return fmt.Errorf("no onboarding data")
		}
		obJSON, err := json.Marshal(ob)
		if err != nil {
			return err
		}
		if err := tx.Bucket(bucketCSR).Put([]byte(mac), csr.DER); err != nil {
			return err
		}
		if err := tx.Bucket(bucketOnboarding).Put([]byte(mac), obJSON); err != nil {
			return err
		}
		if err := tx.Bucket(bucketBySPKI).Put([]byte(spki), []byte(mac)); err != nil {
			return err
		}
		m.State = StateKeyGenerated
		m.KeyGeneratedAt = s.now()
		m.SPKISHA256 = spki
		m.VID, m.PID = csr.VID, csr.PID
		m.SerialNumber = ob.SerialNumber
		m.Passcode = ob.Passcode
		m.Discriminator = ob.Discriminator
		return nil
	})
}

// BeginWrite records that credentials are about to be written ("begin-write":
// dac-received, writing or credentials-written → writing). A write that was
// cut off (module pulled, station killed) simply begins again: every write
// command is idempotent on the module.
func (s *Store) BeginWrite(mac string) (*Module, error) {
	return s.transition("begin-write", mac, func(tx *bbolt.Tx, m *Module) error {
		m.State = StateWriting
		m.WriteAttempts++
		return nil
	})
}

// CredentialsWritten records the credential digest the module confirmed
// ("credentials-written": writing or dac-received → credentials-written; the
// latter when a module turns out to hold our credentials already after a crash
// between the write and its record).
func (s *Store) CredentialsWritten(mac string, digest []byte) (*Module, error) {
	return s.transition("credentials-written", mac, func(tx *bbolt.Tx, m *Module) error {
		if m.State == StateCredentialsWritten && m.CredentialsSHA256 == hex.EncodeToString(digest) {
			return nil
		}
		m.State = StateCredentialsWritten
		m.CredentialsSHA256 = hex.EncodeToString(digest)
		m.WrittenAt = s.now()
		return nil
	})
}

// RecordAttested records a verified attestation ("attested":
// credentials-written → attested). Idempotent.
func (s *Store) RecordAttested(mac string) (*Module, error) {
	return s.transition("attested", mac, func(tx *bbolt.Tx, m *Module) error {
		if m.State == StateAttested {
			return nil
		}
		m.State = StateAttested
		m.AttestedAt = s.now()
		return nil
	})
}

// BeginLock records the intent to lock ("begin-lock": attested or locking →
// locking). It is committed before the lock command is sent, so a module is
// never locked without this record, and this record is only reachable from
// attested.
func (s *Store) BeginLock(mac string) (*Module, error) {
	return s.transition("begin-lock", mac, func(tx *bbolt.Tx, m *Module) error {
		if m.State == StateAttested {
			m.LockingAt = s.now()
		}
		m.State = StateLocking
		m.LockAttempts++
		return nil
	})
}

// Relock records that a module the station recorded locked read its lock
// state back incomplete, and that the lock sequence is run again ("relock":
// locked → locking). LOCK is idempotent on the module (a burned step reports
// already-burned), so a lock state read back right after a reboot, or a
// read-back that disagrees with what the LOCK replies said, is settled by
// locking again rather than by failing the module for good. The caller
// bounds the number of relocks and fails the module after that.
func (s *Store) Relock(mac string) (*Module, error) {
	return s.transition("relock", mac, func(tx *bbolt.Tx, m *Module) error {
		if m.State != StateLocked {
			return fmt.Errorf("%w: relock from %s (only from locked)", ErrTransition, m.State)
		}
		m.State = StateLocking
		m.LockAttempts++
		return nil
	})
}

// RecordLocked records that the module reported every lock step done
// ("locked": locking → locked). Idempotent.
func (s *Store) RecordLocked(mac string) (*Module, error) {
	return s.transition("locked", mac, func(tx *bbolt.Tx, m *Module) error {
		if m.State == StateLocked {
			return nil
		}
		m.State = StateLocked
		m.LockedAt = s.now()
		return nil
	})
}

// RecordDone records that the lock state read back is complete ("done":
// locked → done). Idempotent.
func (s *Store) RecordDone(mac string) (*Module, error) {
	return s.transition("done", mac, func(tx *bbolt.Tx, m *Module) error {
		if m.State == StateDone {
			return nil
		}
		m.State = StateDone
		m.DoneAt = s.now()
		return nil
	})
}

// Fail moves a module to failed with a reason ("fail"). A module already
// failed keeps its first reason.
func (s *Store) Fail(mac string, reason Reason, detail string) (*Module, error) {
	return s.transition("fail", mac, func(tx *bbolt.Tx, m *Module) error {
		if m.State == StateFailed {
			return nil
		}
		if m.State == StateDone {
			return fmt.Errorf("%w: module is done", ErrTransition)
		}
		m.FailedFrom = m.State
		m.State = StateFailed
		m.Reason = reason
		m.Detail = detail
		m.FailedAt = s.now()
		return nil
	})
}

// Get returns a module's record.
func (s *Store) Get(mac string) (*Module, error) {
	var m *Module
	err := safeView(s.db, func(tx *bbolt.Tx) error {
		var err error
		m, err = getModule(tx, mac)
		return err
	})
	return m, err
}

// Credentials is everything written to a module.
type Credentials struct {
	Module     *Module
	CSR        []byte
	DAC        []byte
	Onboarding *Onboarding
}

// Credentials returns a module's CSR, DAC (nil before dac-received) and
// onboarding data.
func (s *Store) Credentials(mac string) (*Credentials, error) {
	var c Credentials
	err := safeView(s.db, func(tx *bbolt.Tx) error {
		m, err := getModule(tx, mac)
		if err != nil {
			return err
		}
		c.Module = m
		c.CSR = bytes.Clone(tx.Bucket(bucketCSR).Get([]byte(mac)))
		c.DAC = bytes.Clone(tx.Bucket(bucketDAC).Get([]byte(mac)))
		if v := tx.Bucket(bucketOnboarding).Get([]byte(mac)); v != nil {
			c.Onboarding = new(Onboarding)
			if err := json.Unmarshal(v, c.Onboarding); err != nil {
				return fmt.Errorf("%w: onboarding record of %s: %v", ErrCorrupt, mac, err)
			}
		}
		if m.State.HasDAC() || (m.State == StateFailed && m.FailedFrom.HasDAC()) {
			if c.DAC == nil {
				return fmt.Errorf("%w: module %s in state %s has no dac", ErrCorrupt, mac, m.State)
			}
			if sum := sha256.Sum256(c.DAC); hex.EncodeToString(sum[:]) != m.DACSHA256 {
				return fmt.Errorf("%w: module %s: stored dac does not match its recorded sha-256", ErrCorrupt, mac)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &c, nil
}
