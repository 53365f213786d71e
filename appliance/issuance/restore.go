package issuance

import (
	"errors"

	"go.etcd.io/bbolt"
)

// Restore transitions: rebuilding the store from audit log entries that a
// restored home lost and an officer brought back from a log export
// (appliance log restore). The log holds every fact the store's invariants
// need — which key got which serial in which batch — but not the DAC
// certificates themselves, so a restored DAC record has no DER, and a
// ceremony touched by restored entries is marked Restored: it can be
// abandoned, never resumed or reproduced (its return bundle cannot be built
// again).

// ErrRestored is returned for a ceremony rebuilt from the audit log.
var ErrRestored = errors.New("ceremony rebuilt from a log export")

// RestoreStarted is the transition "restore-start": a ceremony-started
// entry brought back from a log export. A batch the store already knows is
// only marked restored.
func RestoreStarted(tx *bbolt.Tx, batchID, station, officer string) error {
	if c, err := GetCeremony(tx, batchID); err == nil {
		c.Restored = true
		return putCeremony(tx, c)
	} else if !errors.Is(err, ErrNoCeremony) {
		return err
	}
	return putCeremony(tx, &Ceremony{BatchID: batchID, Station: station, Officer: officer, State: StateIssuing, Restored: true})
}

// RestoreDAC is the transition "restore-dac": a dac-issued entry brought
// back. The record goes into the indexes like any DAC (one per key, per
// serial, per batch index; the station's count), without its DER, and the
// ceremony's issued count moves on.
func RestoreDAC(tx *bbolt.Tx, r *DACRecord) error {
	if _, err := transition(tx, "restore-dac", r.Batch, []string{StateIssuing}, func(c *Ceremony) error {
		c.Issued++
		if c.Accepted < c.Issued {
			c.Accepted = c.Issued
		}
		c.Restored = true
		return nil
	}); err != nil {
		return err
	}
	return putDAC(tx, r, true)
}

// RestoreRefused is the transition "restore-refusal": a csr-refused entry
// brought back.
func RestoreRefused(tx *bbolt.Tx, batchID string, rf Refusal) error {
	if _, err := transition(tx, "restore-refusal", batchID, []string{StateIssuing}, func(c *Ceremony) error {
		c.Refused++
		c.Restored = true
		return nil
	}); err != nil {
		return err
	}
	return PutRefusal(tx, batchID, rf)
}

// RestoreFinished is the transition "restore-finish": a ceremony-finished
// entry brought back; its return bundle was delivered before the restore.
func RestoreFinished(tx *bbolt.Tx, batchID string) error {
	_, err := transition(tx, "restore-finish", batchID, []string{StateIssuing, StateIssued, StateFinished}, func(c *Ceremony) error {
		c.State, c.Restored, c.PendingOutputSHA256 = StateFinished, true, ""
		return nil
	})
	return err
}

// RestoreAbandoned is the transition "restore-abandon": a
// ceremony-abandoned entry brought back.
func RestoreAbandoned(tx *bbolt.Tx, batchID string, a Abandonment) error {
	if _, err := transition(tx, "restore-abandon", batchID, []string{StateIssuing, StateIssued, StateAbandoned}, func(c *Ceremony) error {
		c.State, c.AbandonedAt, c.AbandonedBy, c.AbandonReason, c.Restored = StateAbandoned, a.At, a.Officer, a.Reason, true
		return nil
	}); err != nil {
		return err
	}
	return releaseReservations(tx, batchID)
}
