package ceremony

import (
	"time"

	"go.etcd.io/bbolt"
)

// Request is one CSR line of a csr-batch as the ceremony sees it.
//
// VID and PID are the product the station asks a DAC for: they come from the
// CSR line the station wrote (its product settings, covered by the station's
// manifest signature), never from the CSR subject, which the module chose. The
// policy decides whether this station may get that product.
type Request struct {
	Index    uint32
	ModuleID string // chip ID / MAC the station recorded, for refusals and the log
	VID, PID uint16
	CSR      []byte // PKCS#10 DER
}

// Source streams the CSRs of one verified batch in index order. The ceremony
// reads the batch more than once (check, then issue, then again on resume),
// so Each must start from the first line every time.
type Source interface {
	Each(fn func(Request) error) error
}

// Batch is a verified csr-batch: its envelope (age, station signature, payload
// hashes) has been checked by the bundle reader before the ceremony sees it.
type Batch struct {
	ID      string // csr-batch batch ID
	Station string // enrolled sender
	// StationRecipient is the station's age recipient for the return bundle.
	StationRecipient string
	// ManifestSHA256 identifies the batch content: the same batch re-encrypted
	// has the same manifest, a different batch under a reused ID does not.
	ManifestSHA256 [32]byte
	// BundleSHA256 is the hash of the bundle file as received (the audit record).
	BundleSHA256 [32]byte
	// FileName is the bundle's file name, for messages.
	FileName string
	Created  time.Time
	Count    int // CSR lines, from the signed manifest
	Source   Source
	// MarkConsumed records the batch ID in the bundle layer's consumed-batches
	// bucket inside the start-ceremony transaction (nil in unit tests).
	MarkConsumed func(tx *bbolt.Tx, at time.Time) error
}
