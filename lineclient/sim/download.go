package sim

import (
	"encoding/hex"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dacline/dacline/lineclient/esp/flash"
	"github.com/dacline/dacline/lineclient/esp/romloader"
	"github.com/dacline/dacline/shared/lineproto"
)

// Download puts the simulated modules in the chip's serial ROM loader
// (download mode) instead of the manufacturing firmware: a module put on a
// jig prints the ROM banner and answers the ESP ROM-loader protocol
// (lineclient/esp/romloader) against its 4 MiB flash image (the same
// flash-<mac>.bin the module's firmware keeps its credentials in, flash.go)
// and its eFuse state. FLASH_END with "run user code" leaves the loader: the module then
// boots its firmware and speaks docs/line-protocol.md as usual.
type Download struct {
	Enabled bool
	// SecureDownload sets SECURE_DOWNLOAD_ENABLE whatever the lock state (a
	// module whose last lock step is already burned has it anyway).
	SecureDownload bool
	// Faults of the ROM loader (see romloader.ServerFaults).
	Faults romloader.ServerFaults
}

// romFaultNames maps the --rom-faults spelling to a field.
var romFaultNames = map[string]func(*romloader.ServerFaults) *float64{
	"drop-request":       func(f *romloader.ServerFaults) *float64 { return &f.DropRequest },
	"drop-reply":         func(f *romloader.ServerFaults) *float64 { return &f.DropReply },
	"corrupt-reply":      func(f *romloader.ServerFaults) *float64 { return &f.CorruptReply },
	"bad-write":          func(f *romloader.ServerFaults) *float64 { return &f.BadWrite },
	"reset-during-write": func(f *romloader.ServerFaults) *float64 { return &f.ResetDuringWrite },
}

// ROMFaultNames lists the names ParseROMFaults accepts.
func ROMFaultNames() []string {
	var n []string
	for k := range romFaultNames {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// ParseROMFaults parses "name=rate,…" for the ROM loader: drop-request,
// drop-reply, corrupt-reply, bad-write (a block lands with one bit wrong:
// only the MD5 read-back sees it), reset-during-write. Rates are in [0,1].
func ParseROMFaults(spec string) (romloader.ServerFaults, error) {
	var f romloader.ServerFaults
	if strings.TrimSpace(spec) == "" {
		return f, nil
	}
	seen := map[string]bool{}
	for _, part := range strings.Split(spec, ",") {
		name, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return f, fmt.Errorf("%w: %q is not name=rate", ErrFaultSpec, part)
		}
		field, known := romFaultNames[name]
		if !known {
			return f, fmt.Errorf("%w: unknown rom fault %q (known: %s)", ErrFaultSpec, name, strings.Join(ROMFaultNames(), ", "))
		}
		if seen[name] {
			return f, fmt.Errorf("%w: rom fault %q given twice", ErrFaultSpec, name)
		}
		seen[name] = true
		r, err := strconv.ParseFloat(val, 64)
		if err != nil || math.IsNaN(r) || r < 0 || r > 1 {
			return f, fmt.Errorf("%w: %s rate %q is not a number in [0,1]", ErrFaultSpec, name, val)
		}
		*field(&f) = r
	}
	return f, nil
}

// realROMTiming is a typical SPI NOR flash behind the ROM: 64 KB block
// erases of ~150 ms (the ROM erases the whole region on FLASH_BEGIN, here
// counted per 4 KB) and ~0.4 ms per 256-byte page, written before the ROM
// acknowledges a block.
var realROMTiming = romloader.Timing{SectorErase: 150 * time.Millisecond / 16, PageProgram: 400 * time.Microsecond}

// downloadState is the simulator's ROM-loader side: one flash per module.
type downloadState struct {
	chip    romloader.Chip
	mu      sync.Mutex
	flashes map[int]romloader.Flash
}

func (s *Sim) download() (*downloadState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dl != nil {
		return s.dl, nil
	}
	chip, err := romloader.ChipByName(s.opts.ChipModel)
	if err != nil {
		return nil, fmt.Errorf("sim: download mode: %w", err)
	}
	if s.opts.Download.SecureDownload && !chip.SecureDownload {
		return nil, fmt.Errorf("sim: %s has no secure download mode", chip.Name)
	}
	s.dl = &downloadState{chip: chip, flashes: map[int]romloader.Flash{}}
	return s.dl, nil
}

// flashOf returns module m's flash: its image file in the state directory
// (flash.go's flash-<mac>.bin, which the module's firmware side also keeps
// its credential partitions in), or memory when the simulator has none.
func (s *Sim) flashOf(m *module) (romloader.Flash, error) {
	dl, err := s.download()
	if err != nil {
		return nil, err
	}
	dl.mu.Lock()
	defer dl.mu.Unlock()
	if f, ok := dl.flashes[m.p.Index]; ok {
		return f, nil
	}
	var f romloader.Flash
	if s.store != nil {
		m.mu.Lock()
		err := m.syncFlash() // creates the blank image (partition table at 0x8000) if needed
		m.mu.Unlock()
		if err != nil {
			return nil, err
		}
		ff, err := romloader.OpenFileFlash(s.store.flashPath(m.p.MAC), romloader.FlashSize, nil)
		if err != nil {
			return nil, fmt.Errorf("sim module %s: %w", m.p.MAC, err)
		}
		f = ff
	} else {
		mf := romloader.NewMemFlash(romloader.FlashSize)
		if _, err := mf.WriteAt(flash.Blank(), 0); err != nil {
			return nil, err
		}
		f = mf
	}
	dl.flashes[m.p.Index] = f
	return f, nil
}

// ModuleFlash returns a copy of module id's whole flash (download mode).
func (s *Sim) ModuleFlash(id int) ([]byte, error) {
	m, err := s.get(id)
	if err != nil {
		return nil, err
	}
	f, err := s.flashOf(m)
	if err != nil {
		return nil, err
	}
	b := make([]byte, f.Size())
	if _, err := f.ReadAt(b, 0); err != nil {
		return nil, err
	}
	return b, nil
}

func (s *Sim) closeFlashes() {
	if s.dl == nil {
		return
	}
	s.dl.mu.Lock()
	defer s.dl.mu.Unlock()
	for _, f := range s.dl.flashes {
		if ff, ok := f.(*romloader.FileFlash); ok {
			_ = ff.Sync()
			_ = ff.Close()
		}
	}
	s.dl.flashes = map[int]romloader.Flash{}
}

// securityInfo is what GET_SECURITY_INFO shows of a module's lock state
// (ESP-FACTS §7): flash encryption burns the XTS key, SPI_BOOT_CRYPT_CNT=7,
// the download caches and pad JTAG off; secure boot sets SECURE_BOOT_EN,
// aggressive revoke, soft JTAG disable and the digest key purpose; the
// read-disable step revokes the unused digest slots; the last step enables
// secure download mode.
func securityInfo(mask lineproto.LockMask, forceSDM bool) romloader.SecurityInfo {
	var si romloader.SecurityInfo
	if mask.Has(lineproto.LockFlashEncryption) {
		si.FlashCryptCnt = 7
		si.Flags |= romloader.FlagDisDownloadICache | romloader.FlagDisDownloadDCache | romloader.FlagHardDisJTAG
		si.KeyPurposes[0] = 4 // XTS_AES_128_KEY
	}
	if mask.Has(lineproto.LockSecureBoot) {
		si.Flags |= romloader.FlagSecureBootEn | romloader.FlagSecureBootAggressive | romloader.FlagSoftDisJTAG
		si.KeyPurposes[1] = 9 // SECURE_BOOT_DIGEST0
	}
	if mask.Has(lineproto.LockReadDisableProtect) {
		si.Flags |= romloader.FlagSecureBootKeyRevoke1 | romloader.FlagSecureBootKeyRevoke2
	}
	if mask.Has(lineproto.LockSecureDownload) || forceSDM {
		si.Flags |= romloader.FlagSecureDownloadEnable
	}
	return si
}

// romSession is a module in the jig's ROM loader.
type romSession struct {
	mod *module
	srv *romloader.Server
}

// enterDownload puts m (just inserted, or reset) in the ROM loader: it
// prints the banner and answers the ROM protocol. Caller holds j.mu.
func (j *Jig) enterDownload(m *module) error {
	dl, err := j.sim.download()
	if err != nil {
		return err
	}
	fl, err := j.sim.flashOf(m)
	if err != nil {
		return err
	}
	mac, _ := hex.DecodeString(m.p.MAC)
	cfg := romloader.ServerConfig{
		Chip: dl.chip, Flash: fl, Faults: j.sim.opts.Download.Faults,
		Seed: j.sim.opts.Seed ^ uint64(m.p.Index)<<20 ^ uint64(m.p.Boots),
		Security: func() romloader.SecurityInfo {
			m.mu.Lock()
			defer m.mu.Unlock()
			return securityInfo(lineproto.LockMask(m.p.LockMask), j.sim.opts.Download.SecureDownload)
		},
	}
	copy(cfg.MAC[:], mac)
	if j.sim.opts.Timing == TimingReal {
		cfg.Timing = realROMTiming
		cfg.Wait = j.sleep
	}
	cfg.OnReset = func() {
		j.sim.opts.Logf("jig %d: module %d reset in the ROM loader (fault)", j.index, m.p.Index)
		m.mu.Lock()
		m.p.Boots++
		_ = m.save()
		m.mu.Unlock()
	}
	cfg.OnExit = func(runUserCode bool) { j.leaveDownload(m, runUserCode) }
	sess := &romSession{mod: m}
	sess.srv = romloader.NewServer(cfg, j.write)
	j.rom = sess
	j.sim.opts.Logf("jig %d: module %d (%s) in ROM download mode (%s)", j.index, m.p.Index, m.p.MAC, dl.chip.Name)
	j.write(sess.srv.Banner())
	return nil
}

// leaveDownload: FLASH_END ended the loader. The chip restarts and runs
// the firmware in flash (the manufacturing firmware of the simulator).
func (j *Jig) leaveDownload(m *module, runUserCode bool) {
	j.mu.Lock()
	if j.rom == nil || j.rom.mod != m {
		j.mu.Unlock()
		return
	}
	j.rom = nil
	j.mu.Unlock()
	j.sim.opts.Logf("jig %d: module %d left the ROM loader (run user code: %v)", j.index, m.p.Index, runUserCode)
	go j.announce(m, powerOn(m, lineproto.BootCommand))
}

// feedROM hands received bytes to the ROM loader when the module is in
// download mode; it reports false when it is not.
func (j *Jig) feedROM(p []byte) bool {
	j.mu.Lock()
	sess := j.rom
	j.mu.Unlock()
	if sess == nil {
		return false
	}
	sess.srv.Feed(p)
	return true
}

// ROMStats returns the ROM loader counters of the module in the jig, or
// ok=false when it is not in download mode.
func (j *Jig) ROMStats() (romloader.ServerStats, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.rom == nil {
		return romloader.ServerStats{}, false
	}
	return j.rom.srv.Stats(), true
}

// ResetIntoDownload resets the module on the jig into its ROM loader, as a
// jig does by holding the chip's boot strap low through a reset (esptool's
// DTR/RTS sequence; a pseudo-terminal has no modem lines, so tests call
// this instead). RAM state is lost; the flash and eFuses stay.
func (j *Jig) ResetIntoDownload() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.mod == nil {
		return fmt.Errorf("sim jig %d: empty", j.index)
	}
	m := j.mod
	m.mu.Lock()
	m.reset()
	m.p.Boots++
	_ = m.save()
	m.mu.Unlock()
	return j.enterDownload(m)
}
