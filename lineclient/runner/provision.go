package runner

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/dacline/dacline/lineclient/station"
	"github.com/dacline/dacline/shared/lineproto"
	"github.com/dacline/dacline/shared/matter"
)

// Provisioner knows what the station writes and trusts.
type Provisioner struct {
	Store    *station.Store
	PAI, PAA *x509.Certificate
	// OtherPAIs are further PAIs of the appliance the station accepted at
	// import (stationhome.Home.OtherPAIs): a DAC one of them issued is
	// written and checked with it (paiFor).
	OtherPAIs []*x509.Certificate
	CD        []byte // Certification Declaration, DER
	VID, PID  uint16
	// ProductInfo is written as item product-info when any field is set
	// (the station's product settings).
	ProductInfo lineproto.ProductInfo
	// Iterations for new SPAKE2+ verifiers (0 = station.DefaultIterations).
	Iterations int
	// CheckCD, when set, checks the CD against a DAC and its chain (the
	// commissioner's CD validation).
	CheckCD func(dac, pai, paa *x509.Certificate) error
	// CRL, when set, is the latest CRL of PAI: a DAC it lists is never
	// written (revoked.go).
	CRL *x509.RevocationList
	// FlashProduction: an attested module is locked only once its
	// production images are recorded as flashed (flash.go).
	FlashProduction bool

	relockMu sync.Mutex
	relocks  map[string]int // MAC → relocks in this run
}

// A module whose lock state reads back incomplete is locked again (LOCK is
// idempotent) up to maxRelocks times in a run, and never once it has had
// maxLockAttempts lock sequences over all runs; then it fails lock-failed.
const (
	maxRelocks      = 3
	maxLockAttempts = 12
)

// Step names what a worker did or is waiting for, for status lines.
type Step string

const (
	StepIdentify Step = "identify"
	StepKeygen   Step = "keygen"
	StepWait     Step = "wait-for-batch"
	StepWrite    Step = "write"
	StepAttest   Step = "attest"
	StepLock     Step = "lock"
	StepVerify   Step = "verify-lock"
	StepDone     Step = "done"
	StepFailed   Step = "failed"
)

// outcome is the result of one step on one module.
type outcome struct {
	step Step
	// settled: nothing more to do for this module until something changes
	// elsewhere (batch import) or it is taken off.
	settled bool
	// worked: the step did something (a command or a transition).
	worked bool
	module *station.Module
}

// errModuleFailed wraps the reason a module was moved to failed.
var errModuleFailed = errors.New("module failed")

// next performs the one step module id's record allows and returns what it
// did. An error means the step did not complete (module pulled, timeout); the
// record says where to resume.
func (p *Provisioner) next(ctx context.Context, c *lineproto.Client, port string, id *lineproto.IdentifyResponse) (outcome, error) {
	mac := FormatMAC(id.ChipID)
	rec, err := p.Store.Identify(station.Sighting{MAC: mac, ChipModel: id.ChipModel, Firmware: id.Firmware, Port: port})
	if err != nil {
		return outcome{}, err
	}
	fail := func(step Step, reason station.Reason, detail string) (outcome, error) {
		m, err := p.Store.Fail(mac, reason, detail)
		if err != nil {
			return outcome{}, err
		}
		return outcome{step: StepFailed, settled: true, worked: true, module: m}, fmt.Errorf("%w: %s: %s", errModuleFailed, reason, detail)
	}
	spkiHex := fmt.Sprintf("%x", id.KeySPKIHash)
	keyIsOurs := id.KeyPresent && rec.SPKISHA256 == spkiHex

	switch rec.State {
	case station.StateDone:
		return outcome{step: StepDone, settled: true, module: rec}, nil
	case station.StateFailed:
		return outcome{step: StepFailed, settled: true, module: rec}, nil
	case station.StateIdentified:
		if id.LockMask != 0 || len(id.Digests) > 0 {
			return fail(StepKeygen, station.ReasonForeignModule,
				fmt.Sprintf("module has %d credential items and lock mask %04b, but this station never took its key", len(id.Digests), id.LockMask))
		}
		return stepped(StepKeygen)(p.keygen(ctx, c, mac, id, fail))
	}

	// From key-generated on, the module must hold the key of its CSR.
	if !id.KeyPresent {
		return fail(StepIdentify, station.ReasonKeyLost, "module reports no key; its csr was taken")
	}
	if !keyIsOurs {
		return fail(StepIdentify, station.ReasonLyingModule,
			fmt.Sprintf("module reports key %.16s…, its csr certified %.16s…", spkiHex, rec.SPKISHA256))
	}
	locking := rec.State == station.StateLocking || rec.State == station.StateLocked
	if id.LockMask != 0 && !locking {
		// Locked ahead of its record (a restored station.db): reconcile.go.
		if o, ok, err := p.lockedAhead(mac, id, rec, fail); !ok {
			return o, err
		}
	}

	switch rec.State {
	case station.StateKeyGenerated, station.StateExported:
		return outcome{step: StepWait, settled: true, module: rec}, nil
	case station.StateDACReceived, station.StateWriting:
		return stepped(StepWrite)(p.write(ctx, c, mac, id))
	case station.StateCredentialsWritten:
		return stepped(StepAttest)(p.attest(ctx, c, mac, id, fail))
	case station.StateAttested, station.StateLocking:
		if rec.State == station.StateAttested {
			if wait, err := p.waitForFlash(mac); err != nil || wait {
				return outcome{step: StepWaitFlash, settled: true, module: rec}, err
			}
		}
		return stepped(StepLock)(p.lock(ctx, c, mac, id, rec, fail))
	case station.StateLocked:
		return stepped(StepVerify)(p.verifyLock(mac, id, rec, fail))
	}
	return outcome{}, fmt.Errorf("module %s: no step for state %s", mac, rec.State)
}

// stepped names the step of an outcome that ended in an error before it
// could say so itself.
func stepped(s Step) func(outcome, error) (outcome, error) {
	return func(o outcome, err error) (outcome, error) {
		if o.step == "" {
			o.step = s
		}
		return o, err
	}
}

type failFunc func(Step, station.Reason, string) (outcome, error)

func (p *Provisioner) keygen(ctx context.Context, c *lineproto.Client, mac string, id *lineproto.IdentifyResponse, fail failFunc) (outcome, error) {
	// GENERATE_KEY on a module that has a key returns the CSR of that key
	// (never a second key), so a crash between this call and RecordCSR is
	// harmless.
	r, err := c.GenerateKey(ctx)
	if err != nil {
		return outcome{}, fmt.Errorf("generate key: %w", err)
	}
	csr, err := matter.ParseDACCSR(r.CSR)
	if err != nil {
		return fail(StepKeygen, station.ReasonBadCSR, err.Error())
	}
	// csr.SPKIHash is the digest of the key's canonical DER (ParseDACCSR
	// refuses any other encoding, as the appliance does), so the duplicate
	// check below and the appliance's one-DAC-per-key index see one digest
	// per key; a module that reports another digest for it is lying.
	if csr.SPKIHash != r.SPKIHash || (id.KeyPresent && csr.SPKIHash != id.KeySPKIHash) {
		return fail(StepKeygen, station.ReasonLyingModule, "csr key differs from the key the module reports")
	}
	ob, err := station.NewOnboarding(p.Iterations)
	if err != nil {
		return outcome{}, err
	}
	m, err := p.Store.RecordCSR(mac, station.CSR{DER: r.CSR, SPKISHA256: csr.SPKIHash, VID: p.VID, PID: p.PID}, ob)
	if errors.Is(err, station.ErrDuplicateKey) {
		return fail(StepKeygen, station.ReasonDuplicateKey, err.Error())
	}
	if err != nil {
		return outcome{}, err
	}
	return outcome{step: StepKeygen, worked: true, module: m}, nil
}

// items returns every credential item's value for a module, in write order.
func (p *Provisioner) items(creds *station.Credentials) (map[lineproto.Item][]byte, error) {
	ob := creds.Onboarding
	if ob == nil || creds.DAC == nil {
		return nil, fmt.Errorf("module %s: no dac or onboarding data in the store", creds.Module.MAC)
	}
	dac, err := x509.ParseCertificate(creds.DAC)
	if err != nil {
		return nil, fmt.Errorf("module %s: stored dac: %w", creds.Module.MAC, err)
	}
	pai := p.paiFor(dac)
	disc := binary.LittleEndian.AppendUint16(nil, ob.Discriminator)
	iter := binary.LittleEndian.AppendUint32(nil, ob.Iterations)
	// VID/PID as recorded with the module's CSR (what its DAC was issued for).
	vid, pid := creds.Module.VID, creds.Module.PID
	if vid == 0 || pid == 0 {
		vid, pid = p.VID, p.PID
	}
	items := map[lineproto.Item][]byte{
		lineproto.ItemDAC: creds.DAC, lineproto.ItemPAI: pai.Raw, lineproto.ItemCD: p.CD,
		lineproto.ItemDiscriminator: disc, lineproto.ItemVerifier: ob.Verifier, lineproto.ItemSalt: ob.Salt,
		lineproto.ItemIterations: iter, lineproto.ItemSerialNumber: []byte(ob.SerialNumber),
		lineproto.ItemRotatingIDUnique: ob.RotatingID,
		lineproto.ItemVendorID:         lineproto.U16Value(vid), lineproto.ItemProductID: lineproto.U16Value(pid),
	}
	if !p.ProductInfo.IsZero() {
		v, err := p.ProductInfo.Encode()
		if err != nil {
			return nil, fmt.Errorf("product settings: %w", err)
		}
		items[lineproto.ItemProductInfo] = v
	}
	return items, nil
}

// credentialsDigest is SHA-256 over item ‖ SHA-256(value) for every item
// written, in lineproto.KnownItems order: one value standing for the whole
// credential set.
func credentialsDigest(items map[lineproto.Item][]byte) []byte {
	h := sha256.New()
	for _, it := range lineproto.KnownItems {
		if _, ok := items[it]; !ok {
			continue
		}
		sum := sha256.Sum256(items[it])
		h.Write([]byte{byte(it)})
		h.Write(sum[:])
	}
	return h.Sum(nil)
}

// missingItems lists the items whose committed digest on the module is not ours.
func missingItems(items map[lineproto.Item][]byte, digests []lineproto.ItemDigest) []lineproto.Item {
	have := map[lineproto.Item]lineproto.ItemDigest{}
	for _, d := range digests {
		have[d.Item] = d
	}
	var out []lineproto.Item
	for _, it := range lineproto.KnownItems {
		if _, want := items[it]; !want {
			continue
		}
		d, ok := have[it]
		if !ok || d.SHA256 != sha256.Sum256(items[it]) || int(d.Length) != len(items[it]) {
			out = append(out, it)
		}
	}
	return out
}

// credentialItems loads a module's stored credentials and the line-protocol
// items the station writes for them: what every step after the DAC arrived
// compares with the digests the module reports.
func (p *Provisioner) credentialItems(mac string) (*station.Credentials, map[lineproto.Item][]byte, error) {
	creds, err := p.Store.Credentials(mac)
	if err != nil {
		return nil, nil, err
	}
	items, err := p.items(creds)
	if err != nil {
		return nil, nil, err
	}
	return creds, items, nil
}

func (p *Provisioner) write(ctx context.Context, c *lineproto.Client, mac string, id *lineproto.IdentifyResponse) (outcome, error) {
	creds, items, err := p.credentialItems(mac)
	if err != nil {
		return outcome{}, err
	}
	if o, ok, err := p.revoked(mac, creds); !ok {
		return o, err
	}
	digest := credentialsDigest(items)
	missing := missingItems(items, id.Digests)
	if len(missing) > 0 {
		// begin-write is committed before the first byte goes out.
		if _, err := p.Store.BeginWrite(mac); err != nil {
			return outcome{}, err
		}
		for _, it := range missing {
			if _, err := c.WriteItem(ctx, it, items[it]); err != nil {
				var re *lineproto.RefusedError
				if errors.As(err, &re) && re.Status == lineproto.StatusKeyMismatch {
					if cerr := p.confirm(ctx, c, mac, creds.Module.SPKISHA256); cerr != nil {
						return outcome{}, fmt.Errorf("write %s: %v; %w", it, err, cerr)
					}
					m, ferr := p.Store.Fail(mac, station.ReasonLyingModule, "module refused its dac: it does not certify the module's key")
					if ferr != nil {
						return outcome{}, ferr
					}
					return outcome{step: StepFailed, settled: true, worked: true, module: m}, fmt.Errorf("%w: %v", errModuleFailed, err)
				}
				return outcome{}, fmt.Errorf("write %s: %w", it, err)
			}
		}
		rd, err := c.ReadDigests(ctx)
		if err != nil {
			return outcome{}, fmt.Errorf("read digests: %w", err)
		}
		if left := missingItems(items, rd.Digests); len(left) > 0 {
			return outcome{}, fmt.Errorf("module confirms %d of %d items after writing (missing %v)", len(items)-len(left), len(items), left)
		}
	}
	m, err := p.Store.CredentialsWritten(mac, digest)
	if err != nil {
		return outcome{}, err
	}
	return outcome{step: StepWrite, worked: true, module: m}, nil
}

func (p *Provisioner) attest(ctx context.Context, c *lineproto.Client, mac string, id *lineproto.IdentifyResponse, fail failFunc) (outcome, error) {
	creds, items, err := p.credentialItems(mac)
	if err != nil {
		return outcome{}, err
	}
	if missing := missingItems(items, id.Digests); len(missing) > 0 {
		// The module lost or changed items since they were confirmed: write again.
		if _, err := p.Store.BeginWrite(mac); err != nil {
			return outcome{}, err
		}
		return outcome{step: StepWrite, worked: true, module: creds.Module}, nil
	}
	var nonce [32]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return outcome{}, err
	}
	r, err := c.Attest(ctx, nonce)
	if err != nil {
		return outcome{}, fmt.Errorf("attest: %w", err)
	}
	if err := lineproto.VerifyAttestation(creds.DAC, nonce, r); err != nil {
		// Only this module's own answer fails it: was it still on the jig?
		if cerr := p.confirm(ctx, c, mac, creds.Module.SPKISHA256); cerr != nil {
			return outcome{}, fmt.Errorf("attestation did not verify (%v); %w", err, cerr)
		}
		return fail(StepAttest, station.ReasonLyingModule, err.Error())
	}
	// Validate as a commissioner would: chain and CD.
	dac, err := x509.ParseCertificate(creds.DAC)
	if err != nil {
		return fail(StepAttest, station.ReasonAttestationFailed, "dac: "+err.Error())
	}
	pai := p.paiFor(dac)
	if err := matter.ValidateChain(dac, pai, p.PAA); err != nil {
		return fail(StepAttest, station.ReasonAttestationFailed, "chain: "+err.Error())
	}
	if p.CheckCD != nil {
		if err := p.CheckCD(dac, pai, p.PAA); err != nil {
			return fail(StepAttest, station.ReasonAttestationFailed, "certification declaration: "+err.Error())
		}
	}
	m, err := p.Store.RecordAttested(mac)
	if err != nil {
		return outcome{}, err
	}
	return outcome{step: StepAttest, worked: true, module: m}, nil
}

func (p *Provisioner) lock(ctx context.Context, c *lineproto.Client, mac string, id *lineproto.IdentifyResponse, rec *station.Module, fail failFunc) (outcome, error) {
	if rec.State == station.StateAttested {
		_, items, err := p.credentialItems(mac)
		if err != nil {
			return outcome{}, err
		}
		if missing := missingItems(items, id.Digests); len(missing) > 0 {
			return fail(StepLock, station.ReasonCredentialsMismatch,
				fmt.Sprintf("attested module no longer holds our %v", missing))
		}
	}
	// begin-lock: committed before the first LOCK command. Only reachable
	// from attested (the store refuses anything else).
	if _, err := p.Store.BeginLock(mac); err != nil {
		return outcome{}, err
	}
	// The sequence is run to its end even when a stop is requested: LOCK is
	// idempotent, but a half-locked module on a bench is worth avoiding.
	lctx := context.WithoutCancel(ctx)
	if err := c.LockAll(lctx, nil); err != nil {
		var re *lineproto.RefusedError
		if errors.As(err, &re) && re.Status == lineproto.StatusHardwareFault {
			if cerr := p.confirm(ctx, c, mac, rec.SPKISHA256); cerr != nil {
				return outcome{}, fmt.Errorf("%v; %w", err, cerr)
			}
			return fail(StepLock, station.ReasonLockFailed, err.Error())
		}
		return outcome{}, err
	}
	m, err := p.Store.RecordLocked(mac)
	if err != nil {
		return outcome{}, err
	}
	return outcome{step: StepLock, worked: true, module: m}, nil
}

// verifyLock checks the lock state from one IDENTIFY reply, id, taken after
// the lock sequence: it names the chip, so it is this module's own word (a
// READ_DIGESTS reply names nobody and could come from a module swapped in
// meanwhile). A lock state that is not complete is not final — the module may
// have rebooted during a burn, or answered a LOCK before its eFuses settled —
// so the module is locked again (Relock, then LOCK 1–4, all idempotent) and
// re-identified; it fails only when still incomplete after maxRelocks relocks
// in this run (or maxLockAttempts lock sequences in all).
func (p *Provisioner) verifyLock(mac string, id *lineproto.IdentifyResponse, rec *station.Module, fail failFunc) (outcome, error) {
	if FormatMAC(id.ChipID) != mac {
		return outcome{}, fmt.Errorf("verify lock: module on the jig is %s, not %s", FormatMAC(id.ChipID), mac)
	}
	if id.LockMask != lineproto.LockMaskAll || id.DebugEnabled || id.State != lineproto.StateLocked {
		problem := describeLock(id)
		n := p.noteRelock(mac)
		if n > maxRelocks || rec.LockAttempts >= maxLockAttempts {
			return fail(StepVerify, station.ReasonLockFailed,
				fmt.Sprintf("%s after %d lock attempts (%d in this run); the module answered every lock step, so it does not keep its lock state", problem, rec.LockAttempts, n))
		}
		m, err := p.Store.Relock(mac)
		if err != nil {
			return outcome{}, err
		}
		return outcome{step: StepVerify, worked: true, module: m},
			fmt.Errorf("%s; locking again (relock %d of %d)", problem, n, maxRelocks)
	}
	_, items, err := p.credentialItems(mac)
	if err != nil {
		return outcome{}, err
	}
	if missing := missingItems(items, id.Digests); len(missing) > 0 {
		return fail(StepVerify, station.ReasonCredentialsMismatch, fmt.Sprintf("locked module does not hold our %v", missing))
	}
	m, err := p.Store.RecordDone(mac)
	if err != nil {
		return outcome{}, err
	}
	p.relockMu.Lock()
	delete(p.relocks, mac)
	p.relockMu.Unlock()
	return outcome{step: StepDone, settled: true, worked: true, module: m}, nil
}

// describeLock says what an incomplete lock state read back is missing.
func describeLock(id *lineproto.IdentifyResponse) string {
	var missing []string
	for _, st := range lineproto.LockSteps {
		if !id.LockMask.Has(st) {
			missing = append(missing, st.String())
		}
	}
	s := fmt.Sprintf("lock state read back: mask %04b (want %04b), state %s", id.LockMask, lineproto.LockMaskAll, id.State)
	if len(missing) > 0 {
		s += ", not burned: " + strings.Join(missing, ", ")
	}
	if id.DebugEnabled {
		s += ", debug still enabled"
	}
	return s
}

func (p *Provisioner) noteRelock(mac string) int {
	p.relockMu.Lock()
	defer p.relockMu.Unlock()
	if p.relocks == nil {
		p.relocks = map[string]int{}
	}
	p.relocks[mac]++
	return p.relocks[mac]
}

// errOtherModule: the module that answered is not the one being provisioned.
var errOtherModule = errors.New("another module is on the jig")

// confirm re-identifies the module before it is failed for what a reply
// said: the reply must have come from mac, still holding the key spki (hex).
// A swap, a pull or a silent line is a transient error, never a failure.
func (p *Provisioner) confirm(ctx context.Context, c *lineproto.Client, mac, spki string) error {
	id, err := c.Identify(ctx)
	if err != nil {
		return fmt.Errorf("re-identify before failing the module: %w", err)
	}
	if got := FormatMAC(id.ChipID); got != mac {
		return fmt.Errorf("%w: %s answered, not %s", errOtherModule, got, mac)
	}
	if spki != "" && (!id.KeyPresent || fmt.Sprintf("%x", id.KeySPKIHash) != spki) {
		return fmt.Errorf("module %s now reports another key (or none); it is looked at again from the start", mac)
	}
	return nil
}

// FormatMAC writes a chip ID as aa:bb:cc:dd:ee:ff, the store's module key.
func FormatMAC(b [6]byte) string {
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5])
}

// paiFor is the PAI that issued dac (issuer name and key identifier): the
// station's own, or one of OtherPAIs; the station's own when none matches
// (the chain check then fails with the reason).
func (p *Provisioner) paiFor(dac *x509.Certificate) *x509.Certificate {
	for _, c := range append([]*x509.Certificate{p.PAI}, p.OtherPAIs...) {
		if bytes.Equal(dac.RawIssuer, c.RawSubject) && bytes.Equal(dac.AuthorityKeyId, c.SubjectKeyId) {
			return c
		}
	}
	return p.PAI
}
