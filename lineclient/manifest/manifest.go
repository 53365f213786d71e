// Package manifest writes and reads the line manifest: one CSV row per
// finished (locked and verified) module, with what a device maker needs to
// ship, label and later commission it, and what an auditor needs to reconcile
// DACs against modules; and one row with status "unused" per DAC the
// appliance issued for a module the station failed for good (so every issued
// DAC is accounted for, docs/audit-log.md). The format is specified in
// docs/manifest.md; columns are only ever added at the end.
//
// The manifest holds setup passcodes: files are written 0600, atomically
// (temp file, fsync, rename, fsync of the directory), and should be handled
// like the station home.
package manifest

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/dacline/dacline/airgap-bundles/bundle"
	"github.com/dacline/dacline/lineclient/station"
	"github.com/dacline/dacline/shared/onboarding"
)

// Header is the first line of every manifest, in column order.
var Header = []string{"mac", "serial_number", "dac_serial", "dac_sha256", "vid", "pid",
	"discriminator", "passcode", "qr_payload", "manual_code", "batch_id", "locked_at",
	"status", "reason", "flashed_images", "rom_lock_check", "station"}

// flashColumns is the width of the third format (up to rom_lock_check,
// before station was added); the reader still accepts it, rows then naming
// no station.
const flashColumns = 16

// statusColumns is the width of the second format (up to status and
// reason, before the flashing columns were added).
const statusColumns = 14

// minColumns is the width of the first manifest format (up to locked_at,
// before status and reason were added); the reader still accepts it, every
// row then being deployed.
const minColumns = 12

// Status says what became of a row's DAC.
type Status string

const (
	// StatusDeployed: the DAC is in a finished module (locked, attested,
	// lock state read back): it ships.
	StatusDeployed Status = "deployed"
	// StatusUnused: the appliance issued the DAC, but the station failed its
	// module for good (failure is final), so the DAC will never be in a
	// shipped device. The module must be scrapped (see docs/manifest.md).
	StatusUnused Status = "unused"
	// StatusInProgress: the module holds its DAC but is not finished yet
	// (dac-received … locked; the reason column names its state). It does
	// not ship yet; a later manifest lists it deployed or unused. The auditor
	// counts it as in progress, not missing.
	StatusInProgress Status = "in-progress"
)

// Row is one module: a finished one (deployed), or a failed one whose DAC
// was issued (unused; no onboarding codes, no lock time).
type Row struct {
	MAC           string    // aa:bb:cc:dd:ee:ff, lowercase
	SerialNumber  string    // as written to the module
	DACSerial     string    // hex, as in the DAC
	DACSHA256     string    // lowercase hex SHA-256 of the DAC DER
	VID, PID      uint16    // 4 uppercase hex digits in the file
	Discriminator uint16    // decimal, 0..4095
	Passcode      uint32    // decimal, 8 digits zero-padded
	QRPayload     string    // "MT:…"
	ManualCode    string    // 11 digits, no dashes
	BatchID       string    // csr-batch the module's CSR left in
	LockedAt      time.Time // RFC 3339 UTC; zero (empty) on unused rows
	Status        Status
	Reason        string // unused rows: the station's failure reason (lying-module, …); in-progress rows: the module's state
	// FlashedImages are the production images the station wrote through
	// the ROM loader and verified, "name@0xOFFSET=sha256" joined by ";"
	// (empty when the station flashes nothing).
	FlashedImages string
	// ROMLockCheck is "ok" when GET_SECURITY_INFO read through the ROM
	// after the lock confirmed it, "incomplete" when it did not, empty when
	// not checked.
	ROMLockCheck string
	// Station is the station that provisioned the module (empty in older
	// manifests).
	Station string
}

// Unused reports whether the DAC is not in a shipped module.
func (r Row) Unused() bool { return r.Status == StatusUnused }

// Deployed reports whether the row is a finished module that ships.
func (r Row) Deployed() bool { return r.Status == StatusDeployed }

// InProgress reports whether m holds a DAC and is still being finished:
// its row is in-progress.
func InProgress(m *station.Module) bool { return m.State.HasDAC() && m.State != station.StateDone }

// InProgressRowOf builds the row of a module still being finished.
func InProgressRowOf(m *station.Module, stationName string) (Row, error) {
	if !InProgress(m) {
		return Row{}, fmt.Errorf("module %s is %s: not in progress with a dac", m.MAC, m.State)
	}
	return Row{MAC: m.MAC, SerialNumber: m.SerialNumber, DACSerial: m.DACSerial, DACSHA256: m.DACSHA256,
		VID: m.VID, PID: m.PID, BatchID: m.BatchID, Status: StatusInProgress, Reason: m.State.String(), Station: stationName}, nil
}

// HasUnusedDAC reports whether m is a module the station failed for good
// after the appliance issued it a DAC: its row is unused. A failed module
// whose failure came before any DAC (refused by the appliance, not returned,
// bad CSR…) has no DAC to account for and no row.
func HasUnusedDAC(m *station.Module) bool {
	return m.State == station.StateFailed && m.DACSHA256 != "" && m.DACSerial != ""
}

// UnusedRowOf builds the row of a failed module's DAC; see HasUnusedDAC.
func UnusedRowOf(m *station.Module) (Row, error) {
	if !HasUnusedDAC(m) {
		return Row{}, fmt.Errorf("module %s is %s (from %s) without a recorded dac: no unused row", m.MAC, m.State, m.FailedFrom)
	}
	return Row{MAC: m.MAC, SerialNumber: m.SerialNumber, DACSerial: m.DACSerial, DACSHA256: m.DACSHA256,
		VID: m.VID, PID: m.PID, BatchID: m.BatchID, Status: StatusUnused, Reason: string(m.Reason)}, nil
}

// Options choose how the onboarding payloads are encoded.
type Options struct {
	Flow      onboarding.Flow
	Discovery onboarding.Discovery // 0 means BLE
	// Station is the station column of every row (the station's name).
	Station string
}

// RowOf builds a module's row; m must be done.
func RowOf(m *station.Module, opt Options) (Row, error) {
	if m.State != station.StateDone {
		return Row{}, fmt.Errorf("module %s is %s, not done", m.MAC, m.State)
	}
	disc := opt.Discovery
	if disc == 0 {
		disc = onboarding.DiscoveryBLE
	}
	p := onboarding.Payload{VID: m.VID, PID: m.PID, Flow: opt.Flow, Discovery: disc,
		Discriminator: m.Discriminator, Passcode: m.Passcode}
	qr, err := onboarding.EncodeQR(p)
	if err != nil {
		return Row{}, fmt.Errorf("module %s: qr payload: %w", m.MAC, err)
	}
	manual, err := onboarding.EncodeManual(p)
	if err != nil {
		return Row{}, fmt.Errorf("module %s: manual code: %w", m.MAC, err)
	}
	return Row{MAC: m.MAC, SerialNumber: m.SerialNumber, DACSerial: m.DACSerial, DACSHA256: m.DACSHA256,
		VID: m.VID, PID: m.PID, Discriminator: m.Discriminator, Passcode: m.Passcode,
		QRPayload: qr, ManualCode: manual, BatchID: m.BatchID, LockedAt: m.LockedAt.UTC(), Status: StatusDeployed}, nil
}

func (r Row) record() []string {
	vid, pid := fmt.Sprintf("%04X", r.VID), fmt.Sprintf("%04X", r.PID)
	if !r.Deployed() {
		return []string{r.MAC, r.SerialNumber, r.DACSerial, r.DACSHA256, vid, pid,
			"", "", "", "", r.BatchID, "", string(r.Status), r.Reason, r.FlashedImages, r.ROMLockCheck, r.Station}
	}
	return []string{r.MAC, r.SerialNumber, r.DACSerial, r.DACSHA256, vid, pid,
		strconv.Itoa(int(r.Discriminator)), fmt.Sprintf("%08d", r.Passcode),
		r.QRPayload, r.ManualCode, r.BatchID, r.LockedAt.Format(time.RFC3339), string(StatusDeployed), "",
		r.FlashedImages, r.ROMLockCheck, r.Station}
}

// Counts are the rows of a manifest by status.
type Counts struct {
	Deployed, Unused, InProgress int
}

// Rows is every row.
func (c Counts) Rows() int { return c.Deployed + c.Unused + c.InProgress }

// Write streams the manifest to w: the row of every done module (deployed),
// in MAC order, then the row of every failed module that was issued a DAC
// (unused), then the row of every module holding a DAC that is not finished
// yet (in-progress), each in MAC order. It returns how many rows it wrote.
func Write(w io.Writer, s *station.Store, opt Options) (int, error) {
	c, err := WriteCSV(w, s, opt)
	return c.Rows(), err
}

// WriteCSV is Write, returning the rows by status.
func WriteCSV(w io.Writer, s *station.Store, opt Options) (Counts, error) {
	cw := csv.NewWriter(w)
	if err := cw.Write(Header); err != nil {
		return Counts{}, err
	}
	c, err := walk(s, opt, func(r Row) error { return cw.Write(r.record()) })
	if err != nil {
		return c, err
	}
	cw.Flush()
	return c, cw.Error()
}

// walk calls emit with every row, in manifest order.
func walk(s *station.Store, opt Options, emit func(Row) error) (Counts, error) {
	var c Counts
	// Flashing records (flash.go) are read up front: no second read
	// transaction inside the walk.
	flashed, err := s.FlashRecords()
	if err != nil {
		return c, err
	}
	err = s.ForEachInState(station.StateDone, func(m *station.Module) error {
		r, err := RowOf(m, opt)
		if err != nil {
			return err
		}
		setFlashColumns(&r, flashed[m.MAC])
		r.Station = opt.Station
		c.Deployed++
		return emit(r)
	})
	if err == nil {
		err = s.ForEachInState(station.StateFailed, func(m *station.Module) error {
			if !HasUnusedDAC(m) {
				return nil
			}
			r, err := UnusedRowOf(m)
			if err != nil {
				return err
			}
			r.Station = opt.Station
			c.Unused++
			return emit(r)
		})
	}
	for _, st := range station.States {
		if err != nil || !st.HasDAC() || st == station.StateDone {
			continue
		}
		err = s.ForEachInState(st, func(m *station.Module) error {
			r, err := InProgressRowOf(m, opt.Station)
			if err != nil {
				return err
			}
			c.InProgress++
			return emit(r)
		})
	}
	if err != nil {
		return c, fmt.Errorf("manifest row %d: %w", c.Rows()+1, err)
	}
	return c, nil
}

// WriteFile writes the manifest to path atomically with mode 0600: readers
// see the old file or the whole new one, never a part.
func WriteFile(path string, s *station.Store, opt Options) (int, error) {
	c, err := WriteFileAs(path, s, opt, false)
	return c.Rows(), err
}

// WriteFileAs writes the manifest to path atomically with mode 0600, as CSV
// or (asJSON) as JSON.
func WriteFileAs(path string, s *station.Store, opt Options, asJSON bool) (Counts, error) {
	var c Counts
	err := AtomicWrite(path, 0o600, func(w io.Writer) error {
		var err error
		if asJSON {
			c, err = WriteJSON(w, s, opt)
		} else {
			c, err = WriteCSV(w, s, opt)
		}
		return err
	})
	return c, err
}

// AtomicWrite writes a file through a temporary file in the same directory:
// write, fsync, rename over path, fsync the directory. On error the temporary
// file is removed and path is untouched.
func AtomicWrite(path string, mode os.FileMode, fill func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err = f.Chmod(mode); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	bw := newBufWriter(f)
	if err = fill(bw); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = bw.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("write %s: fsync: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if d, derr := os.Open(dir); derr == nil {
		serr := d.Sync()
		d.Close()
		if serr != nil {
			return fmt.Errorf("write %s: fsync directory: %w", path, serr)
		}
	}
	return nil
}

// ErrFormat marks a manifest that does not follow docs/manifest.md.
var ErrFormat = errors.New("invalid manifest")

// maxRowBytes bounds one line so a hostile file cannot exhaust memory.
const maxRowBytes = 4096

// Reader reads a manifest row by row, checking every field.
type Reader struct {
	cr   *csv.Reader
	line int
}

// NewReader checks the header and returns a Reader for the rows. It accepts
// the current header and the earlier formats' (the 12 columns up to
// locked_at, every row deployed; the 14 up to status and reason).
func NewReader(r io.Reader) (*Reader, error) {
	cr := csv.NewReader(&limitedLines{r: r})
	cr.ReuseRecord = true
	h, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrFormat, err)
	}
	if len(h) != len(Header) && len(h) != flashColumns && len(h) != statusColumns && len(h) != minColumns {
		return nil, fmt.Errorf("%w: header has %d columns, want %d (%s)", ErrFormat, len(h), len(Header), strings.Join(Header, ","))
	}
	for i, col := range h {
		if col != Header[i] {
			return nil, fmt.Errorf("%w: header column %d is %q, want %q", ErrFormat, i+1, col, Header[i])
		}
	}
	cr.FieldsPerRecord = len(h) // every row as wide as the header
	return &Reader{cr: cr, line: 1}, nil
}

// Next returns the next row, or io.EOF after the last.
func (r *Reader) Next() (Row, error) {
	rec, err := r.cr.Read()
	if err == io.EOF {
		return Row{}, io.EOF
	}
	r.line++
	if err != nil {
		return Row{}, fmt.Errorf("%w: line %d: %v", ErrFormat, r.line, err)
	}
	row, err := parseRow(rec)
	if err != nil {
		return Row{}, fmt.Errorf("%w: line %d: %v", ErrFormat, r.line, err)
	}
	return row, nil
}

func parseRow(rec []string) (Row, error) {
	var r Row
	r.Status = StatusDeployed
	if len(rec) > minColumns {
		r.Status, r.Reason = Status(rec[12]), rec[13]
		switch r.Status {
		case StatusDeployed:
			if r.Reason != "" {
				return r, fmt.Errorf("deployed row with reason %q", r.Reason)
			}
		case StatusUnused:
			if r.Reason == "" || len(r.Reason) > 64 {
				return r, fmt.Errorf("unused row without a reason of 1..64 characters")
			}
		case StatusInProgress:
			if st, err := station.ParseState(r.Reason); err != nil || !InProgress(&station.Module{State: st}) {
				return r, fmt.Errorf("in-progress row whose reason %q is not a state between dac-received and locked", r.Reason)
			}
		default:
			return r, fmt.Errorf("status %q is not deployed, unused or in-progress", rec[12])
		}
	}
	if len(rec) > statusColumns {
		r.FlashedImages, r.ROMLockCheck = rec[14], rec[15]
		if err := checkFlashColumns(r.FlashedImages, r.ROMLockCheck); err != nil {
			return r, err
		}
	}
	if len(rec) > flashColumns {
		r.Station = rec[16]
		if r.Station != "" && bundle.ValidateName(r.Station) != nil {
			return r, fmt.Errorf("station %q is not a station name", r.Station)
		}
	}
	r.MAC = rec[0]
	if len(r.MAC) != 17 || strings.ToLower(r.MAC) != r.MAC || strings.Count(r.MAC, ":") != 5 {
		return r, fmt.Errorf("mac %q is not aa:bb:cc:dd:ee:ff", rec[0])
	}
	r.SerialNumber, r.DACSerial, r.DACSHA256 = rec[1], rec[2], rec[3]
	if r.SerialNumber == "" || len(r.SerialNumber) > 32 {
		return r, fmt.Errorf("serial_number %q is not 1..32 characters", rec[1])
	}
	if !isHex(r.DACSerial) || len(r.DACSerial) > 40 {
		return r, fmt.Errorf("dac_serial %q is not hex of at most 20 bytes", rec[2])
	}
	if len(r.DACSHA256) != 64 || !isHex(r.DACSHA256) || strings.ToLower(r.DACSHA256) != r.DACSHA256 {
		return r, fmt.Errorf("dac_sha256 %q is not 64 lowercase hex digits", rec[3])
	}
	for i, dst := range []*uint16{&r.VID, &r.PID} {
		s := rec[4+i]
		v, err := strconv.ParseUint(s, 16, 16)
		if err != nil || len(s) != 4 || strings.ToUpper(s) != s {
			return r, fmt.Errorf("%s %q is not 4 uppercase hex digits", Header[4+i], s)
		}
		*dst = uint16(v)
	}
	r.BatchID = rec[10]
	if !r.Deployed() {
		// No onboarding codes and no lock time: the module never shipped.
		for _, i := range []int{6, 7, 8, 9, 11} {
			if rec[i] != "" {
				return r, fmt.Errorf("%s row has a %s", r.Status, Header[i])
			}
		}
		return r, nil
	}
	d, err := strconv.ParseUint(rec[6], 10, 16)
	if err != nil || onboarding.CheckDiscriminator(uint16(d)) != nil {
		return r, fmt.Errorf("discriminator %q is not 0..4095", rec[6])
	}
	r.Discriminator = uint16(d)
	p, err := strconv.ParseUint(rec[7], 10, 32)
	if err != nil || len(rec[7]) != 8 || !onboarding.IsValidPasscode(uint32(p)) {
		return r, fmt.Errorf("passcode is not a valid 8-digit setup passcode")
	}
	r.Passcode = uint32(p)
	r.QRPayload, r.ManualCode = rec[8], rec[9]
	qp, err := onboarding.DecodeQR(r.QRPayload)
	if err != nil {
		return r, fmt.Errorf("qr_payload: %v", err)
	}
	if qp.VID != r.VID || qp.PID != r.PID || qp.Discriminator != r.Discriminator || qp.Passcode != r.Passcode {
		return r, fmt.Errorf("qr_payload does not carry the row's vid, pid, discriminator and passcode")
	}
	mc, err := onboarding.DecodeManual(r.ManualCode)
	if err != nil {
		return r, fmt.Errorf("manual_code: %v", err)
	}
	if mc.Passcode != r.Passcode || mc.ShortDiscriminator != uint8(r.Discriminator>>8) {
		return r, fmt.Errorf("manual_code does not carry the row's passcode and discriminator")
	}
	if r.LockedAt, err = time.Parse(time.RFC3339, rec[11]); err != nil {
		return r, fmt.Errorf("locked_at %q is not RFC 3339", rec[11])
	}
	return r, nil
}

func isHex(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return false
		}
	}
	return true
}

// ReadAll reads every row of a manifest, deployed and unused.
func ReadAll(r io.Reader) ([]Row, error) {
	mr, err := NewReader(r)
	if err != nil {
		return nil, err
	}
	var rows []Row
	for {
		row, err := mr.Next()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return rows, err
		}
		rows = append(rows, row)
	}
}
