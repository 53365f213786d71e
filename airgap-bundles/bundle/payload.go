package bundle

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Payload files of the csr-batch and dac-batch kinds (FORMAT.md §8.2, §8.3).
// This is the one definition: the appliance's ceremony writes and reads them,
// the station's batch export/import writes and reads them, and both sides
// import them from here (they may not import each other).
const (
	CSRFile        = "csrs.jsonl"     // csr-batch: one CSRLine per module, line n = CSR index n (from 0)
	DACFile        = "dacs.jsonl"     // dac-batch: one DACLine per issued DAC, in CSR order
	RefusalFile    = "refusals.jsonl" // dac-batch: one RefusalLine per refused CSR, in CSR order
	PAIFile        = "pai.der"        // dac-batch: the PAI that issued the DACs (DER)
	PAAFile        = "paa.der"        // dac-batch: the PAA above it (DER)
	CheckpointFile = "checkpoint.txt" // dac-batch: the signed audit-log checkpoint the proofs were made against
)

// Maximum bytes of one line (newline included) of each .jsonl payload file.
// Writers refuse to write a longer line, so nothing a writer produces is
// refused by a reader for its length.
const (
	// MaxCSRLine: a P-256 PKCS#10 CSR is ~230 bytes DER (at most 1024 by
	// policy) in base64, plus an id of at most 128 bytes and vid/pid.
	MaxCSRLine = 4096
	// MaxDACLine: a DAC (~500–700 bytes DER) in base64, its tlog-proof (at
	// most 64 hashes and the checkpoint) and a few short fields.
	MaxDACLine = 8192
	// MaxRefusalLine: a reason code and a one-line detail.
	MaxRefusalLine = 8192
)

// MaxModuleID bounds CSRLine.ID (the chip ID or MAC the station recorded).
const MaxModuleID = 128

// CSRLine is one line of csrs.jsonl, written by the station. A CSR's index is
// its line number, from 0. The product comes from the manifest's labels.vid
// and labels.pid (the station's product settings); a line may name its own
// vid and pid (a station building two products). Either way the appliance's
// policy decides whether the station may have that product, and nothing of
// the CSR's subject is used.
type CSRLine struct {
	ID  string `json:"id"`            // module identity (chip ID / MAC) the station recorded, ≤ MaxModuleID bytes
	CSR []byte `json:"csr"`           // PKCS#10 DER, base64 (standard, padded) in JSON
	VID string `json:"vid,omitempty"` // 4 uppercase hex digits; default labels.vid
	PID string `json:"pid,omitempty"` // 4 uppercase hex digits; default labels.pid
}

// DACLine is one line of dacs.jsonl, written by the appliance.
type DACLine struct {
	ID         string `json:"id"`          // module identity from the CSR line
	Index      uint32 `json:"index"`       // line of the CSR in csrs.jsonl, from 0
	SPKISHA256 string `json:"spki_sha256"` // SHA-256 of the certified SubjectPublicKeyInfo, lowercase hex
	DAC        []byte `json:"dac"`         // DER, base64 in JSON
	VID        string `json:"vid"`         // 4 uppercase hex digits, as in the DAC subject
	PID        string `json:"pid"`         // 4 uppercase hex digits, as in the DAC subject
	Serial     string `json:"serial"`      // the DAC's serial number, uppercase hex
	LogIndex   uint64 `json:"log_index"`   // audit log index of the dac-issued entry
	// TLogProof is the c2sp.org/tlog-proof@v1 of the dac-issued entry against
	// the bundle's checkpoint (it embeds the checkpoint, so a DAC line can be
	// checked on its own with the appliance's note verifier key).
	TLogProof string `json:"tlog_proof"`
}

// RefusalLine is one line of refusals.jsonl, written by the appliance.
type RefusalLine struct {
	ID       string `json:"id"`        // module identity from the CSR line
	Index    uint32 `json:"index"`     // line of the CSR in csrs.jsonl, from 0
	Reason   string `json:"reason"`    // a stable code (appliance/ceremony check.go)
	Detail   string `json:"detail"`    // one line for people
	LogIndex uint64 `json:"log_index"` // audit log index of the csr-refused entry
}

// ErrPayloadLine is matched (errors.Is) by every error a LineReader or
// LineWriter returns for a line that breaks the format; it is a *LineError.
var ErrPayloadLine = errors.New("malformed payload line")

// LineError names the file and line (from 1) that broke the format.
type LineError struct {
	File string
	Line int
	Err  error
}

func (e *LineError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %v", e.File, e.Err)
	}
	return fmt.Sprintf("%s line %d: %v", e.File, e.Line, e.Err)
}

// Unwrap exposes ErrPayloadLine and the cause.
func (e *LineError) Unwrap() []error { return []error{ErrPayloadLine, e.Err} }

// LineReader streams a .jsonl payload file strictly: every line is exactly one
// JSON object ending in '\n', at most max bytes, with only the fields of the
// target type (DisallowUnknownFields) and nothing after the object. It holds
// one line in memory at a time.
type LineReader struct {
	br   *bufio.Reader
	file string
	max  int
	n    int
	err  error
}

// NewLineReader reads the payload file named file (for messages) from r,
// refusing lines longer than max bytes.
func NewLineReader(r io.Reader, file string, max int) *LineReader {
	size := max + 1
	if size < 16 {
		size = 16
	}
	return &LineReader{br: bufio.NewReaderSize(r, size), file: file, max: max}
}

// Next decodes the next line into v. It returns io.EOF after the last line,
// a *LineError (ErrPayloadLine) for a malformed line, or the underlying read
// error. After an error every call returns the same error.
func (lr *LineReader) Next(v any) error {
	if lr.err != nil {
		return lr.err
	}
	if err := lr.next(v); err != nil {
		lr.err = err
		return err
	}
	return nil
}

func (lr *LineReader) next(v any) error {
	line, err := lr.br.ReadSlice('\n')
	if err == io.EOF && len(line) == 0 {
		return io.EOF
	}
	lr.n++
	if errors.Is(err, bufio.ErrBufferFull) || len(line) > lr.max {
		return lr.fail(fmt.Errorf("longer than %d bytes", lr.max))
	}
	if err == io.EOF {
		return lr.fail(errors.New("does not end with a newline"))
	}
	if err != nil {
		return fmt.Errorf("%s line %d: %w", lr.file, lr.n, err)
	}
	if err := DecodeLine(line, v); err != nil {
		return lr.fail(err)
	}
	return nil
}

func (lr *LineReader) fail(err error) error { return &LineError{File: lr.file, Line: lr.n, Err: err} }

// Line is the number (from 1) of the line Next read last; Line()-1 is a CSR's index.
func (lr *LineReader) Line() int { return lr.n }

// DecodeLine decodes one JSON object into v strictly: unknown fields and
// anything but white space after the object are errors.
func DecodeLine(line []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err == io.EOF {
		return errors.New("no JSON object") // not io.EOF: that would read as the end of the file
	} else if err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after the JSON object")
	}
	return nil
}

// LineWriter writes a .jsonl payload file: one JSON object (encoding/json,
// as json.Marshal writes it) and '\n' per line. It buffers; call Flush at the
// end.
type LineWriter struct {
	bw   *bufio.Writer
	file string
	max  int
	n    int
	buf  bytes.Buffer
	enc  *json.Encoder
}

// NewLineWriter writes the payload file named file to w, refusing lines
// longer than max bytes.
func NewLineWriter(w io.Writer, file string, max int) *LineWriter {
	lw := &LineWriter{bw: bufio.NewWriterSize(w, 256<<10), file: file, max: max}
	lw.enc = json.NewEncoder(&lw.buf)
	return lw
}

// Write appends v as one line.
func (lw *LineWriter) Write(v any) error {
	lw.buf.Reset()
	if err := lw.enc.Encode(v); err != nil { // Encode appends the '\n'
		return fmt.Errorf("%s line %d: %w", lw.file, lw.n+1, err)
	}
	if lw.buf.Len() > lw.max {
		return &LineError{File: lw.file, Line: lw.n + 1, Err: fmt.Errorf("%d bytes, longer than %d", lw.buf.Len(), lw.max)}
	}
	if _, err := lw.bw.Write(lw.buf.Bytes()); err != nil {
		return err
	}
	lw.n++
	return nil
}

// Lines is the number of lines written so far.
func (lw *LineWriter) Lines() int { return lw.n }

// Flush writes out what is buffered.
func (lw *LineWriter) Flush() error { return lw.bw.Flush() }
