package ceremony

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/note"

	"github.com/dacline/dacline/appliance/applog"
	"github.com/dacline/dacline/appliance/issuance"
	"github.com/dacline/dacline/shared/auditlog"
)

// AuditRecorder is the Recorder over the appliance audit log: entries go into
// the caller's transaction with applog.Log.AppendTx, checkpoints are signed
// with the appliance's Ed25519 key (as a note.Signer).
type AuditRecorder struct {
	Log    *applog.Log
	Signer note.Signer
}

func (a AuditRecorder) append(tx *bbolt.Tx, e auditlog.Entry) (uint64, error) {
	i, err := a.Log.AppendTx(tx, e)
	if err != nil {
		return 0, err
	}
	return uint64(i), nil
}

func (a AuditRecorder) CeremonyStarted(tx *bbolt.Tx, c *issuance.Ceremony) (uint64, error) {
	return a.append(tx, &auditlog.CeremonyStarted{
		BatchID: c.BatchID, BundleSHA256: c.BundleSHA256, Officer: c.Officer,
		PolicySHA256: c.PolicySHA256, Station: c.Station,
	})
}

func (a AuditRecorder) CSRRefused(tx *bbolt.Tx, c *issuance.Ceremony, r issuance.Refusal, moduleID string) (uint64, error) {
	return a.append(tx, &auditlog.CSRRefused{
		BatchID: c.BatchID, Index: int(r.Index), ModuleID: moduleID,
		Reason: r.Reason + ": " + r.Detail, Station: c.Station, VID: r.VID, PID: r.PID,
	})
}

func (a AuditRecorder) CeremonyAbandoned(tx *bbolt.Tx, c *issuance.Ceremony, serials []string) (uint64, error) {
	e := &auditlog.CeremonyAbandoned{BatchID: c.BatchID, Issued: c.Issued, Officer: c.AbandonedBy,
		Reason: c.AbandonReason, Serials: []string{}, Station: c.Station}
	if len(serials) <= auditlog.MaxAbandonedSerials {
		e.Serials = serials
	}
	return a.append(tx, e)
}

func (a AuditRecorder) DACIssued(tx *bbolt.Tx, c *issuance.Ceremony, d *issuance.DACRecord) (uint64, error) {
	sum := sha256.Sum256(d.DER)
	return a.append(tx, &auditlog.DACIssued{
		BatchID: c.BatchID, DACSHA256: hex.EncodeToString(sum[:]), Index: int(d.Index),
		VID: d.VID, PID: d.PID, Serial: hex.EncodeToString(d.Serial),
		SPKISHA256: issuance.HexHash(d.SPKIHash), Station: c.Station,
	})
}

func (a AuditRecorder) BundleWritten(tx *bbolt.Tx, c *issuance.Ceremony, name, sum string) (uint64, error) {
	return a.append(tx, &auditlog.BundleWritten{BatchID: c.BatchID, BundleSHA256: sum, FileName: name})
}

func (a AuditRecorder) CeremonyFinished(tx *bbolt.Tx, c *issuance.Ceremony) (uint64, error) {
	return a.append(tx, &auditlog.CeremonyFinished{BatchID: c.BatchID, Issued: c.Issued, Refused: c.Refused, Station: c.Station})
}

func (a AuditRecorder) Checkpoint() ([]byte, uint64, error) {
	signed, err := a.Log.Checkpoint(a.Signer)
	if err != nil {
		return nil, 0, err
	}
	cp, err := auditlog.SplitSigned(signed)
	if err != nil {
		return nil, 0, fmt.Errorf("signed checkpoint: %w", err)
	}
	return signed, uint64(cp.Size), nil
}

func (a AuditRecorder) Prover(signed []byte, size uint64) (func(*bbolt.Tx, uint64) ([]byte, error), error) {
	p, err := a.Log.NewProver(signed)
	if err != nil {
		return nil, err
	}
	if uint64(p.Size()) != size {
		return nil, fmt.Errorf("checkpoint has size %d, the ceremony recorded %d", p.Size(), size)
	}
	return func(tx *bbolt.Tx, index uint64) ([]byte, error) { return p.Proof(tx, int64(index)) }, nil
}
