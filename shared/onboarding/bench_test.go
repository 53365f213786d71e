package onboarding

import (
	"fmt"
	"testing"
	"time"
)

func BenchmarkEncodeQR(b *testing.B) {
	p := validPayload()
	for b.Loop() {
		if _, err := EncodeQR(p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeQR(b *testing.B) {
	s, _ := EncodeQR(validPayload())
	for b.Loop() {
		if _, err := DecodeQR(s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeManual(b *testing.B) {
	for b.Loop() {
		if _, err := DecodeManual("34970112332"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifier measures the per-device cost of the SPAKE2+ verifier at the
// SDK minimum (1000) and the mfg-tool default (10000) iteration counts, and reports
// each as a ratio to the QR encode of the same run (the baseline a station does
// for every device anyway).
func BenchmarkVerifier(b *testing.B) {
	salt := []byte("0123456789abcdef0123456789abcdef")
	baseNs := encodeQRNs()
	for _, iter := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("iterations=%d", iter), func(b *testing.B) {
			for b.Loop() {
				if _, err := Verifier(20202021, salt, iter); err != nil {
					b.Fatal(err)
				}
			}
			if baseNs > 0 {
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/baseNs, "x-encodeQR")
			}
		})
	}
}

// encodeQRNs times EncodeQR in this run (testing.Benchmark cannot nest).
func encodeQRNs() float64 {
	p := validPayload()
	const n = 20000
	start := time.Now()
	for range n {
		EncodeQR(p)
	}
	return float64(time.Since(start).Nanoseconds()) / n
}
