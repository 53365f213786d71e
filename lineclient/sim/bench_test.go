package sim_test

import (
	"errors"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/term"

	"github.com/dacline/dacline/lineclient/sim"
	"github.com/dacline/dacline/lineclient/transport"
	"github.com/dacline/dacline/shared/lineproto"
)

// BenchmarkRoundTrip measures IDENTIFY round trips through the simulator's
// PTY and, as the baseline in the same run, a bare echo of the same number
// of bytes through another PTY opened the same way. The ratio is the cost of
// the protocol and the module on top of the line itself.
func BenchmarkRoundTrip(b *testing.B) {
	s := startSim(b, sim.Options{Count: 1, Seed: 1})
	c, _ := dial(b, s.Ports()[0], lineproto.ClientOptions{})
	ctx := ctxT(b)
	if _, err := c.Identify(ctx); err != nil {
		b.Fatal(err)
	}
	const n = 500
	echoSize := 120 // about a request plus an IDENTIFY reply

	t0 := time.Now()
	for range n {
		if _, err := c.Identify(ctx); err != nil {
			b.Fatal(err)
		}
	}
	proto := time.Since(t0)
	base := bareEcho(b, n, echoSize)
	b.ReportMetric(float64(n)/proto.Seconds(), "identify/s")
	b.ReportMetric(float64(n)/base.Seconds(), "bare-echo/s")
	b.ReportMetric(proto.Seconds()/base.Seconds(), "x-bare")
	for range b.N {
		if _, err := c.Identify(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func bareEcho(b *testing.B, n, size int) time.Duration {
	master, slave, err := pty.Open()
	if err != nil {
		b.Fatal(err)
	}
	defer slave.Close()
	term.MakeRaw(int(slave.Fd()))
	fd, _ := syscall.Dup(int(master.Fd()))
	master.Close()
	syscall.SetNonblock(fd, true)
	m := os.NewFile(uintptr(fd), "ptmx")
	defer m.Close()
	go func() {
		buf := make([]byte, 4096)
		for {
			k, err := m.Read(buf)
			if err != nil {
				return
			}
			m.Write(buf[:k])
		}
	}()
	p, err := transport.Open(slave.Name(), transport.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	msg := make([]byte, size)
	buf := make([]byte, size)
	t0 := time.Now()
	for range n {
		p.Write(msg)
		for got := 0; got < size; {
			k, err := p.Read(buf[got:])
			if err != nil || k == 0 {
				b.Fatal(errors.Join(err, errors.New("echo stalled")))
			}
			got += k
		}
	}
	return time.Since(t0)
}
