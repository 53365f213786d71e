package ceremony

import (
	"crypto/x509"
	"errors"
	"fmt"

	"go.etcd.io/bbolt"

	"github.com/dacline/dacline/appliance/issuance"
)

// An appliance may hold several PAIs (one per VID or product line). The
// ceremony signs a whole batch with one PAI, resolved once per ceremony by
// the caller (appliance sign) from the batch's product: BatchProduct gives
// it. CSR lines of a product that PAI does not cover are refused
// (vid-pid-not-in-pai), so a station building several products sends a
// batch per PAI, and the return bundle's pai.der is the chain of every DAC
// in it. A ceremony already under way keeps the PAI it started with:
// BatchIssuer names it from the DACs already issued.

var errFirstLine = errors.New("first line read")

// BatchProduct is the product of the batch's first CSR line (its own
// VID/PID, or the labels'); ok is false for a batch without lines.
func BatchProduct(b *Batch) (vid, pid uint16, ok bool, err error) {
	err = b.Source.Each(func(r Request) error {
		vid, pid = r.VID, r.PID
		return errFirstLine
	})
	if errors.Is(err, errFirstLine) {
		return vid, pid, true, nil
	}
	return 0, 0, false, err
}

// BatchIssuer returns a DAC already issued for batchID (nil when none): the
// ceremony is resumed or reproduced with the PAI that issued it.
func BatchIssuer(db *bbolt.DB, batchID string) (*x509.Certificate, error) {
	var dac *x509.Certificate
	err := db.View(func(tx *bbolt.Tx) error {
		err := issuance.BatchDACs(tx, batchID, func(r *issuance.DACRecord) error {
			if len(r.DER) == 0 {
				return nil // rebuilt from a log export: the record has no DER (Run refuses such a ceremony)
			}
			c, err := x509.ParseCertificate(r.DER)
			if err != nil {
				return fmt.Errorf("batch %s csr %d: stored dac: %w", batchID, r.Index, err)
			}
			dac = c
			return errFirstLine
		})
		if errors.Is(err, errFirstLine) {
			return nil
		}
		return err
	})
	return dac, err
}
