package auditlog

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"unicode/utf8"
)

// Field rules shared by the entry types. Hashes are lowercase hex SHA-256;
// names are non-empty UTF-8 of bounded length.

const maxNameLen = 256

func checkSHA256(field, v string) error {
	if len(v) != 64 {
		return fmt.Errorf("%s: want 64 lowercase hex digits (SHA-256), got %d characters", field, len(v))
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return fmt.Errorf("%s: not lowercase hex", field)
		}
	}
	return nil
}

func checkName(field, v string) error {
	if v == "" {
		return fmt.Errorf("%s is required", field)
	}
	if len(v) > maxNameLen {
		return fmt.Errorf("%s: longer than %d bytes", field, maxNameLen)
	}
	if !utf8.ValidString(v) {
		return fmt.Errorf("%s: not valid UTF-8", field)
	}
	return nil
}

func checkIndex(field string, v int) error {
	if v < 0 {
		return fmt.Errorf("%s: negative (%d)", field, v)
	}
	return nil
}

// checkSerial requires the canonical serial form SerialHex produces:
// lowercase hex, whole bytes, 1 to 20 of them (RFC 5280 4.1.2.2), no leading
// zero byte. It is on the verifier's hot path, so it does not use big.Int.
func checkSerial(v string) error {
	if len(v) == 0 || len(v)%2 != 0 || len(v) > 40 {
		return fmt.Errorf("serial %q: want 1 to 20 bytes of lowercase hex", v)
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return fmt.Errorf("serial %q: not lowercase hex", v)
		}
	}
	if v[0] == '0' && v[1] == '0' {
		return fmt.Errorf("serial %q: not canonical (leading zero byte, or zero)", v)
	}
	return nil
}

// SerialHex is the canonical text of a certificate serial number: lowercase
// hex of its big-endian magnitude, an even number of digits, no leading zero
// byte ("01a2", never "1a2" or "0001a2").
func SerialHex(n *big.Int) string { return hex.EncodeToString(n.Bytes()) }

// ParseSerial reads a serial number written as hex in any common way
// (upper or lower case, optional "0x" prefix, optional ":" separators,
// leading zeros). RFC 5280 4.1.2.2: positive, at most 20 octets.
func ParseSerial(s string) (*big.Int, error) {
	t := strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(s), "0x"), "0X")
	t = strings.ReplaceAll(t, ":", "")
	if t == "" {
		return nil, fmt.Errorf("serial %q: empty", s)
	}
	if len(t) > 64 {
		return nil, fmt.Errorf("serial %q: too long", s)
	}
	n, ok := new(big.Int).SetString(t, 16)
	if !ok {
		return nil, fmt.Errorf("serial %q: not hex", s)
	}
	if n.Sign() <= 0 {
		return nil, fmt.Errorf("serial %q: must be positive (RFC 5280 4.1.2.2)", s)
	}
	if len(n.Bytes()) > 20 {
		return nil, fmt.Errorf("serial %q: longer than 20 octets (RFC 5280 4.1.2.2)", s)
	}
	return n, nil
}

func joinErrs(errs ...error) error { return errors.Join(errs...) }

func (e *ApplianceInit) validate() error {
	return joinErrs(checkName("appliance", e.Appliance), checkName("note_verifier", e.NoteVerifier))
}

func (e *KeyGenerated) validate() error {
	var err error
	switch e.KeyType {
	case KeyTypeP256, KeyTypeEd25519:
		err = checkSHA256("public_key_sha256", e.PublicKeySHA256)
	case KeyTypeAES256:
		if e.PublicKeySHA256 != "" {
			err = errors.New("public_key_sha256: must be empty for an aes256 key (a secret key has no public key)")
		}
	default:
		err = fmt.Errorf("key_type %q: want %s, %s or %s", e.KeyType, KeyTypeP256, KeyTypeEd25519, KeyTypeAES256)
	}
	if len(e.Attributes) == 0 {
		err = joinErrs(err, errors.New("attributes: at least one attribute read back is required"))
	}
	for name := range e.Attributes {
		if !strings.HasPrefix(name, "CKA_") || len(name) > 64 {
			err = joinErrs(err, fmt.Errorf("attributes: %q is not a PKCS#11 attribute name (CKA_...)", name))
		}
	}
	return joinErrs(err, checkName("label", e.Label))
}

func (e *PAIImported) validate() error {
	var err error
	if e.VID == 0 {
		err = errors.New("vid is required")
	}
	return joinErrs(err, checkSHA256("pai_sha256", e.PAISHA256), checkSHA256("paa_sha256", e.PAASHA256),
		checkName("subject", e.Subject))
}

func (e *StationEnrolled) validate() error {
	err := checkSHA256("public_key_sha256", e.PublicKeySHA256)
	if pub, perr := e.PublicKey(); perr != nil {
		err = joinErrs(err, perr)
	} else if sum := sha256.Sum256(pub); err == nil && hex.EncodeToString(sum[:]) != e.PublicKeySHA256 {
		err = errors.New("public_key_sha256 is not the SHA-256 of ed25519_public_key")
	}
	if !strings.HasPrefix(e.AgeRecipient, "age1") {
		err = joinErrs(err, fmt.Errorf("age_recipient %q: want an age X25519 recipient (age1...)", e.AgeRecipient))
	}
	return joinErrs(err, checkName("station", e.Station), checkName("fingerprint", e.Fingerprint),
		checkName("age_recipient", e.AgeRecipient), checkSHA256("bundle_sha256", e.BundleSHA256))
}

func (e *StationRevoked) validate() error {
	return joinErrs(checkName("station", e.Station), checkName("reason", e.Reason))
}

func (e *PolicyChanged) validate() error { return checkSHA256("policy_sha256", e.PolicySHA256) }

func (e *CeremonyStarted) validate() error {
	return joinErrs(checkName("batch_id", e.BatchID), checkSHA256("bundle_sha256", e.BundleSHA256),
		checkName("officer", e.Officer), checkSHA256("policy_sha256", e.PolicySHA256),
		checkName("station", e.Station))
}

func (e *DACIssued) validate() error {
	var err error
	if e.VID == 0 || e.PID == 0 {
		err = errors.New("vid and pid are required")
	}
	return joinErrs(err, checkName("batch_id", e.BatchID), checkSHA256("dac_sha256", e.DACSHA256),
		checkIndex("index", e.Index), checkSerial(e.Serial), checkSHA256("spki_sha256", e.SPKISHA256),
		checkName("station", e.Station))
}

func (e *CSRRefused) validate() error {
	return joinErrs(checkName("batch_id", e.BatchID), checkIndex("index", e.Index),
		checkName("module_id", e.ModuleID), checkName("reason", e.Reason), checkName("station", e.Station))
}

func (e *BundleWritten) validate() error {
	return joinErrs(checkName("batch_id", e.BatchID), checkSHA256("bundle_sha256", e.BundleSHA256),
		checkName("file_name", e.FileName))
}

func (e *CeremonyFinished) validate() error {
	return joinErrs(checkName("batch_id", e.BatchID), checkIndex("issued", e.Issued),
		checkIndex("refused", e.Refused), checkName("station", e.Station))
}

// MaxAbandonedSerials is how many serials a ceremony-abandoned entry lists
// at most, so that it stays far below MaxEntrySize.
const MaxAbandonedSerials = 1000

func (e *CeremonyAbandoned) validate() error {
	errs := []error{checkName("batch_id", e.BatchID), checkIndex("issued", e.Issued),
		checkName("officer", e.Officer), checkName("reason", e.Reason), checkName("station", e.Station)}
	switch {
	case e.Serials == nil:
		errs = append(errs, errors.New("serials: missing (an empty list when nothing was issued)"))
	case e.Issued <= MaxAbandonedSerials && len(e.Serials) != e.Issued:
		errs = append(errs, fmt.Errorf("serials: %d listed for %d issued DACs", len(e.Serials), e.Issued))
	case e.Issued > MaxAbandonedSerials && len(e.Serials) != 0:
		errs = append(errs, fmt.Errorf("serials: more than %d DACs are not listed in the entry", MaxAbandonedSerials))
	}
	for i, s := range e.Serials {
		if err := checkSerial(s); err != nil {
			errs = append(errs, fmt.Errorf("serials[%d]: %w", i, err))
			break
		}
	}
	return joinErrs(errs...)
}

func (e *LogAnchored) validate() error { return checkName("officer", e.Officer) }

func (e *LogExported) validate() error {
	if e.PreviousTreeSize < 0 {
		return fmt.Errorf("previous_tree_size: negative (%d)", e.PreviousTreeSize)
	}
	return nil
}
