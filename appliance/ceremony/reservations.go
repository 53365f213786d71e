package ceremony

import (
	"fmt"

	"go.etcd.io/bbolt"

	"github.com/dacline/dacline/appliance/issuance"
)

// Reservations: exactly once across interrupted ceremonies.
//
// A ceremony reserves the keys of its accepted CSRs when it starts
// (issuance.StartCeremony) and holds them until each gets its DAC or the
// officer abandons the ceremony. A later batch that carries a reserved key
// refuses that CSR (ReasonReserved), so the interrupted ceremony can always
// be resumed and finish with the decisions it recorded at start.
//
// We chose to refuse in the later batch rather than have the resumed
// ceremony refuse the key when it comes back: the later batch decides
// everything in its own check, before its start transaction, exactly like
// every other refusal; the resumed ceremony never re-decides anything, so
// its recorded counts, refusals and return-bundle manifest stay what they
// were at start. The other way would add refusals to a started ceremony and
// change its counts mid-way.
//
// The same reservations count against the station's quota: DACs an
// unfinished ceremony may still issue are counted with those issued
// (issuance.StationReserved), so resumed ceremonies cannot together pass
// max_dacs.

// refuseReserved refuses a key reserved by another batch's unfinished
// ceremony; it reports whether it did.
func refuseReserved(tx *bbolt.Tx, batchID string, spki [32]byte, refuse func(detail string)) (bool, error) {
	owner, err := issuance.ReservedBy(tx, spki)
	if err != nil || owner == "" || owner == batchID {
		return false, err
	}
	refuse(fmt.Sprintf("public key reserved by the unfinished ceremony of batch %s (finish it, or abandon it with 'appliance ceremony abandon %s')", owner, owner))
	return true, nil
}

// quotaUsed is what counts against a station's max_dacs: DACs issued plus
// DACs its unfinished ceremonies may still issue.
func quotaUsed(db *bbolt.DB, station string) (issued, reserved uint64, err error) {
	err = db.View(func(tx *bbolt.Tx) error {
		if issued, err = issuance.StationIssued(tx, station); err != nil {
			return err
		}
		reserved, err = issuance.StationReserved(tx, station)
		return err
	})
	return issued, reserved, err
}
