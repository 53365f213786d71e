package firmware_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/dacline/dacline/lineclient/esp/factorydata"
	"github.com/dacline/dacline/lineclient/esp/securecert"
	"github.com/dacline/dacline/lineclient/internal/linetest"
	"github.com/dacline/dacline/shared/lineproto"
)

// credentials are the items of §5.3 for a module whose CSR is csr: every
// required one and product-info.
func credentials(t testing.TB, pki *linetest.PKI, csr []byte) map[lineproto.Item][]byte {
	t.Helper()
	dac, err := pki.IssueDAC(csr, 0xFFF1, 0x8000)
	if err != nil {
		t.Fatal(err)
	}
	verifier := make([]byte, 97)
	rand.Read(verifier)
	verifier[32] = 0x04
	salt := make([]byte, 32)
	rand.Read(salt)
	uid := make([]byte, 16)
	rand.Read(uid)
	return map[lineproto.Item][]byte{
		lineproto.ItemDAC: dac, lineproto.ItemPAI: pki.PAI.Raw, lineproto.ItemCD: linetest.CD(),
		lineproto.ItemDiscriminator: lineproto.DiscriminatorValue(3840), lineproto.ItemVerifier: verifier,
		lineproto.ItemSalt: salt, lineproto.ItemIterations: lineproto.IterationsValue(10000),
		lineproto.ItemSerialNumber: []byte("SN-0001"), lineproto.ItemRotatingIDUnique: uid,
		lineproto.ItemVendorID: {0xF1, 0xFF}, lineproto.ItemProductID: {0x00, 0x80},
		lineproto.ItemProductInfo: productInfo(t),
	}
}

func productInfo(t testing.TB) []byte {
	hw := uint16(3)
	v, err := lineproto.ProductInfo{VendorName: "dacline test vendor", ProductName: "bulb", HardwareVersion: &hw,
		MfgDate: "2026-12-08", ProductURL: "https://example.com/bulb"}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestProtocolLifecycle walks one C module through every state over its PTY
// with the Go codec: keygen, idempotent keygen, writes, digests, attestation,
// the four lock steps, and a power cycle that keeps everything.
func TestProtocolLifecycle(t *testing.T) {
	bin := buildFirmware(t)
	dir := filepath.Join(t.TempDir(), "chip")
	m := startModule(t, bin, dir, "--mac", "02:DA:C1:00:00:01")
	c := dial(t, m.Path, lineproto.ClientOptions{})
	cx := ctx(t)

	id, err := c.Identify(cx)
	if err != nil {
		t.Fatal(err)
	}
	if id.State != lineproto.StateUnprovisioned || id.KeyPresent || !id.DebugEnabled || id.ChipID != [6]byte{2, 0xDA, 0xC1, 0, 0, 1} {
		t.Fatalf("blank module: %+v", id)
	}
	if _, err := c.WriteItem(cx, lineproto.ItemSerialNumber, []byte("x")); lineproto.StatusOf(err) != lineproto.StatusNoKey {
		t.Fatalf("write before keygen: %v, want NO_KEY", err)
	}
	gk, err := c.GenerateKey(cx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gk.CheckCSR(); err != nil || !gk.NewKey {
		t.Fatalf("csr: %v (new key %v)", err, gk.NewKey)
	}
	again, err := c.GenerateKey(cx)
	if err != nil || again.NewKey || again.SPKIHash != gk.SPKIHash {
		t.Fatalf("second GENERATE_KEY: %v new=%v same key=%v", err, again.NewKey, again.SPKIHash == gk.SPKIHash)
	}
	if !bytes.Equal(again.CSR, gk.CSR) {
		t.Errorf("second GENERATE_KEY returned another CSR for the same key (allowed, but mbedTLS signs deterministically)")
	}

	pki := linetest.NewPKI(t)
	items := credentials(t, pki, gk.CSR)
	other, _ := pki.IssueDACFor(&mustKey(t).PublicKey, 0xFFF1, 0x8000)
	if _, err := c.WriteItem(cx, lineproto.ItemDAC, other); lineproto.StatusOf(err) != lineproto.StatusKeyMismatch {
		t.Fatalf("foreign dac: %v, want KEY_MISMATCH", err)
	}
	for _, it := range lineproto.KnownItems {
		if _, err := c.WriteItem(cx, it, items[it]); err != nil {
			t.Fatalf("write %s: %v", it, err)
		}
	}
	rd, err := c.ReadDigests(cx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rd.Digests) != len(lineproto.KnownItems) {
		t.Fatalf("digests: %d, want %d", len(rd.Digests), len(lineproto.KnownItems))
	}
	for _, d := range rd.Digests {
		if d.SHA256 != sha256.Sum256(items[d.Item]) {
			t.Fatalf("digest of %s differs", d.Item)
		}
	}
	var nonce [32]byte
	rand.Read(nonce[:])
	at, err := c.Attest(cx, nonce)
	if err != nil {
		t.Fatal(err)
	}
	if err := lineproto.VerifyAttestation(items[lineproto.ItemDAC], nonce, at); err != nil {
		t.Fatal(err)
	}
	sameImagesAsGo(t, dir, items)
	if _, err := c.Lock(cx, lineproto.LockSecureBoot); lineproto.StatusOf(err) != lineproto.StatusLockOrder {
		t.Fatalf("lock step 2 first: %v, want LOCK_ORDER", err)
	}
	if err := c.LockAll(cx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GenerateKey(cx); lineproto.StatusOf(err) != lineproto.StatusLocked {
		t.Fatalf("keygen when locked: %v, want LOCKED", err)
	}
	// Power cycle: a new process on the same files is the same chip.
	m.Stop(t)
	m2 := startModule(t, bin, dir)
	c2 := dial(t, m2.Path, lineproto.ClientOptions{})
	id, err = c2.Identify(cx)
	if err != nil {
		t.Fatal(err)
	}
	if id.State != lineproto.StateLocked || id.LockMask != lineproto.LockMaskAll || id.DebugEnabled ||
		id.KeySPKIHash != gk.SPKIHash || len(id.Digests) != len(lineproto.KnownItems) {
		t.Fatalf("after power cycle: %+v", id)
	}
	// Committing the same value again is idempotent even when locked.
	if _, err := c2.WriteItem(cx, lineproto.ItemSerialNumber, items[lineproto.ItemSerialNumber]); lineproto.StatusOf(err) != lineproto.StatusLocked {
		// WriteItem stages first, which a locked module refuses.
		t.Fatalf("write when locked: %v, want LOCKED", err)
	}
	sum := sha256.Sum256(items[lineproto.ItemSerialNumber])
	if _, err := c2.Commit(cx, &lineproto.CommitRequest{Item: lineproto.ItemSerialNumber, Length: uint32(len(items[lineproto.ItemSerialNumber])), SHA256: sum}); err != nil {
		t.Fatalf("idempotent commit when locked: %v", err)
	}
	at, err = c2.Attest(cx, nonce)
	if err != nil || lineproto.VerifyAttestation(items[lineproto.ItemDAC], nonce, at) != nil {
		t.Fatalf("attest after power cycle: %v", err)
	}
	if err := c2.Reboot(cx); err != nil && !errors.Is(err, lineproto.ErrTimeout) {
		t.Fatalf("reboot: %v", err)
	}
	if _, err := c2.Identify(cx); err != nil {
		t.Fatalf("identify after reboot: %v", err)
	}
}

// sameImagesAsGo compares the C module's partitions byte for byte with what
// the Go implementation of the same formats (lineclient/esp/factorydata,
// written separately) makes from the same items: fctry whole, and
// esp_secure_cert after the module's own key entries.
func sameImagesAsGo(t *testing.T, dir string, items map[lineproto.Item][]byte) {
	t.Helper()
	img, err := os.ReadFile(filepath.Join(dir, "flash.bin"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := factorydata.NVS(factorydata.Items(items))
	if err != nil {
		t.Fatal(err)
	}
	if got := img[0x3E0000 : 0x3E0000+len(want)]; !bytes.Equal(got, want) {
		t.Errorf("fctry differs from lineclient/esp/factorydata.NVS of the same items")
	}
	sc := img[0xD000 : 0xD000+securecert.PartitionSize]
	p, err := securecert.Parse(sc)
	if err != nil {
		t.Fatal(err)
	}
	keys := []securecert.Entry{p.Entries[0]}
	want, err = factorydata.SecureCert(keys, items[lineproto.ItemDAC], items[lineproto.ItemPAI])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(sc[:len(want)], want) || sc[len(want)] != 0xFF {
		t.Errorf("esp_secure_cert differs from lineclient/esp/factorydata.SecureCert of the same key entry and certificates")
	}
}
