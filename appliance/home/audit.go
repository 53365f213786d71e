package home

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/dacline/dacline/appliance/applog"
	"github.com/dacline/dacline/appliance/hsm"
	"github.com/dacline/dacline/shared/auditlog"
	"github.com/dacline/dacline/shared/matter"
)

// The home's part of the audit log: the entries for the events the home
// itself performs (init, keys, PKI setup) and checkpoint signing.
//
// Keys and certificates live outside bbolt (in the token, config.json and
// *.pem files), so an event and its log entry cannot share one transaction.
// The rule everywhere is: nothing is taken into use before its entry is
// committed. A key or certificate becomes "in use" when config.json names it
// (keys) or when its .pem file appears (certificates); the entry is committed
// before that, so a crash leaves at worst an entry for a key or certificate
// that never went into use — never one in use without an entry. See Init,
// CreateTestPAA and installCerts for the exact order.

// AuditLog opens the home's audit log: the log in appliance.db, guarded by
// the checkpoint mirror file in the home.
func (h *Home) AuditLog() (*applog.Log, error) {
	return applog.OpenInHome(h.db, h.dir)
}

// Checkpoint signs a checkpoint of the whole audit log with the appliance
// signing key (origin = appliance name) and persists it; it refuses to sign a
// log that does not extend the last checkpoint (applog.ErrRollback/ErrFork).
// When nothing was appended since the last checkpoint, that one is returned.
func (u *Unlocked) Checkpoint() (signed []byte, err error) {
	l, err := u.AuditLog()
	if err != nil {
		return nil, err
	}
	return signCheckpoint(l, u.Home.Config.Name, u.Signing)
}

func signCheckpoint(l *applog.Log, name string, signing *hsm.Key) ([]byte, error) {
	ns, err := auditlog.NoteSigner(name, signing.Signer())
	if err != nil {
		return nil, err
	}
	return l.Checkpoint(ns)
}

// appendEntries records entries in one transaction of their own.
func appendEntries(l *applog.Log, entries ...auditlog.Entry) error {
	if _, err := l.Append(entries...); err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	return nil
}

// keyAttributeNames are the PKCS#11 names of hsm.KeyAttributes, as recorded
// in key-generated entries.
// CKA_MODIFIABLE and CKA_COPYABLE are recorded when the token reports them.
func keyAttributeNames(a hsm.KeyAttributes) map[string]bool {
	m := map[string]bool{
		"CKA_TOKEN": a.Token, "CKA_PRIVATE": a.Private, "CKA_SENSITIVE": a.Sensitive,
		"CKA_ALWAYS_SENSITIVE": a.AlwaysSensitive, "CKA_EXTRACTABLE": a.Extractable,
		"CKA_NEVER_EXTRACTABLE": a.NeverExtractable, "CKA_LOCAL": a.Local, "CKA_SIGN": a.Sign,
		"CKA_DECRYPT": a.Decrypt, "CKA_UNWRAP": a.Unwrap, "CKA_DERIVE": a.Derive,
	}
	if a.Modifiable.Known() {
		m["CKA_MODIFIABLE"] = a.Modifiable.True()
	}
	if a.Copyable.Known() {
		m["CKA_COPYABLE"] = a.Copyable.True()
	}
	return m
}

// publicKeySHA256 is the hex SHA-256 of the key's DER SubjectPublicKeyInfo
// (the same DER config.json records in base64).
func publicKeySHA256(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:]), nil
}

// keyPairEntry is the key-generated entry of a key pair, with its protection
// attributes read back from the token now.
func keyPairEntry(k *hsm.Key) (*auditlog.KeyGenerated, error) {
	a, err := k.Attributes()
	if err != nil {
		return nil, err
	}
	typ := auditlog.KeyTypeP256
	if k.Type() == hsm.KeyEd25519 {
		typ = auditlog.KeyTypeEd25519
	}
	sum, err := publicKeySHA256(k.Public())
	if err != nil {
		return nil, fmt.Errorf("key %q: %w", k.Label(), err)
	}
	return &auditlog.KeyGenerated{Attributes: keyAttributeNames(a), KeyType: typ, Label: k.Label(), PublicKeySHA256: sum}, nil
}

// secretKeyEntry is the key-generated entry of the AES key; a secret key has
// no public key, so public_key_sha256 is empty.
func secretKeyEntry(label string, k *hsm.SecretKey) (*auditlog.KeyGenerated, error) {
	a, err := k.Attributes()
	if err != nil {
		return nil, fmt.Errorf("AES key %q: %w", label, err)
	}
	return &auditlog.KeyGenerated{Attributes: keyAttributeNames(a), KeyType: auditlog.KeyTypeAES256, Label: label}, nil
}

// initEntries are the first entries of every appliance's log: appliance-init
// (naming the key that signs its checkpoints), then one key-generated entry
// per key made at init.
func initEntries(name string, signing, pai *hsm.Key, wrapLabel string, wrap *hsm.SecretKey) ([]auditlog.Entry, error) {
	pub, ok := signing.Public().(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("appliance signing key is %T, want Ed25519", signing.Public())
	}
	vkey, err := auditlog.VerifierKey(name, pub)
	if err != nil {
		return nil, err
	}
	out := []auditlog.Entry{&auditlog.ApplianceInit{Appliance: name, NoteVerifier: vkey}}
	for _, k := range []*hsm.Key{signing, pai} {
		e, err := keyPairEntry(k)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	e, err := secretKeyEntry(wrapLabel, wrap)
	if err != nil {
		return nil, err
	}
	return append(out, e), nil
}

// paiImportedEntry records the installation of pai under paa.
func paiImportedEntry(pai, paa *x509.Certificate) (*auditlog.PAIImported, error) {
	ids, err := matter.ExtractVIDPID(pai.RawSubject)
	if err != nil {
		return nil, err
	}
	paiSum, paaSum := sha256.Sum256(pai.Raw), sha256.Sum256(paa.Raw)
	e := &auditlog.PAIImported{
		PAASHA256: hex.EncodeToString(paaSum[:]), PAISHA256: hex.EncodeToString(paiSum[:]),
		Subject: DescribeName(pai.RawSubject), VID: ids.VID,
	}
	if ids.HasPID {
		e.PID = ids.PID
	}
	return e, nil
}

// errFound stops a log scan early.
var errFound = errors.New("found")

// lastEntryWith reports whether the log already holds an entry of type t
// whose canonical bytes contain every one of needles (used to resume an
// interrupted step without recording its event twice). With onlyLast, only
// the last entry of type t counts.
func lastEntryWith(l *applog.Log, t auditlog.Type, onlyLast bool, needles ...string) (bool, error) {
	n, err := l.Size()
	if err != nil {
		return false, err
	}
	typ := []byte(`"type":"` + string(t) + `"`)
	found := false
	err = l.ForEach(0, n, func(_ int64, e []byte) error {
		if !bytes.Contains(e, typ) {
			return nil
		}
		match := true
		for _, s := range needles {
			if !bytes.Contains(e, []byte(s)) {
				match = false
				break
			}
		}
		found = match
		if match && !onlyLast {
			return errFound
		}
		return nil
	})
	if err != nil && !errors.Is(err, errFound) {
		return false, err
	}
	return found, nil
}

// recordKeyOnce appends the key-generated entry of k unless the log already
// has one for this label and public key (a resumed run whose entry was
// committed before it stopped).
func recordKeyOnce(l *applog.Log, k *hsm.Key) error {
	e, err := keyPairEntry(k)
	if err != nil {
		return err
	}
	has, err := lastEntryWith(l, auditlog.TypeKeyGenerated, false,
		`"label":"`+e.Label+`"`, `"public_key_sha256":"`+e.PublicKeySHA256+`"`)
	if err != nil || has {
		return err
	}
	return appendEntries(l, e)
}
