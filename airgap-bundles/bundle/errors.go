package bundle

import (
	"errors"
	"fmt"
)

// Reasons a bundle is refused. A *RefusalError matches exactly one of them with errors.Is,
// so callers can branch (and tests can assert) on what failed.
var (
	ErrTooLarge          = errors.New("over a size or count limit")
	ErrAgeHeader         = errors.New("age header refused")
	ErrWrongRecipient    = errors.New("not encrypted to this receiver")
	ErrCiphertext        = errors.New("ciphertext truncated or modified")
	ErrNotEncrypted      = errors.New("signed-only bundle of a kind that must be encrypted")
	ErrStructure         = errors.New("tar structure refused")
	ErrSignature         = errors.New("manifest signature invalid")
	ErrUnknownSender     = errors.New("sender not trusted")
	ErrManifest          = errors.New("manifest invalid")
	ErrUnknownKind       = errors.New("unknown or unexpected kind")
	ErrUnknownVersion    = errors.New("unknown format version")
	ErrRecipientMismatch = errors.New("manifest names another recipient")
	ErrHashMismatch      = errors.New("payload does not match manifest")
	ErrReplay            = errors.New("batch already consumed")
)

// RefusalError is returned for every bundle the reader refuses: Reason is one of the
// Err* sentinels above, Detail names the file, entry or field that failed.
type RefusalError struct {
	Reason error
	Detail string
	Err    error // underlying cause, may be nil
}

func (e *RefusalError) Error() string {
	msg := "bundle refused: " + e.Reason.Error()
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap exposes both the reason sentinel and the cause.
func (e *RefusalError) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Reason}
	}
	return []error{e.Reason, e.Err}
}

func refuse(reason error, err error, format string, args ...any) *RefusalError {
	return &RefusalError{Reason: reason, Detail: fmt.Sprintf(format, args...), Err: err}
}
