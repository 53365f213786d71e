package runner

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dacline/dacline/lineclient/esp/espimage"
	"github.com/dacline/dacline/lineclient/esp/inspect"
	"github.com/dacline/dacline/lineclient/esp/romloader"
	"github.com/dacline/dacline/lineclient/internal/linetest"
	"github.com/dacline/dacline/lineclient/manifest"
	"github.com/dacline/dacline/lineclient/sim"
	"github.com/dacline/dacline/lineclient/station"
)

// testPlan signs Espressif's ESP32-C3 test bootloader with a fresh key and
// uses it as the provisioning firmware, the production bootloader and (as
// an image for the C3) the app, with the line's partition table.
func testPlan(t *testing.T) (*FlashPlan, []byte) {
	t.Helper()
	c3, err := os.ReadFile("../esp/espimage/testdata/bootloader_esp32c3_unsigned.bin")
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	signed, kd := linetest.SignESPImageECDSA(c3, key)
	return &FlashPlan{
		KeyDigests:   []espimage.KeyDigest{kd},
		Provisioning: []espimage.Write{{Name: "prov.bin", Offset: 0x0, Data: signed}},
		Production: []espimage.Write{
			{Name: "bootloader.bin", Offset: 0x0, Data: signed},
			{Name: "partition-table.bin", Offset: 0x8000, Data: espimage.MarshalPartitionTable(espimage.ContractPartitions)},
			{Name: "app.bin", Offset: 0x20000, Data: signed},
		},
	}, signed
}

func romClient(t *testing.T, path string) (*romloader.Client, func()) {
	t.Helper()
	c, p, err := romloader.Dial(path, 20)
	if err != nil {
		t.Fatal(err)
	}
	c.Timeout = time.Second
	return c, func() { p.Close() }
}

// TestFlashStepEndToEnd: blank module in its ROM loader → provisioning
// firmware flashed (recorded) → keygen and CSR → batch → credentials and
// attestation → the station waits for the production images → a tampered
// image refused with the module untouched → production images flashed and
// verified (recorded with their SHA-256) → locked → GET_SECURITY_INFO read
// through the ROM confirms the lock → `module inspect` validates the image.
func TestFlashStepEndToEnd(t *testing.T) {
	r := newRig(t, sim.Options{Count: 1, Seed: 15, Download: sim.Download{Enabled: true}})
	plan, signed := testPlan(t)
	f := &Flasher{Store: r.store, Plan: plan}
	port := r.sim.Ports()[0]
	mi, _ := r.sim.Module(0)
	mac := FormatMAC(mi.MAC)

	// 1. Provisioning firmware on the blank module.
	c, done := romClient(t, port)
	rec, err := f.Flash(c, station.FlashProvisioning)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Provisioning.State != station.FlashDone || rec.Provisioning.Images[0].Kind != espimage.KindBootloader {
		t.Fatalf("provisioning record %+v", rec.Provisioning)
	}
	// Production images are refused before the credentials are attested.
	// (The station has no record of the module yet: it is not attested.)
	if _, err := f.Flash(c, station.FlashProduction); !errors.Is(err, station.ErrNotFound) {
		t.Fatalf("production before attestation: %v", err)
	}
	if err := c.FlashEnd(true); err != nil { // boot the firmware
		t.Fatal(err)
	}
	done()

	// 2. Keygen, batch, credentials, attestation; then the module waits.
	r.prov.FlashProduction = true
	r.run([]string{port}, 500*time.Millisecond)
	r.answerBatch("b1")
	r.run([]string{port}, 500*time.Millisecond)
	if m, _ := r.store.Get(mac); m.State != station.StateAttested {
		t.Fatalf("module %s is %s, want attested and waiting for its production images", mac, m.State)
	}
	waited := false
	for _, e := range r.log {
		waited = waited || e.Step == StepWaitFlash
	}
	if !waited {
		t.Fatal("no wait-for-flash event")
	}

	// 3. In download mode again: a tampered app is refused, nothing written.
	if err := r.sim.Jig(0).ResetIntoDownload(); err != nil {
		t.Fatal(err)
	}
	c, done = romClient(t, port)
	bad := *plan
	bad.Production = append([]espimage.Write(nil), plan.Production...)
	tampered := bytes.Clone(signed)
	tampered[0x4800] ^= 1 // (the image ends at 0x4550) in the padding before the signature sector: parses, but is not what was signed
	bad.Production[2] = espimage.Write{Name: "app.bin", Offset: 0x20000, Data: tampered}
	if _, err := (&Flasher{Store: r.store, Plan: &bad}).Flash(c, station.FlashProduction); !errors.Is(err, espimage.ErrBadSignature) || !errors.Is(err, romloader.ErrRefused) {
		t.Fatalf("tampered app: %v", err)
	}
	if rec, _ := r.store.Flash(mac); rec.Production != nil {
		t.Fatalf("refused flashing recorded: %+v", rec.Production)
	}
	fl, _ := r.sim.ModuleFlash(0)
	if !bytes.Equal(fl[0x20000:0x21000], bytes.Repeat([]byte{0xFF}, 0x1000)) {
		t.Fatal("the refused app touched the flash")
	}

	// 4. The production images, verified and recorded.
	rec, err = f.Flash(c, station.FlashProduction)
	if err != nil {
		t.Fatal(err)
	}
	if p := rec.Production; p.State != station.FlashDone || len(p.Images) != 3 || p.Images[2].SHA256 == "" || p.Attempts != 1 {
		t.Fatalf("production record %+v", p)
	}
	fl, _ = r.sim.ModuleFlash(0)
	if !bytes.Equal(fl[0x20000:0x20000+len(signed)], signed) || !bytes.Equal(fl[:len(signed)], signed) {
		t.Fatal("flash does not hold the production images")
	}
	if err := c.FlashEnd(true); err != nil {
		t.Fatal(err)
	}
	done()

	// 5. Lock.
	r.run([]string{port}, 500*time.Millisecond)
	if m, _ := r.store.Get(mac); m.State != station.StateDone {
		t.Fatalf("module %s is %s after the production images, want done", mac, m.State)
	}
	r.checkInvariants()

	// 6. The ROM's own view of the lock.
	if err := r.sim.Jig(0).ResetIntoDownload(); err != nil {
		t.Fatal(err)
	}
	c, done = romClient(t, port)
	defer done()
	if !c.SecureDownload {
		t.Fatal("a locked module's ROM is not in secure download mode")
	}
	chk, err := f.CheckROMLock(c, mac)
	if err != nil || !chk.OK || chk.FlashCryptCnt != 7 {
		t.Fatalf("rom lock check %+v: %v", chk, err)
	}
	if rec, _ := r.store.Flash(mac); rec.ROMLockCheck == nil || !rec.ROMLockCheck.OK {
		t.Fatalf("rom lock check not recorded: %+v", rec)
	}
	// A locked module cannot be flashed by the station any more.
	if _, err := f.Flash(c, station.FlashProduction); !errors.Is(err, romloader.ErrRefused) {
		t.Fatalf("flashing a locked module: %v", err)
	}

	// The manifest row carries the images and the ROM's verdict, and reads back.
	var buf bytes.Buffer
	if _, err := manifest.Write(&buf, r.store, manifest.Options{}); err != nil {
		t.Fatal(err)
	}
	rows, err := manifest.ReadAll(&buf)
	if err != nil || len(rows) != 1 {
		t.Fatalf("manifest: %d rows, %v", len(rows), err)
	}
	appSum := sha256.Sum256(signed)
	if !strings.Contains(rows[0].FlashedImages, "app.bin@0x20000="+hex.EncodeToString(appSum[:])) ||
		strings.Count(rows[0].FlashedImages, ";") != 2 || rows[0].ROMLockCheck != manifest.ROMLockOK {
		t.Fatalf("manifest flashing columns %q %q", rows[0].FlashedImages, rows[0].ROMLockCheck)
	}

	// 7. `module inspect` validates the whole image: the production images
	// beside the credentials the firmware wrote, which flashing never touched.
	m, _ := r.store.Get(mac)
	row, err := manifest.RowOf(m, manifest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = r.sim.WithFlash(0, func(path string) error {
		img, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rep := inspect.Inspect(img, inspect.Options{PAA: r.pki.PAA, CDSigner: linetest.CDSigner(), Manifest: []manifest.Row{row}})
		if !rep.OK {
			t.Errorf("module inspect: failed checks %+v", rep.Failed())
		}
		if !bytes.Equal(img[0x20000:0x20000+len(signed)], signed) {
			t.Error("the app is not in the image inspect read")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestFlashKilledMidWriteResumes: a write cut short leaves "started", not
// "flashed"; the module keeps waiting; flashing again completes it.
func TestFlashKilledMidWriteResumes(t *testing.T) {
	r := newRig(t, sim.Options{Count: 1, Seed: 16, Download: sim.Download{Enabled: true}})
	plan, _ := testPlan(t)
	port := r.sim.Ports()[0]
	mi, _ := r.sim.Module(0)
	mac := FormatMAC(mi.MAC)
	c, p, err := romloader.Dial(port, 20)
	if err != nil {
		t.Fatal(err)
	}
	c.Timeout = 300 * time.Millisecond
	f := &Flasher{Store: r.store, Plan: plan, Attempts: 1, Progress: func(w espimage.Checked, d, total int) {
		if d > total/2 {
			p.Close() // the station dies mid-write
		}
	}}
	if _, err := f.Flash(c, station.FlashProvisioning); err == nil {
		t.Fatal("a write with its port closed succeeded")
	}
	rec, _ := r.store.Flash(mac)
	if rec.Provisioning == nil || rec.Provisioning.State != station.FlashStarted {
		t.Fatalf("record after the kill: %+v", rec.Provisioning)
	}
	c, done := romClient(t, port)
	defer done()
	f.Progress = nil
	rec, err = f.Flash(c, station.FlashProvisioning)
	if err != nil || rec.Provisioning.State != station.FlashDone || rec.Provisioning.Attempts != 2 {
		t.Fatalf("resumed: %+v %v", rec.Provisioning, err)
	}
}

func TestCheckROMLockRefusesAnUnlockedModule(t *testing.T) {
	r := newRig(t, sim.Options{Count: 1, Seed: 17, Download: sim.Download{Enabled: true}})
	c, done := romClient(t, r.sim.Ports()[0])
	defer done()
	plan, _ := testPlan(t)
	mi, _ := r.sim.Module(0)
	// The station has no locked record for it: the check is out of order.
	if _, err := (&Flasher{Store: r.store, Plan: plan}).CheckROMLock(c, FormatMAC(mi.MAC)); !errors.Is(err, station.ErrFlashOrder) && !errors.Is(err, station.ErrNotFound) {
		t.Fatalf("lock check of an unknown module: %v", err)
	}
}

func TestLoadFlashPlan(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "app.bin"), []byte{0xE9}, 0o600)
	d := hex.EncodeToString(make([]byte, 32))
	good := `{"key_digests": ["` + d + `"], "production": [{"offset": "0x20000", "file": "app.bin"}]}`
	os.WriteFile(filepath.Join(dir, "flash.json"), []byte(good), 0o600)
	plan, err := LoadFlashPlan(filepath.Join(dir, "flash.json"))
	if err != nil || len(plan.Production) != 1 || plan.Production[0].Offset != 0x20000 || len(plan.Provisioning) != 0 {
		t.Fatalf("%+v %v", plan, err)
	}
	for name, body := range map[string]string{
		"no digest":     `{"production": [{"offset": "0x20000", "file": "app.bin"}]}`,
		"bad digest":    `{"key_digests": ["abc"]}`,
		"bad offset":    `{"key_digests": ["` + d + `"], "production": [{"offset": "x", "file": "app.bin"}]}`,
		"missing file":  `{"key_digests": ["` + d + `"], "production": [{"offset": "0", "file": "nope.bin"}]}`,
		"unknown field": `{"key_digests": ["` + d + `"], "images": []}`,
	} {
		os.WriteFile(filepath.Join(dir, "flash.json"), []byte(body), 0o600)
		if _, err := LoadFlashPlan(filepath.Join(dir, "flash.json")); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
