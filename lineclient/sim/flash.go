package sim

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/dacline/dacline/lineclient/esp/factorydata"
	"github.com/dacline/dacline/lineclient/esp/flash"
	"github.com/dacline/dacline/shared/lineproto"
)

// A module's SPI flash is a real 4 MiB image file beside its state file,
// flash-<mac>.bin (FLASH-CONTRACT.md): the partition table at 0x8000 from
// the start, esp_secure_cert written from GENERATE_KEY on, the factory NVS
// partition rebuilt at every COMMIT. The state file stays the module's
// record (and stands for its eFuses); after every save the image is brought
// in line with it, so a crash between the two is repaired at the next save
// or load.
//
// Writes to esp_secure_cert behave like NOR flash: where the new bytes only
// clear bits of the old (appending into erased flash) they are programmed in
// place; anything else (a certificate replaced) goes through a journal
// (flash-<mac>.journal, fsynced before the image is touched, replayed at
// the next sync after a crash), so the key entry at the start of
// esp_secure_cert is never lost, whatever instant the process dies. The
// factory NVS partition holds nothing that is not in the state file: it is
// rewritten in place without a journal or fsync (a torn rewrite is redone
// from the state at the next sync), which keeps a COMMIT as cheap as before.

func (s *stateStore) flashPath(mac string) string {
	return filepath.Join(s.dir, "flash-"+mac+".bin")
}

func (s *stateStore) journalPath(mac string) string {
	return filepath.Join(s.dir, "flash-"+mac+".journal")
}

// FlashPath returns module id's flash image file. The simulator rewrites
// regions of it after every durable change; read or write it under
// WithFlash to see a consistent image.
func (s *Sim) FlashPath(id int) (string, error) {
	if s.store == nil {
		return "", errors.New("sim: modules keep a flash image only with a state directory")
	}
	m, err := s.get(id)
	if err != nil {
		return "", err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.syncFlash(); err != nil {
		return "", err
	}
	return s.store.flashPath(m.p.MAC), nil
}

// WithFlash runs fn with module id's flash image path while the module
// handles no command (the image is consistent with its state).
func (s *Sim) WithFlash(id int, fn func(path string) error) error {
	path, err := s.FlashPath(id)
	if err != nil {
		return err
	}
	m, _ := s.get(id)
	m.mu.Lock()
	defer m.mu.Unlock()
	return fn(path)
}

// syncFlash brings the image in line with the module's state. Caller holds
// m.mu; only modules with a state store have an image.
func (m *module) syncFlash() error {
	if m.store == nil {
		return nil
	}
	path := m.store.flashPath(m.p.MAC)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("sim flash: %w", err)
	}
	defer func() { f.Close() }() // f is reopened after a new image is renamed into place
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("sim flash: %w", err)
	}
	switch {
	case fi.Size() == 0:
		// A new module: its maker's blank image, renamed into place whole.
		f.Close()
		tmp := path + ".new"
		if err := os.WriteFile(tmp, flash.Blank(), 0o600); err != nil {
			return fmt.Errorf("sim flash %s: %w", path, err)
		}
		if err := os.Rename(tmp, path); err != nil {
			return fmt.Errorf("sim flash %s: %w", path, err)
		}
		if f, err = os.OpenFile(path, os.O_RDWR, 0o600); err != nil {
			return fmt.Errorf("sim flash: %w", err)
		}
	case fi.Size() != flash.Size:
		return fmt.Errorf("sim flash %s: %d bytes, want %d", path, fi.Size(), flash.Size)
	}
	journal := m.store.journalPath(m.p.MAC)
	if err := replayJournal(f, journal); err != nil {
		return err
	}
	tableSector := make([]byte, flash.SectorSize)
	if _, err := f.ReadAt(tableSector, flash.TableOffset); err != nil {
		return fmt.Errorf("sim flash %s: %w", path, err)
	}
	img := make([]byte, flash.TableOffset+flash.SectorSize)
	copy(img[flash.TableOffset:], tableSector)
	tab, err := flash.Table(img)
	if err != nil {
		return fmt.Errorf("sim flash %s: %w", path, err)
	}
	sc, nvs, err := m.flashContents()
	if err != nil {
		return fmt.Errorf("sim flash %s: %w", path, err)
	}
	for _, r := range []struct {
		name    string
		data    []byte
		durable bool
	}{{flash.SecureCert, sc, true}, {flash.Factory, nvs, false}} {
		e, ok := tab.Find(r.name)
		if !ok {
			return fmt.Errorf("sim flash %s: no %s partition in the table", path, r.name)
		}
		if e.End() > flash.Size || int(e.Size) < len(r.data) {
			return fmt.Errorf("sim flash %s: partition %s (0x%x bytes) cannot hold %d bytes", path, r.name, e.Size, len(r.data))
		}
		want := bytes.Repeat([]byte{0xFF}, int(e.Size))
		copy(want, r.data)
		if err := writeRegion(f, journal, int64(e.Offset), want, r.durable); err != nil {
			return fmt.Errorf("sim flash %s: %s: %w", path, r.name, err)
		}
	}
	return nil
}

// flashContents are the esp_secure_cert TLVs and the fctry partition the
// module's state calls for.
func (m *module) flashContents() (sc, nvs []byte, err error) {
	keys, err := m.keyEntries()
	if err != nil {
		return nil, nil, err
	}
	items := factorydata.Items{}
	for k, v := range m.p.Items {
		n, err := strconv.Atoi(k)
		if err != nil {
			return nil, nil, fmt.Errorf("state item %q", k)
		}
		items[lineproto.Item(n)] = v
	}
	sc, err = factorydata.SecureCert(keys, items[lineproto.ItemDAC], items[lineproto.ItemPAI])
	if err != nil {
		return nil, nil, err
	}
	if len(items) == 0 {
		return sc, nil, nil
	}
	nvs, err = factorydata.NVS(items)
	return sc, nvs, err
}

// writeRegion makes the image hold want at off: programmed in place when
// that only clears bits, else through the journal. A region that is not
// durable (derivable from the state) is written in place, unsynced.
func writeRegion(f *os.File, journal string, off int64, want []byte, durable bool) error {
	cur := make([]byte, len(want))
	if _, err := f.ReadAt(cur, off); err != nil {
		return err
	}
	first, last := -1, -1
	programmable := true
	for i := range want {
		if cur[i] != want[i] {
			if first < 0 {
				first = i
			}
			last = i
			if want[i]&^cur[i] != 0 {
				programmable = false
			}
		}
	}
	if first < 0 {
		return nil
	}
	if !durable {
		_, err := f.WriteAt(want[first:last+1], off+int64(first))
		return err
	}
	if !programmable {
		if err := writeJournal(journal, off, want); err != nil {
			return err
		}
		first, last = 0, len(want)-1
	}
	if _, err := f.WriteAt(want[first:last+1], off+int64(first)); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if !programmable {
		return os.Remove(journal)
	}
	return nil
}

// A journal is offset u32 ‖ length u32 ‖ data, written to a temporary file
// and renamed into place once synced.
func writeJournal(path string, off int64, data []byte) error {
	b := binary.LittleEndian.AppendUint32(nil, uint32(off))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(data)))
	b = append(b, data...)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	tf, err := os.Open(tmp)
	if err != nil {
		return err
	}
	err = tf.Sync()
	tf.Close()
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// replayJournal finishes a rewrite a crash interrupted. A journal that is
// not whole was never renamed into place, so it is whole or absent.
func replayJournal(f *os.File, path string) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sim flash journal: %w", err)
	}
	if len(b) < 8 || int(binary.LittleEndian.Uint32(b[4:])) != len(b)-8 ||
		int64(binary.LittleEndian.Uint32(b))+int64(len(b)-8) > flash.Size {
		return fmt.Errorf("sim flash journal %s: damaged (%d bytes)", path, len(b))
	}
	if _, err := f.WriteAt(b[8:], int64(binary.LittleEndian.Uint32(b))); err != nil {
		return fmt.Errorf("sim flash journal: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sim flash journal: %w", err)
	}
	return os.Remove(path)
}
