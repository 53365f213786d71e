package station

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/bbolt"
)

// BatchState is where a csr-batch stands.
type BatchState string

const (
	// BatchPendingWrite: modules are marked exported in it, the bundle file may
	// not exist yet. The next export writes it again, same ID, same modules.
	BatchPendingWrite BatchState = "pending-write"
	// BatchWritten: the bundle was written, read back and verified.
	BatchWritten BatchState = "written"
	// BatchConsumed: its return bundle was imported.
	BatchConsumed BatchState = "consumed"
)

// Batch is one csr-batch and, once imported, what came back for it.
type Batch struct {
	ID         string     `json:"id"`
	State      BatchState `json:"state"`
	Count      int        `json:"count"`
	CreatedAt  time.Time  `json:"created_at"`
	WrittenAt  time.Time  `json:"written_at,omitzero"`
	File       string     `json:"file,omitempty"`
	FileSHA256 string     `json:"file_sha256,omitempty"`
	ConsumedAt time.Time  `json:"consumed_at,omitzero"`
	ReturnID   string     `json:"return_id,omitempty"` // batch ID of the dac-batch bundle
	DACs       int        `json:"dacs,omitzero"`
	Refused    int        `json:"refused,omitzero"`
	// Cancel is set when the batch was cancelled (State cancelled).
	Cancel *CancelRecord `json:"cancel,omitempty"`
}

// Errors of the batch exchange.
var (
	ErrNothingToExport = errors.New("no module has a csr waiting for a batch")
	ErrReplay          = errors.New("return bundle already imported")
	ErrUnknownBatch    = errors.New("unknown csr batch")
	ErrUnknownKey      = errors.New("dac for a key this station never sent")
)

func getBatch(tx *bbolt.Tx, id string) (*Batch, error) {
	v := tx.Bucket(bucketBatches).Get([]byte(id))
	if v == nil {
		return nil, fmt.Errorf("batch %s: %w", id, ErrUnknownBatch)
	}
	b := new(Batch)
	if err := json.Unmarshal(v, b); err != nil {
		return nil, fmt.Errorf("%w: batch record %s: %v", ErrCorrupt, id, err)
	}
	return b, nil
}

func putBatch(tx *bbolt.Tx, b *Batch) error {
	v, err := json.Marshal(b)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketBatches).Put([]byte(b.ID), v)
}

// PendingWrite returns the batch whose bundle has not been confirmed written
// (a crash between "begin-export" and "export-written"), or nil.
func (s *Store) PendingWrite() (*Batch, error) {
	var out *Batch
	err := safeView(s.db, func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketBatches).ForEach(func(k, v []byte) error {
			var b Batch
			if err := json.Unmarshal(v, &b); err != nil {
				return fmt.Errorf("%w: batch record %s: %v", ErrCorrupt, k, err)
			}
			if b.State == BatchPendingWrite && out == nil {
				out = &b
			}
			return nil
		})
	})
	return out, err
}

// BeginExport ("begin-export") puts every module in key-generated into a new
// batch id, marks them exported and records the batch as pending-write, all
// in one transaction, before any file is written. The bundle can then be
// (re)written from the store any number of times; ExportWritten records that
// it was. limit > 0 caps the batch size.
func (s *Store) BeginExport(id string, limit int) (*Batch, error) {
	var out *Batch
	err := safeUpdate(s.db, func(tx *bbolt.Tx) error {
		if tx.Bucket(bucketBatches).Get([]byte(id)) != nil {
			return fmt.Errorf("batch id %s already used", id)
		}
		now := s.now()
		b := &Batch{ID: id, State: BatchPendingWrite, CreatedAt: now}
		var macs []string
		prefix := []byte{byte(StateKeyGenerated)}
		c := tx.Bucket(bucketByState).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			macs = append(macs, string(k[1:]))
			if limit > 0 && len(macs) >= limit {
				break
			}
		}
		if len(macs) == 0 {
			return ErrNothingToExport
		}
		for _, mac := range macs {
			m, err := getModule(tx, mac)
			if err != nil {
				return err
			}
			if m.State != StateKeyGenerated || m.BatchID != "" {
				return fmt.Errorf("%w: index says %s is key-generated, record says %s", ErrCorrupt, mac, m.State)
			}
			m.State, m.BatchID, m.ExportedAt, m.UpdatedAt = StateExported, id, now, now
			if err := reindex(tx, mac, StateKeyGenerated, "", m); err != nil {
				return err
			}
			if err := putModule(tx, m); err != nil {
				return err
			}
		}
		b.Count = len(macs)
		out = b
		return putBatch(tx, b)
	})
	if err != nil {
		return nil, fmt.Errorf("begin-export (batch %s): %w", id, err)
	}
	return out, nil
}

// ExportWritten ("export-written") records that the batch's bundle file was
// written and verified.
func (s *Store) ExportWritten(id, file string, fileSHA256 []byte) (*Batch, error) {
	var out *Batch
	err := safeUpdate(s.db, func(tx *bbolt.Tx) error {
		b, err := getBatch(tx, id)
		if err != nil {
			return err
		}
		if b.State == BatchConsumed || b.State == BatchCancelled {
			return fmt.Errorf("%w: batch %s is %s", ErrTransition, id, b.State)
		}
		b.State, b.WrittenAt, b.File, b.FileSHA256 = BatchWritten, s.now(), file, hex.EncodeToString(fileSHA256)
		out = b
		return putBatch(tx, b)
	})
	if err != nil {
		return nil, fmt.Errorf("export-written (batch %s): %w", id, err)
	}
	return out, nil
}

// Batch returns one batch record.
func (s *Store) Batch(id string) (*Batch, error) {
	var b *Batch
	err := safeView(s.db, func(tx *bbolt.Tx) error {
		var err error
		b, err = getBatch(tx, id)
		return err
	})
	return b, err
}

// BatchCSRs streams the CSRs of a batch's modules in MAC order, inside one
// read transaction (the slices are valid only during fn).
func (s *Store) BatchCSRs(id string, fn func(mac string, spkiSHA256 string, csr []byte) error) error {
	return safeView(s.db, func(tx *bbolt.Tx) error {
		b, err := getBatch(tx, id)
		if err != nil {
			return err
		}
		if b.State == BatchCancelled {
			return fmt.Errorf("batch %s was cancelled at %s (%s): its modules wait for a new batch", id, b.Cancel.At.Format(time.RFC3339), b.Cancel.Reason)
		}
		prefix := batchIndexKey(id, "")
		c := tx.Bucket(bucketByBatch).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			mac := string(k[len(prefix):])
			m, err := getModule(tx, mac)
			if err != nil {
				return err
			}
			csr := tx.Bucket(bucketCSR).Get([]byte(mac))
			if csr == nil {
				return fmt.Errorf("%w: module %s in batch %s has no csr", ErrCorrupt, mac, id)
			}
			if err := fn(mac, m.SPKISHA256, csr); err != nil {
				return err
			}
		}
		return nil
	})
}

// ModuleByKey finds the module whose CSR key has this SPKI SHA-256.
func (s *Store) ModuleByKey(spkiSHA256 [32]byte) (*Module, error) {
	var m *Module
	err := safeView(s.db, func(tx *bbolt.Tx) error {
		mac := tx.Bucket(bucketBySPKI).Get([]byte(hex.EncodeToString(spkiSHA256[:])))
		if mac == nil {
			return fmt.Errorf("key %x: %w", spkiSHA256[:8], ErrNotFound)
		}
		var err error
		m, err = getModule(tx, string(mac))
		return err
	})
	return m, err
}

// Consumed reports whether a return bundle's batch ID was already imported.
func (s *Store) Consumed(returnID string) (bool, error) {
	var ok bool
	err := safeView(s.db, func(tx *bbolt.Tx) error {
		ok = tx.Bucket(bucketConsumed).Get([]byte(returnID)) != nil
		return nil
	})
	return ok, err
}

// ReturnedDAC is a DAC the caller has verified (signature, chain to the
// station's PAI/PAA, SPKI equal to the CSR's, VID/PID, CD).
type ReturnedDAC struct {
	SPKISHA256 [32]byte
	DER        []byte
	Serial     string // hex
}

// Refusal is a per-module outcome other than a good DAC: refused by the
// appliance, or a DAC that failed the station's checks.
type Refusal struct {
	MAC    string
	Reason Reason
	Detail string
	// DACSerial and DACSHA256 name the DAC the appliance issued when the
	// station refuses it (dac-rejected): it was issued, so the manifest lists
	// it as unused. Empty for an appliance refusal (no DAC was issued).
	DACSerial, DACSHA256 string
}

// Return is the content of one verified dac-batch bundle.
type Return struct {
	ReturnID   string // the dac-batch bundle's own batch ID (replay guard)
	CSRBatchID string // the csr-batch it answers
	DACs       []ReturnedDAC
	Refusals   []Refusal
	// InTx, when set, runs inside the import transaction (the bundle
	// package's MarkConsumed, so its replay record commits with the import).
	InTx func(tx *bbolt.Tx) error
}

// ImportResult counts what an import did.
type ImportResult struct {
	Batch       *Batch
	DACs        int
	Refused     int
	NotReturned int
}

// ImportReturn ("import-return") stores every DAC and refusal of a return
// bundle and marks both the return ID and the csr-batch consumed, in one
// transaction: either the whole bundle is in the store or nothing is, and the
// same bundle is never imported twice.
//
// A DAC or refusal for a key that is not a module of the answered batch, in
// state exported, refuses the whole bundle (ErrUnknownKey): a signed appliance
// bundle that names keys this station never sent is not partly trusted.
// Modules of the batch the bundle does not mention fail as not-returned.
func (s *Store) ImportReturn(r *Return) (*ImportResult, error) {
	res := &ImportResult{}
	err := safeUpdate(s.db, func(tx *bbolt.Tx) error {
		if r.ReturnID == "" {
			return fmt.Errorf("return bundle has no batch id")
		}
		if v := tx.Bucket(bucketConsumed).Get([]byte(r.ReturnID)); v != nil {
			return fmt.Errorf("%w: bundle %s was imported at %s", ErrReplay, r.ReturnID, v)
		}
		b, err := getBatch(tx, r.CSRBatchID)
		if err != nil {
			return err
		}
		if b.State == BatchConsumed {
			return fmt.Errorf("%w: csr batch %s was already answered by bundle %s", ErrReplay, b.ID, b.ReturnID)
		}
		if b.State == BatchCancelled {
			return fmt.Errorf("csr batch %s was cancelled at %s (%s): its modules went into other batches; this answer is not taken", b.ID, b.Cancel.At.Format(time.RFC3339), b.Cancel.Reason)
		}
		now := s.now()
		seen := make(map[string]bool)
		member := func(spki *[32]byte, mac string) (*Module, error) {
			if spki != nil {
				h := hex.EncodeToString(spki[:])
				owner := tx.Bucket(bucketBySPKI).Get([]byte(h))
				if owner == nil {
					return nil, fmt.Errorf("%w: key %s", ErrUnknownKey, h[:16])
				}
				mac = string(owner)
			}
			m, err := getModule(tx, mac)
			if errors.Is(err, ErrNotFound) {
				return nil, fmt.Errorf("%w: module %s", ErrUnknownKey, mac)
			}
			if err != nil {
				return nil, err
			}
			if m.BatchID != r.CSRBatchID {
				return nil, fmt.Errorf("%w: module %s is in batch %q, not %s", ErrUnknownKey, m.MAC, m.BatchID, r.CSRBatchID)
			}
			if seen[m.MAC] {
				return nil, fmt.Errorf("bundle answers module %s twice", m.MAC)
			}
			seen[m.MAC] = true
			if m.State != StateExported {
				return nil, fmt.Errorf("%w: module %s is %s, not exported", ErrTransition, m.MAC, m.State)
			}
			return m, nil
		}
		save := func(m *Module) error {
			m.UpdatedAt = now
			if err := reindex(tx, m.MAC, StateExported, m.BatchID, m); err != nil {
				return err
			}
			return putModule(tx, m)
		}
		for _, d := range r.DACs {
			m, err := member(&d.SPKISHA256, "")
			if err != nil {
				return err
			}
			sum := sha256.Sum256(d.DER)
			if err := tx.Bucket(bucketDAC).Put([]byte(m.MAC), d.DER); err != nil {
				return err
			}
			m.State, m.DACReceivedAt = StateDACReceived, now
			m.DACSerial, m.DACSHA256 = d.Serial, hex.EncodeToString(sum[:])
			if err := save(m); err != nil {
				return err
			}
			res.DACs++
		}
		for _, rf := range r.Refusals {
			m, err := member(nil, rf.MAC)
			if err != nil {
				return err
			}
			m.FailedFrom, m.State, m.Reason, m.Detail, m.FailedAt = StateExported, StateFailed, rf.Reason, rf.Detail, now
			m.DACSerial, m.DACSHA256 = rf.DACSerial, rf.DACSHA256
			if err := save(m); err != nil {
				return err
			}
			res.Refused++
		}
		prefix := batchIndexKey(b.ID, "")
		var missing []string
		c := tx.Bucket(bucketByBatch).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			if mac := string(k[len(prefix):]); !seen[mac] {
				missing = append(missing, mac)
			}
		}
		for _, mac := range missing {
			m, err := getModule(tx, mac)
			if err != nil {
				return err
			}
			if m.State != StateExported {
				continue
			}
			m.FailedFrom, m.State, m.Reason, m.FailedAt = StateExported, StateFailed, ReasonNotReturned, now
			m.Detail = "return bundle " + r.ReturnID + " has no dac and no refusal for this module"
			if err := save(m); err != nil {
				return err
			}
			res.NotReturned++
		}
		b.State, b.ConsumedAt, b.ReturnID = BatchConsumed, now, r.ReturnID
		b.DACs, b.Refused = res.DACs, res.Refused+res.NotReturned
		if err := putBatch(tx, b); err != nil {
			return err
		}
		res.Batch = b
		if r.InTx != nil {
			if err := r.InTx(tx); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketConsumed).Put([]byte(r.ReturnID), []byte(now.Format(time.RFC3339)))
	})
	if err != nil {
		return nil, fmt.Errorf("import-return (bundle %s for batch %s): %w", r.ReturnID, r.CSRBatchID, err)
	}
	return res, nil
}
