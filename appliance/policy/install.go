package policy

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
)

// Install validates raw and makes it the policy file in homeDir, atomically
// and durably (temporary file, fsync, rename, fsync of the directory).
// record runs after the new file is durable under its temporary name and
// before the rename makes it the policy: the caller logs the change there
// ("record, then act"), and an error from it leaves the old policy in place.
func Install(homeDir string, raw []byte, record func(sha [32]byte) error) ([32]byte, error) {
	if len(raw) > MaxFileSize {
		return [32]byte{}, fmt.Errorf("policy: larger than %d bytes", MaxFileSize)
	}
	if _, err := Parse(raw); err != nil {
		return [32]byte{}, err
	}
	sum := sha256.Sum256(raw)
	final := filepath.Join(homeDir, FileName)
	tmp, err := os.CreateTemp(homeDir, ".tmp-"+FileName+"-")
	if err != nil {
		return sum, fmt.Errorf("install policy: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(raw); err != nil {
		tmp.Close()
		return sum, fmt.Errorf("install policy: %w", err)
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return sum, fmt.Errorf("install policy: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return sum, fmt.Errorf("install policy: fsync: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return sum, fmt.Errorf("install policy: %w", err)
	}
	if record != nil {
		if err := record(sum); err != nil {
			return sum, err
		}
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return sum, fmt.Errorf("install policy: %w", err)
	}
	d, err := os.Open(homeDir)
	if err != nil {
		return sum, err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return sum, fmt.Errorf("install policy: fsync %s: %w", homeDir, err)
	}
	return sum, nil
}
