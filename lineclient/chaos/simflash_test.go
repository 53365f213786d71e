package chaos

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/dacline/dacline/lineclient/esp/securecert"
	"github.com/dacline/dacline/lineclient/manifest"
)

// TestSimKilledFlashKeepsKeys SIGKILLs the simulator — the modules' side —
// at random instants while the station generates keys and writes
// credentials, and restarts it on the same state directory. After every
// kill, each module's flash image (with an interrupted rewrite finished
// from its journal, as the next boot would) still starts with the key
// entry it had once written, byte for byte, and that key is the module's.
// At the end every finished module's image passes `lineclient module
// inspect` against the PAA, the CD signer and the manifest.
func TestSimKilledFlashKeepsKeys(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos: builds and drives the programs")
	}
	kills := envInt(t, "DACLINE_CHAOS_SIMFLASH_KILLS", 4)
	const jigs = 3
	r := rng(t)
	f := newFactory(t)
	seed := r.Uint64() >> 1
	seen := map[string][]byte{} // mac → the key entry first found in its image
	var broken []string
	check := func(when string) {
		mods, err := readSimModules(filepath.Join(f.dir, "sim-state"))
		if err != nil {
			t.Fatal(err)
		}
		for mac, m := range mods {
			sc, err := imageSecureCert(filepath.Join(f.dir, "sim-state"), mac)
			if err != nil {
				broken = append(broken, fmt.Sprintf("%s: module %s: %v", when, mac, err))
				continue
			}
			if prev, ok := seen[mac]; ok {
				if !bytes.HasPrefix(sc, prev) {
					broken = append(broken, fmt.Sprintf("%s: module %s: the key entry written earlier is gone or changed", when, mac))
				}
				continue
			}
			p, _ := securecert.Parse(sc) // a torn append after the key is fine: the next boot completes it
			if p == nil || len(p.Entries) == 0 || p.Entries[0].Type != securecert.TypePrivKey {
				continue // key not written yet (the state is saved first, the image follows)
			}
			e := p.Entries[0]
			k, err := x509.ParseECPrivateKey(e.Data)
			sk, serr := x509.ParsePKCS8PrivateKey(m.KeyPKCS8)
			ek, _ := sk.(*ecdsa.PrivateKey)
			if err != nil || serr != nil || ek == nil || !k.PublicKey.Equal(&ek.PublicKey) {
				broken = append(broken, fmt.Sprintf("%s: module %s: the key in flash is not the module's key", when, mac))
				continue
			}
			seen[mac] = bytes.Clone(sc[:e.Size()])
		}
	}
	// phase runs the station against a simulator that is killed k times at
	// a random instant, then once until idle.
	phase := func(name string, k int) {
		for range k {
			s := f.startSim(jigs, "", seed)
			c := f.cmd("lineclient", f.st, s.runArgs(false)...)
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Duration(200+r.IntN(1500)) * time.Millisecond)
			_ = s.cmd.Process.Signal(syscall.SIGKILL)
			_ = s.cmd.Wait()
			s.stderr.Close()
			_ = c.Process.Signal(syscall.SIGTERM)
			_ = c.Wait()
			check(name + " after a simulator kill")
		}
		s := f.startSim(jigs, "", seed)
		if _, err := f.try(f.cmd("lineclient", f.st, s.runArgs(true)...)); err != nil {
			t.Fatalf("%s: lineclient run --until-idle: %v", name, err)
		}
		s.stop()
		check(name + " after a clean stop")
	}
	phase("keygen", kills/2)
	bundle := f.exportBatch()
	res := f.sign(bundle)
	f.lineclient("batch", "import", res.OutputPath)
	phase("write/attest/lock", kills-kills/2)

	manifestPath := filepath.Join(f.dir, "manifest.csv")
	f.lineclient("manifest", "--out", manifestPath)
	mf, err := os.Open(manifestPath)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := manifest.ReadAll(mf)
	mf.Close()
	if err != nil {
		t.Fatal(err)
	}
	done := 0
	for _, row := range rows {
		if row.Unused() {
			continue
		}
		done++
		img := filepath.Join(f.dir, "sim-state", "flash-"+macKey(row.MAC)+".bin")
		c := exec.Command(filepath.Join(binDir, "lineclient"), "module", "inspect", img, "--paa", filepath.Join(f.app, "paa.pem"),
			"--cd-signer", filepath.Join(f.usb, "cd-signer-cert.pem"), "--manifest", manifestPath)
		if out, err := c.CombinedOutput(); err != nil {
			broken = append(broken, fmt.Sprintf("module %s: module inspect: %v\n%s", row.MAC, err, clip(string(out), 30)))
		}
	}
	if done != jigs {
		broken = append(broken, fmt.Sprintf("%d of %d modules done", done, jigs))
	}
	for _, b := range broken {
		t.Error(b)
	}
	t.Logf("chaos: simulator SIGKILLed %d times during keygen and writes; %d modules kept the key entry they wrote, %d finished images pass module inspect; %d broken",
		kills, len(seen), done, len(broken))
}

// imageSecureCert reads a module's esp_secure_cert region, with a pending
// journal applied the way the simulator's next boot applies it.
func imageSecureCert(dir, mac string) ([]byte, error) {
	img, err := os.ReadFile(filepath.Join(dir, "flash-"+mac+".bin"))
	if err != nil {
		return nil, err
	}
	if j, err := os.ReadFile(filepath.Join(dir, "flash-"+mac+".journal")); err == nil && len(j) >= 8 {
		off, n := binary.LittleEndian.Uint32(j), binary.LittleEndian.Uint32(j[4:])
		if int(n) == len(j)-8 && int(off)+int(n) <= len(img) {
			copy(img[off:], j[8:])
		}
	}
	if len(img) < 0xF000 {
		return nil, fmt.Errorf("image is %d bytes", len(img))
	}
	return img[0xD000:0xF000], nil
}
