package ceremony

import (
	"encoding/hex"
	"fmt"

	"go.etcd.io/bbolt"

	"github.com/dacline/dacline/appliance/issuance"
	"github.com/dacline/dacline/shared/auditlog"
)

// ErrRestoredCeremony: the batch's ceremony was rebuilt from a log export
// after a restore; it can be abandoned, never resumed or reproduced.
var ErrRestoredCeremony = issuance.ErrRestored

// RestoreFromEntry rebuilds the issuance store's part of one audit log entry
// that a restored home lost (appliance log restore hands every entry it
// brings back, in order, inside its transaction): ceremonies, DACs (their
// keys and serials, without the certificates), refusals, finishes and
// abandons. Afterwards the store again refuses every key the log says was
// certified, and every batch the log says was signed.
func RestoreFromEntry(tx *bbolt.Tx, e auditlog.Entry) error {
	switch e := e.(type) {
	case *auditlog.CeremonyStarted:
		return issuance.RestoreStarted(tx, e.BatchID, e.Station, e.Officer)
	case *auditlog.DACIssued:
		serial, err := hex.DecodeString(e.Serial)
		if err != nil {
			return fmt.Errorf("serial: %w", err)
		}
		spki, err := hex.DecodeString(e.SPKISHA256)
		if err != nil || len(spki) != 32 {
			return fmt.Errorf("spki_sha256 %q", e.SPKISHA256)
		}
		r := &issuance.DACRecord{Serial: serial, Batch: e.BatchID, Index: uint32(e.Index), Station: e.Station,
			VID: e.VID, PID: e.PID, LogIndex: uint64(e.Seq), IssuedAt: e.Time.Time}
		copy(r.SPKIHash[:], spki)
		return issuance.RestoreDAC(tx, r)
	case *auditlog.CSRRefused:
		return issuance.RestoreRefused(tx, e.BatchID, issuance.Refusal{Index: uint32(e.Index), ModuleID: e.ModuleID,
			VID: e.VID, PID: e.PID, Reason: e.Reason, LogIndex: uint64(e.Seq)})
	case *auditlog.CeremonyFinished:
		return issuance.RestoreFinished(tx, e.BatchID)
	case *auditlog.CeremonyAbandoned:
		return issuance.RestoreAbandoned(tx, e.BatchID, issuance.Abandonment{Officer: e.Officer, Reason: e.Reason, At: e.Time.Time})
	}
	return nil
}
