package lineproto

import (
	"errors"
	"fmt"
)

// Client errors. Callers branch on them with errors.Is / errors.As.
var (
	// ErrTimeout: no valid reply within the command's timeout on any attempt.
	ErrTimeout = errors.New("lineproto: no reply from module")
	// ErrRefused is matched by every *RefusedError.
	ErrRefused = errors.New("lineproto: module refused")
	// ErrBadResponse: a reply with a valid CRC whose body breaks the spec.
	ErrBadResponse = errors.New("lineproto: malformed reply")
	// ErrDigestMismatch: the module confirmed a digest other than the host's.
	ErrDigestMismatch = errors.New("lineproto: module confirmed a different digest")
	// ErrModuleChanged: while a command was waiting for its reply, a module
	// other than the one the last IDENTIFY reply named announced itself (a
	// BOOT event with another chip ID): the jig now holds another module, and
	// the command is not sent to it. Re-identify before anything else.
	ErrModuleChanged = errors.New("lineproto: another module is on the jig")
)

// RefusedError is a reply with a non-zero status.
type RefusedError struct {
	Command Type
	Status  Status
	Detail  string // the module's own words, possibly empty
}

func (e *RefusedError) Error() string {
	s := fmt.Sprintf("module refused %s: %s (status 0x%02x)", e.Command, e.Status, uint8(e.Status))
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Unwrap makes errors.Is(err, ErrRefused) true.
func (e *RefusedError) Unwrap() error { return ErrRefused }

// StatusOf returns the status of a refusal in err's chain, or StatusOK.
func StatusOf(err error) Status {
	var r *RefusedError
	if errors.As(err, &r) {
		return r.Status
	}
	return StatusOK
}
