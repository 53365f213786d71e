package shamir

import (
	"errors"
	"fmt"
	"io"
)

// Share is one share of a secret: X is its public, non-zero x-coordinate,
// Y the polynomials' values there (as long as the secret).
type Share struct {
	X byte
	Y []byte
}

// MaxShares is the most shares a secret can be split into (x = 1..255).
const MaxShares = 255

// Split splits secret into n shares, any m of which recombine it; share i
// has X = i+1. rand supplies (m−1)·len(secret) coefficient bytes.
func Split(secret []byte, m, n int, rand io.Reader) ([]Share, error) {
	switch {
	case len(secret) == 0:
		return nil, errors.New("shamir: empty secret")
	case m < 1 || n < m:
		return nil, fmt.Errorf("shamir: threshold %d of %d shares: want 1 <= threshold <= shares", m, n)
	case n > MaxShares:
		return nil, fmt.Errorf("shamir: %d shares, at most %d", n, MaxShares)
	}
	coef := make([]byte, (m-1)*len(secret))
	defer clear(coef)
	if _, err := io.ReadFull(rand, coef); err != nil {
		return nil, fmt.Errorf("shamir: random coefficients: %w", err)
	}
	shares := make([]Share, n)
	for i := range shares {
		x := byte(i + 1)
		y := make([]byte, len(secret))
		for j, s := range secret {
			// Horner: (((c[m-1])x + c[m-2])x + ... + c[1])x + secret
			var acc byte
			for k := m - 1; k >= 1; k-- {
				acc = mul(acc, x) ^ coef[(k-1)*len(secret)+j]
			}
			y[j] = mul(acc, x) ^ s
		}
		shares[i] = Share{X: x, Y: y}
	}
	return shares, nil
}

// Combine interpolates the shares' polynomials at x = 0. Given at least the
// threshold of shares of one split it returns the secret; given fewer, or
// shares of different splits, it returns bytes unrelated to any secret
// (the caller must check the result).
func Combine(shares []Share) ([]byte, error) {
	if len(shares) == 0 {
		return nil, errors.New("shamir: no shares")
	}
	n := len(shares[0].Y)
	seen := map[byte]bool{}
	for _, s := range shares {
		if s.X == 0 {
			return nil, errors.New("shamir: share with x = 0")
		}
		if seen[s.X] {
			return nil, fmt.Errorf("shamir: two shares with x = %d", s.X)
		}
		seen[s.X] = true
		if len(s.Y) != n || n == 0 {
			return nil, fmt.Errorf("shamir: share x = %d is %d bytes, want %d", s.X, len(s.Y), n)
		}
	}
	secret := make([]byte, n)
	for i, si := range shares {
		// Lagrange basis at 0: prod over j≠i of x_j / (x_j − x_i); x are public.
		l := byte(1)
		for j, sj := range shares {
			if i != j {
				l = mul(l, mul(sj.X, inv(sj.X^si.X)))
			}
		}
		for k := range secret {
			secret[k] ^= mul(l, si.Y[k])
		}
	}
	return secret, nil
}
