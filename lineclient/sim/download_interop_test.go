package sim_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dacline/dacline/lineclient/esp/romloader"
	"github.com/dacline/dacline/lineclient/sim"
	"github.com/dacline/dacline/shared/testenv"
)

// esptoolJS installs the pinned esptool-js (testdata/esptooljs, npm ci
// from the lock file) when node_modules is missing, and returns the
// directory of the interop script.
func esptoolJS(t *testing.T) string {
	t.Helper()
	testenv.RequireTool(t, "node", "npm")
	dir, err := filepath.Abs(filepath.Join("testdata", "esptooljs"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "esptool-js", "package.json")); err != nil {
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			testenv.Missing(t, "npm ci in %s failed (esptool-js not installable): %v\n%s", dir, err, out)
		}
	}
	return dir
}

// TestEsptoolJSInterop drives the simulator's ROM loader with Espressif's
// own client: esptool-js connects, detects the chip (GET_SECURITY_INFO chip
// ID, falling back to the magic register), writes an image compressed and
// gets the chip's MD5 of the region, which must be the file's.
func TestEsptoolJSInterop(t *testing.T) {
	dir := esptoolJS(t)
	for _, chip := range []string{"ESP32-C3", "ESP32"} {
		t.Run(chip, func(t *testing.T) {
			s := startSim(t, sim.Options{Count: 1, Seed: 21, ChipModel: chip, Download: sim.Download{Enabled: true}})
			image := filepath.Join("..", "esp", "espimage", "testdata", "bootloader_esp32c3_unsigned.bin")
			want, err := os.ReadFile(image)
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("node", "interop.mjs", s.Ports()[0], "0x20000", mustAbs(t, image))
			cmd.Dir = dir
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("esptool-js: %v\n%s", err, stderr.String())
			}
			var res struct {
				Chip    string `json:"chip"`
				Stub    bool   `json:"stub"`
				FileMD5 string `json:"fileMD5"`
				ChipMD5 string `json:"chipMD5"`
			}
			var line []byte
			for _, l := range bytes.Split(out, []byte("\n")) {
				if r, ok := bytes.CutPrefix(l, []byte("RESULT ")); ok {
					line = r
				}
			}
			if err := json.Unmarshal(line, &res); err != nil {
				t.Fatalf("esptool-js output %q: %v", out, err)
			}
			if res.Chip != chip || res.Stub {
				t.Fatalf("esptool-js detected %q (stub %v), want %s through the ROM", res.Chip, res.Stub, chip)
			}
			// esptool-js hex-encodes the ROM's answer, which is itself 32 hex
			// digits (the ROM's MD5 form): decode once to get the digest.
			romForm, err := hex.DecodeString(res.ChipMD5)
			if err != nil || len(romForm) != 32 {
				t.Fatalf("chip MD5 %q is not the ROM's 32-hex-digit form", res.ChipMD5)
			}
			if got := strings.ToLower(string(romForm)); got != res.FileMD5 {
				t.Fatalf("chip MD5 %s, file MD5 %s", got, res.FileMD5)
			}
			fl, err := s.ModuleFlash(0)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(fl[0x20000:0x20000+len(want)], want) {
				t.Fatal("the module's flash does not hold the image esptool-js wrote")
			}
		})
	}
}

// TestEsptoolJSSeesABadWrite: the same run against a module whose flash
// takes every block with one bit wrong; esptool-js's MD5 then differs from
// the file's, so the interop test above could fail.
func TestEsptoolJSSeesABadWrite(t *testing.T) {
	dir := esptoolJS(t)
	s := startSim(t, sim.Options{Count: 1, Seed: 2, Download: sim.Download{Enabled: true, Faults: romloader.ServerFaults{BadWrite: 1}}})
	image := mustAbs(t, filepath.Join("..", "esp", "espimage", "testdata", "bootloader_esp32c3_unsigned.bin"))
	cmd := exec.Command("node", "interop.mjs", s.Ports()[0], "0x20000", image)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("esptool-js: %v", err)
	}
	var res struct{ FileMD5, ChipMD5 string }
	for _, l := range bytes.Split(out, []byte("\n")) {
		if r, ok := bytes.CutPrefix(l, []byte("RESULT ")); ok {
			_ = json.Unmarshal(r, &res)
		}
	}
	romForm, _ := hex.DecodeString(res.ChipMD5)
	if res.FileMD5 == "" || len(romForm) != 32 || string(romForm) == res.FileMD5 {
		t.Fatalf("bad writes not visible in the MD5: %+v", res)
	}
}

func mustAbs(t *testing.T, p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
