package issuance

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/bbolt"
)

var (
	bucketRoot       = []byte("issuance")
	bucketBySPKI     = []byte("by-spki")
	bucketBySerial   = []byte("by-serial")
	bucketCeremonies = []byte("ceremonies")
	bucketBatchDACs  = []byte("batch-dacs")
	bucketRefusals   = []byte("batch-refusals")
	bucketStations   = []byte("station-issued")
	bucketReserved   = []byte("reserved")
)

// Sentinel errors callers branch on.
var (
	ErrKeyAlreadyCertified = errors.New("public key already certified")
	ErrSerialUsed          = errors.New("serial number already used")
	ErrIndexIssued         = errors.New("csr index already has a dac")
	ErrNoCeremony          = errors.New("no ceremony for this batch")
)

// DACRecord is one issued DAC.
type DACRecord struct {
	SPKIHash [32]byte `json:"spki_sha256"`
	Serial   []byte   `json:"serial"`
	Batch    string   `json:"batch"`
	Index    uint32   `json:"index"`
	Station  string   `json:"station"`
	ModuleID string   `json:"module_id,omitempty"`
	VID      uint16   `json:"vid"`
	PID      uint16   `json:"pid"`
	// LogIndex is the audit log index of the dac-issued entry.
	LogIndex uint64    `json:"log_index"`
	IssuedAt time.Time `json:"issued_at"`
	DER      []byte    `json:"der"`
}

// SerialHex is the serial number in uppercase hex.
func (r *DACRecord) SerialHex() string { return fmt.Sprintf("%X", r.Serial) }

// Refusal is one CSR the ceremony refused.
type Refusal struct {
	Index    uint32 `json:"index"`
	ModuleID string `json:"module_id,omitempty"`
	// VID and PID are what the batch line asked for.
	VID    uint16 `json:"vid,omitempty"`
	PID    uint16 `json:"pid,omitempty"`
	Reason string `json:"reason"` // a stable code, e.g. "key-already-certified"
	Detail string `json:"detail"`
	// LogIndex is the audit log index of the csr-refused entry.
	LogIndex uint64 `json:"log_index"`
}

// Ceremony states, in order.
const (
	StateIssuing  = "issuing"  // started: plan recorded, DACs being committed
	StateIssued   = "issued"   // every accepted CSR has a DAC; checkpoint signed
	StateFinished = "finished" // return bundle written and its hash recorded
)

// Ceremony is the durable state of one signing ceremony (one csr-batch).
type Ceremony struct {
	BatchID string `json:"batch_id"`
	Station string `json:"station"`
	// StationRecipient is the age recipient the return bundle is encrypted to.
	StationRecipient string `json:"station_recipient"`
	// ReturnBatchID is the batch ID of the dac-batch bundle, fixed at start so
	// that every copy of the return bundle carries the same manifest.
	ReturnBatchID  string    `json:"return_batch_id"`
	ManifestSHA256 string    `json:"manifest_sha256"`
	BundleSHA256   string    `json:"bundle_sha256"`
	PolicySHA256   string    `json:"policy_sha256"`
	Officer        string    `json:"officer,omitempty"`
	StartedAt      time.Time `json:"started_at"`
	NotBefore      time.Time `json:"not_before"`
	NotAfter       time.Time `json:"not_after"`
	CSRs           int       `json:"csrs"`
	Accepted       int       `json:"accepted"`
	Refused        int       `json:"refused"`
	Issued         int       `json:"issued"`
	State          string    `json:"state"`
	// StartLogIndex is the audit log index of the ceremony-started entry.
	StartLogIndex uint64 `json:"start_log_index"`
	// Checkpoint is the signed checkpoint (note text) covering every DAC of
	// the batch; the return bundle carries it and proofs against it.
	Checkpoint     string    `json:"checkpoint,omitempty"`
	CheckpointSize uint64    `json:"checkpoint_size,omitempty"`
	IssuedAt       time.Time `json:"issued_at,omitzero"`
	// PendingOutputSHA256 is the hash of a return bundle sealed but not yet
	// known to be on the medium ("record, act, record").
	PendingOutputSHA256 string `json:"pending_output_sha256,omitempty"`
	// Output: the return bundle as first written.
	OutputName    string `json:"output_name,omitempty"`
	OutputSHA256  string `json:"output_sha256,omitempty"`
	ContentSHA256 string `json:"content_sha256,omitempty"`
	// OutputCopies are the SHA-256 of later copies of the return bundle
	// (a finished ceremony run again).
	OutputCopies []string  `json:"output_copies,omitempty"`
	FinishedAt   time.Time `json:"finished_at,omitzero"`
	// Abandonment (state abandoned): when, by whom, why.
	AbandonedAt   time.Time `json:"abandoned_at,omitzero"`
	AbandonedBy   string    `json:"abandoned_by,omitempty"`
	AbandonReason string    `json:"abandon_reason,omitempty"`
	// Restored: entries of this ceremony were brought back from a log export
	// (restore.go); its DACs have no certificate in the store.
	Restored bool `json:"restored,omitempty"`
}

// Init creates the store's buckets; call it once in a write transaction.
func Init(tx *bbolt.Tx) error {
	root, err := tx.CreateBucketIfNotExists(bucketRoot)
	if err != nil {
		return fmt.Errorf("issuance store: %w", err)
	}
	for _, b := range [][]byte{bucketBySPKI, bucketBySerial, bucketCeremonies, bucketBatchDACs, bucketRefusals, bucketStations, bucketReserved} {
		if _, err := root.CreateBucketIfNotExists(b); err != nil {
			return fmt.Errorf("issuance store: bucket %s: %w", b, err)
		}
	}
	return nil
}

// InitDB creates the buckets in their own transaction.
func InitDB(db *bbolt.DB) error { return db.Update(Init) }

func sub(tx *bbolt.Tx, name []byte) (*bbolt.Bucket, error) {
	root := tx.Bucket(bucketRoot)
	if root == nil {
		return nil, errors.New("issuance store not initialised")
	}
	b := root.Bucket(name)
	if b == nil {
		return nil, fmt.Errorf("issuance store: bucket %s missing", name)
	}
	return b, nil
}

func indexKey(i uint32) []byte { return binary.BigEndian.AppendUint32(nil, i) }

// Ceremony returns the ceremony recorded for batchID, or ErrNoCeremony.
func GetCeremony(tx *bbolt.Tx, batchID string) (*Ceremony, error) {
	b, err := sub(tx, bucketCeremonies)
	if err != nil {
		return nil, err
	}
	v := b.Get([]byte(batchID))
	if v == nil {
		return nil, fmt.Errorf("batch %s: %w", batchID, ErrNoCeremony)
	}
	var c Ceremony
	if err := json.Unmarshal(v, &c); err != nil {
		return nil, fmt.Errorf("batch %s: ceremony record corrupt: %w", batchID, err)
	}
	return &c, nil
}

// Ceremonies calls fn for every recorded ceremony in batch ID order.
func Ceremonies(tx *bbolt.Tx, fn func(*Ceremony) error) error {
	b, err := sub(tx, bucketCeremonies)
	if err != nil {
		return err
	}
	return b.ForEach(func(k, v []byte) error {
		var c Ceremony
		if err := json.Unmarshal(v, &c); err != nil {
			return fmt.Errorf("batch %s: ceremony record corrupt: %w", k, err)
		}
		return fn(&c)
	})
}

// PutRefusal records that CSR r.Index of batchID was refused.
func PutRefusal(tx *bbolt.Tx, batchID string, r Refusal) error {
	b, err := sub(tx, bucketRefusals)
	if err != nil {
		return err
	}
	bb, err := b.CreateBucketIfNotExists([]byte(batchID))
	if err != nil {
		return err
	}
	v, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return bb.Put(indexKey(r.Index), v)
}

// Refusals calls fn for each refusal of batchID in index order.
func Refusals(tx *bbolt.Tx, batchID string, fn func(Refusal) error) error {
	b, err := sub(tx, bucketRefusals)
	if err != nil {
		return err
	}
	bb := b.Bucket([]byte(batchID))
	if bb == nil {
		return nil
	}
	return bb.ForEach(func(k, v []byte) error {
		var r Refusal
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("batch %s: refusal record corrupt: %w", batchID, err)
		}
		return fn(r)
	})
}

// DACBySPKI returns the DAC that certifies the key with this SPKI hash, or nil.
func DACBySPKI(tx *bbolt.Tx, spki [32]byte) (*DACRecord, error) {
	b, err := sub(tx, bucketBySPKI)
	if err != nil {
		return nil, err
	}
	v := b.Get(spki[:])
	if v == nil {
		return nil, nil
	}
	batch, idx, err := parseSPKIRef(v)
	if err != nil {
		return nil, fmt.Errorf("key %x: %w", spki[:8], err)
	}
	r, err := dacAt(tx, batch, idx)
	if err != nil {
		return nil, err
	}
	if r == nil || r.SPKIHash != spki {
		return nil, fmt.Errorf("key %x: index points at batch %s csr %d, which holds another key", spki[:8], batch, idx)
	}
	return r, nil
}

// dacAt returns the DAC of CSR idx of batch, or nil.
func dacAt(tx *bbolt.Tx, batch string, idx uint32) (*DACRecord, error) {
	b, err := sub(tx, bucketBatchDACs)
	if err != nil {
		return nil, err
	}
	bb := b.Bucket([]byte(batch))
	if bb == nil {
		return nil, nil
	}
	v := bb.Get(indexKey(idx))
	if v == nil {
		return nil, nil
	}
	r, err := decodeRecord(v)
	if err != nil {
		return nil, fmt.Errorf("batch %s csr %d: %w", batch, idx, err)
	}
	return r, nil
}

// SerialUsed reports whether a DAC with this serial exists.
func SerialUsed(tx *bbolt.Tx, serial []byte) (bool, error) {
	b, err := sub(tx, bucketBySerial)
	if err != nil {
		return false, err
	}
	return b.Get(serial) != nil, nil
}

// DACBySerial returns the DAC with this serial, or nil.
func DACBySerial(tx *bbolt.Tx, serial []byte) (*DACRecord, error) {
	b, err := sub(tx, bucketBySerial)
	if err != nil {
		return nil, err
	}
	h := b.Get(serial)
	if h == nil {
		return nil, nil
	}
	var spki [32]byte
	copy(spki[:], h)
	return DACBySPKI(tx, spki)
}

// PutDAC records an issued DAC, enforcing the store's uniqueness invariants:
// a key already certified, a serial already used, or a batch index that
// already has a DAC is refused and nothing is written.
func PutDAC(tx *bbolt.Tx, r *DACRecord) error { return putDAC(tx, r, false) }

func putDAC(tx *bbolt.Tx, r *DACRecord, restored bool) error {
	spkiB, err := sub(tx, bucketBySPKI)
	if err != nil {
		return err
	}
	serB, err := sub(tx, bucketBySerial)
	if err != nil {
		return err
	}
	batchB, err := sub(tx, bucketBatchDACs)
	if err != nil {
		return err
	}
	stB, err := sub(tx, bucketStations)
	if err != nil {
		return err
	}
	resB, err := sub(tx, bucketReserved)
	if err != nil {
		return err
	}
	if len(r.Serial) == 0 || (len(r.DER) == 0 && !restored) || r.Batch == "" {
		return errors.New("issuance store: incomplete dac record")
	}
	if v := spkiB.Get(r.SPKIHash[:]); v != nil {
		return fmt.Errorf("key %x: %w", r.SPKIHash[:8], ErrKeyAlreadyCertified)
	}
	if serB.Get(r.Serial) != nil {
		return fmt.Errorf("serial %X: %w", r.Serial, ErrSerialUsed)
	}
	if owner := resB.Get(r.SPKIHash[:]); owner != nil && string(owner) != r.Batch {
		return fmt.Errorf("key %x: %w (batch %s)", r.SPKIHash[:8], ErrKeyReserved, owner)
	}
	bb, err := batchB.CreateBucketIfNotExists([]byte(r.Batch))
	if err != nil {
		return err
	}
	if bb.Get(indexKey(r.Index)) != nil {
		return fmt.Errorf("batch %s csr %d: %w", r.Batch, r.Index, ErrIndexIssued)
	}
	v, err := r.encode()
	if err != nil {
		return err
	}
	if err := bb.Put(indexKey(r.Index), v); err != nil {
		return err
	}
	if err := spkiB.Put(r.SPKIHash[:], spkiRef(r.Batch, r.Index)); err != nil {
		return err
	}
	if err := serB.Put(r.Serial, r.SPKIHash[:]); err != nil {
		return err
	}
	// The key is certified now: by-spki holds it, the reservation is done.
	if err := resB.Delete(r.SPKIHash[:]); err != nil {
		return err
	}
	n := uint64(0)
	if c := stB.Get([]byte(r.Station)); len(c) == 8 {
		n = binary.BigEndian.Uint64(c)
	}
	return stB.Put([]byte(r.Station), binary.BigEndian.AppendUint64(nil, n+1))
}

// BatchDACs calls fn for every DAC of batchID in CSR index order.
func BatchDACs(tx *bbolt.Tx, batchID string, fn func(*DACRecord) error) error {
	b, err := sub(tx, bucketBatchDACs)
	if err != nil {
		return err
	}
	bb := b.Bucket([]byte(batchID))
	if bb == nil {
		return nil
	}
	return bb.ForEach(func(k, v []byte) error {
		r, err := decodeRecord(v)
		if err != nil {
			return fmt.Errorf("batch %s csr %d: %w", batchID, binary.BigEndian.Uint32(k), err)
		}
		return fn(r)
	})
}

// BatchIssuedIndexes calls fn with the index of every CSR of batchID that
// has a DAC, in order.
func BatchIssuedIndexes(tx *bbolt.Tx, batchID string, fn func(index uint32) error) error {
	b, err := sub(tx, bucketBatchDACs)
	if err != nil {
		return err
	}
	bb := b.Bucket([]byte(batchID))
	if bb == nil {
		return nil
	}
	return bb.ForEach(func(k, _ []byte) error { return fn(binary.BigEndian.Uint32(k)) })
}

// StationIssued returns how many DACs the station has got in total.
func StationIssued(tx *bbolt.Tx, station string) (uint64, error) {
	b, err := sub(tx, bucketStations)
	if err != nil {
		return 0, err
	}
	if c := b.Get([]byte(station)); len(c) == 8 {
		return binary.BigEndian.Uint64(c), nil
	}
	return 0, nil
}

// HexHash formats a hash for records.
func HexHash(h [32]byte) string { return hex.EncodeToString(h[:]) }
