package sim_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dacline/dacline/lineclient/esp/espimage"
	"github.com/dacline/dacline/lineclient/esp/romloader"
	"github.com/dacline/dacline/lineclient/sim"
	"github.com/dacline/dacline/lineclient/transport"
	"github.com/dacline/dacline/shared/lineproto"
)

func romDial(t *testing.T, path string) (*romloader.Client, *transport.Port) {
	t.Helper()
	p, err := transport.Open(path, transport.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	c := romloader.NewClient(p)
	c.Timeout = 500 * time.Millisecond
	return c, p
}

func TestDownloadModeFlashesTheModuleImage(t *testing.T) {
	dir := t.TempDir()
	s := startSim(t, sim.Options{Count: 1, Seed: 11, StateDir: dir, Download: sim.Download{Enabled: true}})
	want, _ := s.Module(0)
	c, port := romDial(t, s.Ports()[0])
	chip, err := c.Connect(20)
	if err != nil {
		t.Fatal(err)
	}
	if chip.Name != "ESP32-C3" || c.SecureDownload || c.Stub {
		t.Fatalf("chip %s sdm %v stub %v", chip.Name, c.SecureDownload, c.Stub)
	}
	if mac, err := c.ReadMAC(); err != nil || mac != want.MAC {
		t.Fatalf("mac %x %v, want %x", mac, err, want.MAC)
	}
	// A blank module has the line's partition table and nothing else.
	table, err := c.ReadFlash(espimage.PartitionTableOffset, 0x100, nil)
	if err != nil {
		t.Fatal(err)
	}
	parts, err := espimage.ParsePartitionTable(append(table, bytes.Repeat([]byte{0xFF}, 0xB00)...))
	if err != nil || espimage.CheckKeepsCredentials(parts, espimage.CredentialPartitions()) != nil {
		t.Fatalf("blank table: %v", err)
	}
	if err := c.AttachFlash(romloader.FlashSize); err != nil {
		t.Fatal(err)
	}
	app := bytes.Repeat([]byte("dacline app "), 20000)
	if err := c.WriteVerified(0x20000, app, true, 3, romloader.FlashSize, nil); err != nil {
		t.Fatal(err)
	}
	path, err := s.FlashPath(0)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(path) != dir || filepath.Base(path) != "flash-"+hex.EncodeToString(want.MAC[:])+".bin" {
		t.Fatalf("flash image %s", path)
	}
	img, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(img) != romloader.FlashSize || !bytes.Equal(img[0x20000:0x20000+len(app)], app) {
		t.Fatal("flash image file does not hold the app")
	}
	if fl, _ := s.ModuleFlash(0); !bytes.Equal(fl, img) {
		t.Fatal("ModuleFlash differs from the file")
	}

	// FLASH_END "run user code": the module boots its firmware and speaks
	// the line protocol on the same PTY.
	var boots int
	if err := c.FlashEnd(true); err != nil {
		t.Fatal(err)
	}
	port.Close()
	c2, _ := dial(t, s.Ports()[0], lineproto.ClientOptions{OnBoot: func(lineproto.BootEvent) { boots++ }})
	id, err := c2.Identify(ctxT(t))
	if err != nil {
		t.Fatalf("identify after leaving the loader: %v", err)
	}
	if id.ChipID != want.MAC {
		t.Fatalf("identify: %+v", id)
	}
}

func TestDownloadModeOtherChipAndSecureDownload(t *testing.T) {
	s := startSim(t, sim.Options{Count: 1, Seed: 3, ChipModel: "ESP32-S3", Download: sim.Download{Enabled: true, SecureDownload: true}})
	c, _ := romDial(t, s.Ports()[0])
	chip, err := c.Connect(20)
	if err != nil {
		t.Fatal(err)
	}
	if chip.Name != "ESP32-S3" || !c.SecureDownload {
		t.Fatalf("chip %s sdm %v", chip.Name, c.SecureDownload)
	}
	if _, err := c.ReadFlash(0, 64, nil); !errors.Is(err, romloader.ErrSecureDownload) {
		t.Fatalf("read in SDM: %v", err)
	}
	var se *romloader.StatusError
	if _, _, err := c.Command(romloader.OpReadReg, []byte{0, 0x10, 0, 0x40}, 0, 0, time.Second); !errors.As(err, &se) || !se.Unsupported() {
		t.Fatalf("READ_REG in SDM answered: %v", err)
	}
	if _, err := sim.Start(sim.Options{Count: 1, ChipModel: "ESP32", Download: sim.Download{Enabled: true, SecureDownload: true}}); err == nil {
		t.Fatal("ESP32 (no secure download mode) accepted with SecureDownload")
	}
}

func TestDownloadModeFaults(t *testing.T) {
	f, err := sim.ParseROMFaults("drop-reply=0.02,corrupt-reply=0.02,reset-during-write=0.01")
	if err != nil {
		t.Fatal(err)
	}
	s := startSim(t, sim.Options{Count: 1, Seed: 5, Download: sim.Download{Enabled: true, Faults: f}})
	c, _ := romDial(t, s.Ports()[0])
	if _, err := c.Connect(20); err != nil {
		t.Fatal(err)
	}
	if err := c.AttachFlash(romloader.FlashSize); err != nil {
		t.Fatal(err)
	}
	app := bytes.Repeat([]byte{1, 2, 3, 4, 5, 6, 7}, 9000)
	if err := c.WriteVerified(0x20000, app, false, 10, romloader.FlashSize, nil); err != nil {
		t.Fatal(err)
	}
	fl, _ := s.ModuleFlash(0)
	if !bytes.Equal(fl[0x20000:0x20000+len(app)], app) {
		t.Fatal("flash differs")
	}
	st, ok := s.Jig(0).ROMStats()
	if !ok || st.Faults["drop-reply"]+st.Faults["corrupt-reply"]+st.Faults["reset-during-write"] == 0 {
		t.Fatalf("no faults: %+v", st)
	}
	for _, bad := range []string{"nope=0.1", "bad-write=2", "bad-write"} {
		if _, err := sim.ParseROMFaults(bad); !errors.Is(err, sim.ErrFaultSpec) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
