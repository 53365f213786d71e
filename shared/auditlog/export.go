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

// File names of a log export (docs/audit-log.md, "Export"). The export is a
// flat set of at most five files whatever the log's size, so the same names
// serve as a directory and as the payload of a log-export bundle (which caps
// its file count).
const (
	ExportInfoFile        = "export.json"
	ExportEntriesFile     = "entries.jsonl"
	ExportCheckpointsFile = "checkpoints.txt"   // every signed checkpoint, concatenated (notes.go)
	ExportPreviousFile    = "previous.note"     // previous export's signed checkpoint
	ExportConsistency     = "consistency.proof" // previous → latest

	// ExportVersion is the export.json version this package writes: 2 keeps
	// all checkpoints in checkpoints.txt. Version 1 (one checkpoint-NNNNNN.note
	// file per checkpoint, which outgrew the bundle's file limit) is still read.
	ExportVersion = 2

	v1CheckpointPrefix = "checkpoint-" // version 1: checkpoint-000001.note …
	v1CheckpointExt    = ".note"
	maxV1Checkpoints   = 1 << 16
)

// ExportInfo is export.json: what the export claims to hold. The verifier
// checks every claim against the signed checkpoints.
type ExportInfo struct {
	Version          int    `json:"version"`            // ExportVersion (1 is read too)
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

// WriteFiles emits the export as a flat set of files: create is called once
// per file with its name and a function that writes its content. It is how
// an export becomes a directory (WriteExport) or the payload of a log-export
// bundle.
func (e Export) WriteFiles(create func(name string, write func(io.Writer) error) error) error {
	if len(e.Checkpoints) == 0 {
		return errors.New("export: no checkpoint")
	}
	if e.Info.Version != ExportVersion {
		return fmt.Errorf("export: writing version %d, this package writes version %d", e.Info.Version, ExportVersion)
	}
	if (e.Previous == nil) != (e.Consistency == nil) {
		return errors.New("export: a previous checkpoint needs a consistency proof and vice versa")
	}
	info, err := json.MarshalIndent(e.Info, "", "  ")
	if err != nil {
		return err
	}
	small := func(name string, data []byte) error {
		return create(name, func(w io.Writer) error { _, err := w.Write(data); return err })
	}
	if err := small(ExportInfoFile, append(info, '\n')); err != nil {
		return err
	}
	ckpts, err := JoinNotes(e.Checkpoints)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if err := small(ExportCheckpointsFile, ckpts); err != nil {
		return err
	}
	if e.Previous != nil {
		if err := small(ExportPreviousFile, e.Previous); err != nil {
			return err
		}
		if err := small(ExportConsistency, e.Consistency.Format()); err != nil {
			return err
		}
	}
	return create(ExportEntriesFile, func(w io.Writer) error {
		var n int64
		err := e.Entries(func(entry []byte) error {
			if bytes.IndexByte(entry, '\n') >= 0 {
				return fmt.Errorf("entry %d contains a newline", n)
			}
			n++
			if _, err := w.Write(entry); err != nil {
				return err
			}
			_, err := w.Write([]byte{'\n'})
			return err
		})
		if err != nil {
			return fmt.Errorf("export: writing entries: %w", err)
		}
		if n != e.Info.TreeSize {
			return fmt.Errorf("export: wrote %d entries, export.json says %d", n, e.Info.TreeSize)
		}
		return nil
	})
}

// WriteExport writes e into the new directory dir. It refuses to overwrite:
// dir must not exist. Files are written into a temporary sibling directory,
// fsynced, and the directory renamed into place, so a reader never sees half
// an export.
func WriteExport(dir string, e Export) (err error) {
	if _, err := os.Lstat(dir); err == nil {
		return fmt.Errorf("export directory %s already exists: exports are never overwritten", dir)
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
	err = e.WriteFiles(func(name string, write func(io.Writer) error) error {
		return writeFileSync(filepath.Join(tmp, name), write)
	})
	if err != nil {
		return err
	}
	if err := syncDir(tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return syncDir(filepath.Dir(dir))
}

func writeFileSync(path string, write func(io.Writer) error) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	if err := write(w); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if err := f.Sync(); err != nil {
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
	Name            string // directory or bundle, for messages
	Info            ExportInfo
	Checkpoints     []NamedFile // signed checkpoints, in signing order, named for messages
	Previous        *NamedFile  // previous.note, when present
	ConsistencyFile *NamedFile  // consistency.proof, when present
	open            func(name string) (io.ReadCloser, error)
}

// NamedFile is a small file read whole, with the name errors cite.
type NamedFile struct {
	Name string
	Data []byte
}

// OpenExport reads an export directory.
func OpenExport(dir string) (*ExportDir, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	var names []string
	for _, e := range ents {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	return OpenExportFiles(dir, names, func(name string) (io.ReadCloser, error) {
		return os.Open(filepath.Join(dir, name))
	})
}

// OpenExportFiles reads an export from any flat set of files (a directory,
// the payload of a verified log-export bundle): names lists the files
// present, open opens one.
func OpenExportFiles(where string, names []string, open func(name string) (io.ReadCloser, error)) (*ExportDir, error) {
	x := &ExportDir{Name: where, open: open}
	raw, err := x.readSmall(ExportInfoFile, 4096)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&x.Info); err != nil {
		return nil, fmt.Errorf("%s: %s: %w", where, ExportInfoFile, err)
	}
	has := map[string]bool{}
	for _, n := range names {
		has[n] = true
	}
	switch x.Info.Version {
	case ExportVersion:
		if !has[ExportCheckpointsFile] {
			return nil, fmt.Errorf("%s: no %s: the export holds no checkpoint", where, ExportCheckpointsFile)
		}
		data, err := x.readSmall(ExportCheckpointsFile, MaxCheckpointsFileSize)
		if err != nil {
			return nil, err
		}
		if x.Checkpoints, err = SplitNotes(ExportCheckpointsFile, data); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
	case 1:
		if err := x.readV1Checkpoints(names); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%s: %s: version %d, this verifier reads versions 1 and %d", where, ExportInfoFile, x.Info.Version, ExportVersion)
	}
	for _, opt := range []struct {
		name string
		dst  **NamedFile
	}{{ExportPreviousFile, &x.Previous}, {ExportConsistency, &x.ConsistencyFile}} {
		if !has[opt.name] {
			continue
		}
		data, err := x.readSmall(opt.name, maxProofSize)
		if err != nil {
			return nil, err
		}
		*opt.dst = &NamedFile{Name: opt.name, Data: data}
	}
	return x, nil
}

// readV1Checkpoints reads a version 1 export's checkpoint-NNNNNN.note files,
// in name (= signing) order.
func (x *ExportDir) readV1Checkpoints(names []string) error {
	var ckpts []string
	for _, n := range names {
		if strings.HasPrefix(n, v1CheckpointPrefix) && strings.HasSuffix(n, v1CheckpointExt) {
			ckpts = append(ckpts, n)
		}
	}
	if len(ckpts) > maxV1Checkpoints {
		return fmt.Errorf("%s: %d checkpoint files, more than %d", x.Name, len(ckpts), maxV1Checkpoints)
	}
	sort.Strings(ckpts)
	for _, n := range ckpts {
		data, err := x.readSmall(n, MaxCheckpointSize)
		if err != nil {
			return err
		}
		x.Checkpoints = append(x.Checkpoints, NamedFile{Name: n, Data: data})
	}
	return nil
}

// Entries streams entries.jsonl: fn gets each line without its newline and
// the zero-based line number. A line longer than MaxEntrySize is an error.
func (x *ExportDir) Entries(fn func(line []byte, n int64) error) error {
	f, err := x.open(ExportEntriesFile)
	if err != nil {
		return fmt.Errorf("%s: %w", x.Name, err)
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

func (x *ExportDir) readSmall(name string, limit int64) ([]byte, error) {
	f, err := x.open(name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", x.Name, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", x.Name, name, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: %s is larger than %d bytes", x.Name, name, limit)
	}
	return data, nil
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
