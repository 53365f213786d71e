package batch

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"filippo.io/age"
	"go.etcd.io/bbolt"

	"github.com/dacline/dacline/airgap-bundles/bundle"
	"github.com/dacline/dacline/lineclient/station"
	"github.com/dacline/dacline/shared/matter"
)

// Importer reads dac-batch bundles into the store.
type Importer struct {
	Store *station.Store
	// Identity decrypts bundles addressed to this station.
	Identity age.Identity
	// ApplianceName and ApplianceKey: the only sender accepted.
	ApplianceName string
	ApplianceKey  ed25519.PublicKey
	// PAI and PAA are the station's trust anchors (from appliance.id at init).
	PAI, PAA *x509.Certificate
	VID, PID uint16
	// CD is the Certification Declaration (DER) written to modules, or nil.
	CD []byte
	// CDSigner, if set, is the certificate CD must be signed by (checked
	// before anything is imported); nil checks the CD's content only.
	CDSigner *x509.Certificate
	TempDir  string
	// Now is the time DACs are checked at (default time.Now).
	Now func() time.Time
}

// Errors that refuse a whole return bundle.
var (
	ErrWrongBatch   = errors.New("bundle does not answer a batch this station exported")
	ErrTrustAnchors = errors.New("bundle's pai/paa differ from the station's trust anchors")
	ErrMalformed    = errors.New("malformed payload line")
)

// ImportResult reports an import.
type ImportResult struct {
	station.ImportResult
	ReturnID string
	// Rejected lists the modules whose DAC failed the station's checks, with why.
	Rejected []station.Refusal
}

// Import verifies the bundle at path and commits it. Nothing is stored when
// an error is returned.
func (im *Importer) Import(path string) (*ImportResult, error) {
	b, err := bundle.ReadFile(path, bundle.ReadOptions{
		Identities: []age.Identity{im.Identity},
		Resolve: func(sender string, kind bundle.Kind) (ed25519.PublicKey, error) {
			if sender != im.ApplianceName {
				return nil, fmt.Errorf("sender %q is not this station's appliance %q", sender, im.ApplianceName)
			}
			return im.ApplianceKey, nil
		},
		Kinds:    []bundle.Kind{bundle.KindDACBatch},
		Consumed: bundle.BoltConsumed{DB: im.Store.DB()},
		TempDir:  im.TempDir,
	})
	if err != nil {
		return nil, err
	}
	defer b.Close()
	m := b.Manifest
	csrBatch, err := im.Store.Batch(m.InReplyTo)
	if err != nil {
		return nil, fmt.Errorf("%w: in_reply_to %q: %v", ErrWrongBatch, m.InReplyTo, err)
	}
	if err := im.checkAnchors(b); err != nil {
		return nil, err
	}
	var cd *cdChecker
	if im.CD != nil {
		if cd, err = newCDChecker(im.CD, im.CDSigner); err != nil {
			return nil, err
		}
	}
	now := time.Now
	if im.Now != nil {
		now = im.Now
	}
	ret := &station.Return{ReturnID: m.BatchID.String(), CSRBatchID: csrBatch.ID}
	res := &ImportResult{ReturnID: ret.ReturnID}
	err = eachLine(b, bundle.DACFile, bundle.MaxDACLine, true, func(n int, l *bundle.DACLine) error {
		d, rej, err := im.checkDAC(l, cd, now())
		if err != nil {
			return fmt.Errorf("%s line %d (module %s): %w", bundle.DACFile, n, l.ID, err)
		}
		if rej != nil {
			ret.Refusals = append(ret.Refusals, *rej)
			res.Rejected = append(res.Rejected, *rej)
			return nil
		}
		ret.DACs = append(ret.DACs, *d)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", m.BatchID, err)
	}
	err = eachLine(b, bundle.RefusalFile, bundle.MaxRefusalLine, false, func(n int, l *bundle.RefusalLine) error {
		ret.Refusals = append(ret.Refusals, station.Refusal{MAC: l.ID, Reason: station.ReasonRefusedByAppliance,
			Detail: strings.TrimSpace(l.Reason + ": " + l.Detail)})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", m.BatchID, err)
	}
	ret.InTx = func(tx *bbolt.Tx) error { return bundle.MarkConsumed(tx, b, now()) }
	r, err := im.Store.ImportReturn(ret)
	if err != nil {
		return nil, err
	}
	res.ImportResult = *r
	return res, nil
}

func (im *Importer) checkAnchors(b *bundle.Bundle) error {
	for _, c := range []struct {
		name string
		want *x509.Certificate
	}{{bundle.PAIFile, im.PAI}, {bundle.PAAFile, im.PAA}} {
		if b.Manifest.File(c.name) == nil {
			continue // the bundle may leave them out; the station's own anchors are used
		}
		r, err := b.Open(c.name)
		if err != nil {
			return err
		}
		raw, err := io.ReadAll(io.LimitReader(r, 64<<10))
		if err != nil {
			return err
		}
		got, err := matter.ParseCertificate(raw)
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrTrustAnchors, c.name, err)
		}
		if !bytes.Equal(got.Raw, c.want.Raw) {
			return fmt.Errorf("%w: %s is %q, the station trusts %q", ErrTrustAnchors, c.name, got.Subject, c.want.Subject)
		}
	}
	return nil
}

// checkDAC returns the verified DAC, or a refusal for a DAC that fails the
// station's checks, or an error that refuses the whole bundle (a key or
// module this station never sent).
func (im *Importer) checkDAC(l *bundle.DACLine, cd *cdChecker, now time.Time) (*station.ReturnedDAC, *station.Refusal, error) {
	reject := func(format string, args ...any) (*station.ReturnedDAC, *station.Refusal, error) {
		return nil, &station.Refusal{MAC: l.ID, Reason: station.ReasonDACRejected, Detail: fmt.Sprintf(format, args...)}, nil
	}
	dac, err := x509.ParseCertificate(l.DAC)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: dac does not parse: %v", ErrMalformed, err)
	}
	spki := sha256.Sum256(dac.RawSubjectPublicKeyInfo)
	mod, err := im.Store.ModuleByKey(spki)
	if errors.Is(err, station.ErrNotFound) {
		return nil, nil, fmt.Errorf("%w: dac %s certifies key %x", station.ErrUnknownKey, l.Serial, spki[:8])
	}
	if err != nil {
		return nil, nil, err
	}
	if mod.MAC != l.ID {
		return nil, nil, fmt.Errorf("%w: dac certifies the key of module %s, line names module %s", station.ErrUnknownKey, mod.MAC, l.ID)
	}
	if l.SPKISHA256 != hex.EncodeToString(spki[:]) {
		return reject("line's spki_sha256 %.16s… is not the dac's %x…", l.SPKISHA256, spki[:8])
	}
	// The DAC must certify exactly the key of the module's CSR.
	creds, err := im.Store.Credentials(mod.MAC)
	if err != nil {
		return nil, nil, err
	}
	csr, err := x509.ParseCertificateRequest(creds.CSR)
	if err != nil {
		return nil, nil, fmt.Errorf("stored csr of %s: %w", mod.MAC, err)
	}
	if !bytes.Equal(csr.RawSubjectPublicKeyInfo, dac.RawSubjectPublicKeyInfo) {
		return reject("dac public key differs from the csr's")
	}
	if err := matter.ValidateChainAt(dac, im.PAI, im.PAA, now); err != nil {
		return reject("chain: %v", err)
	}
	vp, err := matter.ExtractVIDPID(dac.RawSubject)
	if err != nil {
		return reject("subject: %v", err)
	}
	if !vp.HasVID || !vp.HasPID || vp.VID != im.VID || vp.PID != im.PID {
		return reject("dac is for %s, the station provisions %04X/%04X", vp, im.VID, im.PID)
	}
	serial := strings.ToUpper(hex.EncodeToString(dac.SerialNumber.Bytes()))
	if !strings.EqualFold(strings.TrimLeft(l.Serial, "0"), strings.TrimLeft(serial, "0")) {
		return reject("line names serial %s, the dac has %s", l.Serial, serial)
	}
	if cd != nil {
		if err := cd.check(dac, im.PAI, im.PAA); err != nil {
			return reject("certification declaration: %v", err)
		}
	}
	return &station.ReturnedDAC{SPKISHA256: spki, DER: l.DAC, Serial: serial}, nil, nil
}

// eachLine streams the lines of a .jsonl payload file strictly
// (bundle.LineReader), each decoded into a T; n is the line number from 1.
func eachLine[T any](b *bundle.Bundle, name string, max int, required bool, fn func(n int, line *T) error) error {
	if b.Manifest.File(name) == nil {
		if required {
			return fmt.Errorf("%w: bundle has no %s", ErrMalformed, name)
		}
		return nil
	}
	r, err := b.Open(name)
	if err != nil {
		return err
	}
	lr := bundle.NewLineReader(r, name, max)
	for {
		var l T
		err := lr.Next(&l)
		if err == io.EOF {
			return nil
		}
		if errors.Is(err, bundle.ErrPayloadLine) {
			return fmt.Errorf("%w: %w", ErrMalformed, err)
		}
		if err != nil {
			return err
		}
		if err := fn(lr.Line(), &l); err != nil {
			return err
		}
	}
}
