package ceremony

import (
	"go.etcd.io/bbolt"
	"golang.org/x/sys/unix"
)

// dropMapped takes the database file's pages out of the process's resident
// set. bbolt maps the whole file read-only (MAP_SHARED) and reads through
// the map, so every page a ceremony looks at — index lookups while
// committing, every DAC record when the return bundle is built — would stay
// in its RSS: a 1,000,000-DAC store is over a gigabyte. MADV_DONTNEED on a
// shared file mapping only unmaps the pages from this process; they stay in
// the kernel's page cache and fault back in on the next access, with the
// same contents (bbolt writes with pwrite, never through the map).
//
// tx must be open: it holds bbolt's mmap lock, so the mapping cannot be
// replaced (remapped) while the range is advised; the range is the part of
// the file this transaction sees, which the mapping always covers.
func dropMapped(tx *bbolt.Tx) {
	size := tx.Size()
	info := tx.DB().Info()
	if info == nil || info.Data == 0 || size <= 0 {
		return
	}
	// The map is not Go memory: pass its address as the uintptr bbolt gives.
	_, _, _ = unix.Syscall(unix.SYS_MADVISE, info.Data, uintptr(size), unix.MADV_DONTNEED)
}
