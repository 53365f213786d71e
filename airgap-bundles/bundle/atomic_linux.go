package bundle

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// renameNoReplace renames without ever replacing: renameat2(RENAME_NOREPLACE) where the
// file system supports it (ext4, xfs, btrfs, tmpfs, vfat), else link+unlink, else a
// check-then-rename (the window is only open to another writer of the same name).
func renameNoReplace(from, to string) error {
	err := unix.Renameat2(unix.AT_FDCWD, from, unix.AT_FDCWD, to, unix.RENAME_NOREPLACE)
	if err == nil || errors.Is(err, unix.EEXIST) {
		return wrapExist(err, to)
	}
	if !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOSYS) && !errors.Is(err, unix.ENOTSUP) {
		return err
	}
	if err := os.Link(from, to); err == nil {
		return os.Remove(from)
	} else if os.IsExist(err) {
		return wrapExist(err, to)
	}
	if _, err := os.Lstat(to); err == nil {
		return &os.LinkError{Op: "rename", Old: from, New: to, Err: os.ErrExist}
	}
	return os.Rename(from, to)
}

func wrapExist(err error, to string) error {
	if err == nil {
		return nil
	}
	return &os.PathError{Op: "rename", Path: to, Err: os.ErrExist}
}

// dropCache asks the kernel to forget the clean cached pages of f so the read-back
// really reads the medium.
func dropCache(f *os.File) {
	_ = unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
}
