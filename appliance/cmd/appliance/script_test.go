package main

import (
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
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
	})
}
