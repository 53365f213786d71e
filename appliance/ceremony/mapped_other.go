//go:build !linux

package ceremony

import "go.etcd.io/bbolt"

// dropMapped is a no-op where MADV_DONTNEED on a shared file mapping is not
// known to behave as on Linux (see mapped_linux.go).
func dropMapped(*bbolt.Tx) {}
