package bundle

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"filippo.io/age"
)

// ErrExists is returned when a bundle of the same name is already in the directory:
// bundles are never overwritten.
var ErrExists = errors.New("bundle file already exists")

// WriteOptions say where and how a bundle is written.
type WriteOptions struct {
	Signer    *NoteSigner
	Recipient *age.X25519Recipient // nil: signed-only (log-export only)
	// Verify, when set, is used to read the written file back through the full reader
	// (the writer can decrypt only if it holds an identity for Recipient, e.g. in tests
	// or a signed-only export). Without it the file read back is compared by SHA-256.
	Verify *ReadOptions
}

// WriteToDir seals b into dir under its canonical FileName, atomically and durably:
// temporary file in dir, fsync, rename without replacing (ErrExists if the name is
// taken), fsync of dir, then the file is read back from the medium and verified before
// the path is returned. On any error no bundle of that name is left behind.
func (b *Builder) WriteToDir(dir string, opts WriteOptions) (string, *Manifest, error) {
	name := FileName(b.hdr.Kind, b.hdr.Sender, b.hdr.BatchID, opts.Recipient != nil)
	var m *Manifest
	path, err := WriteFileAtomic(dir, name, func(w io.Writer) error {
		var err error
		m, err = b.Seal(w, opts.Signer, opts.Recipient)
		return err
	}, func(path string) error {
		if opts.Verify == nil {
			return nil
		}
		vb, err := ReadFile(path, *opts.Verify)
		if err != nil {
			return err
		}
		defer vb.Close()
		if vb.Manifest.BatchID != m.BatchID {
			return fmt.Errorf("read back batch %s, wrote %s", vb.Manifest.BatchID, m.BatchID)
		}
		return nil
	})
	return path, m, err
}

// WriteFileAtomic writes a new file dir/name with write, durably and without replacing
// an existing file, then reads it back: the SHA-256 of what is on the medium must equal
// what was written, and verify (if not nil) must accept the file. On error the file is
// removed.
func WriteFileAtomic(dir, name string, write func(io.Writer) error, verify func(path string) error) (string, error) {
	final := filepath.Join(dir, name)
	if _, err := os.Lstat(final); err == nil {
		return "", fmt.Errorf("write %s: %w", final, ErrExists)
	}
	tmp, err := os.CreateTemp(dir, ".tmp-"+name+"-")
	if err != nil {
		return "", fmt.Errorf("write %s: %w", final, err)
	}
	tmpPath := tmp.Name()
	committed := false
	defer func() {
		if !committed {
			tmp.Close()
			os.Remove(tmpPath)
		}
	}()
	if err := tmp.Chmod(0o644); err != nil {
		return "", fmt.Errorf("write %s: %w", final, err)
	}
	h := sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(tmp, h), 256<<10)
	if err := write(bw); err != nil {
		return "", fmt.Errorf("write %s: %w", final, err)
	}
	if err := bw.Flush(); err != nil {
		return "", fmt.Errorf("write %s: %w", final, err)
	}
	if err := tmp.Sync(); err != nil {
		return "", fmt.Errorf("write %s: fsync: %w", final, err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("write %s: %w", final, err)
	}
	if err := renameNoReplace(tmpPath, final); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("write %s: %w", final, ErrExists)
		}
		return "", fmt.Errorf("write %s: rename: %w", final, err)
	}
	committed = true
	fail := func(err error) (string, error) {
		os.Remove(final)
		syncDir(dir)
		return "", fmt.Errorf("write %s: %w", final, err)
	}
	if err := syncDir(dir); err != nil {
		return fail(fmt.Errorf("fsync directory: %w", err))
	}
	// Read back from the medium, not from the page cache where possible.
	got, err := hashFileUncached(final)
	if err != nil {
		return fail(fmt.Errorf("read back: %w", err))
	}
	if !bytes.Equal(got, h.Sum(nil)) {
		return fail(errors.New("read back: the file on the medium differs from what was written"))
	}
	if verify != nil {
		if err := verify(final); err != nil {
			return fail(fmt.Errorf("read back: %w", err))
		}
	}
	return final, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func hashFileUncached(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	dropCache(f)
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}
