package bundle

import (
	"bytes"
	"testing"
)

// flipPositions samples positions across raw: every byte of the first and last 150
// (age header and first chunk; final chunk and tar end) and n evenly spaced ones.
func flipPositions(size, n int) []int {
	seen := map[int]bool{}
	var out []int
	add := func(p int) {
		if p >= 0 && p < size && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for i := 0; i < 150; i++ {
		add(i)
		add(size - 1 - i)
	}
	for i := 0; i < n; i++ {
		add(i * size / n)
	}
	return out
}

// TestFlippedBytesRefused flips bytes across whole bundles (age header, ciphertext body,
// final chunk; for the signed-only kind every tar header, padding, manifest, signature
// and payload byte) and requires every one to be refused with a *RefusalError.
func TestFlippedBytesRefused(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		name string
		raw  []byte
		opts ReadOptions
	}{
		{"encrypted csr-batch", seal(t, Header{Kind: KindCSRBatch, Created: fixedTime}, f.station, f.appliance.id.Recipient(),
			payloadFile{"csrs.jsonl", csrLines(900)}), f.applianceOpts(t)},
		{"signed-only log-export", seal(t, Header{Kind: KindLogExport, Created: fixedTime}, f.appliance, nil,
			payloadFile{"log.jsonl", csrLines(20)}, payloadFile{"checkpoint.txt", "x\n1\nAAAA\n"}), ReadOptions{Resolve: f.resolve, TempDir: t.TempDir()}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if b, err := Read(bytes.NewReader(c.raw), c.opts); err != nil {
				t.Fatalf("unflipped bundle refused: %v", err)
			} else {
				b.Close()
			}
			positions := flipPositions(len(c.raw), 700)
			if len(positions) < 200 {
				t.Fatalf("only %d positions sampled", len(positions))
			}
			masks := []byte{0x01, 0x20, 0x80}
			for i, p := range positions {
				for _, mask := range []byte{masks[i%3]} {
					mod := bytes.Clone(c.raw)
					mod[p] ^= mask
					b, err := Read(bytes.NewReader(mod), c.opts)
					if err == nil {
						b.Close()
						t.Fatalf("byte %d of %d xor 0x%02x: accepted", p, len(c.raw), mask)
					}
					wantRefused(t, err, nil)
				}
			}
			t.Logf("%d positions refused over %d bytes", len(positions), len(c.raw))
		})
	}
}
