package main

import (
	"fmt"
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/dacline/dacline/appliance/ceremony"
	"github.com/dacline/dacline/appliance/ceremony/crashtest"
	"github.com/dacline/dacline/shared/testenv"
)

// TestMain lets testscript run this program in-process as the "appliance" command.
func TestMain(m *testing.M) {
	// The scripts and the chaos tests (which run this test binary as their
	// `appliance`) stop a ceremony at a named point with DACLINE_TEST_CRASH_AT;
	// the appliance program itself has no such hook.
	if at := os.Getenv(crashtest.Env); at != "" {
		hook, err := crashtest.Hook(at)
		if err != nil {
			fmt.Fprintln(os.Stderr, "appliance:", err)
			os.Exit(2)
		}
		ceremony.CrashHook = hook
	}
	testscript.Main(m, map[string]func(){
		"test-issue":   func() { os.Exit(testIssueMain()) },
		"appliance":    func() { os.Exit(run()) },
		"test-station": func() { os.Exit(testStationMain()) },
		"test-line":    func() { os.Exit(testLineMain()) },
		"test-enroll":  func() { os.Exit(testEnrollMain()) },
	})
}

// TestScripts runs the CLI behaviour scripts in testdata/script: each reads as
// documentation of what a user sees.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:   "testdata/script",
		Setup: scriptSetup,
		// [ci]: under CI (testenv.CI) a script never skips for a missing
		// tool: `[!exec:openssl] [!ci] skip` lets the openssl step fail.
		Condition: func(cond string) (bool, error) {
			if cond == "ci" {
				return testenv.CI(), nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
	})
}
