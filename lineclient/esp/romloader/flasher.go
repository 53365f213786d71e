package romloader

import (
	"crypto/md5"
	"errors"
	"fmt"

	"github.com/dacline/dacline/lineclient/esp/espimage"
	"github.com/dacline/dacline/lineclient/transport"
)

// Dial opens the jig's serial port and connects to the chip's loader:
// SYNC, chip detection, security info. Close the port when done.
func Dial(path string, attempts int) (*Client, *transport.Port, error) {
	p, err := transport.Open(path, transport.Config{})
	if err != nil {
		return nil, nil, err
	}
	c := NewClient(p)
	if _, err := c.Connect(attempts); err != nil {
		p.Close()
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, p, nil
}

// FlashOptions say how images are written.
type FlashOptions struct {
	Verify    bool // MD5 read-back of every region (not in secure download mode)
	Compress  bool // FLASH_DEFL_* (not in secure download mode)
	Attempts  int  // per region, when verifying (default 3)
	FlashSize uint32
	// Before is called once every image passed its checks, before the
	// first byte is written (a station records "flashing started" there).
	Before func([]espimage.Checked) error
	// Progress, if set, gets each region's progress.
	Progress func(w espimage.Checked, done, total int)
}

// Flashed is one region written.
type Flashed struct {
	espimage.Checked
	MD5      [16]byte // of the bytes sent (padded to 4)
	Verified bool     // the chip's MD5 of the region matched
}

// ErrRefused wraps every check that failed before anything was written.
var ErrRefused = errors.New("refused before writing")

// FlashImages checks every write against the policy and the detected chip
// (espimage.CheckWrites), and only then writes them in order, each
// verified by MD5 read-back when opts.Verify. A refusal leaves the module
// untouched; a write or verification failure names the region.
func (c *Client) FlashImages(ws []espimage.Write, pol espimage.Policy, opts FlashOptions) ([]Flashed, error) {
	if c.Chip.Name == "" {
		return nil, errors.New("flash: chip not detected (connect first)")
	}
	if opts.FlashSize == 0 {
		opts.FlashSize = FlashSize
	}
	if opts.Attempts == 0 {
		opts.Attempts = 3
	}
	pol.ChipID, pol.ChipName, pol.BootloaderOffset, pol.FlashSize = c.Chip.ImageID, c.Chip.Name, c.Chip.BootloaderOffset, opts.FlashSize
	checked, err := espimage.CheckWrites(ws, pol)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRefused, err)
	}
	if c.SecureDownload && (opts.Verify || opts.Compress) {
		return nil, fmt.Errorf("%w: the module is in secure download mode: MD5 verification and compressed writes are not available (write without --verify, or verify another way)", ErrRefused)
	}
	if opts.Before != nil {
		if err := opts.Before(checked); err != nil {
			return nil, err
		}
	}
	if err := c.AttachFlash(opts.FlashSize); err != nil {
		return nil, fmt.Errorf("attach flash: %w", err)
	}
	out := make([]Flashed, 0, len(checked))
	for _, w := range checked {
		var prog func(int, int)
		if opts.Progress != nil {
			prog = func(d, t int) { opts.Progress(w, d, t) }
		}
		f := Flashed{Checked: w, MD5: md5.Sum(pad4(w.Data))}
		if opts.Verify {
			err = c.WriteVerified(w.Offset, w.Data, opts.Compress, opts.Attempts, opts.FlashSize, prog)
			f.Verified = err == nil
		} else {
			err = c.WriteRegion(w.Offset, w.Data, opts.Compress, prog)
		}
		if err != nil {
			return out, fmt.Errorf("%s at 0x%x: %w", w.Name, w.Offset, err)
		}
		out = append(out, f)
	}
	return out, nil
}
