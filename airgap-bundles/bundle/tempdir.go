package bundle

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Prefixes of the private temporary directories the reader (the decrypted
// plaintext.tar) and the builder (the payload spool) make in their temp dir.
// Close removes them; a process killed before Close leaves them behind.
const (
	ReadTempPrefix  = "dacline-bundle-read-"
	SpoolTempPrefix = "dacline-bundle-spool-"
)

// PrepareTempDir makes dir the directory for a program's bundle temporary
// files (ReadOptions.TempDir, NewBuilder's tmpDir) and removes what killed
// runs left in it: it creates dir (mode 0700) if missing, sets an existing
// one to 0700, refuses a symlink or non-directory, and removes every entry
// named ReadTempPrefix* or SpoolTempPrefix*. It returns how many it removed.
//
// Call it only while holding exclusive use of dir — e.g. under an appliance
// or station home opened by one process at a time — and before any bundle is
// read or built there: a concurrent reader's live files would be removed.
func PrepareTempDir(dir string) (removed int, err error) {
	if dir == "" {
		return 0, errors.New("bundle temp dir: no directory given")
	}
	fi, err := os.Lstat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.Mkdir(dir, 0o700); err != nil {
			return 0, fmt.Errorf("bundle temp dir: %w", err)
		}
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("bundle temp dir: %w", err)
	case !fi.IsDir():
		return 0, fmt.Errorf("bundle temp dir %s: not a directory (%s)", dir, fi.Mode().Type())
	case fi.Mode().Perm() != 0o700:
		if err := os.Chmod(dir, 0o700); err != nil {
			return 0, fmt.Errorf("bundle temp dir: %w", err)
		}
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("bundle temp dir: %w", err)
	}
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), ReadTempPrefix) && !strings.HasPrefix(e.Name(), SpoolTempPrefix) {
			continue
		}
		// RemoveAll does not follow symlinks: only what is inside dir goes.
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return removed, fmt.Errorf("bundle temp dir: removing what a killed run left: %w", err)
		}
		removed++
	}
	return removed, nil
}
