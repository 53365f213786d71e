package ceremony

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"runtime"
	"time"

	"go.etcd.io/bbolt"

	"github.com/dacline/dacline/airgap-bundles/bundle"
	"github.com/dacline/dacline/appliance/internal/boltmem"
	"github.com/dacline/dacline/appliance/issuance"
	"github.com/dacline/dacline/appliance/policy"
	"github.com/dacline/dacline/shared/matter"
)

// Issuer is the PAI the ceremony signs with.
type Issuer struct {
	PAI, PAA *x509.Certificate
	// Signer is the PAI key, in the HSM. It may leave the verification of
	// its signatures to its caller (hsm.Key.X509Signer): every DAC
	// signature is verified, once, by x509.CreateCertificate inside
	// matter.IssueCertificate, with the PAI's public key.
	Signer crypto.Signer
	// Random draws serial numbers: C_GenerateRandom on the token.
	Random func(n int) ([]byte, error)
}

// Progress is told how issuance advances; the command shows a bar or lines.
type Progress interface {
	Start(total, done int)
	Add(n int)
	Finish()
}

type noProgress struct{}

func (noProgress) Start(int, int) {}
func (noProgress) Add(int)        {}
func (noProgress) Finish()        {}

// Runner runs ceremonies on one appliance.
type Runner struct {
	DB           *bbolt.DB
	Policy       *policy.Policy
	PolicySHA256 [32]byte
	Issuer       Issuer
	Log          Recorder
	// Appliance signs the return bundle's manifest (Ed25519 key in the HSM);
	// its name is the bundle's sender.
	Appliance *bundle.NoteSigner
	Progress  Progress
	Officer   string
	// TempDir holds the return bundle's spool ("" = os.TempDir()).
	TempDir string
	// Now is the clock (tests fix it); time.Now when nil.
	Now func() time.Time
	// Workers signing in parallel (default 2×CPUs) and DACs per commit
	// (default 256).
	Workers   int
	ChunkSize int
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now().UTC()
	}
	return time.Now().UTC()
}

func (r *Runner) workers() int {
	if r.Workers > 0 {
		return r.Workers
	}
	return 2 * runtime.NumCPU()
}

func (r *Runner) chunkSize() int {
	if r.ChunkSize > 0 {
		return r.ChunkSize
	}
	return 256
}

func (r *Runner) progress() Progress {
	if r.Progress == nil {
		return noProgress{}
	}
	return r.Progress
}

// Options for one run.
type Options struct {
	DryRun bool
	OutDir string // where the return bundle goes
}

// Outcome says what a run did.
type Outcome string

const (
	OutcomeChecked    Outcome = "checked"    // --dry-run: nothing recorded
	OutcomeSigned     Outcome = "signed"     // a new ceremony, run to the end
	OutcomeResumed    Outcome = "resumed"    // an interrupted ceremony, finished now
	OutcomeReproduced Outcome = "reproduced" // a finished ceremony: the same return bundle written again
)

// Result summarises a run.
type Result struct {
	Outcome  Outcome        `json:"outcome"`
	BatchID  string         `json:"batch_id"`
	Station  string         `json:"station"`
	CSRs     int            `json:"csrs"`
	Accepted int            `json:"accepted"`
	Refused  int            `json:"refused"`
	ByReason map[string]int `json:"refused_by_reason"`
	// IssuedNow counts DACs signed in this run; Issued all DACs of the batch.
	IssuedNow int `json:"issued_now"`
	Issued    int `json:"issued"`
	// Refusals lists the refusals (dry run and summaries).
	Refusals     []issuance.Refusal `json:"refusals,omitempty"`
	OutputPath   string             `json:"output_path,omitempty"`
	OutputSHA256 string             `json:"output_sha256,omitempty"`
	Elapsed      time.Duration      `json:"elapsed_ns"`
	// Phases of this run: checking the CSRs, issuing, writing the bundle.
	CheckElapsed time.Duration `json:"check_ns"`
	IssueElapsed time.Duration `json:"issue_ns"`
	WriteElapsed time.Duration `json:"write_ns"`
	// SignRate is DACs per second over the issuing phase of this run.
	SignRate float64 `json:"sign_rate"`
	// PAI is the label of the PAI that signs the batch (set by the caller,
	// which chose it; see paichoice.go).
	PAI string `json:"pai,omitempty"`
}

// ErrInterrupted is returned when the context was cancelled: everything
// committed stays, and running the same bundle again resumes.
var ErrInterrupted = errors.New("ceremony interrupted at a committed point")

// Run runs (or resumes, or reproduces) the ceremony for a verified batch:
//
//  1. a batch ID with a ceremony record is resumed if its manifest is the
//     same, refused (ErrReplayed) if not;
//  2. a new batch is checked CSR by CSR (checkBatch); --dry-run stops here;
//  3. transaction "start-ceremony" records the ceremony (the consumed
//     marker), the refusals and their audit entries;
//  4. DACs are signed and committed in chunks (issueRemaining);
//  5. transaction "finish-issuance" records the signed checkpoint;
//  6. the return bundle is written (writeReturn), transaction "record-bundle"
//     records its hash.
func (r *Runner) Run(ctx context.Context, b *Batch, opt Options) (*Result, error) {
	began := time.Now()
	res := &Result{BatchID: b.ID, Station: b.Station, CSRs: b.Count}
	c, err := r.lookup(b)
	if err != nil {
		return nil, err
	}
	if c == nil {
		t0 := time.Now()
		plan, err := r.check(b)
		res.CheckElapsed = time.Since(t0)
		if err != nil {
			return nil, err
		}
		res.Accepted, res.Refused, res.ByReason, res.Refusals = plan.Accepted, len(plan.Refusals), plan.ByReason(), plan.Refusals
		if opt.DryRun {
			res.Outcome = OutcomeChecked
			res.Elapsed = time.Since(began)
			return res, nil
		}
		if c, err = r.start(b, plan); err != nil {
			return nil, err
		}
		res.Outcome = OutcomeSigned
	} else {
		if err := r.fillFromRecord(c, res); err != nil {
			return nil, err
		}
		res.Outcome = OutcomeResumed
		if c.State == issuance.StateFinished {
			res.Outcome = OutcomeReproduced
		}
		if opt.DryRun {
			res.Outcome = OutcomeChecked
			res.Issued = c.Issued
			res.Elapsed = time.Since(began)
			return res, nil
		}
	}

	if c.State == issuance.StateIssuing {
		before := c.Issued
		t0 := time.Now()
		err := r.issueAll(ctx, b, c)
		res.IssuedNow = c.Issued - before
		res.IssueElapsed = time.Since(t0)
		if d := res.IssueElapsed.Seconds(); d > 0 {
			res.SignRate = float64(res.IssuedNow) / d
		}
		res.Issued = c.Issued
		if err != nil {
			res.Elapsed = time.Since(began)
			if ctx.Err() != nil {
				return res, fmt.Errorf("%w: %d of %d DACs of batch %s committed", ErrInterrupted, c.Issued, c.Accepted, b.ID)
			}
			return res, err
		}
		if err := r.finishIssuance(c); err != nil {
			return res, err
		}
		crashPoint("after-issued")
	}
	res.Issued = c.Issued
	t0 := time.Now()
	path, sum, err := r.writeReturn(ctx, b, c, opt.OutDir)
	res.WriteElapsed = time.Since(t0)
	if err != nil {
		return res, err
	}
	res.OutputPath, res.OutputSHA256 = path, sum
	res.Elapsed = time.Since(began)
	return res, nil
}

// lookup finds the ceremony of b's batch ID and decides whether this bundle
// may resume it.
func (r *Runner) lookup(b *Batch) (*issuance.Ceremony, error) {
	var c *issuance.Ceremony
	var consumedElsewhere bool
	err := r.DB.View(func(tx *bbolt.Tx) error {
		var err error
		c, err = issuance.GetCeremony(tx, b.ID)
		if errors.Is(err, issuance.ErrNoCeremony) {
			c = nil
			if id, perr := bundle.ParseBatchID(b.ID); perr == nil {
				consumedElsewhere = bundle.IsConsumed(tx, id)
			}
			return nil
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if c == nil {
		if consumedElsewhere {
			return nil, fmt.Errorf("batch %s from %s: %w (consumed by an earlier import)", b.ID, b.Station, ErrReplayed)
		}
		return nil, nil
	}
	if c.State == issuance.StateAbandoned {
		return nil, fmt.Errorf("batch %s from %s: %w on %s by %s (%s)", b.ID, b.Station, ErrAbandoned,
			c.AbandonedAt.Format(time.RFC3339), c.AbandonedBy, c.AbandonReason)
	}
	if c.Restored && c.State != issuance.StateAbandoned {
		return nil, fmt.Errorf("batch %s from %s: %w: its DACs are recorded, their certificates are not, so it is neither resumed nor written again (state %s)",
			b.ID, b.Station, ErrRestoredCeremony, c.State)
	}
	if c.ManifestSHA256 != issuance.HexHash(b.ManifestSHA256) || c.Station != b.Station {
		return nil, fmt.Errorf("batch %s from %s: %w: a ceremony started %s for a batch with manifest %s, this bundle's manifest is %s",
			b.ID, b.Station, ErrReplayed, c.StartedAt.Format(time.RFC3339), short(c.ManifestSHA256), short(issuance.HexHash(b.ManifestSHA256)))
	}
	if c.State != issuance.StateFinished && c.PolicySHA256 != issuance.HexHash(r.PolicySHA256) {
		return nil, fmt.Errorf("batch %s: %w: started under policy %s, the policy now is %s", b.ID, ErrPolicyChanged,
			short(c.PolicySHA256), short(issuance.HexHash(r.PolicySHA256)))
	}
	return c, nil
}

func short(h string) string {
	if len(h) > 16 {
		return h[:16]
	}
	return h
}

// check applies the batch-level rules, then checks every CSR.
func (r *Runner) check(b *Batch) (*Plan, error) {
	st := r.Policy.Station(b.Station)
	if st == nil {
		return nil, fmt.Errorf("station %s: %w", b.Station, ErrStationNotInPolicy)
	}
	if b.Count > r.Policy.MaxBatchSize {
		return nil, fmt.Errorf("batch %s: %w: %d CSRs, at most %d", b.ID, ErrBatchTooLarge, b.Count, r.Policy.MaxBatchSize)
	}
	if err := r.checkIssuer(); err != nil {
		return nil, err
	}
	plan, err := checkBatch(r.DB, b, st, r.Issuer.PAI, r.workers())
	if err != nil {
		return nil, err
	}
	if st.MaxDACs != nil {
		issued, reserved, err := quotaUsed(r.DB, b.Station)
		if err != nil {
			return nil, err
		}
		if issued+reserved+uint64(plan.Accepted) > uint64(*st.MaxDACs) {
			held := ""
			if reserved > 0 {
				held = fmt.Sprintf(" and %d reserved by unfinished ceremonies", reserved)
			}
			return nil, fmt.Errorf("station %s: %w: %d DACs issued so far%s, this batch would add %d, the quota is %d",
				b.Station, ErrQuotaExceeded, issued, held, plan.Accepted, *st.MaxDACs)
		}
	}
	return plan, nil
}

// checkIssuer makes sure the PAI can issue now and for the policy's validity,
// before anything is recorded.
func (r *Runner) checkIssuer() error {
	nb, na, err := r.Policy.DAC.Validity(r.now())
	if err != nil {
		return err
	}
	if err := checkOutlives(r.Issuer.PAI, na); err != nil {
		return err
	}
	if err := matter.ValidatePAI(r.Issuer.PAI); err != nil {
		return fmt.Errorf("pai: %w", err)
	}
	if err := matter.ValidatePAA(r.Issuer.PAA); err != nil {
		return fmt.Errorf("paa: %w", err)
	}
	if nb.Before(r.Issuer.PAI.NotBefore) || nb.After(r.Issuer.PAI.NotAfter) {
		return fmt.Errorf("%w: it is valid %s to %s, not at the DAC notBefore %s", ErrPAINotValid,
			r.Issuer.PAI.NotBefore.Format(time.RFC3339), r.Issuer.PAI.NotAfter.Format(time.RFC3339), nb.Format(time.RFC3339))
	}
	return nil
}

// start is the named transaction "start-ceremony": the ceremony record (which
// is also the batch's consumed marker), every refusal and their audit log
// entries commit together, before any DAC is signed.
func (r *Runner) start(b *Batch, plan *Plan) (*issuance.Ceremony, error) {
	now := r.now()
	nb, na, err := r.Policy.DAC.Validity(now)
	if err != nil {
		return nil, err
	}
	ret, err := bundle.NewBatchID()
	if err != nil {
		return nil, err
	}
	c := &issuance.Ceremony{
		BatchID: b.ID, Station: b.Station, StationRecipient: b.StationRecipient,
		ManifestSHA256: issuance.HexHash(b.ManifestSHA256), BundleSHA256: issuance.HexHash(b.BundleSHA256),
		PolicySHA256: issuance.HexHash(r.PolicySHA256), Officer: r.Officer, StartedAt: now,
		NotBefore: nb, NotAfter: na, CSRs: b.Count, Accepted: plan.Accepted, Refused: len(plan.Refusals),
		State: issuance.StateIssuing, ReturnBatchID: ret.String(),
	}
	err = r.DB.Update(func(tx *bbolt.Tx) error {
		if b.MarkConsumed != nil {
			if err := b.MarkConsumed(tx, now); err != nil {
				return err
			}
		}
		seq, err := r.Log.CeremonyStarted(tx, c)
		if err != nil {
			return fmt.Errorf("audit log: %w", err)
		}
		c.StartLogIndex = seq
		for i := range plan.Refusals {
			rf := &plan.Refusals[i] // in place: the run's summary (sign --json) reports these
			if rf.LogIndex, err = r.Log.CSRRefused(tx, c, *rf, rf.ModuleID); err != nil {
				return fmt.Errorf("audit log: %w", err)
			}
			if err := issuance.PutRefusal(tx, b.ID, *rf); err != nil {
				return err
			}
		}
		return issuance.StartCeremony(tx, c, plan.Keys)
	})
	if err != nil {
		return nil, fmt.Errorf("start-ceremony for batch %s: %w", b.ID, err)
	}
	crashPoint("after-start")
	return c, nil
}

func (r *Runner) fillFromRecord(c *issuance.Ceremony, res *Result) error {
	res.Accepted, res.Refused, res.Issued = c.Accepted, c.Refused, c.Issued
	res.ByReason = map[string]int{}
	return r.DB.View(func(tx *bbolt.Tx) error {
		return issuance.Refusals(tx, c.BatchID, func(rf issuance.Refusal) error {
			res.ByReason[rf.Reason]++
			res.Refusals = append(res.Refusals, rf)
			return nil
		})
	})
}

// issueAll marks what is already done and issues the rest.
func (r *Runner) issueAll(ctx context.Context, b *Batch, c *issuance.Ceremony) error {
	skip := newBitset(b.Count)
	done := 0
	err := r.DB.View(func(tx *bbolt.Tx) error {
		if err := issuance.Refusals(tx, b.ID, func(rf issuance.Refusal) error { skip.set(rf.Index); return nil }); err != nil {
			return err
		}
		err := issuance.BatchIssuedIndexes(tx, b.ID, func(i uint32) error { skip.set(i); done++; return nil })
		boltmem.Release(tx) // the scan read every record page of the batch
		return err
	})
	if err != nil {
		return err
	}
	if done != c.Issued {
		return fmt.Errorf("batch %s: issuance store holds %d DACs, the ceremony record says %d", b.ID, done, c.Issued)
	}
	p := r.progress()
	p.Start(c.Accepted, c.Issued)
	defer p.Finish()
	if err := r.issueRemaining(ctx, b, c, skip); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if c.Issued != c.Accepted {
		return fmt.Errorf("batch %s: %d DACs issued for %d accepted CSRs", b.ID, c.Issued, c.Accepted)
	}
	return nil
}

// finishIssuance signs the checkpoint covering every DAC of the batch and
// records it: the named transaction "finish-issuance". Signing the same tree
// twice (a crash between the two steps) gives the same checkpoint.
func (r *Runner) finishIssuance(c *issuance.Ceremony) error {
	note, size, err := r.Log.Checkpoint()
	if err != nil {
		return fmt.Errorf("audit checkpoint: %w", err)
	}
	var next *issuance.Ceremony
	err = r.DB.Update(func(tx *bbolt.Tx) (err error) {
		next, err = issuance.CompleteIssuance(tx, c.BatchID, string(note), size, r.now())
		return err
	})
	if err != nil {
		return fmt.Errorf("finish-issuance for batch %s: %w", c.BatchID, err)
	}
	*c = *next
	return nil
}
