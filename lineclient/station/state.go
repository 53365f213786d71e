package station

import (
	"fmt"
)

// State is where a module stands in provisioning. The numeric values are
// stored in the by-state index and must never be renumbered.
type State uint8

const (
	StateUnknown            State = 0
	StateIdentified         State = 1  // seen on a jig, no CSR recorded yet
	StateKeyGenerated       State = 2  // CSR stored, onboarding data generated
	StateExported           State = 3  // CSR sent to the appliance in a batch
	StateDACReceived        State = 4  // DAC imported, verified against the CSR key
	StateWriting            State = 5  // credential write started (may be partial on the module)
	StateCredentialsWritten State = 6  // module confirmed the credential digests
	StateAttested           State = 7  // module signed a fresh nonce with the DAC key
	StateLocking            State = 8  // lock started: recorded before the lock command
	StateLocked             State = 9  // module reported every lock step done
	StateDone               State = 10 // lock state read back and verified; manifest row final
	StateFailed             State = 11 // see Module.Reason and Module.FailedFrom
)

var stateNames = [...]string{
	StateUnknown:            "unknown",
	StateIdentified:         "identified",
	StateKeyGenerated:       "key-generated",
	StateExported:           "exported",
	StateDACReceived:        "dac-received",
	StateWriting:            "writing",
	StateCredentialsWritten: "credentials-written",
	StateAttested:           "attested",
	StateLocking:            "locking",
	StateLocked:             "locked",
	StateDone:               "done",
	StateFailed:             "failed",
}

// States lists every real state in provisioning order.
var States = []State{
	StateIdentified, StateKeyGenerated, StateExported, StateDACReceived, StateWriting,
	StateCredentialsWritten, StateAttested, StateLocking, StateLocked, StateDone, StateFailed,
}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// MarshalText writes the state's name.
func (s State) MarshalText() ([]byte, error) {
	if s == StateUnknown || int(s) >= len(stateNames) {
		return nil, fmt.Errorf("invalid state %d", uint8(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText reads a state name.
func (s *State) UnmarshalText(b []byte) error {
	st, err := ParseState(string(b))
	if err != nil {
		return err
	}
	*s = st
	return nil
}

// ParseState maps a state name back to its State.
func ParseState(name string) (State, error) {
	for i, n := range stateNames {
		if n == name && i != 0 {
			return State(i), nil
		}
	}
	return StateUnknown, fmt.Errorf("unknown state %q", name)
}

// HasDAC reports whether a module in state s holds a DAC in the store.
func (s State) HasDAC() bool { return s >= StateDACReceived && s <= StateDone }

// Reason says why a module failed. Values are stable strings in the store,
// status output and docs.
type Reason string

const (
	// ReasonRefusedByAppliance: the appliance refused the CSR (its reason is in Detail).
	ReasonRefusedByAppliance Reason = "refused-by-appliance"
	// ReasonDACRejected: the returned DAC failed the station's checks (chain, SPKI, VID/PID, CD).
	ReasonDACRejected Reason = "dac-rejected"
	// ReasonNotReturned: the return batch carried neither a DAC nor a refusal for the module.
	ReasonNotReturned Reason = "not-returned"
	// ReasonLyingModule: the module attested with a key other than the one its CSR certified,
	// or reported a key different from its CSR's.
	ReasonLyingModule Reason = "lying-module"
	// ReasonAttestationFailed: the attestation signature or the chain/CD check failed.
	ReasonAttestationFailed Reason = "attestation-failed"
	// ReasonKeyLost: the module no longer reports a key although its CSR was taken.
	ReasonKeyLost Reason = "key-lost"
	// ReasonLockedEarly: the module reports lock state although the station never started locking.
	ReasonLockedEarly Reason = "locked-without-attestation"
	// ReasonLockFailed: a lock step failed, or the lock state read back stayed
	// incomplete after the station locked the module again (Relock) a few times.
	ReasonLockFailed Reason = "lock-failed"
	// ReasonForeignModule: a module already provisioned (credentials or lock) that this station never saw.
	ReasonForeignModule Reason = "foreign-module"
	// ReasonDuplicateKey: the module's CSR key is already recorded for another module.
	ReasonDuplicateKey Reason = "duplicate-key"
	// ReasonBadCSR: the module's CSR is not a valid Matter DAC CSR (P-256, signature).
	ReasonBadCSR Reason = "bad-csr"
	// ReasonCredentialsMismatch: the module keeps reporting credential digests other than ours.
	ReasonCredentialsMismatch Reason = "credentials-mismatch"
)

// allowed is the transition table: from → set of states it may go to. Failed
// is reachable from every live state and is terminal; done is terminal.
var allowed = map[State][]State{
	StateUnknown:            {StateIdentified, StateFailed},
	StateIdentified:         {StateKeyGenerated},
	StateKeyGenerated:       {StateExported},
	StateExported:           {StateDACReceived},
	StateDACReceived:        {StateWriting, StateCredentialsWritten},
	StateWriting:            {StateWriting, StateCredentialsWritten},
	StateCredentialsWritten: {StateAttested, StateWriting},
	StateAttested:           {StateLocking},
	StateLocking:            {StateLocking, StateLocked},
	StateLocked:             {StateDone, StateLocking}, // relock: the read-back was incomplete
	StateDone:               {},
	StateFailed:             {},
}

// CanTransition reports whether from → to is in the state machine.
func CanTransition(from, to State) bool {
	if to == StateFailed {
		return from != StateDone && from != StateFailed
	}
	for _, s := range allowed[from] {
		if s == to {
			return true
		}
	}
	return false
}
