package main

import (
	"fmt"
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/dacline/dacline/shared/testenv"
)

// TestMain lets testscript run this program in-process as the "appliance" command.
func TestMain(m *testing.M) {
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
