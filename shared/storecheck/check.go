package storecheck

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
)

// Sentinel errors callers branch on (errors.Is).
var (
	// ErrMissing: the store file does not exist.
	ErrMissing = errors.New("store is missing")
	// ErrEmpty: the store file has zero length.
	ErrEmpty = errors.New("store is empty")
	// ErrDamaged: the file is not a consistent bbolt store.
	ErrDamaged = errors.New("store is damaged")
)

// bbolt's on-disk format (go.etcd.io/bbolt internal/common: page.go, meta.go,
// types.go), version 2. Integers are in the machine's byte order, as bbolt
// writes them through unsafe casts.
const (
	boltMagic   = 0xED0CDAED
	boltVersion = 2

	pageHeaderSize = 16 // id u64, flags u16, count u16, overflow u32
	metaSize       = 64 // magic, version, pageSize, flags u32; root, sequence, freelist, pgid, txid, checksum u64
	metaSumLen     = 56 // the checksum covers the meta fields before it

	flagBranch   = 0x01
	flagLeaf     = 0x02
	flagMeta     = 0x04
	flagFreelist = 0x10

	noFreelist = ^uint64(0) // bbolt's PgidNoFreelist

	minPageSize = 512
	maxPageSize = 1 << 24 // bbolt probes for the second meta page up to 16 MiB
	// maxFreelistBytes bounds what Check reads of a freelist (1 GiB of store
	// has at most 256 Ki free 4 KiB pages: 2 MiB of ids).
	maxFreelistBytes = 64 << 20
)

var order = binary.NativeEndian

// meta is a decoded bbolt meta page.
type meta struct {
	pageSize uint32
	root     uint64
	freelist uint64
	pgid     uint64 // high water mark: pages [0, pgid) are in use or free
	txid     uint64
}

// Check inspects the bbolt file at path without mapping it and returns nil
// when bbolt can open it safely; otherwise an error wrapping ErrMissing,
// ErrEmpty or ErrDamaged that names the file and what is wrong.
func Check(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: %w", path, ErrMissing)
	}
	if err != nil {
		return fmt.Errorf("store %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("store %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s: %w: not a regular file", path, ErrDamaged)
	}
	if err := CheckReader(f, fi.Size()); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// CheckReader is Check on the size bytes of r.
func CheckReader(r io.ReaderAt, size int64) error {
	if size == 0 {
		return fmt.Errorf("%w (0 bytes)", ErrEmpty)
	}
	damaged := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrDamaged, fmt.Sprintf(format, args...))
	}
	m0, err0 := readMeta(r, size, 0, 0)
	var m1 meta
	var err1 error
	if err0 == nil {
		m1, err1 = readMeta(r, size, int64(m0.pageSize), 1)
	} else {
		// Like bbolt, look for the second meta page at every page size it
		// could have been made with, to say which meta pages are bad.
		err1 = fmt.Errorf("not found at any page size")
		for ps := int64(minPageSize); ps <= maxPageSize && ps < size; ps <<= 1 {
			if m, err := readMeta(r, size, ps, 1); err == nil && int64(m.pageSize) == ps {
				m1, err1 = m, nil
				break
			}
		}
	}
	switch {
	case err0 != nil && err1 != nil:
		return damaged("meta page 0: %v; meta page 1: %v", err0, err1)
	case err0 == nil && err1 == nil && m0.pageSize != m1.pageSize:
		return damaged("meta pages disagree on the page size (%d and %d)", m0.pageSize, m1.pageSize)
	}
	// bbolt opens a store on the valid meta page with the higher txid
	// (DB.meta) and only fails when both are invalid: one torn meta page is
	// what a power cut during a commit leaves, and the other meta page names
	// the state before that commit. The meta page bbolt does not use may name
	// root and freelist pages that a later transaction reused, so only the
	// one in use must describe pages that are there.
	cur, idx := m0, 0
	if err0 != nil || (err1 == nil && m1.txid > m0.txid) {
		cur, idx = m1, 1
	}
	if err := checkMeta(r, size, cur); err != nil {
		return damaged("meta page %d (txid %d, the one in use): %v", idx, cur.txid, err)
	}
	return nil
}

// readMeta reads and validates the meta page with page id want at off.
func readMeta(r io.ReaderAt, size, off int64, want uint64) (meta, error) {
	var b [pageHeaderSize + metaSize]byte
	if off+int64(len(b)) > size {
		return meta{}, fmt.Errorf("file ends at byte %d, before the meta page at %d", size, off)
	}
	if _, err := r.ReadAt(b[:], off); err != nil {
		return meta{}, fmt.Errorf("read: %v", err)
	}
	id, flags := order.Uint64(b[0:]), order.Uint16(b[8:])
	mb := b[pageHeaderSize:]
	m := meta{
		pageSize: order.Uint32(mb[8:]),
		root:     order.Uint64(mb[16:]),
		freelist: order.Uint64(mb[32:]),
		pgid:     order.Uint64(mb[40:]),
		txid:     order.Uint64(mb[48:]),
	}
	switch {
	case order.Uint32(mb[0:]) != boltMagic:
		return meta{}, errors.New("bad magic (not a bbolt file, or overwritten)")
	case order.Uint32(mb[4:]) != boltVersion:
		return meta{}, fmt.Errorf("format version %d, want %d", order.Uint32(mb[4:]), boltVersion)
	case checksum(mb[:metaSumLen]) != order.Uint64(mb[metaSumLen:]):
		return meta{}, errors.New("checksum mismatch")
	case flags != flagMeta:
		return meta{}, fmt.Errorf("page type %#02x, want meta", flags)
	case id != want:
		return meta{}, fmt.Errorf("page id %d, want %d", id, want)
	case m.pageSize < minPageSize || m.pageSize > maxPageSize || m.pageSize&(m.pageSize-1) != 0:
		return meta{}, fmt.Errorf("page size %d is not a power of two in [%d, %d]", m.pageSize, minPageSize, maxPageSize)
	}
	return m, nil
}

func checksum(b []byte) uint64 {
	h := fnv.New64a()
	h.Write(b)
	return h.Sum64()
}

// checkMeta checks that what m describes is inside the file: its high water
// mark, its root page and its freelist.
func checkMeta(r io.ReaderAt, size int64, m meta) error {
	ps := uint64(m.pageSize)
	if m.pgid < 2 || m.pgid > uint64(size)/ps {
		if m.pgid >= 2 && m.pgid <= (1<<62)/ps {
			return fmt.Errorf("truncated: the store has %d pages of %d bytes (%d bytes) but the file is %d bytes", m.pgid, ps, m.pgid*ps, size)
		}
		return fmt.Errorf("high water mark %d pages is impossible for a file of %d bytes", m.pgid, size)
	}
	if _, err := checkPage(r, m, m.root, "root bucket", flagBranch, flagLeaf); err != nil {
		return err
	}
	if m.freelist == noFreelist {
		return nil
	}
	n, err := checkPage(r, m, m.freelist, "freelist", flagFreelist)
	if err != nil {
		return err
	}
	return checkFreelist(r, m, n)
}

// checkPage reads the header of page id and checks its id, type and extent;
// it returns the page's length in bytes (with its overflow pages).
func checkPage(r io.ReaderAt, m meta, id uint64, what string, flags ...uint16) (uint64, error) {
	if id < 2 || id >= m.pgid {
		return 0, fmt.Errorf("%s page %d is outside pages 2..%d", what, id, m.pgid-1)
	}
	var h [pageHeaderSize]byte
	if _, err := r.ReadAt(h[:], int64(id*uint64(m.pageSize))); err != nil {
		return 0, fmt.Errorf("%s page %d: read: %v", what, id, err)
	}
	gotID, gotFlags, overflow := order.Uint64(h[0:]), order.Uint16(h[8:]), uint64(order.Uint32(h[12:]))
	if gotID != id {
		return 0, fmt.Errorf("%s page %d: header says page %d", what, id, gotID)
	}
	ok := false
	for _, f := range flags {
		ok = ok || gotFlags == f
	}
	if !ok {
		return 0, fmt.Errorf("%s page %d: page type %#02x", what, id, gotFlags)
	}
	if id+overflow >= m.pgid {
		return 0, fmt.Errorf("%s page %d: its %d overflow pages pass the high water mark %d", what, id, overflow, m.pgid)
	}
	return (overflow + 1) * uint64(m.pageSize), nil
}

// checkFreelist checks that every page id in the freelist page at m.freelist
// (n bytes long) is a page the store has, other than the meta pages.
func checkFreelist(r io.ReaderAt, m meta, n uint64) error {
	if n > maxFreelistBytes {
		return fmt.Errorf("freelist page %d: %d bytes is more than this check reads", m.freelist, n)
	}
	b := make([]byte, n)
	if _, err := r.ReadAt(b, int64(m.freelist*uint64(m.pageSize))); err != nil {
		return fmt.Errorf("freelist page %d: read: %v", m.freelist, err)
	}
	ids := b[pageHeaderSize:]
	count := uint64(order.Uint16(b[10:]))
	if count == 0xFFFF {
		// An overflowing count is stored as the first element.
		if len(ids) < 8 {
			return fmt.Errorf("freelist page %d: too short for its count", m.freelist)
		}
		count, ids = order.Uint64(ids), ids[8:]
	}
	if count > uint64(len(ids))/8 {
		return fmt.Errorf("freelist page %d: %d free page ids do not fit in %d bytes", m.freelist, count, len(ids))
	}
	for i := uint64(0); i < count; i++ {
		if id := order.Uint64(ids[8*i:]); id < 2 || id >= m.pgid {
			return fmt.Errorf("freelist page %d: free page id %d is outside pages 2..%d", m.freelist, id, m.pgid-1)
		}
	}
	return nil
}
