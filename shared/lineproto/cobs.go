package lineproto

import "errors"

// ErrCOBS reports a frame whose Consistent Overhead Byte Stuffing is broken:
// a zero byte inside the frame or a code byte that points past its end.
var ErrCOBS = errors.New("lineproto: malformed cobs encoding")

// cobsEncode appends the COBS encoding of src to dst. The result contains no
// zero byte, so 0x00 can delimit frames on the wire (Cheshire and Baker, 1999).
func cobsEncode(dst, src []byte) []byte {
	codeAt := len(dst)
	dst = append(dst, 0)
	code := byte(1)
	for _, b := range src {
		if b == 0 {
			dst[codeAt] = code
			codeAt = len(dst)
			dst = append(dst, 0)
			code = 1
			continue
		}
		dst = append(dst, b)
		code++
		if code == 0xFF {
			dst[codeAt] = code
			codeAt = len(dst)
			dst = append(dst, 0)
			code = 1
		}
	}
	dst[codeAt] = code
	return dst
}

// cobsDecode decodes one COBS block (without its delimiter).
func cobsDecode(src []byte) ([]byte, error) {
	out := make([]byte, 0, len(src))
	for i := 0; i < len(src); {
		code := int(src[i])
		if code == 0 {
			return nil, ErrCOBS
		}
		i++
		end := i + code - 1
		if end > len(src) {
			return nil, ErrCOBS
		}
		for _, b := range src[i:end] {
			if b == 0 {
				return nil, ErrCOBS
			}
		}
		out = append(out, src[i:end]...)
		i = end
		if code < 0xFF && i < len(src) {
			out = append(out, 0)
		}
	}
	return out, nil
}

// cobsMaxEncodedLen is the longest encoding of n bytes: one overhead byte
// per started run of 254 bytes.
func cobsMaxEncodedLen(n int) int { return n + n/254 + 1 }
