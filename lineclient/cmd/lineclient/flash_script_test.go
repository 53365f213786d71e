package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/dacline/dacline/lineclient/sim"
)

// TestFlashScripts runs the ROM-loader command scripts (testdata/flash)
// against a simulator in download mode started in the test process by the
// script command sim-download, which sets $PORT to its jig.
func TestFlashScripts(t *testing.T) {
	vectors, err := filepath.Abs("../../esp/espimage/testdata")
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir: "testdata/flash",
		Setup: func(env *testscript.Env) error {
			env.Setenv("VECTORS", vectors)
			return scriptSetup(env)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"sim-download": cmdSimDownload,
			"sameprefix":   cmdSamePrefix,
			"erased":       cmdErased,
		},
	})
}

// sim-download [--chip NAME] [--secure-download]: start one simulated
// module in the ROM loader; $PORT is its jig. It stops when the script ends.
func cmdSimDownload(ts *testscript.TestScript, neg bool, args []string) {
	fs := flag.NewFlagSet("sim-download", flag.ContinueOnError)
	chip := fs.String("chip", "ESP32-C3", "")
	sdm := fs.Bool("secure-download", false, "")
	if err := fs.Parse(args); err != nil {
		ts.Fatalf("sim-download: %v", err)
	}
	s, err := sim.Start(sim.Options{Count: 1, Seed: 1, Timing: sim.TimingFast, ChipModel: *chip,
		StateDir: ts.MkAbs("simstate"), Download: sim.Download{Enabled: true, SecureDownload: *sdm}})
	if err != nil {
		ts.Fatalf("sim-download: %v", err)
	}
	ts.Defer(func() { s.Close() })
	ts.Setenv("PORT", s.Ports()[0])
}

// sameprefix FILE1 FILE2 N: the first N bytes of both files are equal.
func cmdSamePrefix(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: sameprefix FILE1 FILE2 N")
	}
	a, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	b, err := os.ReadFile(ts.MkAbs(args[1]))
	ts.Check(err)
	n, err := strconv.Atoi(args[2])
	ts.Check(err)
	same := len(a) >= n && len(b) >= n && bytes.Equal(a[:n], b[:n])
	if same == neg {
		ts.Fatalf("first %d bytes of %s and %s: same=%v", n, args[0], args[1], same)
	}
}

// erased FILE: every byte of FILE is 0xFF.
func cmdErased(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: erased FILE")
	}
	b, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	if ok := len(b) > 0 && len(bytes.Trim(b, "\xff")) == 0; ok == neg {
		ts.Fatalf("%s erased=%v (%d bytes)", args[0], ok, len(b))
	}
	fmt.Fprintf(ts.Stdout(), "%d erased bytes\n", len(b))
}
