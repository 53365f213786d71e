package bundle

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// The plaintext of a bundle is a POSIX ustar archive in one canonical form (FORMAT.md,
// "Tar layout"): regular files only, flat names, mode 0644, uid/gid 0, empty user and
// group names, every mtime equal to the manifest's created time, data padded with zero
// bytes to 512, two zero blocks at the end and nothing after them. The reader rebuilds
// each header from the parsed name, size and mtime and requires the same 512 bytes, so
// no byte of a header is left unchecked.

const blockSize = 512

// maxUstarSize is the largest size an 11-digit octal field holds (8 GiB - 1).
const maxUstarSize = 1<<33 - 1

// ustarHeader builds the canonical header block of a regular file.
func ustarHeader(name string, size, mtime int64) ([blockSize]byte, error) {
	var h [blockSize]byte
	if len(name) == 0 || len(name) > 100 {
		return h, fmt.Errorf("tar entry name %q: 1 to 100 bytes", name)
	}
	if size < 0 || size > maxUstarSize || mtime < 0 || mtime > maxUstarSize {
		return h, fmt.Errorf("tar entry %s: size or mtime out of ustar range", name)
	}
	copy(h[0:100], name)
	copy(h[100:108], "0000644\x00")
	copy(h[108:116], "0000000\x00")
	copy(h[116:124], "0000000\x00")
	copy(h[124:136], fmt.Sprintf("%011o\x00", size))
	copy(h[136:148], fmt.Sprintf("%011o\x00", mtime))
	copy(h[148:156], "        ")
	h[156] = '0'
	copy(h[257:263], "ustar\x00")
	copy(h[263:265], "00")
	copy(h[329:337], "0000000\x00")
	copy(h[337:345], "0000000\x00")
	var sum int64
	for _, c := range h {
		sum += int64(c)
	}
	copy(h[148:156], fmt.Sprintf("%06o\x00 ", sum))
	return h, nil
}

// tarWriter writes the canonical archive.
type tarWriter struct {
	w     io.Writer
	mtime int64
}

func (t *tarWriter) writeFile(name string, size int64, r io.Reader) error {
	h, err := ustarHeader(name, size, t.mtime)
	if err != nil {
		return err
	}
	if _, err := t.w.Write(h[:]); err != nil {
		return err
	}
	n, err := io.Copy(t.w, io.LimitReader(r, size))
	if err != nil {
		return fmt.Errorf("tar entry %s: %w", name, err)
	}
	if n != size {
		return fmt.Errorf("tar entry %s: got %d bytes, want %d", name, n, size)
	}
	if pad := padding(size); pad > 0 {
		if _, err := t.w.Write(make([]byte, pad)); err != nil {
			return err
		}
	}
	return nil
}

func (t *tarWriter) close() error {
	_, err := t.w.Write(make([]byte, 2*blockSize))
	return err
}

func padding(size int64) int64 { return (blockSize - size%blockSize) % blockSize }

// tarEntry is one file found in an archive.
type tarEntry struct {
	Name   string
	Offset int64 // of the data
	Size   int64
	MTime  int64
}

var zeroBlock [blockSize]byte

// readTarIndex parses the canonical archive held in r (of total length size) and
// returns its entries. It reads headers and padding only; file data is not read.
// maxEntries bounds the work done on a hostile archive.
func readTarIndex(r io.ReaderAt, size int64, maxEntries int, maxEntrySize int64) ([]tarEntry, error) {
	var entries []tarEntry
	var off int64
	var blk [blockSize]byte
	for {
		if off+blockSize > size {
			return nil, fmt.Errorf("archive ends inside a header at offset %d (no end-of-archive blocks)", off)
		}
		if _, err := r.ReadAt(blk[:], off); err != nil {
			return nil, fmt.Errorf("read header at offset %d: %w", off, err)
		}
		if blk == zeroBlock {
			// End of archive: exactly one more zero block, then nothing.
			if size != off+2*blockSize {
				return nil, fmt.Errorf("end of archive at offset %d: want two zero blocks and nothing after them (archive is %d bytes)", off, size)
			}
			if _, err := r.ReadAt(blk[:], off+blockSize); err != nil {
				return nil, fmt.Errorf("read end of archive: %w", err)
			}
			if blk != zeroBlock {
				return nil, fmt.Errorf("end of archive at offset %d: second block is not zero", off)
			}
			return entries, nil
		}
		if len(entries) >= maxEntries {
			return nil, fmt.Errorf("more than %d entries: %w", maxEntries, ErrTooLarge)
		}
		e, err := parseUstarHeader(blk)
		if err != nil {
			return nil, fmt.Errorf("entry %d at offset %d: %w", len(entries)+1, off, err)
		}
		if e.Size > maxEntrySize {
			return nil, fmt.Errorf("entry %s: %d bytes, limit %d: %w", e.Name, e.Size, maxEntrySize, ErrTooLarge)
		}
		e.Offset = off + blockSize
		end := e.Offset + e.Size + padding(e.Size)
		if end > size {
			return nil, fmt.Errorf("entry %s: data runs past the end of the archive", e.Name)
		}
		if pad := padding(e.Size); pad > 0 {
			p := make([]byte, pad)
			if _, err := r.ReadAt(p, e.Offset+e.Size); err != nil {
				return nil, fmt.Errorf("entry %s: read padding: %w", e.Name, err)
			}
			if !bytes.Equal(p, zeroBlock[:pad]) {
				return nil, fmt.Errorf("entry %s: padding after the data is not zero", e.Name)
			}
		}
		entries = append(entries, e)
		off = end
	}
}

// parseUstarHeader accepts exactly the blocks ustarHeader produces.
func parseUstarHeader(blk [blockSize]byte) (tarEntry, error) {
	var e tarEntry
	switch blk[156] {
	case '0':
	case '1', '2':
		return e, errors.New("links are not allowed")
	case '5':
		return e, errors.New("directories are not allowed")
	default:
		return e, fmt.Errorf("type flag %q: only regular files ('0') are allowed", blk[156])
	}
	nameField := blk[0:100]
	name := string(nameField)
	if i := bytes.IndexByte(nameField, 0); i >= 0 {
		name = string(nameField[:i])
	}
	if err := checkEntryName(name); err != nil {
		return e, err
	}
	size, err := parseOctal11(blk[124:136])
	if err != nil {
		return e, fmt.Errorf("entry %s: size: %w", name, err)
	}
	mtime, err := parseOctal11(blk[136:148])
	if err != nil {
		return e, fmt.Errorf("entry %s: mtime: %w", name, err)
	}
	canon, err := ustarHeader(name, size, mtime)
	if err != nil {
		return e, err
	}
	if canon != blk {
		return e, fmt.Errorf("entry %s: header is not in the canonical form (mode 0644, uid/gid 0, no owner names, ustar magic, checksum)", name)
	}
	return tarEntry{Name: name, Size: size, MTime: mtime}, nil
}

// checkEntryName refuses absolute paths, traversal, directories and odd bytes in an
// entry name before anything else looks at it.
func checkEntryName(name string) error {
	switch {
	case name == "":
		return errors.New("empty entry name")
	case name[0] == '/':
		return fmt.Errorf("entry %q: absolute path", name)
	case name == ".." || bytes.Contains([]byte("/"+name+"/"), []byte("/../")):
		return fmt.Errorf("entry %q: path traversal", name)
	case bytes.ContainsRune([]byte(name), '/'):
		return fmt.Errorf("entry %q: directories are not allowed", name)
	}
	if name != ManifestName && name != SignatureName {
		if err := ValidateFileName(name); err != nil {
			return fmt.Errorf("entry %q: %w", name, err)
		}
	}
	return nil
}

// parseOctal11 parses the 11 octal digits + NUL of a size or mtime field.
func parseOctal11(f []byte) (int64, error) {
	if len(f) != 12 || f[11] != 0 {
		return 0, errors.New("want 11 octal digits and a NUL")
	}
	v, err := strconv.ParseInt(string(f[:11]), 8, 64)
	if err != nil {
		return 0, fmt.Errorf("want 11 octal digits: %q", f[:11])
	}
	return v, nil
}
