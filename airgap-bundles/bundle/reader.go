package bundle

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"filippo.io/age"
)

// KeyResolver returns the trusted Ed25519 key of a sender, or an error when the sender
// is not enrolled, revoked, or not expected for this kind of bundle.
type KeyResolver func(sender string, kind Kind) (ed25519.PublicKey, error)

// ReadOptions says what the receiver trusts and expects.
type ReadOptions struct {
	// Identities decrypt the bundle. Only X25519 identities are useful: scrypt stanzas are refused.
	Identities []age.Identity
	// Resolve returns the sender's trusted key. Required unless SelfSigned is set.
	Resolve KeyResolver
	// SelfSigned accepts a bundle signed by the key it names itself, for kind
	// enrollment only: the signature proves possession, the officer checks the
	// fingerprint. The key is reported in Bundle.SignerKey.
	SelfSigned bool
	// Kinds the receiver accepts; empty means any known kind.
	Kinds []Kind
	// Consumed refuses replays: a batch ID it reports is refused. May be nil (auditors).
	Consumed ConsumedStore
	// Limits; zero fields take DefaultLimits.
	Limits Limits
	// TempDir holds the decrypted plaintext ("" = os.TempDir()); use a private
	// directory on a local disk. Close removes the copy; a killed process
	// leaves it, so programs use a directory they own and clear it with
	// PrepareTempDir at start.
	TempDir string
}

// Bundle is a verified bundle: signature, structure and every payload hash checked.
// Payload files are read from the decrypted copy in a private temporary directory,
// which Close removes.
type Bundle struct {
	Manifest    *Manifest
	ManifestRaw []byte // the signed bytes of manifest.json
	Signature   []byte // manifest.sig, a C2SP signed note
	SignerKey   ed25519.PublicKey
	Encrypted   bool
	// SHA256 is the hash of the bundle file as read (ciphertext for .age).
	SHA256 [32]byte

	dir     string
	plain   *os.File
	entries map[string]tarEntry
}

// Open returns payload file name as a stream.
func (b *Bundle) Open(name string) (*io.SectionReader, error) {
	e, ok := b.entries[name]
	if !ok || name == ManifestName || name == SignatureName {
		return nil, fmt.Errorf("bundle %s: no payload file %q", b.Manifest.BatchID, name)
	}
	return io.NewSectionReader(b.plain, e.Offset, e.Size), nil
}

// Close removes the decrypted copy.
func (b *Bundle) Close() error {
	if b.plain == nil {
		return nil
	}
	b.plain.Close()
	b.plain = nil
	return os.RemoveAll(b.dir)
}

// ReadFile reads and verifies the bundle at path. See Read.
func ReadFile(path string, opts ReadOptions) (*Bundle, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open bundle: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("open bundle: %w", err)
	}
	if lim := opts.Limits.withDefaults(); fi.Size() > lim.MaxBundleSize {
		return nil, refuse(ErrTooLarge, nil, "%s is %d bytes, limit %d", path, fi.Size(), lim.MaxBundleSize)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("open bundle %s: not a regular file", path)
	}
	return Read(f, opts)
}

// Read verifies a bundle and returns it. The checks run in this order, and the first
// failure is returned as a *RefusalError: size; age header pre-parse (stanza count,
// scrypt, size); decryption to a temporary file, used only after age reports a clean end;
// tar structure (canonical headers, manifest.json then manifest.sig first, sizes);
// signed-note signature against the sender's trusted key, before the manifest or any
// payload is parsed; manifest fields, kind, version and recipient; tar entries against the
// manifest (missing, extra, duplicate, order, sizes); replay; payload hashes and line counts.
func Read(src io.Reader, opts ReadOptions) (_ *Bundle, err error) {
	lim := opts.Limits.withDefaults()
	if opts.Resolve == nil && !opts.SelfSigned {
		return nil, errors.New("read bundle: no key resolver")
	}
	dir, err := os.MkdirTemp(opts.TempDir, ReadTempPrefix)
	if err != nil {
		return nil, fmt.Errorf("read bundle: temporary directory: %w", err)
	}
	b := &Bundle{dir: dir}
	defer func() {
		if err != nil {
			b.plain.Close()
			os.RemoveAll(dir)
		}
	}()
	b.plain, err = os.OpenFile(filepath.Join(dir, "plaintext.tar"), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("read bundle: %w", err)
	}

	// 1. Size and age header, then decrypt (or copy) to the private file.
	h := sha256.New()
	cr := &countingReader{r: io.LimitReader(src, lim.MaxBundleSize+1)}
	br := bufio.NewReaderSize(io.TeeReader(cr, h), max(64<<10, lim.MaxAgeHeader+1))
	overLimit := func() error {
		if cr.n > lim.MaxBundleSize {
			return refuse(ErrTooLarge, nil, "bundle over %d bytes", lim.MaxBundleSize)
		}
		return nil
	}
	head, _ := br.Peek(max(len(ageMagic), len(ageArmorBegin)))
	var plainSize int64
	if bytes.HasPrefix(head, []byte(ageArmorBegin)) {
		return nil, refuse(ErrAgeHeader, nil, "an ASCII-armored age file (%q); a bundle is binary age, written without -a/--armor", ageArmorBegin)
	}
	if bytes.HasPrefix(head, []byte(ageMagic)) {
		b.Encrypted = true
		hdrBytes, _ := br.Peek(lim.MaxAgeHeader + 1)
		ah, err := ParseAgeHeader(bytes.NewReader(hdrBytes), lim.MaxAgeHeader, lim.MaxStanzas)
		if err != nil {
			reason := ErrAgeHeader
			if errors.Is(err, ErrTooLarge) {
				reason = ErrTooLarge
			}
			return nil, refuse(reason, err, "")
		}
		// FORMAT.md §3: encrypted to exactly the receiver's X25519 recipient.
		// A second stanza is a second reader of every payload byte.
		if ah.StanzaCounts != 1 || ah.StanzaTypes[0] != "X25519" {
			return nil, refuse(ErrAgeHeader, nil, "encrypted to %d recipients (%s); a bundle is encrypted to exactly one X25519 recipient, the receiver's",
				ah.StanzaCounts, strings.Join(ah.StanzaTypes, ", "))
		}
		if len(opts.Identities) == 0 {
			return nil, refuse(ErrWrongRecipient, nil, "encrypted bundle and no age identity to decrypt it")
		}
		dec, err := age.Decrypt(br, opts.Identities...)
		if err != nil {
			var nm *age.NoIdentityMatchError
			if errors.As(err, &nm) {
				return nil, refuse(ErrWrongRecipient, nil, "no identity given matches a recipient stanza")
			}
			return nil, refuse(ErrCiphertext, err, "age header")
		}
		pw := &plainWriter{f: b.plain}
		plainSize, err = io.Copy(pw, dec)
		if err != nil {
			if pw.err != nil {
				// The local disk failed (no space left, I/O error): the
				// bundle was never judged, so this is no refusal.
				return nil, fmt.Errorf("read bundle: writing the plaintext to %s: %w", dir, pw.err)
			}
			if err := overLimit(); err != nil {
				return nil, err
			}
			return nil, refuse(ErrCiphertext, err, "after %d bytes of plaintext", plainSize)
		}
	} else {
		pw := &plainWriter{f: b.plain}
		plainSize, err = io.Copy(pw, br)
		if err != nil {
			if pw.err != nil {
				return nil, fmt.Errorf("read bundle: writing a copy to %s: %w", dir, pw.err)
			}
			return nil, fmt.Errorf("read bundle: %w", err)
		}
	}
	if err := overLimit(); err != nil {
		return nil, err
	}
	copy(b.SHA256[:], h.Sum(nil))

	// 2. Tar structure.
	maxEntry := max(lim.MaxFileSize, lim.MaxManifestSize)
	entries, err := readTarIndex(b.plain, plainSize, lim.MaxFiles+2, maxEntry)
	if err != nil {
		if errors.Is(err, ErrTooLarge) {
			return nil, refuse(ErrTooLarge, err, "tar")
		}
		return nil, refuse(ErrStructure, err, "")
	}
	if len(entries) < 2 || entries[0].Name != ManifestName || entries[1].Name != SignatureName {
		return nil, refuse(ErrStructure, nil, "the first two entries must be %s and %s", ManifestName, SignatureName)
	}
	if entries[0].Size > lim.MaxManifestSize {
		return nil, refuse(ErrTooLarge, nil, "%s is %d bytes, limit %d", ManifestName, entries[0].Size, lim.MaxManifestSize)
	}
	if entries[1].Size > lim.MaxSignatureSize {
		return nil, refuse(ErrTooLarge, nil, "%s is %d bytes, limit %d", SignatureName, entries[1].Size, lim.MaxSignatureSize)
	}
	b.ManifestRaw, err = readEntry(b.plain, entries[0])
	if err != nil {
		return nil, err
	}
	b.Signature, err = readEntry(b.plain, entries[1])
	if err != nil {
		return nil, err
	}

	// 3. Signature, before the manifest is parsed.
	st, err := parseSignedNote(b.Signature)
	if err != nil {
		return nil, refuse(ErrSignature, err, SignatureName)
	}
	if len(opts.Kinds) > 0 && !slices.Contains(opts.Kinds, st.Kind) {
		return nil, refuse(ErrUnknownKind, nil, "signed kind %q, this receiver accepts %v", st.Kind, opts.Kinds)
	}
	if !st.Kind.Known() {
		return nil, refuse(ErrUnknownKind, nil, "signed kind %q", st.Kind)
	}
	var pub ed25519.PublicKey
	if opts.SelfSigned {
		if st.Kind != KindEnrollment {
			return nil, refuse(ErrUnknownKind, nil, "only an enrollment bundle may be self-signed, got %s", st.Kind)
		}
		name, key, err := ParseVerifierKey(st.Key)
		if err != nil || name != st.Sender {
			return nil, refuse(ErrSignature, err, "self-signed key line names %q, sender is %s", name, st.Sender)
		}
		pub = key
	} else {
		pub, err = opts.Resolve(st.Sender, st.Kind)
		if err != nil {
			return nil, refuse(ErrUnknownSender, err, "sender %s", st.Sender)
		}
	}
	if err := verifySignedNote(b.Signature, st, pub); err != nil {
		return nil, refuse(ErrSignature, err, "%s by %s", SignatureName, st.Sender)
	}
	b.SignerKey = pub
	if sha256.Sum256(b.ManifestRaw) != st.ManifestSHA256 {
		return nil, refuse(ErrSignature, nil, "%s does not match the signed hash", ManifestName)
	}

	// 4. Manifest.
	m, err := parseManifest(b.ManifestRaw, lim)
	if err != nil {
		reason := ErrManifest
		for _, r := range []error{ErrUnknownVersion, ErrUnknownKind, ErrTooLarge} {
			if errors.Is(err, r) {
				reason = r
			}
		}
		return nil, refuse(reason, err, ManifestName)
	}
	b.Manifest = m
	if m.Kind != st.Kind || m.Sender != st.Sender || m.BatchID != st.BatchID {
		return nil, refuse(ErrManifest, nil, "kind, sender or batch differ between %s and %s", ManifestName, SignatureName)
	}
	if err := checkRecipient(m, b.Encrypted, opts.Identities); err != nil {
		return nil, err
	}

	// 5. Tar entries against the manifest.
	if err := matchEntries(m, entries); err != nil {
		return nil, err
	}
	b.entries = map[string]tarEntry{}
	for _, e := range entries {
		b.entries[e.Name] = e
	}

	// 6. Replay, before the (long) hash pass.
	if opts.Consumed != nil {
		used, err := opts.Consumed.Consumed(m.BatchID)
		if err != nil {
			return nil, fmt.Errorf("read bundle: replay check: %w", err)
		}
		if used {
			return nil, refuse(ErrReplay, nil, "batch %s from %s", m.BatchID, m.Sender)
		}
	}

	// 7. Payload hashes and line counts.
	for _, fe := range m.Files {
		if err := checkPayload(b.plain, b.entries[fe.Name], fe); err != nil {
			return nil, err
		}
	}
	return b, nil
}

func readEntry(f *os.File, e tarEntry) ([]byte, error) {
	buf := make([]byte, e.Size)
	if _, err := f.ReadAt(buf, e.Offset); err != nil {
		return nil, fmt.Errorf("read bundle: %s: %w", e.Name, err)
	}
	return buf, nil
}

// checkRecipient binds the signed manifest to this receiver: an encrypted bundle's
// manifest names the recipient it was encrypted to, and it must be one of ours, so a
// bundle signed for one station cannot be re-encrypted to another.
func checkRecipient(m *Manifest, encrypted bool, ids []age.Identity) error {
	if !encrypted {
		if !m.Kind.SignedOnlyAllowed() {
			return refuse(ErrNotEncrypted, nil, "%s bundle", m.Kind)
		}
		if m.Recipient != "" {
			return refuse(ErrRecipientMismatch, nil, "signed-only bundle names recipient %s", m.Recipient)
		}
		return nil
	}
	if m.Recipient == "" {
		return refuse(ErrRecipientMismatch, nil, "encrypted bundle names no recipient")
	}
	for _, id := range ids {
		if x, ok := id.(*age.X25519Identity); ok && x.Recipient().String() == m.Recipient {
			return nil
		}
	}
	return refuse(ErrRecipientMismatch, nil, "manifest names %s, not one of this receiver's identities", m.Recipient)
}

// matchEntries requires the payload entries to be exactly the manifest's files, in order.
func matchEntries(m *Manifest, entries []tarEntry) error {
	payload := entries[2:]
	seen := map[string]bool{ManifestName: true, SignatureName: true}
	for i, e := range payload {
		if seen[e.Name] {
			return refuse(ErrStructure, nil, "duplicate entry %s", e.Name)
		}
		seen[e.Name] = true
		if i >= len(m.Files) {
			return refuse(ErrStructure, nil, "extra entry %s not in the manifest", e.Name)
		}
		fe := m.Files[i]
		if e.Name != fe.Name {
			if m.File(e.Name) == nil {
				return refuse(ErrStructure, nil, "extra entry %s not in the manifest", e.Name)
			}
			return refuse(ErrStructure, nil, "entry %d is %s, the manifest lists %s there", i+3, e.Name, fe.Name)
		}
		if e.Size != fe.Size {
			return refuse(ErrHashMismatch, nil, "%s is %d bytes, the manifest says %d", e.Name, e.Size, fe.Size)
		}
		if e.MTime != m.Created.Unix() {
			return refuse(ErrStructure, nil, "entry %s: mtime differs from the manifest's created time", e.Name)
		}
	}
	for _, e := range entries[:2] {
		if e.MTime != m.Created.Unix() {
			return refuse(ErrStructure, nil, "entry %s: mtime differs from the manifest's created time", e.Name)
		}
	}
	if len(payload) < len(m.Files) {
		return refuse(ErrStructure, nil, "missing entry %s listed in the manifest", m.Files[len(payload)].Name)
	}
	return nil
}

func checkPayload(f *os.File, e tarEntry, fe FileEntry) error {
	h := sha256.New()
	var lines int64
	var last byte
	buf := make([]byte, 256<<10)
	sr := io.NewSectionReader(f, e.Offset, e.Size)
	for {
		n, err := sr.Read(buf)
		if n > 0 {
			h.Write(buf[:n])
			lines += int64(bytes.Count(buf[:n], []byte{'\n'}))
			last = buf[n-1]
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("read bundle: %s: %w", fe.Name, err)
		}
	}
	if hex.EncodeToString(h.Sum(nil)) != fe.SHA256 {
		return refuse(ErrHashMismatch, nil, "%s: sha256 differs from the manifest", fe.Name)
	}
	if strings.HasSuffix(fe.Name, ".jsonl") {
		if fe.Lines == nil {
			return refuse(ErrManifest, nil, "%s: the manifest gives no line count", fe.Name)
		}
		if *fe.Lines != lines {
			return refuse(ErrHashMismatch, nil, "%s: %d lines, the manifest says %d", fe.Name, lines, *fe.Lines)
		}
		if e.Size > 0 && last != '\n' {
			return refuse(ErrStructure, nil, "%s: last line has no newline", fe.Name)
		}
	}
	return nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// plainWriter keeps the error of the local file apart from the decryption's:
// io.Copy reports either, and only the second says anything about the bundle.
type plainWriter struct {
	f   *os.File
	err error
}

func (w *plainWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	if err != nil {
		w.err = err
	}
	return n, err
}
