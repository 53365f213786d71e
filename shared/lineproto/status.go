package lineproto

import "fmt"

// Status is the result code in a response header (docs/line-protocol.md §6).
// 0 is success; every other value is a refusal and the body may carry a
// human-readable detail (TagDetail).
type Status uint8

const (
	StatusOK                 Status = 0x00
	StatusUnsupportedVersion Status = 0x01 // header version not spoken by the module
	StatusUnknownCommand     Status = 0x02 // type not known
	StatusMalformed          Status = 0x03 // body does not parse (TLV, lengths, missing field)
	StatusBadState           Status = 0x04 // command not allowed in the current state
	StatusLocked             Status = 0x05 // refused: locking has begun; credentials and key are frozen
	StatusNoKey              Status = 0x06 // no key generated yet
	StatusCredentialsMissing Status = 0x07 // lock refused: not every item is committed
	StatusDigestMismatch     Status = 0x08 // commit digest differs from the staged bytes
	StatusInvalidItem        Status = 0x09 // item value fails the module's checks
	StatusKeyMismatch        Status = 0x0A // DAC does not certify the module's key
	StatusLockOrder          Status = 0x0B // lock step asked for before an earlier one
	StatusRequestIDReused    Status = 0x0C // same request ID, different request
	StatusBadOffset          Status = 0x0D // chunk offset/length outside the item
	StatusTooLarge           Status = 0x0E // item longer than its maximum
	StatusNoDAC              Status = 0x0F // attest before the DAC is committed
	StatusIncomplete         Status = 0x10 // commit before every byte of the item arrived
	StatusHardwareFault      Status = 0x11 // eFuse burn or flash write failed
)

var statusNames = map[Status]string{
	StatusOK: "ok", StatusUnsupportedVersion: "unsupported protocol version",
	StatusUnknownCommand: "unknown command", StatusMalformed: "malformed request",
	StatusBadState: "not allowed in this state", StatusLocked: "module is locking or locked",
	StatusNoKey: "no key generated", StatusCredentialsMissing: "credentials not all committed",
	StatusDigestMismatch: "digest mismatch", StatusInvalidItem: "invalid item value",
	StatusKeyMismatch: "dac does not certify the module key", StatusLockOrder: "lock step out of order",
	StatusRequestIDReused: "request id reused for a different request", StatusBadOffset: "chunk outside the item",
	StatusTooLarge: "item too large", StatusNoDAC: "no dac committed", StatusIncomplete: "item incomplete",
	StatusHardwareFault: "hardware fault",
}

func (s Status) String() string {
	if n, ok := statusNames[s]; ok {
		return n
	}
	return fmt.Sprintf("status 0x%02x", uint8(s))
}
