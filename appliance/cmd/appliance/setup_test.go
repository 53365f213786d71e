package main

import "github.com/rogpeppe/go-internal/testscript"

// scriptSetup prepares the environment every appliance script starts with.
func scriptSetup(env *testscript.Env) error {
	env.Setenv("DACLINE_HOME", env.WorkDir+"/home")
	return nil
}
