package ceremony

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/dacline/dacline/appliance/policy"
)

// Payload file names of the two bundle kinds a ceremony reads and writes
// (airgap-bundles/FORMAT.md §8.2, §8.3).
const (
	CSRFile      = "csrs.jsonl"     // csr-batch: one CSRLine per line
	DACFile      = "dacs.jsonl"     // dac-batch: one DACLine per issued DAC, in CSR order
	RefusalFile  = "refusals.jsonl" // dac-batch: one RefusalLine per refused CSR, in CSR order
	PAIFile      = "pai.der"        // dac-batch: the PAI that issued the DACs
	PAAFile      = "paa.der"        // dac-batch: the PAA above it
	CheckpointFn = "checkpoint.txt" // dac-batch: the signed audit log checkpoint the proofs refer to
)

// maxCSRLine bounds one csrs.jsonl line: a 1024-byte CSR in base64 plus fields.
const maxCSRLine = 4096

// CSRLine is one line of csrs.jsonl, written by the station. A CSR's index is
// its line number, from 0. The product comes from the manifest's labels.vid
// and labels.pid (the station's product settings); a line may name its own
// vid and pid (a station building two products) — either way the policy
// decides whether the station may have it, and nothing of the CSR's subject
// is used.
type CSRLine struct {
	ID  string `json:"id"`            // module identity (chip ID / MAC) the station recorded
	CSR []byte `json:"csr"`           // PKCS#10 DER, base64 in JSON
	VID string `json:"vid,omitempty"` // 4 hex digits; default labels.vid
	PID string `json:"pid,omitempty"` // 4 hex digits; default labels.pid
}

// DACLine is one line of dacs.jsonl, written by the appliance.
type DACLine struct {
	ID         string `json:"id"`          // module identity from the CSR line
	Index      uint32 `json:"index"`       // line of the CSR in csrs.jsonl
	SPKISHA256 string `json:"spki_sha256"` // of the certified key, lowercase hex
	DAC        []byte `json:"dac"`         // DER, base64 in JSON
	VID        string `json:"vid"`
	PID        string `json:"pid"`
	Serial     string `json:"serial"`    // uppercase hex
	LogIndex   uint64 `json:"log_index"` // audit log index of the dac-issued entry
	// TLogProof is the c2sp.org/tlog-proof@v1 of the dac-issued entry against
	// the bundle's checkpoint (it embeds the checkpoint, so a DAC line can be
	// checked on its own with the appliance's note verifier key).
	TLogProof string `json:"tlog_proof"`
}

// RefusalLine is one line of refusals.jsonl.
type RefusalLine struct {
	ID       string `json:"id"`
	Index    uint32 `json:"index"`
	Reason   string `json:"reason"` // a stable code (check.go)
	Detail   string `json:"detail"`
	LogIndex uint64 `json:"log_index"` // audit log index of the csr-refused entry
}

// product is the batch's default VID/PID (manifest labels), if any.
type product struct {
	vid, pid       uint16
	hasVID, hasPID bool
}

// readCSRLines streams csrs.jsonl strictly: each line one JSON object with
// exactly the CSRLine fields, no trailing data, at most maxCSRLine bytes.
func readCSRLines(r io.Reader, def product, fn func(Request) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	for n := 0; ; n++ {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) || len(line) > maxCSRLine {
			return fmt.Errorf("%w: %s line %d longer than %d bytes", ErrBatchMalformed, CSRFile, n+1, maxCSRLine)
		}
		if err == io.EOF {
			if len(line) != 0 {
				return fmt.Errorf("%w: %s does not end with a newline", ErrBatchMalformed, CSRFile)
			}
			return nil
		}
		if err != nil {
			return err
		}
		req, perr := parseCSRLine(line, def)
		if perr != nil {
			return fmt.Errorf("%w: %s line %d: %v", ErrBatchMalformed, CSRFile, n+1, perr)
		}
		req.Index = uint32(n)
		if err := fn(req); err != nil {
			return err
		}
	}
}

func parseCSRLine(line []byte, def product) (Request, error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	var l CSRLine
	if err := dec.Decode(&l); err != nil {
		return Request{}, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return Request{}, errors.New("trailing data after the JSON object")
	}
	if len(l.ID) > 128 {
		return Request{}, errors.New("id longer than 128 bytes")
	}
	req := Request{ModuleID: l.ID, CSR: l.CSR, VID: def.vid, PID: def.pid}
	var err error
	switch {
	case l.VID != "":
		if req.VID, err = policy.ParseID(l.VID); err != nil {
			return Request{}, fmt.Errorf("vid: %w", err)
		}
	case !def.hasVID:
		return Request{}, errors.New("no vid on the line and no labels.vid in the manifest")
	}
	switch {
	case l.PID != "":
		if req.PID, err = policy.ParseID(l.PID); err != nil {
			return Request{}, fmt.Errorf("pid: %w", err)
		}
	case !def.hasPID:
		return Request{}, errors.New("no pid on the line and no labels.pid in the manifest")
	}
	return req, nil
}
