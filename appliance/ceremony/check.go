package ceremony

import (
	"crypto/x509"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"

	"go.etcd.io/bbolt"

	"github.com/dacline/dacline/appliance/internal/boltmem"
	"github.com/dacline/dacline/appliance/issuance"
	"github.com/dacline/dacline/appliance/policy"
	"github.com/dacline/dacline/shared/matter"
)

// Refusal reasons: stable codes that appear in the return bundle, the audit
// log and the ceremony summary.
const (
	ReasonMalformedCSR     = "malformed-csr"       // not a PKCS#10 CSR we can read, or its key not in canonical DER
	ReasonBadSignature     = "bad-csr-signature"   // no proof of possession
	ReasonNotP256          = "not-p256"            // RSA, another curve, another algorithm
	ReasonNotAllowed       = "vid-pid-not-allowed" // policy does not allow this product for this station
	ReasonNotCoveredByPAI  = "vid-pid-not-in-pai"  // the PAI cannot issue for this VID/PID
	ReasonAlreadyCertified = "key-already-certified"
	ReasonDuplicate        = "duplicate-in-batch"
	// ReasonReserved: an unfinished ceremony of another batch holds the key
	// (reservations.go).
	ReasonReserved = "key-reserved"
)

// Batch-level refusals: nothing is issued and nothing is recorded.
var (
	ErrStationNotInPolicy = errors.New("the signing policy names no such station")
	ErrBatchTooLarge      = errors.New("batch larger than the policy's max_batch_size")
	ErrQuotaExceeded      = errors.New("station quota exceeded")
	ErrBatchMalformed     = errors.New("csr-batch malformed")
	ErrReplayed           = errors.New("batch id already used by a different batch")
	ErrPolicyChanged      = errors.New("policy changed since the ceremony started")
	ErrPAINotValid        = errors.New("the PAI cannot issue DACs with this validity")
	// ErrDACOutlivesPAI: the policy's DAC notAfter is later than the PAI's.
	ErrDACOutlivesPAI = errors.New("the DACs would outlive their PAI")
)

// Plan is the outcome of checking every CSR of a batch.
type Plan struct {
	Total    int
	Accepted int
	// Refusals in index order.
	Refusals []issuance.Refusal
	// Keys are the SPKI hashes of the accepted CSRs: start reserves them.
	Keys [][32]byte
}

// ByReason counts refusals per reason.
func (p *Plan) ByReason() map[string]int {
	m := map[string]int{}
	for _, r := range p.Refusals {
		m[r.Reason]++
	}
	return m
}

// checkBatch checks every CSR of b against the policy, the PAI and the
// issuance store, without writing anything (so --dry-run and the real run see
// the same decisions). A CSR that fails is refused with a reason; the batch
// goes on. Only a malformed batch (indexes out of order, more lines than the
// manifest says) is an error.
func checkBatch(db *bbolt.DB, b *Batch, st *policy.Station, pai *x509.Certificate, workers int) (*Plan, error) {
	paiIDs, err := matter.ExtractVIDPID(pai.RawSubject)
	if err != nil {
		return nil, fmt.Errorf("pai subject: %w", err)
	}
	p := &Plan{}
	// seen maps an SPKI hash to the first CSR index that carries it; 1,000,000
	// entries cost about 60 MB, the only per-CSR state the check keeps.
	seen := make(map[[32]byte]uint32, b.Count)
	refuse := func(r Request, reason, format string, args ...any) {
		p.Refusals = append(p.Refusals, issuance.Refusal{Index: r.Index, ModuleID: r.ModuleID, VID: r.VID, PID: r.PID, Reason: reason, Detail: fmt.Sprintf(format, args...)})
	}
	// decide runs in CSR order: duplicates are decided by position.
	decide := func(tx *bbolt.Tx, r Request, csr *matter.CSR, perr error) error {
		p.Total++
		if perr != nil {
			refuse(r, csrReason(perr), "%v", perr)
			return nil
		}
		if first, dup := seen[csr.SPKIHash]; dup {
			refuse(r, ReasonDuplicate, "same public key as csr %d", first)
			return nil
		}
		seen[csr.SPKIHash] = r.Index
		if !st.Allows(r.VID, r.PID) {
			refuse(r, ReasonNotAllowed, "policy does not allow %04X/%04X for station %s", r.VID, r.PID, st.Name)
			return nil
		}
		if !paiIDs.HasVID || paiIDs.VID != r.VID || (paiIDs.HasPID && paiIDs.PID != r.PID) {
			refuse(r, ReasonNotCoveredByPAI, "%04X/%04X is outside the PAI's %s", r.VID, r.PID, paiIDs)
			return nil
		}
		prev, err := issuance.DACBySPKI(tx, csr.SPKIHash)
		if err != nil {
			return err
		}
		if prev != nil {
			refuse(r, ReasonAlreadyCertified, "public key already certified by dac %s (batch %s, csr %d)", prev.SerialHex(), prev.Batch, prev.Index)
			return nil
		}
		if refused, err := refuseReserved(tx, b.ID, csr.SPKIHash, func(detail string) { refuse(r, ReasonReserved, "%s", detail) }); err != nil || refused {
			return err
		}
		p.Accepted++
		p.Keys = append(p.Keys, csr.SPKIHash)
		return nil
	}
	// The CSR signature checks (an ECDSA verification each) run in parallel,
	// a block of CSRs at a time; the decisions then run in order.
	const block = 1024
	reqs := make([]Request, 0, block)
	csrs := make([]*matter.CSR, block)
	errs := make([]error, block)
	flush := func(tx *bbolt.Tx) error {
		parallel(len(reqs), workers, func(i int) { csrs[i], errs[i] = matter.ParseDACCSR(reqs[i].CSR) })
		for i, r := range reqs {
			if err := decide(tx, r, csrs[i], errs[i]); err != nil {
				return err
			}
			csrs[i], errs[i] = nil, nil
		}
		reqs = reqs[:0]
		boltmem.ReleaseAbove(tx, mappedLimit) // the key index lookups touch pages all over it
		return nil
	}
	err = db.View(func(tx *bbolt.Tx) error {
		next := uint32(0)
		err := b.Source.Each(func(r Request) error {
			if r.Index != next {
				return fmt.Errorf("%w: csr line %d has index %d", ErrBatchMalformed, next, r.Index)
			}
			next++
			if int(next) > b.Count {
				return fmt.Errorf("%w: more csr lines than the manifest's %d", ErrBatchMalformed, b.Count)
			}
			reqs = append(reqs, r)
			if len(reqs) == block {
				return flush(tx)
			}
			return nil
		})
		if err != nil {
			return err
		}
		return flush(tx)
	})
	if err != nil {
		return nil, err
	}
	if p.Total != b.Count {
		return nil, fmt.Errorf("%w: %d csr lines, the manifest says %d", ErrBatchMalformed, p.Total, b.Count)
	}
	sort.Slice(p.Refusals, func(i, j int) bool { return p.Refusals[i].Index < p.Refusals[j].Index })
	return p, nil
}

// parallel runs fn(0..n-1) on up to workers goroutines.
func parallel(n, workers int, fn func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				fn(i)
			}
		}()
	}
	wg.Wait()
}

// csrReason maps a ParseDACCSR failure to a refusal reason.
func csrReason(err error) string {
	switch matter.RuleOf(err) {
	case "csr.signature":
		return ReasonBadSignature
	case "csr.publicKey", "csr.signatureAlgorithm":
		return ReasonNotP256
	case "csr.spki":
		// A P-256 key, but not in canonical DER: its digest would not be
		// the key's digest everywhere else (issue 12, item 2).
		return ReasonMalformedCSR
	}
	return ReasonMalformedCSR
}
