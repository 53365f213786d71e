package applog

import (
	"fmt"

	"go.etcd.io/bbolt"
	"golang.org/x/mod/sumdb/note"

	"github.com/dacline/dacline/shared/auditlog"
)

// ExportResult describes a finished export.
type ExportResult struct {
	Checkpoint   auditlog.Checkpoint // the export's (latest) checkpoint
	Signed       []byte              // it, signed
	PreviousSize int64               // size of the previous export's checkpoint, 0 if none
}

// ExportDir writes a log-export directory to dir, which must not exist.
func (l *Log) ExportDir(dir string, s note.Signer) (*ExportResult, error) {
	return l.Export(s, func(e auditlog.Export) error { return auditlog.WriteExport(dir, e) })
}

// Export exports the log through write (a directory, or a log-export bundle):
//
//  1. record: append a log-exported entry (so the log shows every export);
//  2. sign a checkpoint covering it (refusing on rollback or fork);
//  3. act: write hands the export (entries, all checkpoints, the previous
//     export's checkpoint and the consistency proof from it) to its medium;
//  4. record: remember this checkpoint as the last export's.
//
// A failure in step 3 (stick pulled) leaves a log-exported entry with no
// export; the next export simply records another one and proves consistency
// from the last export that completed.
func (l *Log) Export(s note.Signer, write func(auditlog.Export) error) (*ExportResult, error) {
	prevSigned, err := l.lastExport()
	if err != nil {
		return nil, err
	}
	var prev auditlog.Checkpoint
	if prevSigned != nil {
		if prev, err = auditlog.SplitSigned(prevSigned); err != nil {
			return nil, fmt.Errorf("audit log: last export's checkpoint: %w", err)
		}
	}
	if _, err := l.Append(&auditlog.LogExported{PreviousTreeSize: prev.Size}); err != nil {
		return nil, err
	}
	signed, err := l.Checkpoint(s)
	if err != nil {
		return nil, err
	}
	cur, err := auditlog.SplitSigned(signed)
	if err != nil {
		return nil, err
	}
	exp := auditlog.Export{
		Info: auditlog.ExportInfo{Version: auditlog.ExportVersion, Origin: cur.Origin, TreeSize: cur.Size, PreviousTreeSize: prev.Size},
	}
	if prevSigned != nil {
		cp, err := l.ConsistencyProof(prev.Size, cur.Size)
		if err != nil {
			return nil, err
		}
		exp.Previous, exp.Consistency = prevSigned, &cp
	}
	err = l.db.View(func(tx *bbolt.Tx) error {
		exp.Checkpoints = checkpointsTx(tx)
		exp.Entries = func(emit func([]byte) error) error {
			return forEachTx(tx, 0, cur.Size, func(_ int64, e []byte) error { return emit(e) })
		}
		return write(exp)
	})
	if err != nil {
		return nil, err
	}
	err = l.db.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket([]byte(BucketCheckpoint)).Put(keyLastExport, signed)
	})
	if err != nil {
		return nil, fmt.Errorf("audit log: export written but not recorded as the last export: %w", err)
	}
	return &ExportResult{Checkpoint: cur, Signed: signed, PreviousSize: prev.Size}, nil
}

func (l *Log) lastExport() (signed []byte, err error) {
	err = l.db.View(func(tx *bbolt.Tx) error {
		if v := tx.Bucket([]byte(BucketCheckpoint)).Get(keyLastExport); v != nil {
			signed = append([]byte(nil), v...)
		}
		return nil
	})
	return signed, err
}
