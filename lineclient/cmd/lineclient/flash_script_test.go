package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/dacline/dacline/lineclient/internal/linetest"
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
			"signed-c3":    cmdSignedC3,
		},
	})
}

// sim-download [--chip NAME] [--secure-download]: start one simulated
// module in the ROM loader; $PORT is its jig. It stops when the script ends.
func cmdSimDownload(ts *testscript.TestScript, neg bool, args []string) {
	fs := flag.NewFlagSet("sim-download", flag.ContinueOnError)
	chip := fs.String("chip", "ESP32-C3", "")
	state := fs.String("state", "simstate", "")
	sdm := fs.Bool("secure-download", false, "")
	if err := fs.Parse(args); err != nil {
		ts.Fatalf("sim-download: %v", err)
	}
	s, err := sim.Start(sim.Options{Count: 1, Seed: 1, Timing: sim.TimingFast, ChipModel: *chip,
		StateDir: ts.MkAbs(*state), Download: sim.Download{Enabled: true, SecureDownload: *sdm}})
	if err != nil {
		ts.Fatalf("sim-download: %v", err)
	}
	ts.Defer(func() { s.Close() })
	ts.Setenv("PORT", s.Ports()[0])
}

// signed-c3 IMAGE DIGEST: Espressif's ESP32-C3 test bootloader signed
// (Secure Boot V2, ECDSA P-256) with a fresh key; DIGEST gets the key
// digest as 64 hex digits.
func cmdSignedC3(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: signed-c3 IMAGE DIGEST")
	}
	img, err := os.ReadFile(ts.Getenv("VECTORS") + "/bootloader_esp32c3_unsigned.bin")
	ts.Check(err)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ts.Check(err)
	signed, kd := linetest.SignESPImageECDSA(img, key)
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), signed, 0o644))
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), []byte(hex.EncodeToString(kd[:])), 0o644))
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
