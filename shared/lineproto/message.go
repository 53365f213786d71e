package lineproto

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Version is the protocol version this package speaks (header byte 0).
const Version = 1

// HeaderLen is the fixed message header length in bytes.
//
//	0     version    u8   (1)
//	1     type       u8   (Type)
//	2     flags      u8   (FlagResponse, FlagEvent; other bits 0)
//	3     status     u8   (0 in requests; Status in responses)
//	4..7  request ID u32 little-endian (0 only in events)
//	8..9  body len   u16 little-endian (must equal the bytes that follow)
const HeaderLen = 10

// Type identifies a command. A response carries the type of its request.
type Type uint8

// Commands (docs/line-protocol.md §5). There is deliberately no command that
// reads a private key: the codec has no message that could carry one.
const (
	TypeIdentify    Type = 0x01
	TypeGenerateKey Type = 0x02
	TypeWriteChunk  Type = 0x03
	TypeCommit      Type = 0x04
	TypeReadDigests Type = 0x05
	TypeAttest      Type = 0x06
	TypeLock        Type = 0x07
	TypeReboot      Type = 0x08
	// TypeBoot is an event the module sends, unasked, after every boot.
	TypeBoot Type = 0x7F
)

var typeNames = map[Type]string{
	TypeIdentify: "IDENTIFY", TypeGenerateKey: "GENERATE_KEY", TypeWriteChunk: "WRITE_CHUNK",
	TypeCommit: "COMMIT", TypeReadDigests: "READ_DIGESTS", TypeAttest: "ATTEST",
	TypeLock: "LOCK", TypeReboot: "REBOOT", TypeBoot: "BOOT",
}

func (t Type) String() string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("TYPE_0x%02X", uint8(t))
}

// Known reports whether t is a command or event of this protocol version.
func (t Type) Known() bool { _, ok := typeNames[t]; return ok }

// Header flags.
const (
	FlagResponse uint8 = 0x01 // set by the module on every reply
	FlagEvent    uint8 = 0x02 // unsolicited module message (request ID 0)
	flagsKnown         = FlagResponse | FlagEvent
)

// Message is one decoded frame payload.
type Message struct {
	Version   uint8
	Type      Type
	Flags     uint8
	Status    Status
	RequestID uint32
	Body      []byte
}

// IsResponse reports whether the module sent m as a reply.
func (m *Message) IsResponse() bool { return m.Flags&FlagResponse != 0 }

// Message errors.
var (
	ErrMessageTooShort = errors.New("lineproto: message shorter than header")
	ErrBodyLength      = errors.New("lineproto: body length does not match header")
	ErrFlags           = errors.New("lineproto: unknown header flags")
)

// EncodeMessage returns the payload (header ‖ body) for m.
func EncodeMessage(m Message) ([]byte, error) {
	if len(m.Body) > MaxBody {
		return nil, fmt.Errorf("%w: %s body of %d bytes exceeds %d", ErrFrameTooLarge, m.Type, len(m.Body), MaxBody)
	}
	if m.Flags&^flagsKnown != 0 {
		return nil, fmt.Errorf("%w: 0x%02x", ErrFlags, m.Flags)
	}
	p := make([]byte, HeaderLen, HeaderLen+len(m.Body))
	p[0] = m.Version
	p[1] = uint8(m.Type)
	p[2] = m.Flags
	p[3] = uint8(m.Status)
	binary.LittleEndian.PutUint32(p[4:], m.RequestID)
	binary.LittleEndian.PutUint16(p[8:], uint16(len(m.Body)))
	return append(p, m.Body...), nil
}

// DecodeMessage parses a frame payload. It checks the header's shape only;
// the version and type are the receiver's to judge (a module answers an
// unknown version or type with a status, it does not drop the frame).
func DecodeMessage(p []byte) (Message, error) {
	if len(p) < HeaderLen {
		return Message{}, fmt.Errorf("%w: %d bytes", ErrMessageTooShort, len(p))
	}
	m := Message{
		Version:   p[0],
		Type:      Type(p[1]),
		Flags:     p[2],
		Status:    Status(p[3]),
		RequestID: binary.LittleEndian.Uint32(p[4:]),
	}
	if m.Flags&^flagsKnown != 0 {
		return Message{}, fmt.Errorf("%w: 0x%02x", ErrFlags, m.Flags)
	}
	n := int(binary.LittleEndian.Uint16(p[8:]))
	if n != len(p)-HeaderLen {
		return Message{}, fmt.Errorf("%w: header says %d, frame has %d", ErrBodyLength, n, len(p)-HeaderLen)
	}
	if n > MaxBody {
		return Message{}, fmt.Errorf("%w: body of %d bytes exceeds %d", ErrFrameTooLarge, n, MaxBody)
	}
	m.Body = append([]byte(nil), p[HeaderLen:]...)
	return m, nil
}

// MarshalFrame encodes m as a complete frame ready to write.
func MarshalFrame(m Message) ([]byte, error) {
	p, err := EncodeMessage(m)
	if err != nil {
		return nil, err
	}
	return AppendFrame(nil, p)
}
