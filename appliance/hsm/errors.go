package hsm

import "errors"

// Sentinel errors callers branch on. Errors returned by this package wrap them
// with the module, token or key they concern.
var (
	// ErrModuleNotFound: the PKCS#11 module file does not exist.
	ErrModuleNotFound = errors.New("pkcs11 module not found")
	// ErrModuleLoad: the module exists but could not be loaded or initialised.
	ErrModuleLoad = errors.New("pkcs11 module could not be loaded")
	// ErrTokenNotFound: no initialised token carries the configured label.
	ErrTokenNotFound = errors.New("token not found")
	// ErrPINIncorrect: the token refused the PIN. Never retried automatically.
	ErrPINIncorrect = errors.New("token refused the PIN")
	// ErrPINLocked: the token has locked the user PIN after too many failures.
	ErrPINLocked = errors.New("token PIN is locked")
	// ErrTokenRemoved: the token went away while in use.
	ErrTokenRemoved = errors.New("token removed")
	// ErrLabelExists: a key with that label already exists on the token.
	ErrLabelExists = errors.New("label already exists on the token")
	// ErrKeyNotFound: no key with that label exists on the token.
	ErrKeyNotFound = errors.New("key not found on the token")
	// ErrKeyNotProtected: the token does not report a generated key as always
	// sensitive, never extractable and generated on the token.
	ErrKeyNotProtected = errors.New("key not protected by the token")
	// ErrBadSignature: a signature the token produced does not verify with the
	// key's public key (or has the wrong shape); it is never returned.
	ErrBadSignature = errors.New("token produced an invalid signature")
	// ErrPINRejected: the token refused a new PIN for its length or
	// characters (C_InitPIN: CKR_PIN_LEN_RANGE, CKR_PIN_INVALID).
	ErrPINRejected = errors.New("token refused the new PIN")
	// ErrPINMismatch: a PIN typed twice on a terminal differed.
	ErrPINMismatch = errors.New("the two PIN entries differ")
	// ErrClosed: the token has been closed.
	ErrClosed = errors.New("token closed")
)
