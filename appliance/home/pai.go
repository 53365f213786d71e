package home

import "crypto/x509"

// InstalledPAI reads pai.pem without the token (for commands that only
// publish, such as `appliance crl export`); nil, ErrNoPAI before a PAI is
// installed.
func (h *Home) InstalledPAI() (*x509.Certificate, error) {
	c, err := h.readCert(PAIFile)
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, ErrNoPAI
	}
	return c, nil
}
