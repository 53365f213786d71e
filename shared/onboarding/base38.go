package onboarding

import (
	"errors"
	"fmt"
	"strings"
)

// base38Alphabet is the QR code alphanumeric subset the Matter payload uses
// (Matter Core §5.1; SDK src/setup_payload/Base38Decode.cpp): digits, upper-case
// letters, '-' and '.'.
const base38Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-."

// ErrBase38 marks a string that is not valid base38.
var ErrBase38 = errors.New("invalid base38")

// base38CharsPerChunk gives how many characters encode a chunk of 1, 2 or 3 bytes.
var base38CharsPerChunk = [4]int{0, 2, 4, 5}

// Base38Encode encodes b in Matter base38: 3-byte little-endian chunks become 5
// characters (2 bytes → 4, 1 byte → 2), least significant character first.
func Base38Encode(b []byte) string {
	var sb strings.Builder
	sb.Grow((len(b)/3)*5 + 5)
	for i := 0; i < len(b); i += 3 {
		n := min(3, len(b)-i)
		var v uint32
		for j := n - 1; j >= 0; j-- {
			v = v<<8 | uint32(b[i+j])
		}
		for range base38CharsPerChunk[n] {
			sb.WriteByte(base38Alphabet[v%38])
			v /= 38
		}
	}
	return sb.String()
}

// Base38Decode decodes Matter base38. It refuses characters outside the alphabet
// (lower case included), a length that is not 5k, 5k+2 or 5k+4, and chunks whose
// value does not fit their byte count — so every accepted string is the unique
// encoding of its bytes.
func Base38Decode(s string) ([]byte, error) {
	out := make([]byte, 0, len(s)/5*3+2)
	for i := 0; i < len(s); {
		rest := len(s) - i
		var chars, nbytes int
		switch {
		case rest >= 5:
			chars, nbytes = 5, 3
		case rest == 4:
			chars, nbytes = 4, 2
		case rest == 2:
			chars, nbytes = 2, 1
		default:
			return nil, fmt.Errorf("%w: length %d leaves %d character(s) at the end (a chunk is 2, 4 or 5 characters)", ErrBase38, len(s), rest)
		}
		var v uint64
		for j := chars - 1; j >= 0; j-- {
			c := s[i+j]
			d := strings.IndexByte(base38Alphabet, c)
			if d < 0 {
				return nil, fmt.Errorf("%w: character %d (%q) is not in the alphabet 0-9 A-Z - .", ErrBase38, i+j+1, rune(c))
			}
			v = v*38 + uint64(d)
		}
		if v >= 1<<(8*nbytes) {
			return nil, fmt.Errorf("%w: characters %d-%d encode %d, too large for %d byte(s)", ErrBase38, i+1, i+chars, v, nbytes)
		}
		for range nbytes {
			out = append(out, byte(v))
			v >>= 8
		}
		i += chars
	}
	return out, nil
}
