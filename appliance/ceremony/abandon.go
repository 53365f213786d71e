package ceremony

import (
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/bbolt"

	"github.com/dacline/dacline/appliance/issuance"
)

// ErrAbandoned is returned when a batch's ceremony was abandoned: the batch
// is never resumed; the station must send its modules in a new batch.
var ErrAbandoned = errors.New("ceremony was abandoned")

// Abandoned is what Abandon did.
type Abandoned struct {
	Ceremony *issuance.Ceremony
	// Serials are the serials (canonical lowercase hex) of the DACs the
	// ceremony issued and never delivered: to be revoked.
	Serials []string
	// LogIndex is the audit log index of the ceremony-abandoned entry.
	LogIndex uint64
}

// Abandon ends an unfinished ceremony on the officer's word, in one named
// transaction "abandon": the ceremony moves to state abandoned, its key
// reservations are released, and a ceremony-abandoned audit entry records
// who, why, and the serials of the DACs it issued — none of which was
// delivered (the ceremony never recorded a return bundle), so all are
// listed for revocation. A finished or already abandoned ceremony is
// refused.
func Abandon(db *bbolt.DB, rec Recorder, batchID, officer, reason string, now time.Time) (*Abandoned, error) {
	if officer == "" || reason == "" {
		return nil, errors.New("abandon: an officer and a reason are required")
	}
	out := &Abandoned{Serials: []string{}}
	err := db.Update(func(tx *bbolt.Tx) error {
		c, err := issuance.AbandonCeremony(tx, batchID, issuance.Abandonment{Officer: officer, Reason: reason, At: now.UTC()})
		if err != nil {
			return err
		}
		err = issuance.BatchDACs(tx, batchID, func(d *issuance.DACRecord) error {
			out.Serials = append(out.Serials, hex.EncodeToString(d.Serial))
			return nil
		})
		if err != nil {
			return err
		}
		if len(out.Serials) != c.Issued {
			return fmt.Errorf("abandon: batch %s: the store holds %d DACs, the ceremony record says %d", batchID, len(out.Serials), c.Issued)
		}
		if out.LogIndex, err = rec.CeremonyAbandoned(tx, c, out.Serials); err != nil {
			return fmt.Errorf("audit log: %w", err)
		}
		out.Ceremony = c
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
