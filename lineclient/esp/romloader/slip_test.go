package romloader

import (
	"bytes"
	"errors"
	"testing"
)

func TestSLIPEscapes(t *testing.T) {
	got := SLIPEncode([]byte{0x01, 0xC0, 0xDB, 0x02})
	want := []byte{0xC0, 0x01, 0xDB, 0xDC, 0xDB, 0xDD, 0x02, 0xC0}
	if !bytes.Equal(got, want) {
		t.Fatalf("encode = % x, want % x", got, want)
	}
	var d SLIPDecoder
	var frames [][]byte
	d.Feed(append([]byte("boot log\r\n"), append(got, got...)...), func(f []byte, err error) {
		if err != nil {
			t.Fatal(err)
		}
		frames = append(frames, bytes.Clone(f))
	})
	if len(frames) != 2 || !bytes.Equal(frames[0], []byte{0x01, 0xC0, 0xDB, 0x02}) {
		t.Fatalf("frames = % x", frames)
	}
	if d.Skipped != len("boot log\r\n") {
		t.Fatalf("skipped %d", d.Skipped)
	}
}

func TestSLIPDecoderRejects(t *testing.T) {
	for name, in := range map[string][]byte{
		"bad escape":      {0xC0, 0x01, 0xDB, 0x05, 0x02, 0xC0},
		"escape at end":   {0xC0, 0x01, 0xDB, 0xC0},
		"longer than max": append(append([]byte{0xC0}, bytes.Repeat([]byte{1}, MaxPacket+1)...), 0xC0),
	} {
		var errs int
		var d SLIPDecoder
		d.Feed(in, func(f []byte, err error) {
			if !errors.Is(err, ErrSLIP) {
				t.Errorf("%s: frame % x err %v, want ErrSLIP", name, f, err)
			}
			errs++
		})
		if errs != 1 {
			t.Errorf("%s: %d results, want one error", name, errs)
		}
		// The decoder recovers at the next frame.
		ok := false
		d.Feed(SLIPEncode([]byte{9}), func(f []byte, err error) { ok = err == nil && bytes.Equal(f, []byte{9}) })
		if !ok {
			t.Errorf("%s: decoder did not recover", name)
		}
	}
}

func TestChecksum(t *testing.T) {
	if got := Checksum(nil); got != 0xEF {
		t.Fatalf("empty = %#x", got)
	}
	if got := Checksum([]byte{0x01, 0x02, 0xFF}); got != 0xEF^0x01^0x02^0xFF {
		t.Fatalf("got %#x", got)
	}
}

func TestPacketRoundTrip(t *testing.T) {
	req := Request{Op: OpFlashData, Checksum: 0x42, Data: []byte{1, 2, 3}}
	raw, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseRequest(raw)
	if err != nil || back.Op != req.Op || back.Checksum != 0x42 || !bytes.Equal(back.Data, req.Data) {
		t.Fatalf("round trip: %+v %v", back, err)
	}
	if _, err := (Request{Data: make([]byte, 0x10000)}).Marshal(); !errors.Is(err, ErrPacket) {
		t.Fatalf("oversized request: %v", err)
	}
	for name, p := range map[string][]byte{
		"short":         {0x00, 0x08},
		"response":      {0x01, 0x08, 0, 0, 0, 0, 0, 0},
		"size mismatch": {0x00, 0x08, 5, 0, 0, 0, 0, 0, 1},
	} {
		if _, err := ParseRequest(p); !errors.Is(err, ErrPacket) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := ParseResponse([]byte{0x00, 0x08, 0, 0, 0, 0, 0, 0}); !errors.Is(err, ErrPacket) {
		t.Errorf("request parsed as response: %v", err)
	}
}

func FuzzSLIPDecoder(f *testing.F) {
	f.Add([]byte{0xC0, 0x00, 0x08, 0x24, 0x00, 0xC0})
	f.Add([]byte{0xC0, 0xDB, 0xDC, 0xDB, 0xDD, 0xC0, 0xDB})
	f.Add([]byte("boot\xc0\xdb\x01\xc0"))
	f.Fuzz(func(t *testing.T, in []byte) {
		var d SLIPDecoder
		d.Feed(in, func(frame []byte, err error) {
			if err == nil {
				if len(frame) == 0 || len(frame) > MaxPacket {
					t.Fatalf("frame of %d bytes", len(frame))
				}
				// What decodes re-encodes and decodes to itself.
				var d2 SLIPDecoder
				n := 0
				d2.Feed(SLIPEncode(frame), func(f2 []byte, err error) {
					if err != nil || !bytes.Equal(f2, frame) {
						t.Fatalf("re-decode % x: % x %v", frame, f2, err)
					}
					n++
				})
				if n != 1 {
					t.Fatal("re-decode gave no frame")
				}
				_, _ = ParseRequest(frame)
				_, _ = ParseResponse(frame)
			}
		})
	})
}

func FuzzParsePacket(f *testing.F) {
	f.Add([]byte{0x00, 0x08, 0x01, 0x00, 0, 0, 0, 0, 0x55})
	f.Add([]byte{0x01, 0x14, 0x18, 0x00, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, p []byte) {
		if r, err := ParseRequest(p); err == nil {
			raw, err := r.Marshal()
			if err != nil || !bytes.Equal(raw, p) {
				t.Fatalf("request re-marshal % x != % x", raw, p)
			}
		}
		if r, err := ParseResponse(p); err == nil {
			if raw := r.Marshal(); !bytes.Equal(raw, p) {
				t.Fatalf("response re-marshal % x != % x", raw, p)
			}
		}
		if len(p) == 20 || len(p) == 12 {
			si, err := ParseSecurityInfo(p)
			if err != nil || !bytes.Equal(si.Marshal(), p) {
				t.Fatalf("security info % x: %v", p, err)
			}
		}
	})
}

// FuzzServer feeds arbitrary bytes to the emulator: it must never panic,
// and never write outside the flash.
func FuzzServer(f *testing.F) {
	raw, _ := Request{Op: OpSync, Data: syncPayload()}.Marshal()
	f.Add(SLIPEncode(raw))
	begin, _ := Request{Op: OpFlashDeflBegin, Data: words(0x1000, 1, 0x400, 0x3FF000, 0)}.Marshal()
	f.Add(append(SLIPEncode(begin), SLIPEncode([]byte{0x00, 0x11, 0x14, 0, 0xEF, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})...))
	f.Fuzz(func(t *testing.T, in []byte) {
		c, _ := ChipByName("ESP32-C3")
		s := NewServer(ServerConfig{Chip: c, Flash: NewMemFlash(FlashSize)}, func([]byte) {})
		s.Feed(in)
		s.Reset()
	})
}
