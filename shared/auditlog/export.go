package auditlog

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// File names inside a log-export directory (docs/audit-log.md, "Export").
const (
	ExportInfoFile      = "export.json"
	ExportEntriesFile   = "entries.jsonl"
	ExportCheckpointDir = "checkpoints"
	ExportPreviousFile  = "previous.checkpoint"
	ExportConsistency   = "consistency.proof"
	checkpointExt       = ".checkpoint"
	maxCheckpointFiles  = 1 << 20
)

// ExportInfo is export.json: what the export claims to hold. The verifier
// checks every claim against the signed checkpoints.
type ExportInfo struct {
	Version          int    `json:"version"`            // 1
	Origin           string `json:"origin"`             // log origin = checkpoint key name
	TreeSize         int64  `json:"tree_size"`          // entries in entries.jsonl = latest checkpoint size
	PreviousTreeSize int64  `json:"previous_tree_size"` // size of previous.checkpoint, 0 on the first export
}

// Export is what WriteExport writes.
type Export struct {
	Info ExportInfo
	// Checkpoints are all signed checkpoints in signing order; the last one
	// covers all entries.
	Checkpoints [][]byte
	// Previous is the previous export's signed checkpoint, nil on the first.
	Previous []byte
	// Consistency proves Previous → latest; nil on the first export.
	Consistency *ConsistencyProof
	// Entries calls emit with each canonical entry, seq 0 first.
	Entries func(emit func(entry []byte) error) error
}

// WriteExport writes e into the new directory dir. It refuses to overwrite:
// dir must not exist. Files are written into a temporary sibling directory,
// fsynced, and the directory renamed into place, so a reader never sees half
// an export.
func WriteExport(dir string, e Export) (err error) {
	if _, err := os.Lstat(dir); err == nil {
		return fmt.Errorf("export directory %s already exists: exports are never overwritten", dir)
	}
	if len(e.Checkpoints) == 0 {
		return errors.New("export: no checkpoint")
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	info, err := json.MarshalIndent(e.Info, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileSync(filepath.Join(tmp, ExportInfoFile), append(info, '\n')); err != nil {
		return err
	}
	if err := os.Mkdir(filepath.Join(tmp, ExportCheckpointDir), 0o755); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	for i, c := range e.Checkpoints {
		name := filepath.Join(tmp, ExportCheckpointDir, fmt.Sprintf("%06d%s", i+1, checkpointExt))
		if err := writeFileSync(name, c); err != nil {
			return err
		}
	}
	if e.Previous != nil {
		if err := writeFileSync(filepath.Join(tmp, ExportPreviousFile), e.Previous); err != nil {
			return err
		}
	}
	if e.Consistency != nil {
		if err := writeFileSync(filepath.Join(tmp, ExportConsistency), e.Consistency.Format()); err != nil {
			return err
		}
	}
	if err := writeEntries(filepath.Join(tmp, ExportEntriesFile), e); err != nil {
		return err
	}
	for _, d := range []string{filepath.Join(tmp, ExportCheckpointDir), tmp} {
		if err := syncDir(d); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return syncDir(filepath.Dir(dir))
}

func writeEntries(path string, e Export) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	var n int64
	err = e.Entries(func(entry []byte) error {
		if bytes.IndexByte(entry, '\n') >= 0 {
			return fmt.Errorf("entry %d contains a newline", n)
		}
		n++
		w.Write(entry)
		return w.WriteByte('\n')
	})
	if err != nil {
		return fmt.Errorf("export: writing entries: %w", err)
	}
	if n != e.Info.TreeSize {
		return fmt.Errorf("export: wrote %d entries, export.json says %d", n, e.Info.TreeSize)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return f.Close()
}

func writeFileSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("export: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("export: %w", err)
	}
	return f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// ExportDir is an export opened for reading. Only the small files are read
// up front; entries are streamed.
type ExportDir struct {
	Dir             string
	Info            ExportInfo
	Checkpoints     []NamedFile // signed checkpoints, in signing order
	Previous        *NamedFile  // previous.checkpoint, when present
	ConsistencyFile *NamedFile  // consistency.proof, when present
}

// NamedFile is a small file read whole, with the name errors cite.
type NamedFile struct {
	Name string
	Data []byte
}

// OpenExport reads the small files of an export directory.
func OpenExport(dir string) (*ExportDir, error) {
	x := &ExportDir{Dir: dir}
	raw, err := readLimited(filepath.Join(dir, ExportInfoFile), 4096)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&x.Info); err != nil {
		return nil, fmt.Errorf("%s: %w", ExportInfoFile, err)
	}
	if x.Info.Version != 1 {
		return nil, fmt.Errorf("%s: version %d, this verifier reads version 1", ExportInfoFile, x.Info.Version)
	}
	ents, err := os.ReadDir(filepath.Join(dir, ExportCheckpointDir))
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	var names []string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), checkpointExt) && e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	if len(names) > maxCheckpointFiles {
		return nil, fmt.Errorf("export: %d checkpoint files, more than %d", len(names), maxCheckpointFiles)
	}
	sort.Strings(names)
	for _, n := range names {
		rel := filepath.Join(ExportCheckpointDir, n)
		data, err := readLimited(filepath.Join(dir, rel), MaxCheckpointSize)
		if err != nil {
			return nil, err
		}
		x.Checkpoints = append(x.Checkpoints, NamedFile{Name: rel, Data: data})
	}
	for _, opt := range []struct {
		name string
		dst  **NamedFile
	}{{ExportPreviousFile, &x.Previous}, {ExportConsistency, &x.ConsistencyFile}} {
		data, err := readLimited(filepath.Join(dir, opt.name), maxProofSize)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		*opt.dst = &NamedFile{Name: opt.name, Data: data}
	}
	return x, nil
}

// Entries streams entries.jsonl: fn gets each line without its newline and
// the zero-based line number. A line longer than MaxEntrySize is an error.
func (x *ExportDir) Entries(fn func(line []byte, n int64) error) error {
	f, err := os.Open(filepath.Join(x.Dir, ExportEntriesFile))
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer f.Close()
	return ScanEntries(f, fn)
}

// ScanEntries splits r into lines for Entries.
func ScanEntries(r io.Reader, fn func(line []byte, n int64) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<20), MaxEntrySize+1)
	var n int64
	for sc.Scan() {
		if err := fn(sc.Bytes(), n); err != nil {
			return err
		}
		n++
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s line %d: %w", ExportEntriesFile, n+1, err)
	}
	return nil
}

func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("export: %s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("export: %s is larger than %d bytes", path, limit)
	}
	return data, nil
}
