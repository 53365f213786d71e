package crl

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"strings"
	"time"

	"go.etcd.io/bbolt"

	"github.com/dacline/dacline/appliance/applog"
	"github.com/dacline/dacline/appliance/issuance"
	"github.com/dacline/dacline/shared/auditlog"
	"github.com/dacline/dacline/shared/matter"
)

// ErrNotIssued: a serial to revoke is not a DAC this appliance issued with
// the signing PAI.
var ErrNotIssued = errors.New("not a dac this appliance issued")

// DefaultNextUpdate is how long a CRL is current when the officer names no
// --next-update: a commissioner treats a CRL past its nextUpdate as stale.
const DefaultNextUpdate = 30 * 24 * time.Hour

// Issuer signs CRLs for one PAI.
type Issuer struct {
	DB     *bbolt.DB
	Log    *applog.Log
	PAI    *x509.Certificate // the PAI whose DACs are revoked; it signs the CRL
	Signer crypto.Signer     // the PAI key in the token
}

// Request is one `appliance crl issue`.
type Request struct {
	Serials    []Serial // may be empty: the CRL then renews the last one
	Reason     Reason
	NextUpdate time.Duration
	Officer    string
	Now        time.Time
}

// Result is a CRL recorded in the store and the log.
type Result struct {
	DER      []byte
	Number   uint64
	Added    []string // canonical hex, sorted
	Already  []string // named but revoked before (canonical hex, sorted)
	Revoked  int      // serials on the CRL
	LogIndex int64
}

// Issue checks every serial, signs the CRL and records it with its
// crl-issued log entry in one transaction (doc.go). The caller writes
// Result.DER out afterwards.
func (is *Issuer) Issue(req Request) (*Result, error) {
	if is.PAI == nil {
		return nil, errors.New("crl: no pai installed")
	}
	if req.NextUpdate <= 0 {
		return nil, fmt.Errorf("crl: next update %s: must be after this update", req.NextUpdate)
	}
	now := req.Now.UTC().Truncate(time.Second)
	next := now.Add(req.NextUpdate)
	res := &Result{}
	err := is.DB.Update(func(tx *bbolt.Tx) error {
		st, err := Load(tx)
		if err != nil {
			return err
		}
		revoked := map[string]Revocation{}
		for _, r := range st.Revoked {
			revoked[string(r.Serial.Bytes())] = r
		}
		number := st.Number + 1
		added, already, err := is.check(tx, req.Serials, revoked)
		if err != nil {
			return err
		}
		var adds []Revocation
		for _, n := range added {
			r := Revocation{Serial: n, Reason: req.Reason, RevokedAt: now, CRLNumber: number}
			adds = append(adds, r)
			revoked[string(n.Bytes())] = r
			res.Added = append(res.Added, auditlog.SerialHex(n))
		}
		for _, n := range already {
			res.Already = append(res.Already, auditlog.SerialHex(n))
		}
		der, err := is.sign(number, now, next, revoked)
		if err != nil {
			return err
		}
		if err := save(tx, number, der, adds); err != nil {
			return err
		}
		sum := sha256.Sum256(der)
		paiSum := sha256.Sum256(is.PAI.Raw)
		addedHex := res.Added
		if addedHex == nil {
			addedHex = []string{}
		}
		if len(addedHex) > auditlog.MaxCRLAddedSerials {
			return fmt.Errorf("crl: %d new serials; revoke at most %d in one crl", len(addedHex), auditlog.MaxCRLAddedSerials)
		}
		idx, err := is.Log.AppendTx(tx, &auditlog.CRLIssued{
			Added: addedHex, CRLNumber: int64(number), CRLSHA256: hex.EncodeToString(sum[:]),
			NextUpdate: auditlog.Timestamp{Time: next}, Officer: req.Officer, PAISHA256: hex.EncodeToString(paiSum[:]),
			Reason: req.Reason.String(), Revoked: len(revoked), ThisUpdate: auditlog.Timestamp{Time: now},
		})
		if err != nil {
			return err
		}
		res.DER, res.Number, res.Revoked, res.LogIndex = der, number, len(revoked), idx
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// check splits the named serials into new and already revoked ones, and
// refuses the request when any was not issued by this appliance under PAI.
func (is *Issuer) check(tx *bbolt.Tx, serials []Serial, revoked map[string]Revocation) (added, already []*big.Int, err error) {
	seen := map[string]bool{}
	var unknown []string
	for _, s := range serials {
		key := string(s.N.Bytes())
		if seen[key] {
			continue
		}
		seen[key] = true
		rec, err := issuance.DACBySerial(tx, s.N.Bytes())
		if err != nil {
			return nil, nil, err
		}
		if rec == nil || !is.issuedByPAI(rec) {
			unknown = append(unknown, fmt.Sprintf("%s (%s)", s.Hex(), s.Source))
			continue
		}
		if _, ok := revoked[key]; ok {
			already = append(already, s.N)
			continue
		}
		added = append(added, s.N)
	}
	if len(unknown) > 0 {
		more := ""
		if len(unknown) > 5 {
			more = fmt.Sprintf(" and %d more", len(unknown)-5)
			unknown = unknown[:5]
		}
		return nil, nil, fmt.Errorf("crl: serial %s%s: %w with pai %s; nothing was revoked",
			strings.Join(unknown, ", "), more, ErrNotIssued, matter.FormatName(is.PAI.RawSubject))
	}
	sort.Slice(added, func(i, j int) bool { return added[i].Cmp(added[j]) < 0 })
	sort.Slice(already, func(i, j int) bool { return already[i].Cmp(already[j]) < 0 })
	return added, already, nil
}

// issuedByPAI: the DAC names the PAI as its issuer (name and key ID).
func (is *Issuer) issuedByPAI(rec *issuance.DACRecord) bool {
	dac, err := x509.ParseCertificate(rec.DER)
	if err != nil {
		return false
	}
	return bytes.Equal(dac.RawIssuer, is.PAI.RawSubject) && bytes.Equal(dac.AuthorityKeyId, is.PAI.SubjectKeyId)
}

// sign makes the CRL (RFC 5280 v2: CRL number and authority key identifier
// extensions, one entry per serial with its reason code) and verifies it
// against the PAI before it is recorded.
func (is *Issuer) sign(number uint64, now, next time.Time, revoked map[string]Revocation) ([]byte, error) {
	entries := make([]x509.RevocationListEntry, 0, len(revoked))
	for _, r := range revoked {
		entries = append(entries, x509.RevocationListEntry{SerialNumber: r.Serial, RevocationTime: r.RevokedAt, ReasonCode: int(r.Reason)})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].SerialNumber.Cmp(entries[j].SerialNumber) < 0 })
	tmpl := &x509.RevocationList{
		SignatureAlgorithm:        x509.ECDSAWithSHA256,
		RevokedCertificateEntries: entries,
		Number:                    new(big.Int).SetUint64(number),
		ThisUpdate:                now,
		NextUpdate:                next,
	}
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, is.PAI, is.Signer)
	if err != nil {
		return nil, fmt.Errorf("crl: signing with the pai key: %w", err)
	}
	got, err := matter.ParseCRLFrom(der, is.PAI)
	if err != nil {
		return nil, fmt.Errorf("crl: the signed crl does not verify: %w", err)
	}
	if len(got.RevokedCertificateEntries) != len(entries) || got.Number.Uint64() != number {
		return nil, errors.New("crl: the signed crl does not list what was asked")
	}
	return der, nil
}
