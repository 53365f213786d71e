package main

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"os"

	"filippo.io/age"
	"github.com/urfave/cli/v2"

	"github.com/dacline/dacline/airgap-bundles/bundle"
	"github.com/dacline/dacline/appliance/home"
	"github.com/dacline/dacline/shared/matter"
)

// applianceFingerprint is the fingerprint of the appliance identity an
// audit verifies against, as on the enrollment sheet: that of --key
// (appliance.id), or else the one the appliance home's public parts give
// (no PIN needed). Empty when it cannot be computed (a home without a PAI).
func applianceFingerprint(c *cli.Context) string {
	if path := c.String("key"); path != "" {
		id, err := bundle.ReadApplianceIdentity(path)
		if err != nil {
			return ""
		}
		return id.Fingerprint
	}
	h, err := home.Open(c.String("home"))
	if err != nil {
		return ""
	}
	defer h.Close()
	der, err := base64.StdEncoding.DecodeString(h.Config.Keys.Signing.PublicKey)
	if err != nil {
		return ""
	}
	rcpt, err := age.ParseX25519Recipient(h.Config.AgeRecipient)
	if err != nil {
		return ""
	}
	var certs [2][]byte
	for i, name := range []string{home.PAIFile, home.PAAFile} {
		b, err := os.ReadFile(h.Path(name))
		if err != nil {
			return ""
		}
		c, err := matter.ParseCertificate(b)
		if err != nil {
			return ""
		}
		certs[i] = c.Raw
	}
	k, err := x509.ParsePKIXPublicKey(der)
	pub, ok := k.(ed25519.PublicKey)
	if err != nil || !ok {
		return ""
	}
	id, err := bundle.NewApplianceIdentity(h.Config.Name, rcpt, pub, certs[0], certs[1])
	if err != nil {
		return ""
	}
	return id.Fingerprint
}
