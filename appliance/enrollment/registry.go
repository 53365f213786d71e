package enrollment

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"filippo.io/age"
	"go.etcd.io/bbolt"

	"github.com/dacline/dacline/airgap-bundles/bundle"
	"github.com/dacline/dacline/appliance/applog"
	"github.com/dacline/dacline/shared/auditlog"
)

// Bucket is the bbolt bucket of station records.
const Bucket = "stations"

// Errors callers branch on.
var (
	ErrNotEnrolled     = errors.New("station not enrolled")
	ErrRevoked         = errors.New("station revoked")
	ErrNameTaken       = errors.New("station name already enrolled")
	ErrKeyInUse        = errors.New("station key already enrolled")
	ErrNotConfirmed    = errors.New("enrollment not confirmed")
	ErrIdentityInvalid = errors.New("station identity in the bundle invalid")
	ErrNoReason        = errors.New("a revocation needs a reason")
)

// State of a station record.
type State string

const (
	StateActive  State = "active"
	StateRevoked State = "revoked"
)

// Station is one record of the registry.
type Station struct {
	bundle.StationIdentity
	State           State      `json:"state"`
	EnrolledAt      time.Time  `json:"enrolled_at"`
	EnrollmentBatch string     `json:"enrollment_batch"`
	BundleSHA256    string     `json:"bundle_sha256"`
	RevokedAt       *time.Time `json:"revoked_at,omitempty"`
	RevokeReason    string     `json:"revoke_reason,omitempty"`
}

// Registry is the station registry over the appliance's bbolt store.
type Registry struct {
	db  *bbolt.DB
	log *applog.Log
	now func() time.Time
}

// New opens the registry in db, creating its bucket, and the audit log in the
// same database: every enrollment and revocation is appended to the log in
// the transaction that changes the registry. (Signing a checkpoint needs the
// token, so that is the caller's job: a revocation, which must work without
// the token, is covered by the next checkpoint the appliance signs.)
func New(db *bbolt.DB) (*Registry, error) {
	err := db.Update(func(tx *bbolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists([]byte(Bucket))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("station registry: %w", err)
	}
	l, err := applog.Open(db, applog.Options{})
	if err != nil {
		return nil, fmt.Errorf("station registry: %w", err)
	}
	return &Registry{db: db, log: l, now: func() time.Time { return time.Now().UTC().Truncate(time.Second) }}, nil
}

// Pending is a verified enrollment bundle waiting for the officer's confirmation.
type Pending struct {
	Station  bundle.StationIdentity
	Manifest *bundle.Manifest
	SHA256   [32]byte
	b        *bundle.Bundle
}

// Close releases the decrypted bundle.
func (p *Pending) Close() error { return p.b.Close() }

// Inspect reads and verifies an enrollment bundle: decrypts it with the appliance's age
// identity, checks the self-signature, the structure and hashes, refuses a replayed
// batch, parses station.json and requires it to name the signer's key and name. It also
// refuses a name or key already in the registry. Nothing is recorded.
func (r *Registry) Inspect(path string, id age.Identity, tempDir string) (*Pending, error) {
	b, err := bundle.ReadFile(path, bundle.ReadOptions{
		Identities: []age.Identity{id},
		SelfSigned: true,
		Kinds:      []bundle.Kind{bundle.KindEnrollment},
		Consumed:   bundle.BoltConsumed{DB: r.db},
		TempDir:    tempDir,
	})
	if err != nil {
		return nil, err
	}
	p := &Pending{Manifest: b.Manifest, SHA256: b.SHA256, b: b}
	if err := p.parse(); err != nil {
		b.Close()
		return nil, err
	}
	if err := r.db.View(func(tx *bbolt.Tx) error { return checkFree(tx, &p.Station) }); err != nil {
		b.Close()
		return nil, err
	}
	return p, nil
}

func (p *Pending) parse() error {
	f, err := p.b.Open("station.json")
	if err != nil {
		return err
	}
	sid, err := bundle.ParseStationIdentity(io.Reader(f))
	if err != nil {
		return fmt.Errorf("%w: %w", ErrIdentityInvalid, err)
	}
	pub, _ := sid.PublicKey()
	if sid.Name != p.Manifest.Sender || !pub.Equal(p.b.SignerKey) {
		return fmt.Errorf("%w: station.json names %s and another key than the bundle's signer %s", ErrIdentityInvalid, sid.Name, p.Manifest.Sender)
	}
	p.Station = *sid
	return nil
}

// checkFree refuses a station whose name, signing key or age recipient is already
// in the registry (active or revoked).
func checkFree(tx *bbolt.Tx, sid *bundle.StationIdentity) error {
	bk := tx.Bucket([]byte(Bucket))
	if v := bk.Get([]byte(sid.Name)); v != nil {
		var s Station
		json.Unmarshal(v, &s)
		if s.State == StateRevoked {
			return fmt.Errorf("station %s: %w (revoked %s); enroll it under a new name", sid.Name, ErrNameTaken, s.RevokedAt.Format(time.RFC3339))
		}
		return fmt.Errorf("station %s: %w (fingerprint %s)", sid.Name, ErrNameTaken, s.Fingerprint)
	}
	return bk.ForEach(func(k, v []byte) error {
		var s Station
		if err := json.Unmarshal(v, &s); err != nil {
			return fmt.Errorf("station record %q: %w", k, err)
		}
		if s.Ed25519PublicKey == sid.Ed25519PublicKey || s.AgeRecipient == sid.AgeRecipient {
			return fmt.Errorf("station %s: %w as %s", sid.Name, ErrKeyInUse, s.Name)
		}
		return nil
	})
}

// Enroll records a confirmed pending enrollment in one transaction: the name and keys are
// checked again, the station is stored as active, the bundle's batch ID is consumed and
// a station-enrolled entry (name, fingerprint, Ed25519 key, age recipient, bundle hash)
// is appended to the audit log.
func (r *Registry) Enroll(p *Pending) (*Station, error) {
	s, _, err := r.EnrollLogged(p)
	return s, err
}

// EnrollLogged is Enroll that also returns the index of the station-enrolled entry.
func (r *Registry) EnrollLogged(p *Pending) (*Station, int64, error) {
	s := &Station{
		StationIdentity: p.Station, State: StateActive, EnrolledAt: r.now(),
		EnrollmentBatch: p.Manifest.BatchID.String(), BundleSHA256: fmt.Sprintf("%x", p.SHA256),
	}
	pub, err := s.PublicKey()
	if err != nil {
		return nil, 0, fmt.Errorf("station %s: %w: %w", s.Name, ErrIdentityInvalid, err)
	}
	entry, err := auditlog.NewStationEnrolled(s.Name, s.Fingerprint, s.AgeRecipient, pub, s.BundleSHA256)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %w", ErrIdentityInvalid, err)
	}
	var seq int64
	err = r.db.Update(func(tx *bbolt.Tx) error {
		if err := checkFree(tx, &p.Station); err != nil {
			return err
		}
		if err := bundle.MarkConsumed(tx, p.b, s.EnrolledAt); err != nil {
			return err
		}
		v, err := json.Marshal(s)
		if err != nil {
			return err
		}
		if err := tx.Bucket([]byte(Bucket)).Put([]byte(s.Name), v); err != nil {
			return err
		}
		seq, err = r.log.AppendTx(tx, entry)
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	return s, seq, nil
}

// Get returns the record of name.
func (r *Registry) Get(name string) (*Station, error) {
	var s *Station
	err := r.db.View(func(tx *bbolt.Tx) error {
		v := tx.Bucket([]byte(Bucket)).Get([]byte(name))
		if v == nil {
			return fmt.Errorf("station %s: %w", name, ErrNotEnrolled)
		}
		s = new(Station)
		return decode(v, s)
	})
	return s, err
}

// List returns every station, sorted by name.
func (r *Registry) List() ([]Station, error) {
	var out []Station
	err := r.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket([]byte(Bucket)).ForEach(func(k, v []byte) error {
			var s Station
			if err := decode(v, &s); err != nil {
				return fmt.Errorf("station record %q: %w", k, err)
			}
			out = append(out, s)
			return nil
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, err
}

// Revoke marks name revoked: its bundles are refused from now on. The station-revoked
// entry (name, reason) is appended to the audit log in the same transaction. A reason
// is required (ErrNoReason); revoking twice is an error.
func (r *Registry) Revoke(name, reason string) (*Station, error) {
	s, _, err := r.RevokeLogged(name, reason)
	return s, err
}

// RevokeLogged is Revoke that also returns the index of the station-revoked entry.
func (r *Registry) RevokeLogged(name, reason string) (*Station, int64, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return nil, 0, fmt.Errorf("station %s: %w (it is kept in the record and the audit log)", name, ErrNoReason)
	}
	var s Station
	var seq int64
	err := r.db.Update(func(tx *bbolt.Tx) error {
		bk := tx.Bucket([]byte(Bucket))
		v := bk.Get([]byte(name))
		if v == nil {
			return fmt.Errorf("station %s: %w", name, ErrNotEnrolled)
		}
		if err := decode(v, &s); err != nil {
			return err
		}
		if s.State == StateRevoked {
			return fmt.Errorf("station %s: %w already", name, ErrRevoked)
		}
		now := r.now()
		s.State, s.RevokedAt, s.RevokeReason = StateRevoked, &now, reason
		nv, err := json.Marshal(&s)
		if err != nil {
			return err
		}
		if err := bk.Put([]byte(name), nv); err != nil {
			return err
		}
		seq, err = r.log.AppendTx(tx, &auditlog.StationRevoked{Reason: reason, Station: name})
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	return &s, seq, nil
}

// active returns the record of an enrolled, unrevoked station.
func (r *Registry) active(name string) (*Station, error) {
	s, err := r.Get(name)
	if err != nil {
		return nil, err
	}
	if s.State != StateActive {
		return nil, fmt.Errorf("station %s: %w", name, ErrRevoked)
	}
	return s, nil
}

// Resolve is the bundle.KeyResolver of the appliance: the key of an enrolled, unrevoked
// station, for csr-batch bundles only (enrollment bundles are self-signed).
func (r *Registry) Resolve(sender string, kind bundle.Kind) (ed25519.PublicKey, error) {
	if kind != bundle.KindCSRBatch {
		return nil, fmt.Errorf("stations do not send %s bundles to the appliance", kind)
	}
	s, err := r.active(sender)
	if err != nil {
		return nil, err
	}
	return s.PublicKey()
}

// Recipient is the age recipient of an enrolled, unrevoked station (dac-batch bundles).
func (r *Registry) Recipient(name string) (*age.X25519Recipient, error) {
	s, err := r.active(name)
	if err != nil {
		return nil, err
	}
	return s.StationIdentity.Recipient()
}

func decode(v []byte, s *Station) error {
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.DisallowUnknownFields()
	return dec.Decode(s)
}
