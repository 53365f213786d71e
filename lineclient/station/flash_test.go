package station

import (
	"errors"
	"path/filepath"
	"testing"
)

func TestFlashRecordOrder(t *testing.T) {
	s, err := OpenFile(filepath.Join(t.TempDir(), "station.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const mac = "02:da:c1:00:00:01"
	imgs := []FlashedImage{{Name: "prov.bin", Offset: 0, Size: 10, Kind: "bootloader", SHA256: "ab"}}
	if rec, err := s.Flash(mac); err != nil || rec.Provisioning != nil {
		t.Fatalf("fresh store: %+v %v", rec, err)
	}
	if _, err := s.RecordFlashed(mac, FlashProvisioning, imgs); !errors.Is(err, ErrFlashOrder) {
		t.Fatalf("flashed before started: %v", err)
	}
	if _, err := s.BeginFlash(mac, "other", imgs); err == nil {
		t.Fatal("unknown phase accepted")
	}
	if _, err := s.BeginFlash(mac, FlashProvisioning, imgs); err != nil {
		t.Fatal(err)
	}
	other := []FlashedImage{{Name: "prov.bin", Offset: 0, Size: 10, Kind: "bootloader", SHA256: "cd"}}
	if _, err := s.RecordFlashed(mac, FlashProvisioning, other); !errors.Is(err, ErrFlashOrder) {
		t.Fatalf("other images recorded as flashed: %v", err)
	}
	rec, err := s.RecordFlashed(mac, FlashProvisioning, imgs)
	if err != nil || rec.Provisioning.State != FlashDone || rec.Provisioning.FlashedAt.IsZero() {
		t.Fatalf("%+v %v", rec, err)
	}
	// Production needs an attested module; the ROM lock check a locked one.
	if _, err := s.BeginFlash(mac, FlashProduction, imgs); !errors.Is(err, ErrNotFound) {
		t.Fatalf("production on an unknown module: %v", err)
	}
	if _, err := s.Identify(Sighting{MAC: mac}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.BeginFlash(mac, FlashProduction, imgs); !errors.Is(err, ErrFlashOrder) {
		t.Fatalf("production on an identified module: %v", err)
	}
	if _, err := s.RecordROMLockCheck(mac, ROMLockCheck{OK: true}); !errors.Is(err, ErrFlashOrder) {
		t.Fatalf("rom lock check before the lock: %v", err)
	}
	// The flashing bucket is not part of the invariants and does not upset them.
	if v, err := s.CheckInvariants(); err != nil || len(v) > 0 {
		t.Fatalf("invariants: %v %v", v, err)
	}
}
