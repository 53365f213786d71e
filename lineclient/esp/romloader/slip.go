package romloader

import (
	"errors"
	"fmt"
)

// SLIP bytes (RFC 1055, as the ESP ROM uses them).
const (
	slipEnd    = 0xC0
	slipEsc    = 0xDB
	slipEscEnd = 0xDC
	slipEscEsc = 0xDD
)

// MaxPacket bounds a decoded packet: an 8-byte header and at most 65535
// data bytes (the size field is 16 bits).
const MaxPacket = 8 + 0xFFFF

// ErrSLIP reports a malformed SLIP frame.
var ErrSLIP = errors.New("slip frame")

// SLIPEncode frames p: 0xC0, p with 0xC0 and 0xDB escaped, 0xC0.
func SLIPEncode(p []byte) []byte {
	out := make([]byte, 0, len(p)+len(p)/16+2)
	out = append(out, slipEnd)
	for _, b := range p {
		switch b {
		case slipEnd:
			out = append(out, slipEsc, slipEscEnd)
		case slipEsc:
			out = append(out, slipEsc, slipEscEsc)
		default:
			out = append(out, b)
		}
	}
	return append(out, slipEnd)
}

// SLIPDecoder splits a byte stream into SLIP frames. Bytes before the first
// 0xC0 (a boot banner, line noise) are skipped; every 0xC0 after that ends
// the frame in progress, so a lost delimiter costs at most one frame. Empty
// frames (0xC0 0xC0) are not reported.
type SLIPDecoder struct {
	buf     []byte
	synced  bool // a 0xC0 has been seen
	esc     bool
	bad     error // the frame in progress is already known bad
	Skipped int   // bytes skipped before the first delimiter
}

// Feed decodes p, calling emit for each complete frame: frame is only valid
// during the call; err is non-nil (wrapping ErrSLIP) for a frame with a bad
// escape or one longer than MaxPacket.
func (d *SLIPDecoder) Feed(p []byte, emit func(frame []byte, err error)) {
	for _, b := range p {
		if !d.synced {
			if b == slipEnd {
				d.synced = true
			} else {
				d.Skipped++
			}
			continue
		}
		if b == slipEnd {
			if d.bad != nil {
				emit(nil, d.bad)
			} else if d.esc {
				emit(nil, fmt.Errorf("%w: frame ends inside an escape", ErrSLIP))
			} else if len(d.buf) > 0 {
				emit(d.buf, nil)
			}
			d.buf, d.esc, d.bad = d.buf[:0], false, nil
			continue
		}
		if d.bad != nil {
			continue
		}
		if d.esc {
			d.esc = false
			switch b {
			case slipEscEnd:
				b = slipEnd
			case slipEscEsc:
				b = slipEsc
			default:
				d.bad = fmt.Errorf("%w: invalid escape 0xdb 0x%02x", ErrSLIP, b)
				continue
			}
		} else if b == slipEsc {
			d.esc = true
			continue
		}
		if len(d.buf) >= MaxPacket {
			d.bad = fmt.Errorf("%w: longer than %d bytes", ErrSLIP, MaxPacket)
			continue
		}
		d.buf = append(d.buf, b)
	}
}

// Reset forgets a partial frame; the next 0xC0 starts a new one.
func (d *SLIPDecoder) Reset() {
	d.buf, d.esc, d.bad, d.synced = d.buf[:0], false, nil, false
}
