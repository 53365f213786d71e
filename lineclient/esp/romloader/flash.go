package romloader

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// FlashSize is the module flash of docs/../FLASH-CONTRACT: 4 MiB.
const FlashSize = 4 << 20

// Flash is the SPI flash behind an emulated loader. Bytes read 0xFF when
// erased.
type Flash interface {
	io.ReaderAt
	io.WriterAt
	Size() int64
}

// MemFlash is a Flash in memory, erased at creation.
type MemFlash struct {
	mu sync.Mutex
	b  []byte
}

// NewMemFlash returns an erased flash of size bytes.
func NewMemFlash(size int) *MemFlash {
	return &MemFlash{b: bytes.Repeat([]byte{0xFF}, size)}
}

// ReadAt implements io.ReaderAt.
func (m *MemFlash) ReadAt(p []byte, off int64) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if off < 0 || off > int64(len(m.b)) {
		return 0, fmt.Errorf("flash read at 0x%x: out of range", off)
	}
	n := copy(p, m.b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// WriteAt implements io.WriterAt (it stores p as given; NOR semantics are
// the loader's business).
func (m *MemFlash) WriteAt(p []byte, off int64) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if off < 0 || off+int64(len(p)) > int64(len(m.b)) {
		return 0, fmt.Errorf("flash write 0x%x+0x%x: out of range", off, len(p))
	}
	return copy(m.b[off:], p), nil
}

// Size is the flash size in bytes.
func (m *MemFlash) Size() int64 { return int64(len(m.b)) }

// Bytes returns a copy of the whole flash.
func (m *MemFlash) Bytes() []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return bytes.Clone(m.b)
}

// FileFlash is a Flash kept in a file of exactly its size (0600).
type FileFlash struct {
	f    *os.File
	size int64
}

// OpenFileFlash opens the flash image at path, creating it erased (all
// 0xFF) with size bytes when it does not exist; init, if set, fills a new
// image (the module maker's partition table) before it is made visible
// under path. An existing file of another size is an error.
func OpenFileFlash(path string, size int64, init func([]byte)) (*FileFlash, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		img := bytes.Repeat([]byte{0xFF}, int(size))
		if init != nil {
			init(img)
		}
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, img, 0o600); err != nil {
			return nil, fmt.Errorf("flash image %s: %w", path, err)
		}
		if err := os.Rename(tmp, path); err != nil {
			return nil, fmt.Errorf("flash image %s: %w", path, err)
		}
		f, err = os.OpenFile(path, os.O_RDWR, 0)
	}
	if err != nil {
		return nil, fmt.Errorf("flash image %s: %w", path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("flash image %s: %w", path, err)
	}
	if st.Size() != size {
		f.Close()
		return nil, fmt.Errorf("flash image %s: %d bytes, want %d", path, st.Size(), size)
	}
	return &FileFlash{f: f, size: size}, nil
}

// ReadAt implements io.ReaderAt.
func (f *FileFlash) ReadAt(p []byte, off int64) (int, error) { return f.f.ReadAt(p, off) }

// WriteAt implements io.WriterAt within the image.
func (f *FileFlash) WriteAt(p []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(p)) > f.size {
		return 0, fmt.Errorf("flash write 0x%x+0x%x: out of range", off, len(p))
	}
	return f.f.WriteAt(p, off)
}

// Size is the flash size in bytes.
func (f *FileFlash) Size() int64 { return f.size }

// Sync flushes the image to disk.
func (f *FileFlash) Sync() error { return f.f.Sync() }

// Close closes the image file.
func (f *FileFlash) Close() error { return f.f.Close() }
