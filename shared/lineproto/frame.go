package lineproto

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Frame layout on the wire (docs/line-protocol.md §2):
//
//	COBS( payload ‖ CRC-32/IEEE(payload) little-endian ) 0x00
//
// payload is a message (header ‖ body). A receiver collects bytes up to the
// next 0x00, decodes and checks the CRC; anything wrong is dropped and the
// receiver starts again after that delimiter (resynchronisation).
const (
	// Delimiter ends every frame. Senders may also send it before a frame to
	// flush whatever noise the receiver has collected.
	Delimiter = 0x00
	// MaxBody is the largest message body in bytes.
	MaxBody = 1024
	// MaxPayload is the largest message (header + body) in bytes.
	MaxPayload = HeaderLen + MaxBody
	// crcLen is the CRC-32 trailer length.
	crcLen = 4
	// MaxEncodedFrame is the longest COBS-encoded frame, delimiter excluded.
	// A receiver that has collected more bytes than this without a delimiter
	// discards them and waits for the next delimiter.
	MaxEncodedFrame = (MaxPayload + crcLen) + (MaxPayload+crcLen)/254 + 1
)

// Framing errors. A receiver counts and drops such frames; the host's retry
// (same request ID) recovers.
var (
	ErrCRC           = errors.New("lineproto: frame crc mismatch")
	ErrFrameTooLarge = errors.New("lineproto: frame too large")
	ErrFrameTooShort = errors.New("lineproto: frame too short")
)

// AppendFrame appends the framed encoding of payload, with a leading and a
// trailing delimiter, to dst.
func AppendFrame(dst, payload []byte) ([]byte, error) {
	if len(payload) > MaxPayload {
		return dst, fmt.Errorf("%w: payload of %d bytes exceeds %d", ErrFrameTooLarge, len(payload), MaxPayload)
	}
	raw := make([]byte, 0, len(payload)+crcLen)
	raw = append(raw, payload...)
	raw = binary.LittleEndian.AppendUint32(raw, crc32.ChecksumIEEE(payload))
	dst = append(dst, Delimiter)
	dst = cobsEncode(dst, raw)
	return append(dst, Delimiter), nil
}

// DecodeFrame decodes one COBS-encoded frame (the bytes between two
// delimiters) and checks its CRC. It returns the payload.
func DecodeFrame(encoded []byte) ([]byte, error) {
	if len(encoded) > MaxEncodedFrame {
		return nil, fmt.Errorf("%w: %d encoded bytes exceed %d", ErrFrameTooLarge, len(encoded), MaxEncodedFrame)
	}
	raw, err := cobsDecode(encoded)
	if err != nil {
		return nil, err
	}
	if len(raw) < crcLen+1 {
		return nil, fmt.Errorf("%w: %d bytes", ErrFrameTooShort, len(raw))
	}
	if len(raw) > MaxPayload+crcLen {
		return nil, fmt.Errorf("%w: %d decoded bytes exceed %d", ErrFrameTooLarge, len(raw), MaxPayload+crcLen)
	}
	payload, trailer := raw[:len(raw)-crcLen], raw[len(raw)-crcLen:]
	if got, want := binary.LittleEndian.Uint32(trailer), crc32.ChecksumIEEE(payload); got != want {
		return nil, fmt.Errorf("%w: got %08x, computed %08x", ErrCRC, got, want)
	}
	return payload, nil
}

// Deframer splits a byte stream into frames. It never blocks and keeps at
// most MaxEncodedFrame bytes: a longer run without a delimiter is dropped
// (and reported once) and the stream resynchronises at the next delimiter.
type Deframer struct {
	buf      []byte
	overflow bool
}

// FrameResult is one frame found in the stream: a payload, or the reason
// the bytes up to a delimiter were dropped.
type FrameResult struct {
	Payload []byte
	Err     error
}

// Feed consumes p and calls emit for every complete frame, in order. Empty
// frames (consecutive delimiters) are skipped silently.
func (d *Deframer) Feed(p []byte, emit func(FrameResult)) {
	for _, b := range p {
		if b != Delimiter {
			if d.overflow {
				continue
			}
			if len(d.buf) >= MaxEncodedFrame {
				d.overflow = true
				d.buf = d.buf[:0]
				continue
			}
			d.buf = append(d.buf, b)
			continue
		}
		switch {
		case d.overflow:
			d.overflow = false
			emit(FrameResult{Err: fmt.Errorf("%w: no delimiter within %d bytes", ErrFrameTooLarge, MaxEncodedFrame)})
		case len(d.buf) > 0:
			payload, err := DecodeFrame(d.buf)
			emit(FrameResult{Payload: payload, Err: err})
		}
		d.buf = d.buf[:0]
	}
}

// Reset drops any partial frame.
func (d *Deframer) Reset() {
	d.buf = d.buf[:0]
	d.overflow = false
}
