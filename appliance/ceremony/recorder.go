package ceremony

import (
	"go.etcd.io/bbolt"

	"github.com/dacline/dacline/appliance/issuance"
)

// Recorder writes the ceremony's audit log entries. Every Append method runs
// inside the caller's bbolt transaction, so an entry commits together with the
// issuance-store change it describes, and returns the entry's log index.
// AuditRecorder (audit.go) implements it over appliance/applog.
type Recorder interface {
	CeremonyStarted(tx *bbolt.Tx, c *issuance.Ceremony) (uint64, error)
	CSRRefused(tx *bbolt.Tx, c *issuance.Ceremony, r issuance.Refusal, moduleID string) (uint64, error)
	DACIssued(tx *bbolt.Tx, c *issuance.Ceremony, d *issuance.DACRecord) (uint64, error)
	BundleWritten(tx *bbolt.Tx, c *issuance.Ceremony, fileName, fileSHA256 string) (uint64, error)
	CeremonyFinished(tx *bbolt.Tx, c *issuance.Ceremony) (uint64, error)
	// CeremonyAbandoned records an abandoned ceremony (c already in state
	// abandoned) with the serials (canonical hex) of its undelivered DACs.
	CeremonyAbandoned(tx *bbolt.Tx, c *issuance.Ceremony, serials []string) (uint64, error)
	// Checkpoint signs (or returns the identical, already signed) checkpoint
	// of the whole log and returns the signed note and its tree size.
	Checkpoint() (note []byte, size uint64, err error)
	// Prover checks the signed checkpoint note of tree size size against
	// the log and returns a function writing the c2sp.org/tlog-proof@v1
	// text proving entry index against it, reading in tx (a read
	// transaction of the database, or nil). The function is used by one
	// goroutine at a time.
	Prover(note []byte, size uint64) (func(tx *bbolt.Tx, index uint64) ([]byte, error), error)
}
