package firmware_test

import (
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/dacline/dacline/lineclient/esp/securecert"
	"github.com/dacline/dacline/lineclient/internal/linetest"
	"github.com/dacline/dacline/shared/lineproto"
)

// TestKeyStorageVariants provisions a module with each --key-storage option:
// the key must survive a power cycle (same SPKI digest), attestations must
// verify under the DAC, and esp_secure_cert must say where the key is —
// DER in PRIV_KEY, or an empty PRIV_KEY with the eFuse or derived flag and
// its SEC_CFG / salt entry — and no private key bytes in flash otherwise.
func TestKeyStorageVariants(t *testing.T) {
	bin := buildFirmware(t)
	lc := goBuild(t, "lineclient", "github.com/dacline/dacline/lineclient/cmd/lineclient")
	pki := linetest.NewPKI(t)
	for _, v := range []struct {
		name  string
		flags uint8
		extra securecert.Type
	}{{"plaintext", 0, 0}, {"efuse", 0x08, 6}, {"derived", 0x40, 5}} {
		t.Run(v.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "chip")
			m := startModule(t, bin, dir, "--key-storage", v.name)
			c := dial(t, m.Path, lineproto.ClientOptions{})
			cx := ctx(t)
			gk, err := c.GenerateKey(cx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := gk.CheckCSR(); err != nil {
				t.Fatal(err)
			}
			items := credentials(t, pki, gk.CSR)
			for _, it := range lineproto.KnownItems {
				if _, err := c.WriteItem(cx, it, items[it]); err != nil {
					t.Fatalf("write %s: %v", it, err)
				}
			}
			m.Kill() // power cut, then the same chip again
			m = startModule(t, bin, dir)
			c = dial(t, m.Path, lineproto.ClientOptions{})
			id, err := c.Identify(cx)
			if err != nil || id.KeySPKIHash != gk.SPKIHash || id.State != lineproto.StateCredentialsWritten {
				t.Fatalf("after power cycle: %v %+v", err, id)
			}
			var nonce [32]byte
			rand.Read(nonce[:])
			at, err := c.Attest(cx, nonce)
			if err != nil || lineproto.VerifyAttestation(items[lineproto.ItemDAC], nonce, at) != nil {
				t.Fatalf("attest: %v", err)
			}
			img, err := os.ReadFile(filepath.Join(dir, "flash.bin"))
			if err != nil {
				t.Fatal(err)
			}
			sc, err := securecert.Parse(img[0xD000 : 0xD000+securecert.PartitionSize])
			if err != nil {
				t.Fatal(err)
			}
			pk := sc.Entries[0]
			if pk.Type != securecert.Type(2) || pk.Flags != v.flags || (v.flags == 0) != (len(pk.Data) == 121) {
				t.Fatalf("PRIV_KEY entry: type %d flags 0x%02x, %d bytes", pk.Type, pk.Flags, len(pk.Data))
			}
			if v.extra != 0 && (len(sc.Entries) < 2 || sc.Entries[1].Type != v.extra) {
				t.Fatalf("entry after PRIV_KEY: %+v, want type %d", sc.Entries[1], v.extra)
			}
			out, err := exec.Command(lc, "module", "inspect", filepath.Join(dir, "flash.bin")).CombinedOutput()
			if err != nil {
				t.Fatalf("module inspect: %v\n%s", err, out)
			}
		})
	}
}
