package romloader

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Op is a ROM-loader command (serial-protocol.rst, "Commands").
type Op byte

// Commands of the ROM loader and of esptool's stub.
const (
	OpFlashBegin      Op = 0x02
	OpFlashData       Op = 0x03
	OpFlashEnd        Op = 0x04
	OpMemBegin        Op = 0x05
	OpMemEnd          Op = 0x06
	OpMemData         Op = 0x07
	OpSync            Op = 0x08
	OpWriteReg        Op = 0x09
	OpReadReg         Op = 0x0A
	OpSPISetParams    Op = 0x0B
	OpSPIAttach       Op = 0x0D
	OpReadFlashSlow   Op = 0x0E // ROM only: 64 bytes a command
	OpChangeBaudrate  Op = 0x0F
	OpFlashDeflBegin  Op = 0x10
	OpFlashDeflData   Op = 0x11
	OpFlashDeflEnd    Op = 0x12
	OpSPIFlashMD5     Op = 0x13
	OpGetSecurityInfo Op = 0x14
)

var opNames = map[Op]string{
	OpFlashBegin: "FLASH_BEGIN", OpFlashData: "FLASH_DATA", OpFlashEnd: "FLASH_END",
	OpMemBegin: "MEM_BEGIN", OpMemEnd: "MEM_END", OpMemData: "MEM_DATA", OpSync: "SYNC",
	OpWriteReg: "WRITE_REG", OpReadReg: "READ_REG", OpSPISetParams: "SPI_SET_PARAMS",
	OpSPIAttach: "SPI_ATTACH", OpReadFlashSlow: "READ_FLASH_SLOW", OpChangeBaudrate: "CHANGE_BAUDRATE",
	OpFlashDeflBegin: "FLASH_DEFL_BEGIN", OpFlashDeflData: "FLASH_DEFL_DATA", OpFlashDeflEnd: "FLASH_DEFL_END",
	OpSPIFlashMD5: "SPI_FLASH_MD5", OpGetSecurityInfo: "GET_SECURITY_INFO",
}

func (o Op) String() string {
	if n, ok := opNames[o]; ok {
		return n
	}
	return fmt.Sprintf("command 0x%02x", byte(o))
}

// Direction bytes.
const (
	dirRequest  = 0x00
	dirResponse = 0x01
)

// ChecksumSeed is the XOR seed of the data checksum.
const ChecksumSeed = 0xEF

// Checksum is the 8-bit XOR of data seeded with 0xEF, as the header carries
// it for FLASH_DATA, FLASH_DEFL_DATA and MEM_DATA.
func Checksum(data []byte) uint32 {
	c := byte(ChecksumSeed)
	for _, b := range data {
		c ^= b
	}
	return uint32(c)
}

// ErrPacket reports a packet that does not parse.
var ErrPacket = errors.New("rom-loader packet")

// Request is a command packet.
type Request struct {
	Op       Op
	Checksum uint32
	Data     []byte
}

// Marshal encodes r (unframed). Data longer than 65535 bytes is an error.
func (r Request) Marshal() ([]byte, error) {
	if len(r.Data) > 0xFFFF {
		return nil, fmt.Errorf("%w: %s data of %d bytes exceeds 65535", ErrPacket, r.Op, len(r.Data))
	}
	p := make([]byte, 8, 8+len(r.Data))
	p[0], p[1] = dirRequest, byte(r.Op)
	binary.LittleEndian.PutUint16(p[2:], uint16(len(r.Data)))
	binary.LittleEndian.PutUint32(p[4:], r.Checksum)
	return append(p, r.Data...), nil
}

// ParseRequest decodes an unframed command packet. Data aliases p.
func ParseRequest(p []byte) (Request, error) {
	if len(p) < 8 {
		return Request{}, fmt.Errorf("%w: request of %d bytes is shorter than its 8-byte header", ErrPacket, len(p))
	}
	if p[0] != dirRequest {
		return Request{}, fmt.Errorf("%w: direction byte 0x%02x, want 0x00 for a request", ErrPacket, p[0])
	}
	n := int(binary.LittleEndian.Uint16(p[2:]))
	if n != len(p)-8 {
		return Request{}, fmt.Errorf("%w: %s size field %d but %d data bytes", ErrPacket, Op(p[1]), n, len(p)-8)
	}
	return Request{Op: Op(p[1]), Checksum: binary.LittleEndian.Uint32(p[4:]), Data: p[8:]}, nil
}

// Response is a reply packet; Data includes the trailing status bytes.
type Response struct {
	Op    Op
	Value uint32
	Data  []byte
}

// Marshal encodes r (unframed).
func (r Response) Marshal() []byte {
	p := make([]byte, 8, 8+len(r.Data))
	p[0], p[1] = dirResponse, byte(r.Op)
	binary.LittleEndian.PutUint16(p[2:], uint16(len(r.Data)))
	binary.LittleEndian.PutUint32(p[4:], r.Value)
	return append(p, r.Data...)
}

// ParseResponse decodes an unframed reply packet. Data aliases p.
func ParseResponse(p []byte) (Response, error) {
	if len(p) < 8 {
		return Response{}, fmt.Errorf("%w: response of %d bytes is shorter than its 8-byte header", ErrPacket, len(p))
	}
	if p[0] != dirResponse {
		return Response{}, fmt.Errorf("%w: direction byte 0x%02x, want 0x01 for a response", ErrPacket, p[0])
	}
	n := int(binary.LittleEndian.Uint16(p[2:]))
	if n != len(p)-8 {
		return Response{}, fmt.Errorf("%w: %s size field %d but %d data bytes", ErrPacket, Op(p[1]), n, len(p)-8)
	}
	return Response{Op: Op(p[1]), Value: binary.LittleEndian.Uint32(p[4:]), Data: p[8:]}, nil
}

// ROM-loader error codes (serial-protocol.rst, "ROM Loader Errors").
const (
	ErrCodeInvalidParam   = 0x01
	ErrCodeInvalidMessage = 0x05 // also what a ROM answers to a command it does not know or refuses
	ErrCodeResult         = 0x06
	ErrCodeChecksum       = 0x07
	ErrCodeFlashWrite     = 0x08
	ErrCodeFlashRead      = 0x09
	ErrCodeReadLength     = 0x0A
	ErrCodeDeflate        = 0x0B
)

var errCodeNames = map[byte]string{
	0x00: "undefined error", 0x01: "invalid parameter", 0x02: "out of memory", 0x03: "send failed",
	0x04: "receive failed", 0x05: "invalid or unsupported message", 0x06: "wrong result",
	0x07: "checksum error", 0x08: "flash write error", 0x09: "flash read error",
	0x0A: "flash read length error", 0x0B: "deflate error", 0x0C: "deflate adler32 error",
	0x0D: "deflate parameter error", 0x0E: "invalid RAM binary size", 0x0F: "invalid RAM binary address",
	0xC1: "stub: bad data checksum", 0xFF: "stub: unimplemented command",
}

// StatusError is a failure status a chip returned.
type StatusError struct {
	Op   Op
	Code byte
}

func (e *StatusError) Error() string {
	name := errCodeNames[e.Code]
	if name == "" {
		name = "unknown error"
	}
	return fmt.Sprintf("%s failed: status 0x%02x (%s)", e.Op, e.Code, name)
}

// Unsupported reports whether the chip refused the command as one it does
// not know or does not allow (a ROM without it, or secure download mode).
func (e *StatusError) Unsupported() bool { return e.Code == ErrCodeInvalidMessage || e.Code == 0xFF }
