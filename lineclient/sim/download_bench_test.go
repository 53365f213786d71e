package sim_test

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/dacline/dacline/lineclient/esp/romloader"
	"github.com/dacline/dacline/lineclient/sim"
)

// appImage is n bytes that compress about as an ESP32 app does (to ~60%):
// code-like runs mixed with incompressible constants.
func appImage(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 7))
	b := make([]byte, 0, n)
	for len(b) < n {
		if r.IntN(10) < 4 {
			for range 64 {
				b = append(b, byte(r.UintN(256)))
			}
		} else {
			op := byte(r.UintN(16))
			for i := range 64 {
				b = append(b, op<<4|byte(i%7), 0x00, byte(r.UintN(4)))
			}
		}
	}
	return b[:n]
}

func compressedLen(b []byte) int {
	var z bytes.Buffer
	w, _ := zlib.NewWriterLevel(&z, zlib.BestCompression)
	w.Write(b)
	w.Close()
	return z.Len()
}

// wireTime is how long n bytes take at baud, 8N1.
func wireTime(n, baud int) time.Duration {
	return time.Duration(n) * 10 * time.Second / time.Duration(baud)
}

func flashOnce(b *testing.B, port string, img []byte, baud int) time.Duration {
	c, p := romDialB(b, port)
	defer p.Close()
	if _, err := c.Connect(20); err != nil {
		b.Fatal(err)
	}
	if baud != 115200 {
		if err := c.ChangeBaud(baud); err != nil {
			b.Fatal(err)
		}
	}
	if err := c.AttachFlash(romloader.FlashSize); err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	if err := c.WriteVerified(0x20000, img, true, 3, romloader.FlashSize, nil); err != nil {
		b.Fatal(err)
	}
	return time.Since(t0)
}

func romDialB(b *testing.B, path string) (*romloader.Client, interface{ Close() error }) {
	c, p, err := romloader.Dial(path, 20)
	if err != nil {
		b.Fatal(err)
	}
	return c, p
}

// BenchmarkROMFlashApp writes a 1.5 MB app at 921,600 baud through the
// simulated ROM loader with real timing (the line paced at the baud rate,
// the ROM's up-front erase and its page programming before each
// acknowledgement) and prints the time next to the baseline: the wire time
// of the app's compressed size at that baud.
func BenchmarkROMFlashApp(b *testing.B) {
	const size, baud = 1_500_000, 921_600
	img := appImage(size, 1)
	comp := compressedLen(img)
	wire := wireTime(comp, baud)
	s := startSim(b, sim.Options{Count: 1, Seed: 1, Timing: sim.TimingReal, Download: sim.Download{Enabled: true}})
	var took time.Duration
	for range b.N {
		took = flashOnce(b, s.Ports()[0], img, baud)
	}
	ratio := took.Seconds() / wire.Seconds()
	b.ReportMetric(took.Seconds(), "s/write")
	b.ReportMetric(wire.Seconds(), "s-wire-compressed")
	b.ReportMetric(ratio, "x-wire")
	fmt.Printf("ROM flash: %d-byte app (%d compressed) at %d baud: %.2f s, wire time of the compressed size %.2f s, ratio %.2f×\n",
		size, comp, baud, took.Seconds(), wire.Seconds(), ratio)
}

// BenchmarkROMFlashPorts writes the same 256 KB app on 16 simulated jigs in
// parallel and on one, with real timing, and prints the throughput ratio.
func BenchmarkROMFlashPorts(b *testing.B) {
	const size, baud, n = 256_000, 921_600, 16
	img := appImage(size, 2)
	s := startSim(b, sim.Options{Count: n, Seed: 2, Timing: sim.TimingReal, Download: sim.Download{Enabled: true}})
	var one, all time.Duration
	for range b.N {
		t0 := time.Now()
		flashOnce(b, s.Ports()[0], img, baud)
		one = time.Since(t0)
		t0 = time.Now()
		var wg sync.WaitGroup
		for _, p := range s.Ports() {
			wg.Add(1)
			go func() {
				defer wg.Done()
				flashOnce(b, p, img, baud)
			}()
		}
		wg.Wait()
		all = time.Since(t0)
	}
	speedup := float64(n) * one.Seconds() / all.Seconds()
	b.ReportMetric(speedup, "x-one-port")
	fmt.Printf("ROM flash on %d ports: %.2f s for all, %.2f s for one: %.1f× the throughput of one port\n", n, all.Seconds(), one.Seconds(), speedup)
}
