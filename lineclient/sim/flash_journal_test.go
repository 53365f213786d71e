package sim

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestJournalReplay: a synced journal is written into the image and
// removed; a damaged one is an error and leaves the image alone.
func TestJournalReplay(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "flash.bin")
	if err := os.WriteFile(img, bytes.Repeat([]byte{0xFF}, 4<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(img, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	journal := filepath.Join(dir, "flash.journal")
	if err := writeJournal(journal, 0xD000, []byte("new sector")); err != nil {
		t.Fatal(err)
	}
	if err := replayJournal(f, journal); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 10)
	f.ReadAt(got, 0xD000)
	if string(got) != "new sector" {
		t.Fatalf("image holds %q", got)
	}
	if _, err := os.Stat(journal); !os.IsNotExist(err) {
		t.Fatal("journal not removed")
	}
	if err := replayJournal(f, journal); err != nil {
		t.Fatalf("no journal: %v", err)
	}
	bad := binary.LittleEndian.AppendUint32(nil, 0xD000)
	bad = binary.LittleEndian.AppendUint32(bad, 100)
	os.WriteFile(journal, append(bad, "short"...), 0o600)
	if err := replayJournal(f, journal); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("damaged journal: %v", err)
	}
	// writeRegion programs in place when only bits clear, else journals.
	if err := writeRegion(f, journal+"2", 0x20000, []byte{0x0F, 0xF0}, true); err != nil {
		t.Fatal(err)
	}
	if err := writeRegion(f, journal+"2", 0x20000, []byte{0xF0, 0x0F}, true); err != nil {
		t.Fatal(err)
	}
	f.ReadAt(got[:2], 0x20000)
	if got[0] != 0xF0 || got[1] != 0x0F {
		t.Fatalf("region % x", got[:2])
	}
}
