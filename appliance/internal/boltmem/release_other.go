//go:build !linux

package boltmem

import "go.etcd.io/bbolt"

// Release is a no-op where MADV_DONTNEED on a shared file mapping is not
// known to behave as on Linux (see release_linux.go).
func Release(*bbolt.Tx) {}

// ReleaseAbove is a no-op here (see release_linux.go).
func ReleaseAbove(*bbolt.Tx, int64) bool { return false }
