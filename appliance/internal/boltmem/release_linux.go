package boltmem

import (
	"go.etcd.io/bbolt"
	"golang.org/x/sys/unix"
)

// Release takes the database file's pages out of the process's resident
// set. bbolt maps the whole file read-only (MAP_SHARED) and reads through
// the map, so every page a long scan looks at stays in the RSS: a
// 1,000,000-DAC store is over a gigabyte. MADV_DONTNEED on a shared file
// mapping only unmaps the pages from this process; they stay in the
// kernel's page cache and fault back in on the next access with the same
// contents (bbolt writes with pwrite, never through the map), so slices a
// transaction holds into the map stay valid.
//
// Call it inside an open transaction, from the goroutine using it: a read
// transaction holds bbolt's mmap lock, so the map cannot be replaced while
// the range is advised, and only a write transaction remaps, from its own
// calls. The range is the part of the file the transaction sees, which the
// map always covers.
func Release(tx *bbolt.Tx) {
	size := tx.Size()
	info := tx.DB().Info()
	if info == nil || info.Data == 0 || size <= 0 {
		return
	}
	// The map is not Go memory: pass its address as the uintptr bbolt gives.
	_, _, _ = unix.Syscall(unix.SYS_MADVISE, info.Data, uintptr(size), unix.MADV_DONTNEED)
}
