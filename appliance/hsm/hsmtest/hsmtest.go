// Package hsmtest gives tests a real, throwaway SoftHSM2 token.
//
// NewSoftHSMToken writes a softhsm2.conf into a temporary directory, points
// SOFTHSM2_CONF at it for the rest of the test (t.Setenv, so such tests cannot
// run in parallel) and initialises a token with softhsm2-util. The test PINs are
// constants on softhsm2-util's command line: acceptable for a throwaway token,
// never for a real one (dacline itself initialises tokens through C_InitToken).
package hsmtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/dacline/dacline/appliance/hsm"
	"github.com/dacline/dacline/shared/testenv"
)

// Throwaway PINs of every test token.
const (
	PIN   = "1234-test-pin"
	SOPIN = "5678-test-so-pin"
	Label = "dacline-test"
)

// Available reports whether SoftHSM2 and softhsm2-util are installed.
func Available() bool {
	if _, err := os.Stat(hsm.DefaultModule); err != nil {
		return false
	}
	_, err := exec.LookPath("softhsm2-util")
	return err == nil
}

// Require skips the test when SoftHSM2 is missing, unless it runs under CI
// (testenv.CI) or DACLINE_REQUIRE_SOFTHSM is set, where it fails instead.
func Require(t testing.TB) {
	t.Helper()
	if Available() {
		return
	}
	if os.Getenv("DACLINE_REQUIRE_SOFTHSM") != "" {
		t.Fatal("SoftHSM2 is required (DACLINE_REQUIRE_SOFTHSM is set) but not installed; run 'just setup'")
	}
	testenv.Missing(t, "SoftHSM2 (%s and softhsm2-util) not installed", hsm.DefaultModule)
}

// WriteConf writes a softhsm2.conf with its own token directory under dir and
// returns its path.
func WriteConf(t testing.TB, dir string) string {
	t.Helper()
	tokens := filepath.Join(dir, "tokens")
	if err := os.MkdirAll(tokens, 0o700); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "softhsm2.conf")
	if err := os.WriteFile(conf, []byte(hsm.SoftHSMConfig(tokens)), 0o600); err != nil {
		t.Fatal(err)
	}
	return conf
}

// InitToken initialises a token labelled label with the test PINs under conf.
func InitToken(t testing.TB, conf, label string) {
	t.Helper()
	cmd := exec.Command("softhsm2-util", "--init-token", "--free", "--label", label, "--so-pin", SOPIN, "--pin", PIN)
	cmd.Env = append(os.Environ(), "SOFTHSM2_CONF="+conf)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("softhsm2-util --init-token: %v\n%s", err, out)
	}
}

// NewSoftHSMToken creates a temporary SoftHSM2 token directory with one token
// labelled Label, sets SOFTHSM2_CONF for the test, and returns the conf path, the
// label and the PIN.
func NewSoftHSMToken(t testing.TB) (conf, label, pin string) {
	t.Helper()
	Require(t)
	conf = WriteConf(t, t.TempDir())
	InitToken(t, conf, Label)
	if tt, ok := t.(interface{ Setenv(string, string) }); ok {
		tt.Setenv("SOFTHSM2_CONF", conf)
	}
	return conf, Label, PIN
}

// Open opens the test token as a Config with SoftHSMConf set, closing it when
// the test ends.
func Open(t testing.TB) (*hsm.Token, hsm.Config) {
	t.Helper()
	conf, label, pin := NewSoftHSMToken(t)
	cfg := hsm.Config{ModulePath: hsm.DefaultModule, TokenLabel: label, SoftHSMConf: conf}
	tok, err := hsm.Open(cfg, []byte(pin))
	if err != nil {
		t.Fatalf("open SoftHSM2 test token: %v", err)
	}
	t.Cleanup(func() { tok.Close() })
	return tok, cfg
}
