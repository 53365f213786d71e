package bundle

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"
	"time"

	"filippo.io/age"
)

// Header is what the writer of a bundle decides; the rest of the manifest (files,
// sizes, hashes, line counts) is computed from the payload.
type Header struct {
	Kind      Kind
	BatchID   BatchID // zero: a fresh random ID
	Sender    string  // must equal the signer's name
	Created   time.Time
	InReplyTo string
	Counts    map[string]int64
	Labels    map[string]string
}

// Builder collects the payload files of one bundle. Files are spooled to a private
// temporary directory (0700, files 0600) as they are written, so their size, SHA-256 and
// line count are known before the manifest is signed, and no batch is ever held in memory.
// Call Close to remove the spool.
type Builder struct {
	hdr   Header
	dir   string
	files []*spoolFile
	open  *FileWriter
}

type spoolFile struct {
	name  string
	path  string
	size  int64
	sum   [32]byte
	lines int64
}

// NewBuilder starts a bundle. tmpDir is where the spool lives ("" = os.TempDir()); put it
// on a local disk, never on the removable medium.
func NewBuilder(h Header, tmpDir string) (*Builder, error) {
	if !h.Kind.Known() {
		return nil, fmt.Errorf("new bundle: kind %q: %w", h.Kind, ErrUnknownKind)
	}
	if err := ValidateName(h.Sender); err != nil {
		return nil, fmt.Errorf("new bundle: sender: %w", err)
	}
	if h.BatchID.IsZero() {
		id, err := NewBatchID()
		if err != nil {
			return nil, err
		}
		h.BatchID = id
	}
	if h.Created.IsZero() {
		h.Created = time.Now()
	}
	h.Created = h.Created.UTC().Truncate(time.Second)
	if h.Counts == nil {
		h.Counts = map[string]int64{}
	}
	dir, err := os.MkdirTemp(tmpDir, SpoolTempPrefix)
	if err != nil {
		return nil, fmt.Errorf("new bundle: spool directory: %w", err)
	}
	return &Builder{hdr: h, dir: dir}, nil
}

// BatchID is the batch ID the bundle will carry.
func (b *Builder) BatchID() BatchID { return b.hdr.BatchID }

// SetCount sets a kind-specific count in the manifest (e.g. "csrs").
func (b *Builder) SetCount(key string, n int64) { b.hdr.Counts[key] = n }

// FileWriter spools one payload file; Close finishes it.
type FileWriter struct {
	b     *Builder
	sf    *spoolFile
	f     *os.File
	bw    *bufio.Writer
	h     hash.Hash
	lines int64
	err   error
}

// Create starts payload file name; files appear in the bundle in creation order. Only
// one file may be open at a time.
func (b *Builder) Create(name string) (*FileWriter, error) {
	if b.open != nil {
		return nil, fmt.Errorf("bundle file %s: %s is still open", name, b.open.sf.name)
	}
	if err := ValidateFileName(name); err != nil {
		return nil, fmt.Errorf("bundle file: %w", err)
	}
	for _, f := range b.files {
		if f.name == name {
			return nil, fmt.Errorf("bundle file %s: already added", name)
		}
	}
	if b.dir == "" {
		return nil, errors.New("bundle file: builder is closed")
	}
	path := fmt.Sprintf("%s/%03d", b.dir, len(b.files))
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("bundle file %s: %w", name, err)
	}
	fw := &FileWriter{b: b, sf: &spoolFile{name: name, path: path}, f: f, bw: bufio.NewWriterSize(f, 256<<10), h: sha256.New()}
	b.open = fw
	return fw, nil
}

// Write implements io.Writer.
func (w *FileWriter) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	n, err := w.bw.Write(p)
	w.h.Write(p[:n])
	w.sf.size += int64(n)
	w.lines += int64(bytes.Count(p[:n], []byte{'\n'}))
	if err != nil {
		w.err = fmt.Errorf("bundle file %s: %w", w.sf.name, err)
		return n, w.err
	}
	return n, nil
}

// Close finishes the file and records its size, hash and line count.
func (w *FileWriter) Close() error {
	if w.b.open != w {
		return nil
	}
	w.b.open = nil
	err := w.err
	if err == nil {
		err = w.bw.Flush()
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("bundle file %s: %w", w.sf.name, err)
	}
	copy(w.sf.sum[:], w.h.Sum(nil))
	w.sf.lines = w.lines
	if strings.HasSuffix(w.sf.name, ".jsonl") && w.sf.size > 0 {
		// A .jsonl file is whole lines: its last byte is a newline (FORMAT.md).
		last := make([]byte, 1)
		f, err := os.Open(w.sf.path)
		if err == nil {
			_, err = f.ReadAt(last, w.sf.size-1)
			f.Close()
		}
		if err != nil || last[0] != '\n' {
			return fmt.Errorf("bundle file %s: a .jsonl file must end with a newline", w.sf.name)
		}
	}
	w.b.files = append(w.b.files, w.sf)
	return nil
}

// AddFile copies r into payload file name.
func (b *Builder) AddFile(name string, r io.Reader) error {
	w, err := b.Create(name)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, r); err != nil {
		w.Close()
		return fmt.Errorf("bundle file %s: %w", name, err)
	}
	return w.Close()
}

// Manifest returns the manifest the bundle will carry, for recipient ("" = signed-only).
func (b *Builder) Manifest(recipient string) *Manifest {
	m := &Manifest{
		Format: FormatName, Version: FormatVersion, Kind: b.hdr.Kind, BatchID: b.hdr.BatchID,
		Sender: b.hdr.Sender, Recipient: recipient, Created: b.hdr.Created, InReplyTo: b.hdr.InReplyTo,
		Counts: b.hdr.Counts, Labels: b.hdr.Labels, Files: []FileEntry{},
	}
	for _, f := range b.files {
		e := FileEntry{Name: f.name, Size: f.size, SHA256: hex.EncodeToString(f.sum[:])}
		if strings.HasSuffix(f.name, ".jsonl") {
			n := f.lines
			e.Lines = &n
		}
		m.Files = append(m.Files, e)
	}
	return m
}

// Seal signs the manifest with signer and writes the bundle to dst: age-encrypted to
// recipient, or a plain signed tar when recipient is nil (allowed for log-export only).
// It returns the manifest it signed.
func (b *Builder) Seal(dst io.Writer, signer *NoteSigner, recipient *age.X25519Recipient) (*Manifest, error) {
	if b.open != nil {
		return nil, fmt.Errorf("seal bundle: file %s is still open", b.open.sf.name)
	}
	if signer.Name() != b.hdr.Sender {
		return nil, fmt.Errorf("seal bundle: signer is %s, sender is %s", signer.Name(), b.hdr.Sender)
	}
	if recipient == nil && !b.hdr.Kind.SignedOnlyAllowed() {
		return nil, fmt.Errorf("seal bundle: a %s bundle must be encrypted: %w", b.hdr.Kind, ErrNotEncrypted)
	}
	rcpt := ""
	if recipient != nil {
		rcpt = recipient.String()
	}
	m := b.Manifest(rcpt)
	if err := m.Validate(KindLimits(b.hdr.Kind)); err != nil {
		return nil, fmt.Errorf("seal bundle: manifest: %w", err)
	}
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("seal bundle: manifest: %w", err)
	}
	mb = append(mb, '\n')
	sig, err := signManifest(signer, m, mb)
	if err != nil {
		return nil, fmt.Errorf("seal bundle: %w", err)
	}

	out := io.Writer(dst)
	var enc io.WriteCloser
	bw := bufio.NewWriterSize(dst, 256<<10)
	if recipient != nil {
		enc, err = age.Encrypt(bw, recipient)
		if err != nil {
			return nil, fmt.Errorf("seal bundle: age: %w", err)
		}
		out = enc
	} else {
		out = bw
	}
	tw := &tarWriter{w: out, mtime: m.Created.Unix()}
	if err := tw.writeFile(ManifestName, int64(len(mb)), bytes.NewReader(mb)); err != nil {
		return nil, fmt.Errorf("seal bundle: %w", err)
	}
	if err := tw.writeFile(SignatureName, int64(len(sig)), bytes.NewReader(sig)); err != nil {
		return nil, fmt.Errorf("seal bundle: %w", err)
	}
	for _, f := range b.files {
		if err := copySpooled(tw, f); err != nil {
			return nil, fmt.Errorf("seal bundle: %w", err)
		}
	}
	if err := tw.close(); err != nil {
		return nil, fmt.Errorf("seal bundle: %w", err)
	}
	if enc != nil {
		if err := enc.Close(); err != nil { // writes the last chunk; required
			return nil, fmt.Errorf("seal bundle: age: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return nil, fmt.Errorf("seal bundle: %w", err)
	}
	return m, nil
}

// copySpooled streams a spooled file into the tar, hashing it again so a spool file
// changed on disk after it was closed cannot slip into a signed bundle.
func copySpooled(tw *tarWriter, f *spoolFile) error {
	in, err := os.Open(f.path)
	if err != nil {
		return fmt.Errorf("file %s: %w", f.name, err)
	}
	defer in.Close()
	h := sha256.New()
	if err := tw.writeFile(f.name, f.size, io.TeeReader(in, h)); err != nil {
		return err
	}
	if !bytes.Equal(h.Sum(nil), f.sum[:]) {
		return fmt.Errorf("file %s changed in the spool after it was written", f.name)
	}
	return nil
}

// Close removes the spool directory.
func (b *Builder) Close() error {
	if b.open != nil {
		b.open.f.Close()
		b.open = nil
	}
	if b.dir == "" {
		return nil
	}
	err := os.RemoveAll(b.dir)
	b.dir = ""
	return err
}
