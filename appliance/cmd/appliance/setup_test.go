package main

import (
	"os"
	"path/filepath"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/dacline/dacline/appliance/hsm"
)

// scriptPIN is the throwaway HSM user PIN every script's tokens get.
const scriptPIN = "1234-script-pin"

// scriptSetup prepares the environment every appliance script starts with.
func scriptSetup(env *testscript.Env) error {
	env.Setenv("DACLINE_HOME", env.WorkDir+"/home")
	// A SoftHSM2 configuration of the script's own, for tokens made with
	// softhsm2-util in the script ('appliance init --new-softhsm-token' keeps its
	// token inside the home instead), and the throwaway PIN.
	dir := filepath.Join(env.WorkDir, "softhsm")
	if err := os.MkdirAll(filepath.Join(dir, "tokens"), 0o700); err != nil {
		return err
	}
	conf := filepath.Join(dir, "softhsm2.conf")
	if err := os.WriteFile(conf, []byte(hsm.SoftHSMConfig(filepath.Join(dir, "tokens"))), 0o600); err != nil {
		return err
	}
	env.Setenv("SOFTHSM2_CONF", conf)
	env.Setenv(hsm.PINEnv, scriptPIN)
	env.Setenv("HSM_MODULE", hsm.DefaultModule)
	return nil
}
