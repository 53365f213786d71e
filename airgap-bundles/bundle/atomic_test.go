package bundle

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	write := func(w io.Writer) error { _, err := w.Write([]byte("bundle bytes")); return err }
	path, err := WriteFileAtomic(dir, "a.age", write, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "bundle bytes" {
		t.Fatalf("content %q", b)
	}
	if _, err := WriteFileAtomic(dir, "a.age", write, nil); !errors.Is(err, ErrExists) {
		t.Fatalf("overwrite: %v", err)
	}
	// A failing writer or a failing read-back verification leaves nothing behind.
	boom := errors.New("boom")
	if _, err := WriteFileAtomic(dir, "b.age", func(io.Writer) error { return boom }, nil); !errors.Is(err, boom) {
		t.Fatalf("writer error: %v", err)
	}
	if _, err := WriteFileAtomic(dir, "c.age", write, func(string) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("verify error: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "a.age" {
		t.Fatalf("directory after failures: %v", entries)
	}
	// renameNoReplace refuses an existing target even when it races in.
	tmp := filepath.Join(dir, "t")
	os.WriteFile(tmp, nil, 0o644)
	if err := renameNoReplace(tmp, path); !errors.Is(err, os.ErrExist) {
		t.Fatalf("renameNoReplace over an existing file: %v", err)
	}
}
