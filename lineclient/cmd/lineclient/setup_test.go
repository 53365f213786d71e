package main

import "github.com/rogpeppe/go-internal/testscript"

// scriptSetup prepares the environment every lineclient script starts with.
func scriptSetup(env *testscript.Env) error {
	env.Setenv("DACLINE_HOME", env.WorkDir+"/home")
	if err := writeApplianceFixture(env); err != nil {
		return err
	}
	if err := writeCDFixture(env); err != nil {
		return err
	}
	if err := writeTestKeyCDFixture(env); err != nil {
		return err
	}
	return nil
}
