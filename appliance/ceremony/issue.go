package ceremony

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/bbolt"

	"github.com/dacline/dacline/appliance/internal/boltmem"
	"github.com/dacline/dacline/appliance/issuance"
	"github.com/dacline/dacline/shared/matter"
)

// SerialBytes is the length of a DAC serial number: 16 bytes from the HSM's
// generator, top bit cleared (a positive INTEGER) and the next bit set so the
// DER INTEGER is always exactly 16 octets: 126 random bits.
const SerialBytes = 16

// job is one accepted CSR on its way to a committed DAC.
type job struct {
	req    Request
	pub    *ecdsa.PublicKey
	spki   [32]byte
	serial []byte
	der    []byte
}

type chunk struct {
	n    int // sequence number of the chunk in this run, from 1
	jobs []*job
}

// errStopped is how the producer unwinds when the run is cancelled.
var errStopped = errors.New("stopped")

// issueRemaining signs and commits a DAC for every accepted CSR of the batch
// that has none yet. skip marks CSR indexes that are refused or already
// issued. Three stages run concurrently: the producer reads CSRs and draws
// serials, the signer signs a chunk in parallel through the HSM session pool,
// and the committer (this goroutine) records each chunk — DACs and their
// audit log entries — in one bbolt transaction. Cancelling ctx stops after
// the chunk being committed: everything signed but not committed is dropped
// and never leaves the process (its serials were never published).
func (r *Runner) issueRemaining(ctx context.Context, b *Batch, c *issuance.Ceremony, skip bitset) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg      sync.WaitGroup
		errOnce sync.Once
		runErr  error
	)
	fail := func(err error) {
		errOnce.Do(func() { runErr = err })
		cancel()
	}
	toSign := make(chan *chunk, 1)
	toCommit := make(chan *chunk, 1)
	// The signer reads the ceremony's fixed fields (validity) from its own
	// copy: the committer updates *c as chunks commit.
	fixed := *c

	wg.Add(2)
	go func() { // producer
		defer wg.Done()
		defer close(toSign)
		if err := r.produce(ctx, b, skip, toSign); err != nil && !errors.Is(err, errStopped) {
			fail(err)
		}
	}()
	go func() { // signer
		defer wg.Done()
		defer close(toCommit)
		for ch := range toSign {
			if err := r.signChunk(ctx, &fixed, ch); err != nil {
				fail(err)
				return
			}
			select {
			case toCommit <- ch:
			case <-ctx.Done():
				return
			}
		}
	}()

	for ch := range toCommit {
		if ctx.Err() != nil {
			break
		}
		crashPoint("before-commit")
		if err := r.commitChunk(b, c, ch); err != nil {
			fail(err)
			break
		}
		crashPoint("after-commit")
		r.progress().Add(len(ch.jobs))
	}
	cancel()
	for range toCommit { // let the signer finish so no goroutine outlives the run
	}
	wg.Wait()
	if runErr != nil {
		return runErr
	}
	return nil
}

// produce streams the batch, turns each CSR still to be issued into a job and
// hands out chunks of r.chunkSize() jobs with fresh serials.
func (r *Runner) produce(ctx context.Context, b *Batch, skip bitset, out chan<- *chunk) error {
	size := r.chunkSize()
	cur := &chunk{n: 1}
	flush := func() error {
		if len(cur.jobs) == 0 {
			return nil
		}
		if err := r.drawSerials(cur.jobs); err != nil {
			return err
		}
		select {
		case out <- cur:
		case <-ctx.Done():
			return errStopped
		}
		cur = &chunk{n: cur.n + 1}
		return nil
	}
	err := b.Source.Each(func(req Request) error {
		if ctx.Err() != nil {
			return errStopped
		}
		if int(req.Index) >= b.Count {
			return fmt.Errorf("%w: csr index %d beyond the manifest's %d", ErrBatchMalformed, req.Index, b.Count)
		}
		if skip.has(req.Index) {
			return nil
		}
		// The CSR passed ParseDACCSR (signature included) in the check of
		// this same, hash-verified batch; here only its key is needed.
		pub, spki, err := csrPublicKey(req.CSR)
		if err != nil {
			return fmt.Errorf("csr %d: reading the key of an accepted csr failed: %w", req.Index, err)
		}
		req.CSR = nil // the job keeps the key, not the request
		cur.jobs = append(cur.jobs, &job{req: req, pub: pub, spki: sha256.Sum256(spki)})
		if len(cur.jobs) == size {
			return flush()
		}
		return nil
	})
	if err != nil {
		return err
	}
	return flush()
}

// drawSerials gives each job a serial from the HSM's generator that no DAC
// has and no other job of the chunk has (a repeat is astronomically unlikely
// from a working generator; one is redrawn, a generator that keeps repeating
// stops the ceremony).
func (r *Runner) drawSerials(jobs []*job) error {
	need := jobs
	for attempt := 0; len(need) > 0; attempt++ {
		if attempt == 3 {
			return errors.New("hsm random generator keeps repeating serial numbers")
		}
		buf, err := r.Issuer.Random(SerialBytes * len(need))
		if err != nil {
			return fmt.Errorf("serial numbers: %w", err)
		}
		for i, j := range need {
			s := buf[i*SerialBytes : (i+1)*SerialBytes : (i+1)*SerialBytes]
			s[0] = s[0]&0x7f | 0x40
			j.serial = s
		}
		taken := make(map[string]bool, len(jobs))
		var again []*job
		err = r.DB.View(func(tx *bbolt.Tx) error {
			for _, j := range jobs {
				used, err := issuance.SerialUsed(tx, j.serial)
				if err != nil {
					return err
				}
				if used || taken[string(j.serial)] {
					again = append(again, j)
					continue
				}
				taken[string(j.serial)] = true
			}
			return nil
		})
		if err != nil {
			return err
		}
		need = again
	}
	return nil
}

// signChunk issues the chunk's DACs in parallel. The first DAC of every
// chunk goes through the full Matter chain validation (matter.ValidateChainAt
// with PAI and PAA); see issueOne for why the others need only the per-DAC
// part of it.
func (r *Runner) signChunk(ctx context.Context, c *issuance.Ceremony, ch *chunk) error {
	var (
		next    atomic.Int64
		wg      sync.WaitGroup
		errOnce sync.Once
		err     error
	)
	for range min(r.workers(), len(ch.jobs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if i >= int64(len(ch.jobs)) {
					return
				}
				if e := r.issueOne(c, ch.jobs[i], i == 0); e != nil {
					errOnce.Do(func() { err = e })
					return
				}
			}
		}()
	}
	wg.Wait()
	if err != nil {
		return err
	}
	return ctx.Err()
}

// issueOne builds the DAC template from policy (never from the CSR subject),
// signs it with the PAI key and checks the result.
//
// matter.IssueCertificate lints the template before signing and, after,
// verifies the signature with the PAI key, the DAC profile and the DAC↔PAI
// VID/PID rule. What matter.ValidateChainAt checks beyond that is either the
// same for every DAC of a ceremony (PAA and PAI profiles, PAI signed by PAA,
// PAI and PAA valid at the DAC notBefore — one notBefore per ceremony — PAA
// VID) or cheap and per DAC (issuer name and key identifier, validity now,
// the VID/PID asked for). So fullChain runs ValidateChainAt (two more ECDSA
// verifications, a third of the CPU a DAC costs) on the first DAC of each
// chunk, and every DAC gets the per-DAC checks.
func (r *Runner) issueOne(c *issuance.Ceremony, j *job, fullChain bool) error {
	serial, err := matter.SerialFromRandom(j.serial)
	if err != nil {
		return err
	}
	cn, err := r.Policy.DAC.CommonNameFor(fmt.Sprintf("%X", j.serial), j.req.VID, j.req.PID)
	if err != nil {
		return err
	}
	subj := matter.Subject{CommonName: cn, VID: j.req.VID, PID: j.req.PID, HasVID: true, HasPID: true}
	tmpl, err := matter.DACTemplate(serial, subj, c.NotBefore, c.NotAfter, j.pub, r.Issuer.PAI)
	if err != nil {
		return fmt.Errorf("csr %d: dac template: %w", j.req.Index, err)
	}
	dac, err := matter.IssueParsed(tmpl, r.Issuer.PAI, j.pub, r.Issuer.Signer, matter.DAC)
	if err != nil {
		return fmt.Errorf("csr %d: %w", j.req.Index, err)
	}
	now := r.now()
	if fullChain {
		if err := matter.ValidateChainAt(dac, r.Issuer.PAI, r.Issuer.PAA, now); err != nil {
			return fmt.Errorf("csr %d: issued dac fails the chain check: %w", j.req.Index, err)
		}
	}
	if err := checkIssued(dac, r.Issuer.PAI, c, j, now); err != nil {
		return fmt.Errorf("csr %d: issued dac: %w", j.req.Index, err)
	}
	j.der = dac.Raw
	return nil
}

// checkIssued is the per-DAC part of the chain check (see issueOne).
func checkIssued(dac, pai *x509.Certificate, c *issuance.Ceremony, j *job, now time.Time) error {
	if !bytes.Equal(dac.RawIssuer, pai.RawSubject) || !bytes.Equal(dac.AuthorityKeyId, pai.SubjectKeyId) {
		return errors.New("issuer name or authority key id is not the PAI's")
	}
	if !dac.NotBefore.Equal(c.NotBefore) || !dac.NotAfter.Equal(c.NotAfter) {
		return errors.New("validity differs from the ceremony's")
	}
	if now.Before(dac.NotBefore) || now.After(dac.NotAfter) {
		return fmt.Errorf("not valid now (%s)", now.Format(time.RFC3339))
	}
	ids, err := matter.ExtractVIDPID(dac.RawSubject)
	if err != nil {
		return err
	}
	if !ids.HasVID || !ids.HasPID || ids.VID != j.req.VID || ids.PID != j.req.PID {
		return fmt.Errorf("subject says %s, %04X/%04X was asked for", ids, j.req.VID, j.req.PID)
	}
	if sha256.Sum256(dac.RawSubjectPublicKeyInfo) != j.spki {
		return errors.New("certifies another key than the csr's")
	}
	return nil
}

// mappedLimit is the resident file-backed memory (mostly database pages
// bbolt read through its map) above which the ceremony hands the pages
// back (boltmem.ReleaseAbove), checked at every commit, every check block
// and every 256 DACs written out. Random index lookups each map a 64 KB
// fault-around window, so one 256-DAC commit can add a few tens of MB on
// top; a 1,000,000-DAC ceremony stays far below 300 MB.
const mappedLimit = 64 << 20

// commitChunk is the named transaction "commit-dacs": each DAC of the chunk
// goes into the issuance store with its dac-issued audit entry, and the
// ceremony's issued count moves on — all or nothing. Only after this commit
// does a DAC exist outside the process.
func (r *Runner) commitChunk(b *Batch, c *issuance.Ceremony, ch *chunk) error {
	now := r.now()
	var next *issuance.Ceremony
	err := r.DB.Update(func(tx *bbolt.Tx) error {
		for _, j := range ch.jobs {
			rec := &issuance.DACRecord{
				SPKIHash: j.spki, Serial: j.serial, Batch: b.ID, Index: j.req.Index, Station: b.Station, ModuleID: j.req.ModuleID,
				VID: j.req.VID, PID: j.req.PID, IssuedAt: now, DER: j.der,
			}
			seq, err := r.Log.DACIssued(tx, c, rec)
			if err != nil {
				return fmt.Errorf("audit log: %w", err)
			}
			rec.LogIndex = seq
			if err := issuance.PutDAC(tx, rec); err != nil {
				return fmt.Errorf("csr %d: %w", j.req.Index, err)
			}
		}
		var err error
		if next, err = issuance.CommitChunk(tx, b.ID, len(ch.jobs)); err != nil {
			return err
		}
		boltmem.ReleaseAbove(tx, mappedLimit)
		return nil
	})
	if err != nil {
		return fmt.Errorf("commit-dacs (chunk %d): %w", ch.n, err)
	}
	*c = *next
	return nil
}
