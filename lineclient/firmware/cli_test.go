package firmware_test

import (
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCommandLine: what dacline-module says and how it exits when it cannot
// serve (2: bad usage; 1: refused), and that --help is not an error.
func TestCommandLine(t *testing.T) {
	bin := buildFirmware(t)
	dir := filepath.Join(t.TempDir(), "chip")
	m := startModule(t, bin, dir, "--mac", "02:DA:C1:00:00:09")
	held := m.Dir
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--help"}, 0, "usage: dacline-module --state DIR"},
		{[]string{}, 2, "--state DIR is required"},
		{[]string{"--state"}, 2, "--state needs a value"},
		{[]string{"--state", dir, "--bogus", "1"}, 2, "unknown flag --bogus"},
		{[]string{"--state", dir, "--mac", "02:DA:C1"}, 2, "wants 12 hex digits"},
		{[]string{"--state", dir, "--key-storage", "tpm"}, 2, "plaintext, efuse or derived"},
		{[]string{"--state", held}, 1, "in use by another dacline-module"},
		{[]string{"--state", filepath.Join(t.TempDir(), "no", "such")}, 1, "create directory"},
	} {
		out, err := exec.Command(bin, tc.args...).CombinedOutput()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		}
		if code != tc.code || !strings.Contains(string(out), tc.want) {
			t.Errorf("dacline-module %v: exit %d, output %q; want exit %d and %q", tc.args, code, out, tc.code, tc.want)
		}
	}
	// Another MAC on the same chip is refused, with a hint.
	m.Stop(t)
	out, err := exec.Command(bin, "--state", dir, "--mac", "02:DA:C1:00:00:0A").CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), "hint: use another --state directory") {
		t.Errorf("another --mac on the same chip: %v\n%s", err, out)
	}
}
