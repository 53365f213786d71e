package shamir

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"testing"
)

// refMul is an independent definition: polynomial multiplication, then
// reduction by 0x11b, bit by bit with branches (fine in a test).
func refMul(a, b byte) byte {
	var p uint16
	for i := 0; i < 8; i++ {
		if b&(1<<i) != 0 {
			p ^= uint16(a) << i
		}
	}
	for bit := 14; bit >= 8; bit-- {
		if p&(1<<bit) != 0 {
			p ^= 0x11b << (bit - 8)
		}
	}
	return byte(p)
}

func TestMulMatchesReference(t *testing.T) {
	for a := 0; a < 256; a++ {
		for b := 0; b < 256; b++ {
			if got, want := mul(byte(a), byte(b)), refMul(byte(a), byte(b)); got != want {
				t.Fatalf("mul(%#x, %#x) = %#x, want %#x", a, b, got, want)
			}
		}
	}
	// A known AES value (FIPS 197 §4.2): {57} • {83} = {c1}.
	if mul(0x57, 0x83) != 0xc1 {
		t.Fatal("{57}•{83} != {c1}")
	}
}

func TestInverse(t *testing.T) {
	if inv(0) != 0 {
		t.Fatal("inv(0) != 0")
	}
	for a := 1; a < 256; a++ {
		if mul(byte(a), inv(byte(a))) != 1 {
			t.Fatalf("a·inv(a) != 1 for a = %#x", a)
		}
	}
}

// combinations calls fn with every k-subset of 0..n-1.
func combinations(n, k int, fn func([]int)) {
	idx := make([]int, k)
	var rec func(start, depth int)
	rec = func(start, depth int) {
		if depth == k {
			fn(append([]int(nil), idx...))
			return
		}
		for i := start; i < n; i++ {
			idx[depth] = i
			rec(i+1, depth+1)
		}
	}
	rec(0, 0)
}

// Property: for every M ≤ N ≤ 7, every M-subset (and every larger subset)
// of the shares gives the secret back.
func TestAnyMOfNReconstruct(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef-pin")
	for n := 1; n <= 7; n++ {
		for m := 1; m <= n; m++ {
			shares, err := Split(secret, m, n, rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			for k := m; k <= n; k++ {
				combinations(n, k, func(set []int) {
					var sub []Share
					for _, i := range set {
						sub = append(sub, shares[i])
					}
					got, err := Combine(sub)
					if err != nil || !bytes.Equal(got, secret) {
						t.Fatalf("%d of %d, shares %v: got %q, %v", m, n, set, got, err)
					}
				})
			}
			if m > 1 {
				// M−1 shares give something else (with overwhelming probability
				// for a 36-byte secret).
				got, _ := Combine(shares[:m-1])
				if bytes.Equal(got, secret) {
					t.Fatalf("%d of %d: %d shares reconstructed the secret", m, n, m-1)
				}
			}
		}
	}
}

// fixedReader yields given bytes, so that every possible coefficient
// vector can be enumerated.
type fixedReader struct{ b []byte }

func (r *fixedReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

// Property, by exhaustion: M−1 shares reveal nothing. For a one-byte secret
// and every choice of the M−1 random coefficients, the M−1 shares' values
// are uniformly distributed over all 256^(M−1) tuples whatever the secret:
// each tuple occurs exactly once, so the shares are independent of it.
func TestMMinusOneRevealNothing(t *testing.T) {
	for _, m := range []int{2, 3} {
		for _, secret := range []byte{0x00, 0x5a, 0xff} {
			count := map[string]int{}
			total := 1 << (8 * (m - 1))
			for c := 0; c < total; c++ {
				coef := []byte{byte(c), byte(c >> 8)}[:m-1]
				shares, err := Split([]byte{secret}, m, m+1, &fixedReader{coef})
				if err != nil {
					t.Fatal(err)
				}
				// Any M−1 of them: take the last M−1 (x = 3.. for m=2, etc.).
				var key []byte
				for _, s := range shares[2:][:m-1] {
					key = append(key, s.Y[0])
				}
				count[string(key)]++
			}
			if len(count) != total {
				t.Fatalf("m=%d secret %#x: %d distinct share tuples of %d: not uniform", m, secret, len(count), total)
			}
		}
	}
}

func TestSplitRefusals(t *testing.T) {
	for _, c := range []struct {
		secret []byte
		m, n   int
	}{{nil, 1, 1}, {[]byte{1}, 0, 3}, {[]byte{1}, 4, 3}, {[]byte{1}, 2, 256}} {
		if _, err := Split(c.secret, c.m, c.n, rand.Reader); err == nil {
			t.Errorf("Split(%v, %d, %d) accepted", c.secret, c.m, c.n)
		}
	}
	if _, err := Split([]byte{1, 2}, 3, 3, &fixedReader{[]byte{1}}); err == nil {
		t.Error("a short random read was accepted")
	}
}

func TestCombineRefusals(t *testing.T) {
	for name, sh := range map[string][]Share{
		"none":    nil,
		"x=0":     {{X: 0, Y: []byte{1}}},
		"same x":  {{X: 1, Y: []byte{1}}, {X: 1, Y: []byte{2}}},
		"lengths": {{X: 1, Y: []byte{1}}, {X: 2, Y: []byte{1, 2}}},
		"empty y": {{X: 1, Y: nil}},
	} {
		if _, err := Combine(sh); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

var errRead = errors.New("boom")

type failReader struct{}

func (failReader) Read([]byte) (int, error) { return 0, errRead }

func TestSplitRandomFailure(t *testing.T) {
	if _, err := Split([]byte("x"), 2, 3, failReader{}); !errors.Is(err, errRead) {
		t.Fatalf("got %v", err)
	}
}

func BenchmarkSplitCombinePIN(b *testing.B) {
	secret := make([]byte, 80)
	for i := 0; i < b.N; i++ {
		s, _ := Split(secret, 3, 5, rand.Reader)
		Combine(s[:3])
	}
}
