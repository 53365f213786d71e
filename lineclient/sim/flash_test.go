package sim_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/dacline/dacline/lineclient/esp/factorydata"
	"github.com/dacline/dacline/lineclient/esp/flash"
	"github.com/dacline/dacline/lineclient/esp/nvs"
	"github.com/dacline/dacline/lineclient/esp/securecert"
	"github.com/dacline/dacline/lineclient/sim"
	"github.com/dacline/dacline/shared/lineproto"
)

func readImage(t *testing.T, s *sim.Sim, id int) []byte {
	t.Helper()
	var img []byte
	err := s.WithFlash(id, func(path string) error {
		var err error
		img, err = os.ReadFile(path)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(img) != flash.Size {
		t.Fatalf("image is %d bytes", len(img))
	}
	return img
}

func secureCert(t *testing.T, img []byte) *securecert.Partition {
	t.Helper()
	p, err := securecert.Parse(img[0xD000:0xF000])
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestFlashImageFollowsTheModule: the image starts blank with the layout's
// table, gets the key at GENERATE_KEY, the certificates once DAC and PAI are
// both committed, the factory NVS at every commit; replacing the DAC keeps
// the key entry byte for byte.
func TestFlashImageFollowsTheModule(t *testing.T) {
	dir := t.TempDir()
	s := startSim(t, sim.Options{Count: 1, Timing: sim.TimingFast, Seed: 41, StateDir: dir})
	img := readImage(t, s, 0)
	if !bytes.Equal(img[0x8000:0x9000], flash.Blank()[0x8000:0x9000]) || !bytes.Equal(img[0xD000:0xF000], bytes.Repeat([]byte{0xFF}, 0x2000)) {
		t.Fatal("a new module's image is not blank with the layout's table")
	}
	c, _ := dial(t, s.Ports()[0], lineproto.ClientOptions{})
	ctx := ctxT(t)
	kg, err := c.GenerateKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	csr, _ := x509.ParseCertificateRequest(kg.CSR)
	p := secureCert(t, readImage(t, s, 0))
	if len(p.Entries) != 1 || p.Entries[0].Type != securecert.TypePrivKey || len(p.Entries[0].Data) != 121 {
		t.Fatalf("after keygen: %+v", p.Entries)
	}
	key, err := x509.ParseECPrivateKey(p.Entries[0].Data)
	if err != nil || !key.PublicKey.Equal(csr.PublicKey) {
		t.Fatalf("stored key is not the CSR's: %v", err)
	}
	keyEntry := bytes.Clone(readImage(t, s, 0)[0xD000 : 0xD000+p.Entries[0].Size()])

	ca := newTestCA(t)
	dac := ca.issue(t, kg.CSR)
	if _, err := c.WriteItem(ctx, lineproto.ItemDAC, dac); err != nil {
		t.Fatal(err)
	}
	if p := secureCert(t, readImage(t, s, 0)); len(p.Entries) != 1 {
		t.Fatalf("DAC written before the PAI is there: %d entries", len(p.Entries))
	}
	creds := credentials(ca, "SN-FLASH-1")
	for _, it := range lineproto.AllItems[1:] {
		if _, err := c.WriteItem(ctx, it, creds[it]); err != nil {
			t.Fatal(err)
		}
	}
	img = readImage(t, s, 0)
	p = secureCert(t, img)
	if len(p.Entries) != 4 || !p.Sealed || !p.EndMarker || p.Entries[1].Type != securecert.TypeCACert || !bytes.Equal(p.Entries[2].Data, dac) {
		t.Fatalf("after all items: %+v", p.Entries)
	}
	n, err := nvs.Parse(img[0x3E0000:0x3E6000])
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := n.Lookup(factorydata.Namespace, factorydata.KeySerialNumber); !ok || string(e.Data) != "SN-FLASH-1" {
		t.Fatalf("serial-num in nvs: %+v", e)
	}
	if e, ok := n.Lookup(factorydata.Namespace, factorydata.KeyDiscriminator); !ok || e.Uint != 3840 {
		t.Fatalf("discriminator in nvs: %+v", e)
	}

	// A second DAC for the same key (allowed before locking): rewritten
	// through the journal, the key entry unchanged.
	dac2 := ca.issue(t, kg.CSR)
	if _, err := c.WriteItem(ctx, lineproto.ItemDAC, dac2); err != nil {
		t.Fatal(err)
	}
	img = readImage(t, s, 0)
	if !bytes.Equal(img[0xD000:0xD000+len(keyEntry)], keyEntry) {
		t.Fatal("the key entry changed when the DAC was replaced")
	}
	if p := secureCert(t, img); !bytes.Equal(p.Entries[2].Data, dac2) || !p.Sealed {
		t.Fatal("the new DAC is not in esp_secure_cert")
	}
	if ents, _ := filepath.Glob(filepath.Join(dir, "*.journal")); len(ents) != 0 {
		t.Fatalf("journal left behind: %v", ents)
	}
}

// TestFlashRepairedAfterCrash: a rewrite cut short by a crash (journal
// synced, region half written) is finished from the journal at the next
// start; a torn append is completed in place.
func TestFlashRepairedAfterCrash(t *testing.T) {
	dir := t.TempDir()
	opts := sim.Options{Count: 1, Timing: sim.TimingFast, Seed: 42, StateDir: dir}
	s, err := sim.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := dial(t, s.Ports()[0], lineproto.ClientOptions{})
	ctx := ctxT(t)
	ca := newTestCA(t)
	if err := provision(ctx, t, c, ca, "SN-CRASH"); err != nil {
		t.Fatal(err)
	}
	good := readImage(t, s, 0)
	mac := hex.EncodeToString(s.Modules()[0].MAC[:])
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "flash-"+mac+".bin")

	// Crash 1: the journal of an esp_secure_cert rewrite is on disk, the
	// sector was erased, nothing written yet.
	j := binary.LittleEndian.AppendUint32(nil, 0xD000)
	j = binary.LittleEndian.AppendUint32(j, 0x2000)
	j = append(j, good[0xD000:0xF000]...)
	if err := os.WriteFile(filepath.Join(dir, "flash-"+mac+".journal"), j, 0o600); err != nil {
		t.Fatal(err)
	}
	bad := bytes.Clone(good)
	copy(bad[0xD000:0xE000], bytes.Repeat([]byte{0xFF}, 0x1000))
	// Crash 2: a torn append in the factory partition (bytes still erased).
	copy(bad[0x3E0100:0x3E0180], bytes.Repeat([]byte{0xFF}, 0x80))
	if err := os.WriteFile(path, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	s2 := startSim(t, opts)
	if got := readImage(t, s2, 0); !bytes.Equal(got, good) {
		t.Fatal("the image was not repaired")
	}
	if _, err := os.Stat(filepath.Join(dir, "flash-"+mac+".journal")); !os.IsNotExist(err) {
		t.Fatalf("journal not removed: %v", err)
	}
}

// TestFlashKeyStorageVariants: the eFuse variant keeps no key bytes in
// flash (SEC_CFG names the block); the derived variant stores the salt,
// and the module's key is the PBKDF2 derivation from its eFuse HMAC key.
func TestFlashKeyStorageVariants(t *testing.T) {
	for _, storage := range []string{sim.KeyEFuse, sim.KeyDerived} {
		dir := t.TempDir()
		s := startSim(t, sim.Options{Count: 1, Timing: sim.TimingFast, Seed: 43, StateDir: dir, KeyStorage: storage})
		c, _ := dial(t, s.Ports()[0], lineproto.ClientOptions{})
		kg, err := c.GenerateKey(ctxT(t))
		if err != nil {
			t.Fatal(err)
		}
		csr, _ := x509.ParseCertificateRequest(kg.CSR)
		p := secureCert(t, readImage(t, s, 0))
		if len(p.Entries) != 2 || len(p.Entries[0].Data) != 0 {
			t.Fatalf("%s: %+v", storage, p.Entries)
		}
		switch storage {
		case sim.KeyEFuse:
			if p.Entries[0].Flags != securecert.FlagECDSAPeripheral || p.Entries[1].Type != securecert.TypeSecCfg || p.Entries[1].Data[0] != 5 {
				t.Fatalf("efuse entries %+v", p.Entries)
			}
		case sim.KeyDerived:
			if p.Entries[0].Flags != securecert.FlagHMACDerived || p.Entries[1].Type != securecert.TypeHMACKeySalt {
				t.Fatalf("derived entries %+v", p.Entries)
			}
			mac := hex.EncodeToString(s.Modules()[0].MAC[:])
			st, err := os.ReadFile(filepath.Join(dir, "module-"+mac+".json"))
			if err != nil {
				t.Fatal(err)
			}
			var state struct {
				HMACKey []byte `json:"efuse_hmac_key"`
			}
			if err := json.Unmarshal(st, &state); err != nil || len(state.HMACKey) != 32 {
				t.Fatalf("state: %v", err)
			}
			d, _ := pbkdf2.Key(sha256.New, string(state.HMACKey), p.Entries[1].Data, 2048, 32)
			k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d)
			if err != nil || !k.PublicKey.Equal(csr.PublicKey) {
				t.Fatalf("the module's key is not derived from its eFuse key and the salt in flash: %v", err)
			}
		}
	}
	if _, err := sim.Start(sim.Options{Count: 1, KeyStorage: "tpm"}); err == nil {
		t.Fatal("unknown key storage accepted")
	}
}

func TestFlashPathNeedsStateDir(t *testing.T) {
	s := startSim(t, sim.Options{Count: 1, Timing: sim.TimingFast, Seed: 44})
	if _, err := s.FlashPath(0); err == nil {
		t.Fatal("flash path without a state dir")
	}
}
