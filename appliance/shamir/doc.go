// Package shamir is Shamir's secret sharing over GF(256): a secret of any
// length is split into N shares, any M of which give it back, while M−1
// reveal nothing about it. Each byte of the secret is the constant term of
// its own random polynomial of degree M−1; share i holds every polynomial's
// value at x = i.
//
// Invariants:
//   - Field arithmetic (gf256.go) runs in constant time: no branch and no
//     table lookup depends on a secret byte. Multiplication is shift-and-add
//     with masks; inversion is a fixed chain of multiplications (a^254).
//     Only share x-coordinates, which are public, are ever inverted.
//   - Split takes its randomness from the caller (the HSM's generator, or
//     crypto/rand); a short read fails the split, it never yields weak
//     coefficients.
//   - Combine checks what it can (distinct non-zero x, equal lengths) but
//     cannot know whether the shares belong together or reach the
//     threshold: the caller binds shares to their secret (package quorum).
package shamir
