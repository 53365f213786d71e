package onboarding

import (
	"errors"
	"fmt"
	"strings"
)

const (
	// QRPrefix starts every Matter QR code payload.
	QRPrefix = "MT:"
	// qrSeparator joins several payloads behind one prefix (SDK kPayloadDelimiter).
	qrSeparator = "*"
	// qrMaxLen bounds the input: the capacity of the largest QR code in
	// alphanumeric mode (version 40-L).
	qrMaxLen = 4296
)

// ErrInvalidQR marks a string that is not a Matter QR code payload.
var ErrInvalidQR = errors.New("invalid QR code payload")

// EncodeQR returns the "MT:" string of p after checking it with Validate.
func EncodeQR(p Payload) (string, error) {
	s, err := encodeQRBody(p)
	if err != nil {
		return "", err
	}
	return QRPrefix + s, nil
}

// EncodeQRs joins several payloads behind one prefix, separated by '*' (used for
// products made of several devices).
func EncodeQRs(ps []Payload) (string, error) {
	if len(ps) == 0 {
		return "", fmt.Errorf("%w: no payload to encode", ErrInvalidPayload)
	}
	parts := make([]string, len(ps))
	for i, p := range ps {
		s, err := encodeQRBody(p)
		if err != nil {
			return "", fmt.Errorf("payload %d of %d: %w", i+1, len(ps), err)
		}
		parts[i] = s
	}
	return QRPrefix + strings.Join(parts, qrSeparator), nil
}

func encodeQRBody(p Payload) (string, error) {
	if err := p.Validate(); err != nil {
		return "", err
	}
	packed := p.pack()
	return Base38Encode(append(packed[:], encodeTLV(p.Optional)...)), nil
}

// DecodeQR decodes a QR code payload that holds exactly one payload. A
// concatenated string ("MT:…*…") is refused with a pointer to DecodeQRs.
func DecodeQR(s string) (Payload, error) {
	ps, err := DecodeQRs(s)
	if err != nil {
		return Payload{}, err
	}
	if len(ps) != 1 {
		return Payload{}, fmt.Errorf("%w: holds %d payloads joined with '*'; decode it as a list", ErrInvalidQR, len(ps))
	}
	return ps[0], nil
}

// DecodeQRs decodes a QR code payload holding one or more payloads joined with
// '*'. Every payload must be valid (SDK SetupPayload::FromStringRepresentation);
// reserved discovery bits are kept, as the SDK does when consuming.
func DecodeQRs(s string) ([]Payload, error) {
	if len(s) > qrMaxLen {
		return nil, fmt.Errorf("%w: %d characters, more than a QR code holds (%d)", ErrInvalidQR, len(s), qrMaxLen)
	}
	body, ok := strings.CutPrefix(s, QRPrefix)
	if !ok {
		return nil, fmt.Errorf("%w: must start with %q (got %q)", ErrInvalidQR, QRPrefix, head(s, 3))
	}
	parts := strings.Split(body, qrSeparator)
	out := make([]Payload, 0, len(parts))
	for i, part := range parts {
		p, err := decodeQRBody(part)
		if err != nil {
			if len(parts) > 1 {
				return nil, fmt.Errorf("payload %d of %d: %w", i+1, len(parts), err)
			}
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func decodeQRBody(s string) (Payload, error) {
	if s == "" {
		return Payload{}, fmt.Errorf("%w: empty payload after %q", ErrInvalidQR, QRPrefix)
	}
	b, err := Base38Decode(s)
	if err != nil {
		return Payload{}, fmt.Errorf("%w: %w", ErrInvalidQR, err)
	}
	if len(b) < packedBytes {
		return Payload{}, fmt.Errorf("%w: %d base38 characters decode to %d bytes, need at least %d (%d characters)",
			ErrInvalidQR, len(s), len(b), packedBytes, 19)
	}
	p, err := unpack(b[:packedBytes])
	if err != nil {
		return Payload{}, fmt.Errorf("%w: %w", ErrInvalidQR, err)
	}
	if p.Optional, err = decodeTLV(b[packedBytes:]); err != nil {
		return Payload{}, fmt.Errorf("%w: %w", ErrInvalidQR, err)
	}
	if err := p.validateConsume(); err != nil {
		return Payload{}, fmt.Errorf("%w: %w", ErrInvalidQR, err)
	}
	return p, nil
}

func head(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
