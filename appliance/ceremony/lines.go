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

// Payload file names of the two bundle kinds a ceremony reads and writes.
const (
	CSRFile      = "csrs.jsonl"     // csr-batch: one CSRLine per line
	DACFile      = "dacs.jsonl"     // dac-batch: one DACLine per issued DAC, index order
	RefusalFile  = "refusals.jsonl" // dac-batch: one RefusalLine per refused CSR, index order
	PAIFile      = "pai.pem"        // dac-batch: the PAI that issued the DACs
	PAAFile      = "paa.pem"        // dac-batch: the PAA above it
	CheckpointFn = "checkpoint"     // dac-batch: the signed audit log checkpoint the proofs refer to
)

// maxCSRLine bounds one csrs.jsonl line: a 1024-byte CSR in base64 plus fields.
const maxCSRLine = 4096

// CSRLine is one line of csrs.jsonl, written by the station.
type CSRLine struct {
	Index    uint32 `json:"index"`
	ModuleID string `json:"module_id"`
	VID      string `json:"vid"` // 4 hex digits, the station's product
	PID      string `json:"pid"`
	CSR      []byte `json:"csr"` // PKCS#10 DER, base64 in JSON
}

// DACLine is one line of dacs.jsonl, written by the appliance.
type DACLine struct {
	Index      uint32 `json:"index"`
	ModuleID   string `json:"module_id"`
	VID        string `json:"vid"`
	PID        string `json:"pid"`
	Serial     string `json:"serial"`      // uppercase hex
	SPKISHA256 string `json:"spki_sha256"` // of the certified key, lowercase hex
	DAC        []byte `json:"dac"`         // DER, base64 in JSON
	LogIndex   uint64 `json:"log_index"`   // audit log index of the dac-issued entry
	// TLogProof is the c2sp.org/tlog-proof@v1 of the dac-issued entry against
	// the bundle's checkpoint.
	TLogProof string `json:"tlog_proof"`
}

// RefusalLine is one line of refusals.jsonl.
type RefusalLine struct {
	Index    uint32 `json:"index"`
	ModuleID string `json:"module_id"`
	Reason   string `json:"reason"`
	Detail   string `json:"detail"`
	LogIndex uint64 `json:"log_index"`
}

// readCSRLines streams csrs.jsonl strictly: each line one JSON object with
// exactly the CSRLine fields, no trailing data, at most maxCSRLine bytes.
func readCSRLines(r io.Reader, fn func(Request) error) error {
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
		req, perr := parseCSRLine(line)
		if perr != nil {
			return fmt.Errorf("%w: %s line %d: %v", ErrBatchMalformed, CSRFile, n+1, perr)
		}
		if err := fn(req); err != nil {
			return err
		}
	}
}

func parseCSRLine(line []byte) (Request, error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	var l CSRLine
	if err := dec.Decode(&l); err != nil {
		return Request{}, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return Request{}, errors.New("trailing data after the JSON object")
	}
	vid, err := policy.ParseID(l.VID)
	if err != nil {
		return Request{}, fmt.Errorf("vid: %w", err)
	}
	pid, err := policy.ParseID(l.PID)
	if err != nil {
		return Request{}, fmt.Errorf("pid: %w", err)
	}
	if len(l.ModuleID) > 128 {
		return Request{}, errors.New("module_id longer than 128 bytes")
	}
	return Request{Index: l.Index, ModuleID: l.ModuleID, VID: vid, PID: pid, CSR: l.CSR}, nil
}
