package romloader

import (
	"bytes"
	"compress/zlib"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// FlashWriteSize is the ROM loader's write block (esptool FLASH_WRITE_SIZE).
const FlashWriteSize = 0x400

// readSlowBlock is what READ_FLASH_SLOW returns per command.
const readSlowBlock = 64

// writeBlockAttempts is how often one data block is sent before the write
// of the region is given up (esptool WRITE_BLOCK_ATTEMPTS).
const writeBlockAttempts = 3

// ErrMD5Mismatch: the chip's MD5 of a region differs from the bytes sent.
var ErrMD5Mismatch = errors.New("md5 mismatch")

func (c *Client) timeoutPerMB(per time.Duration, size int) time.Duration {
	t := time.Duration(float64(per) * float64(size) / 1e6)
	return max(t, c.timeout())
}

// pad4 pads data with 0xFF to a multiple of 4 bytes, as esptool does before
// writing (the MD5 then covers the padded bytes).
func pad4(data []byte) []byte {
	if len(data)%4 == 0 {
		return data
	}
	return append(bytes.Clone(data), bytes.Repeat([]byte{0xFF}, 4-len(data)%4)...)
}

// beginParams is FLASH_BEGIN's / FLASH_DEFL_BEGIN's data: size, blocks,
// block size, offset and — for every ROM but the ESP32's, and for the stub —
// the encrypt flag.
func (c *Client) beginParams(size, blocks, offset uint32) []byte {
	p := words(size, blocks, FlashWriteSize, offset)
	if c.Stub || c.Chip.ExtendedBegin {
		p = append(p, le32(0)...)
	}
	return p
}

// WriteRegion writes data at offset once: erase (FLASH_BEGIN), the blocks,
// no verification. compress sends it zlib-compressed (FLASH_DEFL_*), which
// secure download mode does not allow. progress, if set, gets the bytes
// sent so far (of the possibly compressed stream) and the total.
func (c *Client) WriteRegion(offset uint32, data []byte, compress bool, progress func(done, total int)) error {
	data = pad4(data)
	if compress && c.SecureDownload {
		return fmt.Errorf("compressed write at 0x%x: %w", offset, ErrSecureDownload)
	}
	beginOp, dataOp := OpFlashBegin, OpFlashData
	stream := data
	eraseSize := uint32(len(data))
	if compress {
		var zb bytes.Buffer
		zw, _ := zlib.NewWriterLevel(&zb, zlib.BestCompression)
		zw.Write(data)
		zw.Close()
		stream = zb.Bytes()
		beginOp, dataOp = OpFlashDeflBegin, OpFlashDeflData
		if !c.Stub { // the ROM wants the erase size rounded up to whole blocks
			eraseSize = uint32((len(data) + FlashWriteSize - 1) / FlashWriteSize * FlashWriteSize)
		}
	}
	blocks := uint32((len(stream) + FlashWriteSize - 1) / FlashWriteSize)
	if _, _, err := c.Command(beginOp, c.beginParams(eraseSize, blocks, offset), 0, 0, c.timeoutPerMB(eraseTimeoutPerMB, len(data))); err != nil {
		return fmt.Errorf("region 0x%x: %w", offset, err)
	}
	for seq := uint32(0); seq < blocks; seq++ {
		start := int(seq) * FlashWriteSize
		block := stream[start:min(start+FlashWriteSize, len(stream))]
		if !compress && len(block) < FlashWriteSize { // as esptool: the last plain block padded with 0xFF
			block = append(bytes.Clone(block), bytes.Repeat([]byte{0xFF}, FlashWriteSize-len(block))...)
		}
		payload := append(words(uint32(len(block)), seq, 0, 0), block...)
		var err error
		for range writeBlockAttempts {
			if _, _, err = c.Command(dataOp, payload, Checksum(block), 0, c.timeout()); err == nil {
				break
			}
			c.trace("block %d at 0x%x: %v (retrying)", seq, offset, err)
		}
		if err != nil {
			return fmt.Errorf("region 0x%x block %d of %d: %w", offset, seq, blocks, err)
		}
		if progress != nil {
			progress(min(start+FlashWriteSize, len(stream)), len(stream))
		}
	}
	return nil
}

// FlashMD5 asks the chip for the MD5 of size bytes at offset: 32 hex
// characters from a ROM, 16 raw bytes from the stub.
func (c *Client) FlashMD5(offset, size uint32) ([16]byte, error) {
	var sum [16]byte
	if c.SecureDownload {
		return sum, fmt.Errorf("%s of 0x%x+0x%x: %w", OpSPIFlashMD5, offset, size, ErrSecureDownload)
	}
	n := 32
	if c.Stub {
		n = 16
	}
	_, res, err := c.Command(OpSPIFlashMD5, words(offset, size, 0, 0), 0, n, c.timeoutPerMB(md5TimeoutPerMB, int(size)))
	if err != nil {
		return sum, err
	}
	if c.Stub {
		copy(sum[:], res)
		return sum, nil
	}
	if _, err := hex.Decode(sum[:], res); err != nil {
		return sum, fmt.Errorf("%s: %w: reply %q is not 32 hex digits", OpSPIFlashMD5, ErrPacket, res)
	}
	return sum, nil
}

// WriteVerified writes data at offset and checks the chip's MD5 of the
// region against the bytes sent, retrying the whole region (after a fresh
// SYNC and SPI attach, since the chip may have reset) up to attempts times.
// It returns nil only when the MD5 matched.
func (c *Client) WriteVerified(offset uint32, data []byte, compress bool, attempts int, flashSize uint32, progress func(done, total int)) error {
	if c.SecureDownload {
		return fmt.Errorf("verified write at 0x%x: MD5 read-back %w", offset, ErrSecureDownload)
	}
	data = pad4(data)
	want := md5.Sum(data)
	var last error
	for attempt := range max(attempts, 1) {
		if attempt > 0 {
			c.trace("region 0x%x: attempt %d after: %v", offset, attempt+1, last)
			if err := c.Resync(flashSize); err != nil {
				last = err
				continue
			}
		}
		if err := c.WriteRegion(offset, data, compress, progress); err != nil {
			last = err
			continue
		}
		got, err := c.FlashMD5(offset, uint32(len(data)))
		if err != nil {
			last = err
			continue
		}
		if got != want {
			last = fmt.Errorf("region 0x%x+0x%x: %w: chip has %x, sent %x", offset, len(data), ErrMD5Mismatch, got, want)
			continue
		}
		return nil
	}
	return fmt.Errorf("write 0x%x+0x%x failed after %d attempts: %w", offset, len(data), max(attempts, 1), last)
}

// Resync re-establishes the session after a possible chip reset: SYNC, SPI
// attach and flash parameters again.
func (c *Client) Resync(flashSize uint32) error {
	if err := c.Sync(20); err != nil {
		return err
	}
	return c.AttachFlash(flashSize)
}

// AttachFlash runs SPI_ATTACH and SPI_SET_PARAMS, as esptool does before any
// flash command.
func (c *Client) AttachFlash(flashSize uint32) error {
	if err := c.SPIAttach(); err != nil {
		return err
	}
	return c.SPISetParams(flashSize)
}

// ReadFlash reads size bytes at offset through the ROM's READ_FLASH_SLOW
// (64 bytes a command; not in secure download mode, not through the stub).
func (c *Client) ReadFlash(offset, size uint32, progress func(done, total int)) ([]byte, error) {
	if c.SecureDownload {
		return nil, fmt.Errorf("read flash 0x%x+0x%x: %w", offset, size, ErrSecureDownload)
	}
	if c.Stub {
		return nil, fmt.Errorf("read flash 0x%x+0x%x: the stub's READ_FLASH is not implemented here (reset the chip into its ROM loader)", offset, size)
	}
	out := make([]byte, 0, size)
	for uint32(len(out)) < size {
		n := min(size-uint32(len(out)), readSlowBlock)
		at := offset + uint32(len(out))
		var res []byte
		var err error
		for range writeBlockAttempts {
			if _, res, err = c.Command(OpReadFlashSlow, words(at, n), 0, readSlowBlock, c.timeout()); err == nil {
				break
			}
		}
		if err != nil {
			return nil, fmt.Errorf("read flash at 0x%x: %w", at, err)
		}
		out = append(out, res[:n]...)
		if progress != nil {
			progress(len(out), int(size))
		}
	}
	return out, nil
}

// FlashEnd leaves the loader: runUserCode boots the app from flash, else
// the chip reboots.
func (c *Client) FlashEnd(runUserCode bool) error {
	flag := uint32(0)
	if runUserCode {
		flag = 1
	}
	_, _, err := c.Command(OpFlashEnd, le32(flag), 0, 0, c.timeout())
	return err
}
