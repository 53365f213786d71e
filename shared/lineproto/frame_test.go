package lineproto

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
)

func TestCOBSRoundTrip(t *testing.T) {
	cases := [][]byte{
		{}, {0}, {0, 0}, {1}, {1, 0, 2},
		bytes.Repeat([]byte{0xAA}, 253), bytes.Repeat([]byte{0xAA}, 254), bytes.Repeat([]byte{0xAA}, 255),
		bytes.Repeat([]byte{0}, 300), append(bytes.Repeat([]byte{7}, 254), 0),
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		b := make([]byte, r.IntN(1100))
		for i := range b {
			if r.IntN(4) == 0 {
				b[i] = 0
			} else {
				b[i] = byte(r.Uint32())
			}
		}
		cases = append(cases, b)
	}
	for _, c := range cases {
		enc := cobsEncode(nil, c)
		if bytes.IndexByte(enc, 0) >= 0 {
			t.Fatalf("encoding of %d bytes contains a zero", len(c))
		}
		if len(enc) > cobsMaxEncodedLen(len(c)) {
			t.Fatalf("encoding of %d bytes is %d > bound %d", len(c), len(enc), cobsMaxEncodedLen(len(c)))
		}
		dec, err := cobsDecode(enc)
		if err != nil || !bytes.Equal(dec, c) {
			t.Fatalf("round trip of %x: got %x, %v", c, dec, err)
		}
	}
}

func TestCOBSRejects(t *testing.T) {
	for _, bad := range [][]byte{{0}, {5, 1, 2}, {3, 1, 0}, {2}} {
		if _, err := cobsDecode(bad); !errors.Is(err, ErrCOBS) {
			t.Errorf("cobsDecode(%x) = %v, want ErrCOBS", bad, err)
		}
	}
}

func TestFrameRoundTripAndCRC(t *testing.T) {
	payload := []byte("hello\x00world")
	f, err := AppendFrame(nil, payload)
	if err != nil {
		t.Fatal(err)
	}
	if f[0] != Delimiter || f[len(f)-1] != Delimiter || bytes.IndexByte(f[1:len(f)-1], 0) >= 0 {
		t.Fatalf("frame %x is not delimiter ‖ cobs ‖ delimiter", f)
	}
	got, err := DecodeFrame(f[1 : len(f)-1])
	if err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("DecodeFrame = %q, %v", got, err)
	}
	// Every single-bit flip inside the frame is caught (by COBS or by the CRC).
	for i := 1; i < len(f)-1; i++ {
		for bit := range 8 {
			c := bytes.Clone(f[1 : len(f)-1])
			c[i-1] ^= 1 << bit
			if c[i-1] == 0 {
				continue // a new delimiter splits the frame; the deframer test covers it
			}
			if p, err := DecodeFrame(c); err == nil {
				t.Fatalf("flip byte %d bit %d accepted: %q", i, bit, p)
			}
		}
	}
	if _, err := AppendFrame(nil, make([]byte, MaxPayload+1)); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("oversized payload: %v", err)
	}
	if _, err := DecodeFrame(cobsEncode(nil, []byte{1, 2})); !errors.Is(err, ErrFrameTooShort) {
		t.Fatalf("short frame: %v", err)
	}
}

// TestDeframerResync feeds frames with garbage, truncated frames and an
// overlong run between them and checks every intact frame comes out.
func TestDeframerResync(t *testing.T) {
	var stream []byte
	var want [][]byte
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 50 {
		p := make([]byte, 1+r.IntN(300))
		for j := range p {
			p[j] = byte(r.Uint32())
		}
		f, _ := AppendFrame(nil, p)
		switch i % 5 {
		case 1: // noise before the frame (without a delimiter: it merges and fails, then the leading delimiter resyncs)
			stream = append(stream, []byte{0x13, 0x37, 0xFF}...)
		case 2: // a truncated frame before it
			stream = append(stream, f[:len(f)/2]...)
		case 3: // an overlong run with no delimiter
			stream = append(stream, bytes.Repeat([]byte{0x55}, MaxEncodedFrame+10)...)
		}
		stream = append(stream, f...)
		want = append(want, p)
	}
	for _, chunk := range []int{1, 7, 64, len(stream)} {
		var d Deframer
		var got [][]byte
		bad := 0
		for i := 0; i < len(stream); i += chunk {
			d.Feed(stream[i:min(i+chunk, len(stream))], func(fr FrameResult) {
				if fr.Err != nil {
					bad++
					return
				}
				got = append(got, fr.Payload)
			})
		}
		if len(got) != len(want) {
			t.Fatalf("chunk %d: got %d frames, want %d (bad %d)", chunk, len(got), len(want), bad)
		}
		for i := range want {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("chunk %d: frame %d differs", chunk, i)
			}
		}
		if bad != 30 { // 10 noise + 10 truncated + 10 overlong
			t.Fatalf("chunk %d: %d bad frames reported, want 30", chunk, bad)
		}
	}
}

func FuzzDecodeFrame(f *testing.F) {
	fr, _ := AppendFrame(nil, []byte{1, 2, 3, 0, 4})
	f.Add(fr[1 : len(fr)-1])
	f.Add([]byte{0xFF})
	f.Add([]byte{1, 1, 1, 1, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := DecodeFrame(b)
		if err != nil {
			return
		}
		again, err := AppendFrame(nil, p)
		if err != nil {
			t.Fatalf("decoded payload does not re-encode: %v", err)
		}
		p2, err := DecodeFrame(again[1 : len(again)-1])
		if err != nil || !bytes.Equal(p, p2) {
			t.Fatalf("re-encoded frame decodes differently")
		}
		var d Deframer
		n := 0
		d.Feed(append(append([]byte{0}, b...), 0), func(fr FrameResult) {
			n++
			if fr.Err != nil || !bytes.Equal(fr.Payload, p) {
				t.Fatalf("deframer disagrees with DecodeFrame")
			}
		})
		if n != 1 {
			t.Fatalf("deframer emitted %d frames", n)
		}
	})
}
