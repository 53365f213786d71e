package ceremony

import (
	"crypto/x509"
	"fmt"
	"time"

	"github.com/dacline/dacline/shared/matter"
)

// checkOutlives refuses, before anything is recorded, a ceremony whose DACs
// would be valid after their PAI: a DAC notAfter (from the policy) later than
// the PAI's notAfter. A DAC with the Matter "no well-defined expiration"
// notAfter (99991231235959Z, the policy default) is not refused: Matter
// gives such a DAC no end of its own, and its chain ends with the PAI's.
func checkOutlives(pai *x509.Certificate, dacNotAfter time.Time) error {
	if dacNotAfter.Equal(matter.NoExpiry) || !dacNotAfter.After(pai.NotAfter) {
		return nil
	}
	return fmt.Errorf("%w: DACs issued now would be valid until %s, the PAI %q only until %s",
		ErrDACOutlivesPAI, dacNotAfter.UTC().Format(time.RFC3339), pai.Subject.CommonName, pai.NotAfter.UTC().Format(time.RFC3339))
}
