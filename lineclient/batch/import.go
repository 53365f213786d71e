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
	// KeepPAI, when set, is given a bundle's PAI that differs from PAI (and
	// that the PAA issued) before anything is stored, so that the station
	// keeps it for provisioning (stationhome.Home.KeepPAI); its error
	// refuses the import.
	KeepPAI func(*x509.Certificate) error
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
	now := time.Now
	if im.Now != nil {
		now = im.Now
	}
	csrBatch, err := im.Store.Batch(m.InReplyTo)
	if err != nil {
		return nil, fmt.Errorf("%w: in_reply_to %q: %v", ErrWrongBatch, m.InReplyTo, err)
	}
	pai, err := im.checkAnchors(b, now())
	if err != nil {
		return nil, err
	}
	var cd *cdChecker
	if im.CD != nil {
		if cd, err = newCDChecker(im.CD, im.CDSigner); err != nil {
			return nil, err
		}
	}
	ret := &station.Return{ReturnID: m.BatchID.String(), CSRBatchID: csrBatch.ID}
	res := &ImportResult{ReturnID: ret.ReturnID}
	err = eachLine(b, bundle.DACFile, bundle.MaxDACLine, true, func(n int, l *bundle.DACLine) error {
		d, rej, err := im.checkDAC(l, pai, cd, now())
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
	if pai != im.PAI && im.KeepPAI != nil && len(ret.DACs) > 0 {
		if err := im.KeepPAI(pai); err != nil {
			return nil, fmt.Errorf("import %s: keep the bundle's PAI: %w", m.BatchID, err)
		}
	}
	ret.InTx = func(tx *bbolt.Tx) error { return bundle.MarkConsumed(tx, b, now()) }
	r, err := im.Store.ImportReturn(ret)
	if err != nil {
		return nil, err
	}
	res.ImportResult = *r
	return res, nil
}

func (im *Importer) checkAnchors(b *bundle.Bundle, now time.Time) (*x509.Certificate, error) {
	certs := map[string]*x509.Certificate{}
	for _, name := range []string{bundle.PAIFile, bundle.PAAFile} {
		if b.Manifest.File(name) == nil {
			continue // the bundle may leave them out; the station's own anchors are used
		}
		r, err := b.Open(name)
		if err != nil {
			return nil, err
		}
		raw, err := io.ReadAll(io.LimitReader(r, 64<<10))
		if err != nil {
			return nil, err
		}
		got, err := matter.ParseCertificate(raw)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrTrustAnchors, name, err)
		}
		certs[name] = got
	}
	if got := certs[bundle.PAAFile]; got != nil && !bytes.Equal(got.Raw, im.PAA.Raw) {
		return nil, fmt.Errorf("%w: %s is %q, the station trusts %q", ErrTrustAnchors, bundle.PAAFile, got.Subject, im.PAA.Subject)
	}
	got := certs[bundle.PAIFile]
	if got == nil || bytes.Equal(got.Raw, im.PAI.Raw) {
		return im.PAI, nil
	}
	// Another PAI than the one the station was given at init: the
	// appliance renewed or rotated its PAI, or signs this product with
	// another of its PAIs. The station's trust anchor is the PAA: the
	// bundle's PAI must be a Matter PAI the PAA issued and signed, valid
	// now; every DAC is then checked against it.
	if err := matter.ValidateIssuedBy(got, im.PAA, matter.PAI); err != nil {
		return nil, fmt.Errorf("%w: %s is %q, which the station's PAA %q did not issue: %v", ErrTrustAnchors, bundle.PAIFile, got.Subject, im.PAA.Subject, err)
	}
	if now.Before(got.NotBefore) || now.After(got.NotAfter) {
		return nil, fmt.Errorf("%w: %s %q is not valid now (%s .. %s)", ErrTrustAnchors, bundle.PAIFile, got.Subject,
			got.NotBefore.UTC().Format(time.RFC3339), got.NotAfter.UTC().Format(time.RFC3339))
	}
	return got, nil
}

// checkDAC returns the verified DAC, or a refusal for a DAC that fails the
// station's checks, or an error that refuses the whole bundle (a key or
// module this station never sent).
func (im *Importer) checkDAC(l *bundle.DACLine, pai *x509.Certificate, cd *cdChecker, now time.Time) (*station.ReturnedDAC, *station.Refusal, error) {
	dac, err := x509.ParseCertificate(l.DAC)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: dac does not parse: %v", ErrMalformed, err)
	}
	// A rejected DAC was still issued: its serial and hash go with the
	// refusal so the manifest lists it unused for the auditor.
	sum := sha256.Sum256(l.DAC)
	reject := func(format string, args ...any) (*station.ReturnedDAC, *station.Refusal, error) {
		return nil, &station.Refusal{MAC: l.ID, Reason: station.ReasonDACRejected, Detail: fmt.Sprintf(format, args...),
			DACSerial: strings.ToUpper(hex.EncodeToString(dac.SerialNumber.Bytes())), DACSHA256: hex.EncodeToString(sum[:])}, nil
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
	if err := matter.ValidateChainAt(dac, pai, im.PAA, now); err != nil {
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
		if err := cd.check(dac, pai, im.PAA); err != nil {
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
