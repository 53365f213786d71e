package crl

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"time"

	"go.etcd.io/bbolt"
)

// The crl bucket of appliance.db:
//
//	crl/number            u64  the last CRL number issued (absent before the first)
//	crl/latest            DER  the last CRL issued
//	crl/revoked/<serial>  reason u8 | revoked-at unix seconds i64 | first crl number u64
var (
	bucketCRL     = []byte("crl")
	bucketRevoked = []byte("revoked")
	keyNumber     = []byte("number")
	keyLatest     = []byte("latest")
)

// Revocation is one serial on the CRL.
type Revocation struct {
	Serial    *big.Int
	Reason    Reason
	RevokedAt time.Time
	CRLNumber uint64 // the first CRL that listed it
}

func (r Revocation) encode() []byte {
	b := []byte{byte(r.Reason)}
	b = binary.BigEndian.AppendUint64(b, uint64(r.RevokedAt.Unix()))
	return binary.BigEndian.AppendUint64(b, r.CRLNumber)
}

func decodeRevocation(serial, v []byte) (Revocation, error) {
	if len(v) != 17 {
		return Revocation{}, fmt.Errorf("crl store: revocation of %x: %d bytes, want 17", serial, len(v))
	}
	return Revocation{
		Serial:    new(big.Int).SetBytes(serial),
		Reason:    Reason(v[0]),
		RevokedAt: time.Unix(int64(binary.BigEndian.Uint64(v[1:9])), 0).UTC(),
		CRLNumber: binary.BigEndian.Uint64(v[9:]),
	}, nil
}

// State is what the store holds: the last CRL number and CRL, and every
// revocation.
type State struct {
	Number  uint64
	Latest  []byte
	Revoked []Revocation
}

// Load reads the store; before the first CRL it is the zero State.
func Load(tx *bbolt.Tx) (*State, error) {
	b := tx.Bucket(bucketCRL)
	s := &State{}
	if b == nil {
		return s, nil
	}
	if v := b.Get(keyNumber); v != nil {
		if len(v) != 8 {
			return nil, errors.New("crl store: crl number damaged")
		}
		s.Number = binary.BigEndian.Uint64(v)
	}
	s.Latest = append([]byte(nil), b.Get(keyLatest)...)
	if rb := b.Bucket(bucketRevoked); rb != nil {
		err := rb.ForEach(func(k, v []byte) error {
			r, err := decodeRevocation(k, v)
			if err != nil {
				return err
			}
			s.Revoked = append(s.Revoked, r)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return s, nil
}

// save records a new CRL: its number, its DER and the revocations it adds.
func save(tx *bbolt.Tx, number uint64, der []byte, added []Revocation) error {
	b, err := tx.CreateBucketIfNotExists(bucketCRL)
	if err != nil {
		return err
	}
	rb, err := b.CreateBucketIfNotExists(bucketRevoked)
	if err != nil {
		return err
	}
	if v := b.Get(keyNumber); v != nil && binary.BigEndian.Uint64(v) >= number {
		return fmt.Errorf("crl store: crl number %d is not above the last, %d", number, binary.BigEndian.Uint64(v))
	}
	for _, r := range added {
		if rb.Get(r.Serial.Bytes()) != nil {
			return fmt.Errorf("crl store: serial %x is revoked already", r.Serial)
		}
		if err := rb.Put(r.Serial.Bytes(), r.encode()); err != nil {
			return err
		}
	}
	if err := b.Put(keyNumber, binary.BigEndian.AppendUint64(nil, number)); err != nil {
		return err
	}
	return b.Put(keyLatest, der)
}
