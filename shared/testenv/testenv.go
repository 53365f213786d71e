// Package testenv lets tests that need a system tool (openssl, age,
// softhsm2, pkcs11-tool …) or facility (a PTY) say so in one way.
//
// Invariant: a check that cannot run is never reported as passing in CI.
// Outside CI a missing prerequisite skips the test with a message naming it
// and `just setup`, which installs every tool the tests use; under CI (the
// environment variable CI set to a true value, as .ci/run runs) it fails the
// test instead, so a machine without the tool cannot turn checks into skips.
package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"testing"
)

// CI reports whether the tests run under CI: CI=true (or 1, t, TRUE …).
func CI() bool {
	ci, err := strconv.ParseBool(os.Getenv("CI"))
	return err == nil && ci
}

// Missing stops t because a prerequisite is missing: t.Fatal under CI,
// t.Skip elsewhere. The message says what is missing.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if CI() {
		t.Fatalf("%s: required under CI (CI=%s); `just setup` installs it", msg, os.Getenv("CI"))
		return
	}
	t.Skipf("%s (run `just setup`)", msg)
}

// RequireTool stops t (Missing) unless every named program is on PATH.
func RequireTool(t testing.TB, names ...string) {
	t.Helper()
	for _, name := range names {
		if _, err := exec.LookPath(name); err != nil {
			Missing(t, "%s not installed", name)
		}
	}
}

// RequireFile stops t (Missing) unless path exists; what names it for people
// (e.g. "SoftHSM2 (libsofthsm2.so)").
func RequireFile(t testing.TB, path, what string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		Missing(t, "%s not installed: %v", what, err)
	}
}
