package boltmem

import (
	"bytes"
	"os"
	"strconv"

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

// ReleaseAbove calls Release when the process's resident file-backed memory
// (the "shared" field of /proc/self/statm: mapped file pages, the
// database's among them) is above limit bytes, and reports whether it did.
// Cheap enough to call after every commit: a small store is never
// released (and never faulted in again), a large one is kept near limit.
// Every random page bbolt reads maps the kernel's whole fault-around window
// (64 KB by default), so a few thousand index lookups are enough to map
// hundreds of megabytes.
func ReleaseAbove(tx *bbolt.Tx, limit int64) bool {
	if residentShared() <= limit {
		return false
	}
	Release(tx)
	return true
}

var pageSize = int64(os.Getpagesize())

// residentShared is the shared resident size in bytes, 0 when unknown.
func residentShared() int64 {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := bytes.Fields(data)
	if len(f) < 3 {
		return 0
	}
	n, err := strconv.ParseInt(string(f[2]), 10, 64)
	if err != nil {
		return 0
	}
	return n * pageSize
}
