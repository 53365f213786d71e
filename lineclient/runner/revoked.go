package runner

import (
	"crypto/x509"
	"fmt"

	"github.com/dacline/dacline/lineclient/station"
	"github.com/dacline/dacline/shared/matter"
)

// revoked fails a module whose DAC is on the station's CRL (Provisioner.CRL)
// before any byte of its credentials is written (and, for a module that
// already holds them, before it is attested and locked): a revoked DAC must
// never reach a device that ships. The failure is final, like every failure; the DAC shows as
// unused in the manifest. It returns ok=false when the module was failed.
func (p *Provisioner) revoked(mac string, creds *station.Credentials) (outcome, bool, error) {
	if p.CRL == nil {
		return outcome{}, true, nil
	}
	dac, err := x509.ParseCertificate(creds.DAC)
	if err != nil {
		return outcome{}, false, fmt.Errorf("module %s: stored dac: %w", mac, err)
	}
	e := matter.RevokedEntry(p.CRL, dac.SerialNumber)
	if e == nil {
		return outcome{}, true, nil
	}
	detail := fmt.Sprintf("dac serial %X is revoked by crl number %s; it was not written", dac.SerialNumber, p.CRL.Number)
	m, err := p.Store.Fail(mac, station.ReasonDACRevoked, detail)
	if err != nil {
		return outcome{}, false, err
	}
	return outcome{step: StepFailed, settled: true, worked: true, module: m}, false, fmt.Errorf("%w: %s", errModuleFailed, detail)
}
