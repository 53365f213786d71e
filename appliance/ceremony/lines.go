package ceremony

import (
	"errors"
	"fmt"
	"io"

	"github.com/dacline/dacline/airgap-bundles/bundle"
	"github.com/dacline/dacline/appliance/policy"
)

// product is the batch's default VID/PID (manifest labels), if any.
type product struct {
	vid, pid       uint16
	hasVID, hasPID bool
}

// readCSRLines streams csrs.jsonl strictly (bundle.LineReader: each line one
// JSON object with exactly the CSRLine fields, no trailing data, at most
// bundle.MaxCSRLine bytes) and hands each CSR to fn with its index.
func readCSRLines(r io.Reader, def product, fn func(Request) error) error {
	lr := bundle.NewLineReader(r, bundle.CSRFile, bundle.MaxCSRLine)
	for {
		var l bundle.CSRLine
		err := lr.Next(&l)
		if err == io.EOF {
			return nil
		}
		if errors.Is(err, bundle.ErrPayloadLine) {
			return fmt.Errorf("%w: %w", ErrBatchMalformed, err)
		}
		if err != nil {
			return err
		}
		req, perr := toRequest(&l, def)
		if perr != nil {
			return fmt.Errorf("%w: %s line %d: %v", ErrBatchMalformed, bundle.CSRFile, lr.Line(), perr)
		}
		req.Index = uint32(lr.Line() - 1)
		if err := fn(req); err != nil {
			return err
		}
	}
}

// toRequest checks what the line format alone cannot: the id's length and
// the product (on the line or the manifest's default).
func toRequest(l *bundle.CSRLine, def product) (Request, error) {
	if len(l.ID) > bundle.MaxModuleID {
		return Request{}, fmt.Errorf("id longer than %d bytes", bundle.MaxModuleID)
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
