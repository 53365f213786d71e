//go:build !linux

package testenv

import "testing"

// SmallDisk needs Linux (a tmpfs mount); elsewhere the test stops as Missing.
func SmallDisk(t testing.TB, size int) string {
	t.Helper()
	Missing(t, "a small tmpfs for a full disk (Linux only)")
	return ""
}
