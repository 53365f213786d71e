package home

import (
	"crypto/ed25519"
	"errors"
	"fmt"

	"github.com/dacline/dacline/airgap-bundles/bundle"
)

// PublicIdentity builds the appliance's public identity (file appliance.id,
// format bundle.ApplianceIdentity) from the unlocked token: the age recipient of
// the sealed identity (decrypted and checked), the Ed25519 signing key, and the
// installed PAI and PAA. It carries no secret.
func (u *Unlocked) PublicIdentity() (*bundle.ApplianceIdentity, error) {
	if u.PAI == nil || u.PAA == nil {
		return nil, fmt.Errorf("appliance identity: %w (run 'appliance pai create-test' or 'appliance pai import')", ErrNoPAI)
	}
	id, err := u.AgeIdentity()
	if err != nil {
		return nil, err
	}
	pub, ok := u.Signing.Public().(ed25519.PublicKey)
	if !ok {
		return nil, errors.New("appliance identity: the signing key is not Ed25519")
	}
	ai, err := bundle.NewApplianceIdentity(u.Home.Config.Name, id.Recipient(), pub, u.PAI.Raw, u.PAA.Raw)
	if err != nil {
		return nil, fmt.Errorf("appliance identity: %w", err)
	}
	return ai, nil
}
