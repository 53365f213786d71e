package batch

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"filippo.io/age"

	"github.com/dacline/dacline/airgap-bundles/bundle"
	"github.com/dacline/dacline/lineclient/station"
)

// Exporter writes csr-batch bundles.
type Exporter struct {
	Store     *station.Store
	Name      string               // station name: bundle sender, signer name
	Signer    *bundle.NoteSigner   // station Ed25519 key
	Appliance *age.X25519Recipient // the appliance's age recipient
	VID, PID  uint16
	TempDir   string // spool directory on a local disk ("" = os.TempDir())
}

// ExportOptions choose what to export.
type ExportOptions struct {
	// Limit caps the number of modules in a new batch (0 = all waiting).
	Limit int
	// Rewrite writes an existing, not yet answered batch again (a lost or
	// damaged stick). Empty: resume a batch left pending by a crash, else
	// start a new one.
	Rewrite string
}

// ExportResult says what was written.
type ExportResult struct {
	Batch   *station.Batch
	Path    string
	Resumed bool // a pending or named batch was written again
}

// Export writes one csr-batch bundle into dir.
func (e *Exporter) Export(dir string, opt ExportOptions) (*ExportResult, error) {
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("export: output directory %s: not a directory", dir)
	}
	res := &ExportResult{}
	var b *station.Batch
	var err error
	switch {
	case opt.Rewrite != "":
		if b, err = e.Store.Batch(opt.Rewrite); err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
		if b.State == station.BatchConsumed {
			return nil, fmt.Errorf("export: batch %s was already answered by bundle %s; nothing to rewrite", b.ID, b.ReturnID)
		}
		res.Resumed = true
	default:
		if b, err = e.Store.PendingWrite(); err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
		if b != nil {
			res.Resumed = true
			break
		}
		id, err := bundle.NewBatchID()
		if err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
		// begin-export: the modules are exported in this batch from here on,
		// whether or not the file below gets written.
		if b, err = e.Store.BeginExport(id.String(), opt.Limit); errors.Is(err, station.ErrNothingToExport) {
			return nil, fmt.Errorf("export: %w", station.ErrNothingToExport)
		} else if err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
	}
	path, sum, err := e.write(dir, b)
	if err != nil {
		return nil, fmt.Errorf("export batch %s: %w", b.ID, err)
	}
	// export-written.
	if b, err = e.Store.ExportWritten(b.ID, filepath.Base(path), sum); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	res.Batch, res.Path = b, path
	return res, nil
}

// write builds the bundle of batch b from the store. Everything in it is
// determined by the store, so writing it twice gives the same manifest.
func (e *Exporter) write(dir string, b *station.Batch) (string, []byte, error) {
	id, err := bundle.ParseBatchID(b.ID)
	if err != nil {
		return "", nil, err
	}
	bl, err := bundle.NewBuilder(bundle.Header{
		Kind: bundle.KindCSRBatch, BatchID: id, Sender: e.Name,
		Created: b.CreatedAt.UTC().Truncate(time.Second),
		Counts:  map[string]int64{"csrs": int64(b.Count)},
		Labels:  map[string]string{"vid": fmt.Sprintf("%04X", e.VID), "pid": fmt.Sprintf("%04X", e.PID)},
	}, e.TempDir)
	if err != nil {
		return "", nil, err
	}
	defer bl.Close()
	fw, err := bl.Create(bundle.CSRFile)
	if err != nil {
		return "", nil, err
	}
	lw := bundle.NewLineWriter(fw, bundle.CSRFile, bundle.MaxCSRLine)
	err = e.Store.BatchCSRs(b.ID, func(mac, _ string, csr []byte) error {
		return lw.Write(bundle.CSRLine{ID: mac, CSR: csr})
	})
	if err == nil {
		err = lw.Flush()
	}
	n := lw.Lines()
	if cerr := fw.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", nil, err
	}
	if n != b.Count {
		return "", nil, fmt.Errorf("%w: batch %s records %d modules, store lists %d", station.ErrCorrupt, b.ID, b.Count, n)
	}
	// A file of this name can only be an earlier write of this same batch
	// (a crash after the rename, or a rewrite): replace it.
	name := bundle.FileName(bundle.KindCSRBatch, e.Name, id, true)
	if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", nil, err
	}
	path, _, err := bl.WriteToDir(dir, bundle.WriteOptions{Signer: e.Signer, Recipient: e.Appliance})
	if err != nil {
		return "", nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return "", nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", nil, err
	}
	return path, h.Sum(nil), nil
}
