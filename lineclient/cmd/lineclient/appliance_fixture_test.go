package main

import (
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/dacline/dacline/airgap-bundles/bundle/bundletest"
)

// writeApplianceFixture gives every script a throwaway appliance: $WORK/appliance.id
// (public identity, as `appliance identity` writes it) and $WORK/appliance.agekey (its age
// identity, so scripts can open bundles addressed to the appliance with the age CLI).
func writeApplianceFixture(env *testscript.Env) error {
	a, err := bundletest.Generate("appliance-1")
	if err != nil {
		return err
	}
	return a.WriteFiles(env.WorkDir)
}
