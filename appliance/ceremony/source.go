package ceremony

import (
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"time"

	"filippo.io/age"
	"go.etcd.io/bbolt"

	"github.com/dacline/dacline/airgap-bundles/bundle"
	"github.com/dacline/dacline/appliance/policy"
)

// Stations is the appliance's registry of enrolled stations as the ceremony
// needs it: the key that signs the station's batches and the age recipient
// its return bundles are encrypted to. Lookup fails for a station that is not
// enrolled or is revoked.
type Stations interface {
	Lookup(name string) (signingKey ed25519.PublicKey, ageRecipient string, err error)
}

// OpenBatch decrypts and verifies a csr-batch bundle (age, station signature
// by an enrolled station, structure, payload hashes) and returns it as a
// Batch. Nothing is recorded: the batch ID is marked consumed by the
// ceremony's start transaction, and a batch ID seen before is judged by Run
// (resume the same batch, refuse a different one). Close the returned bundle
// when done; it holds the decrypted copy in a temporary directory.
func OpenBatch(path string, ids []age.Identity, stations Stations, tempDir string) (*Batch, *bundle.Bundle, error) {
	var rcpt string
	bnd, err := bundle.ReadFile(path, bundle.ReadOptions{
		Identities: ids,
		Kinds:      []bundle.Kind{bundle.KindCSRBatch},
		TempDir:    tempDir,
		Resolve: func(sender string, kind bundle.Kind) (ed25519.PublicKey, error) {
			key, r, err := stations.Lookup(sender)
			if err != nil {
				return nil, err
			}
			rcpt = r
			return key, nil
		},
	})
	if err != nil {
		return nil, nil, err
	}
	m := bnd.Manifest
	fe := m.File(bundle.CSRFile)
	if fe == nil || fe.Lines == nil {
		bnd.Close()
		return nil, nil, fmt.Errorf("%w: no %s", ErrBatchMalformed, bundle.CSRFile)
	}
	if n, ok := m.Counts["csrs"]; ok && n != *fe.Lines {
		bnd.Close()
		return nil, nil, fmt.Errorf("%w: manifest counts %d csrs, %s has %d lines", ErrBatchMalformed, n, bundle.CSRFile, *fe.Lines)
	}
	if _, err := age.ParseX25519Recipient(rcpt); err != nil {
		bnd.Close()
		return nil, nil, fmt.Errorf("station %s: enrolled age recipient: %w", m.Sender, err)
	}
	var def product
	if v, ok := m.Labels["vid"]; ok {
		if def.vid, err = policy.ParseID(v); err != nil {
			bnd.Close()
			return nil, nil, fmt.Errorf("%w: labels.vid: %v", ErrBatchMalformed, err)
		}
		def.hasVID = true
	}
	if v, ok := m.Labels["pid"]; ok {
		if def.pid, err = policy.ParseID(v); err != nil {
			bnd.Close()
			return nil, nil, fmt.Errorf("%w: labels.pid: %v", ErrBatchMalformed, err)
		}
		def.hasPID = true
	}
	b := &Batch{
		ID: m.BatchID.String(), Station: m.Sender, StationRecipient: rcpt,
		ManifestSHA256: sha256.Sum256(bnd.ManifestRaw), BundleSHA256: bnd.SHA256,
		FileName: path, Created: m.Created, Count: int(*fe.Lines),
		Source: bundleSource{bnd, def},
		MarkConsumed: func(tx *bbolt.Tx, at time.Time) error {
			return bundle.MarkConsumed(tx, bnd, at)
		},
	}
	return b, bnd, nil
}

type bundleSource struct {
	b   *bundle.Bundle
	def product
}

func (s bundleSource) Each(fn func(Request) error) error {
	r, err := s.b.Open(bundle.CSRFile)
	if err != nil {
		return err
	}
	return readCSRLines(r, s.def, fn)
}
