package ceremony

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"filippo.io/age"
	"go.etcd.io/bbolt"

	"github.com/dacline/dacline/airgap-bundles/bundle"
	"github.com/dacline/dacline/appliance/internal/boltmem"
	"github.com/dacline/dacline/appliance/issuance"
)

// ErrOutputExists is returned when the output directory holds a file under
// the return bundle's name that is not the one this ceremony wrote.
var ErrOutputExists = errors.New("output directory already holds a different file under the return bundle's name")

// writeReturn writes the dac-batch bundle for a ceremony whose DACs are all
// committed, and records it ("record, act, record"):
//
//  1. the payload is built from the issuance store only — dacs.jsonl (with a
//     tlog-proof per DAC against the recorded checkpoint), refusals.jsonl,
//     pai.der, paa.der, checkpoint.txt — so every copy has the same content;
//  2. the bundle is sealed (manifest signed by the appliance, encrypted to the
//     station) into a temporary file on the medium, and its SHA-256 recorded
//     as pending (transaction "seal-bundle");
//  3. the file is renamed into place, fsynced and read back;
//  4. transaction "record-bundle" records the hash and the bundle-written
//     (and, the first time, ceremony-finished) audit entries.
//
// The manifest (batch ID, creation time, counts, file hashes) and the
// payload are identical on every run; Ed25519 signatures are deterministic so
// manifest.sig is too. Only the age ciphertext differs, by design: age draws
// a fresh file key each time.
func (r *Runner) writeReturn(ctx context.Context, b *Batch, c *issuance.Ceremony, outDir string) (string, string, error) {
	if outDir == "" {
		return "", "", errors.New("no output directory for the return bundle")
	}
	if r.Appliance == nil {
		return "", "", errors.New("no appliance signer for the return bundle")
	}
	rcpt, err := age.ParseX25519Recipient(c.StationRecipient)
	if err != nil {
		return "", "", fmt.Errorf("station %s recipient: %w", c.Station, err)
	}
	id, err := bundle.ParseBatchID(c.ReturnBatchID)
	if err != nil {
		return "", "", fmt.Errorf("return batch id: %w", err)
	}
	name := bundle.FileName(bundle.KindDACBatch, r.Appliance.Name(), id, true)
	final := filepath.Join(outDir, name)

	// A file already under that name: ours if its hash is the one recorded
	// (a crash after the rename, or the same stick again), else refused.
	if sum, err := fileSHA256(final); err == nil {
		switch {
		case sum == c.OutputSHA256 || slices.Contains(c.OutputCopies, sum):
			return final, sum, nil // written and recorded before
		case sum == c.PendingOutputSHA256:
			// Sealed and renamed into place, then the process died.
			if err := r.recordBundle(c, name, sum, ""); err != nil {
				return "", "", err
			}
			return final, sum, nil
		}
		return "", "", fmt.Errorf("%s: %w", final, ErrOutputExists)
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", "", err
	}

	// A run killed while sealing leaves its temporary file behind; the name
	// is this ceremony's own, so the leftovers are ours to remove.
	if stale, _ := filepath.Glob(filepath.Join(outDir, ".tmp-"+name+"-*")); len(stale) > 0 {
		for _, p := range stale {
			os.Remove(p)
		}
	}

	bld, err := bundle.NewBuilder(bundle.Header{
		Kind: bundle.KindDACBatch, BatchID: id, Sender: r.Appliance.Name(), Created: c.IssuedAt,
		InReplyTo: c.BatchID,
		Counts:    map[string]int64{"dacs": int64(c.Issued), "refusals": int64(c.Refused)},
		Labels:    map[string]string{"station": c.Station},
	}, r.TempDir)
	if err != nil {
		return "", "", err
	}
	defer bld.Close()
	if err := r.buildPayload(ctx, bld, c); err != nil {
		return "", "", err
	}

	var manifestSum string
	var sealed string
	path, err := bundle.WriteFileAtomic(outDir, name, func(w io.Writer) error {
		h := sha256.New()
		m, err := bld.Seal(io.MultiWriter(w, h), r.Appliance, rcpt)
		if err != nil {
			return err
		}
		mb, err := json.Marshal(m)
		if err != nil {
			return err
		}
		ms := sha256.Sum256(mb)
		manifestSum = hex.EncodeToString(ms[:])
		if c.ContentSHA256 != "" && c.ContentSHA256 != manifestSum {
			return fmt.Errorf("return bundle manifest %s differs from the one written first (%s): refusing to write a different bundle",
				short(manifestSum), short(c.ContentSHA256))
		}
		sealed = hex.EncodeToString(h.Sum(nil))
		// Record before the rename makes the file visible.
		var next *issuance.Ceremony
		if err := r.DB.Update(func(tx *bbolt.Tx) (err error) {
			next, err = issuance.SealBundle(tx, c.BatchID, sealed)
			return err
		}); err != nil {
			return fmt.Errorf("seal-bundle: %w", err)
		}
		*c = *next
		return nil
	}, nil)
	if err != nil {
		return "", "", err
	}
	crashPoint("after-bundle")
	if err := r.recordBundle(c, name, sealed, manifestSum); err != nil {
		return "", "", err
	}
	return path, sealed, nil
}

// recordBundle is the named transaction "record-bundle".
func (r *Runner) recordBundle(c *issuance.Ceremony, name, sum, manifestSum string) error {
	var next *issuance.Ceremony
	err := r.DB.Update(func(tx *bbolt.Tx) error {
		if _, err := r.Log.BundleWritten(tx, c, name, sum); err != nil {
			return fmt.Errorf("audit log: %w", err)
		}
		var first bool
		var err error
		next, first, err = issuance.FinishCeremony(tx, c.BatchID, issuance.Delivery{FileName: name, FileSHA256: sum, ContentSHA256: manifestSum, At: r.now()})
		if err != nil {
			return err
		}
		if first {
			if _, err := r.Log.CeremonyFinished(tx, next); err != nil {
				return fmt.Errorf("audit log: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record-bundle for batch %s: %w", c.BatchID, err)
	}
	*c = *next
	return nil
}

// buildPayload spools the return bundle's files from the issuance store.
func (r *Runner) buildPayload(ctx context.Context, bld *bundle.Builder, c *issuance.Ceremony) error {
	note := []byte(c.Checkpoint)
	prove, err := r.Log.Prover(note, c.CheckpointSize)
	if err != nil {
		return fmt.Errorf("return bundle: audit checkpoint: %w", err)
	}
	err = writeLines(bld, bundle.DACFile, bundle.MaxDACLine, func(w *bundle.LineWriter) error {
		n := 0
		return r.DB.View(func(tx *bbolt.Tx) error {
			return issuance.BatchDACs(tx, c.BatchID, func(d *issuance.DACRecord) error {
				if n%1024 == 0 && ctx.Err() != nil {
					return ctx.Err()
				}
				if n%256 == 255 {
					boltmem.ReleaseAbove(tx, mappedLimit) // every record page is read once
				}
				proof, err := prove(tx, d.LogIndex)
				if err != nil {
					return fmt.Errorf("dac %s: tlog proof: %w", d.SerialHex(), err)
				}
				n++
				crashPoint("bundle-write")
				return w.Write(bundle.DACLine{
					ID: d.ModuleID, Index: d.Index, SPKISHA256: issuance.HexHash(d.SPKIHash), DAC: d.DER,
					VID: fmt.Sprintf("%04X", d.VID), PID: fmt.Sprintf("%04X", d.PID), Serial: d.SerialHex(),
					LogIndex: d.LogIndex, TLogProof: string(proof),
				})
			})
		})
	})
	if err != nil {
		return err
	}
	err = writeLines(bld, bundle.RefusalFile, bundle.MaxRefusalLine, func(w *bundle.LineWriter) error {
		return r.DB.View(func(tx *bbolt.Tx) error {
			return issuance.Refusals(tx, c.BatchID, func(rf issuance.Refusal) error {
				return w.Write(bundle.RefusalLine{ID: rf.ModuleID, Index: rf.Index, Reason: rf.Reason, Detail: rf.Detail, LogIndex: rf.LogIndex})
			})
		})
	})
	if err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		data []byte
	}{
		{bundle.PAIFile, r.Issuer.PAI.Raw},
		{bundle.PAAFile, r.Issuer.PAA.Raw},
		{bundle.CheckpointFile, note},
	} {
		if err := writeFile(bld, f.name, func(w *bufio.Writer) error { _, err := w.Write(f.data); return err }); err != nil {
			return err
		}
	}
	return nil
}

// writeLines writes a .jsonl payload file with the bundle package's line writer.
func writeLines(bld *bundle.Builder, name string, max int, fill func(*bundle.LineWriter) error) error {
	fw, err := bld.Create(name)
	if err != nil {
		return err
	}
	lw := bundle.NewLineWriter(fw, name, max)
	if err := fill(lw); err != nil {
		fw.Close()
		return fmt.Errorf("return bundle %s: %w", name, err)
	}
	if err := lw.Flush(); err != nil {
		fw.Close()
		return fmt.Errorf("return bundle %s: %w", name, err)
	}
	return fw.Close()
}

func writeFile(bld *bundle.Builder, name string, fill func(*bufio.Writer) error) error {
	fw, err := bld.Create(name)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(fw, 256<<10)
	if err := fill(bw); err != nil {
		fw.Close()
		return fmt.Errorf("return bundle %s: %w", name, err)
	}
	if err := bw.Flush(); err != nil {
		fw.Close()
		return fmt.Errorf("return bundle %s: %w", name, err)
	}
	return fw.Close()
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
