package romloader

import (
	"bytes"
	"crypto/md5"
	"errors"
	"math/rand/v2"
	"testing"
)

func testImage(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		if i%7 < 3 {
			b[i] = byte(r.UintN(256)) // partly random, partly compressible
		} else {
			b[i] = byte(i >> 4)
		}
	}
	return b
}

func TestDetectEachChip(t *testing.T) {
	mac := [6]byte{0x02, 0xDA, 0xC1, 0x01, 0x02, 0x03}
	for _, c := range Chips {
		t.Run(c.Name, func(t *testing.T) {
			r := newRig(t, ServerConfig{Chip: c, MAC: mac, Security: func() SecurityInfo { return SecurityInfo{FlashCryptCnt: 1} }})
			got, err := r.client.Connect(5)
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != c.Name {
				t.Fatalf("detected %s, want %s", got.Name, c.Name)
			}
			if r.client.Stub {
				t.Fatal("a ROM detected as the stub")
			}
			m, err := r.client.ReadMAC()
			if err != nil || m != mac {
				t.Fatalf("mac %x %v, want %x", m, err, mac)
			}
			if c.HasSecurityInfo != r.client.hasSecurity {
				t.Fatalf("security info read = %v, chip has it = %v", r.client.hasSecurity, c.HasSecurityInfo)
			}
			if c.HasSecurityInfo && !r.client.Security.FlashEncryption() {
				t.Fatal("flash-crypt count 1 not reported as encryption on")
			}
		})
	}
}

func TestWriteVerifiedCompressedAndPlain(t *testing.T) {
	r := newRig(t, ServerConfig{})
	if _, err := r.client.Connect(5); err != nil {
		t.Fatal(err)
	}
	if err := r.client.AttachFlash(FlashSize); err != nil {
		t.Fatal(err)
	}
	img := testImage(100_003, 1) // not a multiple of 4: padded with 0xFF
	if err := r.client.WriteVerified(0x20000, img, true, 3, FlashSize, nil); err != nil {
		t.Fatal(err)
	}
	boot := testImage(5000, 2)
	if err := r.client.WriteVerified(0x0, boot, false, 3, FlashSize, nil); err != nil {
		t.Fatal(err)
	}
	fl := r.flash.Bytes()
	if !bytes.Equal(fl[0x20000:0x20000+len(img)], img) || !bytes.Equal(fl[:len(boot)], boot) {
		t.Fatal("flash does not hold the images")
	}
	if fl[0x20000+len(img)] != 0xFF || fl[len(boot)] != 0xFF {
		t.Fatal("padding is not 0xFF")
	}
	back, err := r.client.ReadFlash(0x20000+1000, 200, nil)
	if err != nil || !bytes.Equal(back, img[1000:1200]) {
		t.Fatalf("read back: %v", err)
	}
	// MD5 of a region we did not write: the erased flash.
	sum, err := r.client.FlashMD5(0x300000, 0x1000)
	if err != nil || sum != md5.Sum(bytes.Repeat([]byte{0xFF}, 0x1000)) {
		t.Fatalf("md5 of erased flash: %x %v", sum, err)
	}
}

func TestFlashIsNOR(t *testing.T) {
	// Bits only go 1 → 0 without an erase: a loader that forgot to erase
	// would leave a mix, and the MD5 would catch it.
	fl := NewMemFlash(FlashSize)
	s := NewServer(ServerConfig{Chip: chip(t, "C3"), Flash: fl}, func([]byte) {})
	w := &writeSession{offset: 0x1000, eraseSize: 4, blockSize: 4}
	fl.WriteAt([]byte{0x0F, 0xF0, 0xFF, 0x00}, 0x1000)
	if err := s.program(w, []byte{0xFF, 0xFF, 0x0F, 0xFF}); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 4)
	fl.ReadAt(got, 0x1000)
	if !bytes.Equal(got, []byte{0x0F, 0xF0, 0x0F, 0x00}) {
		t.Fatalf("got % x", got)
	}
}

func TestWriteSurvivesDroppedAndCorruptedFrames(t *testing.T) {
	r := newRig(t, ServerConfig{Seed: 7, Faults: ServerFaults{DropRequest: 0.03, DropReply: 0.03, CorruptReply: 0.03}})
	if _, err := r.client.Connect(20); err != nil {
		t.Fatal(err)
	}
	if err := r.client.AttachFlash(FlashSize); err != nil {
		t.Fatal(err)
	}
	img := testImage(48_000, 3)
	if err := r.client.WriteVerified(0x20000, img, true, 5, FlashSize, nil); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(r.flash.Bytes()[0x20000:0x20000+len(img)], img) {
		t.Fatal("flash differs")
	}
	st := r.srv.Stats()
	if st.Faults["drop-request"]+st.Faults["drop-reply"]+st.Faults["corrupt-reply"] == 0 {
		t.Fatalf("no fault injected: %+v", st)
	}
}

func TestWriteSurvivesResetDuringWrite(t *testing.T) {
	r := newRig(t, ServerConfig{Seed: 3, Faults: ServerFaults{ResetDuringWrite: 0.15}})
	if _, err := r.client.Connect(5); err != nil {
		t.Fatal(err)
	}
	if err := r.client.AttachFlash(FlashSize); err != nil {
		t.Fatal(err)
	}
	img := testImage(20_000, 4)
	if err := r.client.WriteVerified(0x20000, img, false, 10, FlashSize, nil); err != nil {
		t.Fatal(err)
	}
	if r.srv.Stats().Faults["reset-during-write"] == 0 {
		t.Fatal("no reset injected")
	}
	if !bytes.Equal(r.flash.Bytes()[0x20000:0x20000+len(img)], img) {
		t.Fatal("flash differs")
	}
}

func TestMD5MismatchAfterRetriesIsAnError(t *testing.T) {
	r := newRig(t, ServerConfig{Faults: ServerFaults{BadWrite: 1}})
	if _, err := r.client.Connect(5); err != nil {
		t.Fatal(err)
	}
	if err := r.client.AttachFlash(FlashSize); err != nil {
		t.Fatal(err)
	}
	err := r.client.WriteVerified(0x20000, testImage(3000, 5), true, 2, FlashSize, nil)
	if !errors.Is(err, ErrMD5Mismatch) {
		t.Fatalf("err = %v, want ErrMD5Mismatch", err)
	}
	if got := r.srv.Stats().Faults["bad-write"]; got < 2 {
		t.Fatalf("bad writes %d, want one per attempt at least", got)
	}
}

func TestSecureDownloadMode(t *testing.T) {
	sec := func() SecurityInfo {
		return SecurityInfo{Flags: FlagSecureDownloadEnable | FlagSecureBootEn, FlashCryptCnt: 7}
	}
	r := newRig(t, ServerConfig{Security: sec})
	c, err := r.client.Connect(5)
	if err != nil || c.Name != "ESP32-C3" {
		t.Fatalf("detect in SDM: %v %v", c.Name, err)
	}
	if !r.client.SecureDownload {
		t.Fatal("secure download mode not detected")
	}
	// The client refuses without sending …
	if _, err := r.client.ReadReg(ChipDetectMagicReg); !errors.Is(err, ErrSecureDownload) {
		t.Fatalf("READ_REG: %v", err)
	}
	if err := r.client.WriteVerified(0x20000, []byte{1, 2, 3, 4}, false, 1, FlashSize, nil); !errors.Is(err, ErrSecureDownload) {
		t.Fatalf("verified write: %v", err)
	}
	if err := r.client.WriteRegion(0x20000, []byte{1, 2, 3, 4}, true, nil); !errors.Is(err, ErrSecureDownload) {
		t.Fatalf("compressed write: %v", err)
	}
	if _, err := r.client.ReadFlash(0, 64, nil); !errors.Is(err, ErrSecureDownload) {
		t.Fatalf("read flash: %v", err)
	}
	// … and the chip refuses too when asked anyway.
	var se *StatusError
	if _, _, err := r.client.Command(OpSPIFlashMD5, words(0, 16, 0, 0), 0, 32, DefaultTimeout); !errors.As(err, &se) || !se.Unsupported() {
		t.Fatalf("MD5 in SDM: %v", err)
	}
	// Plain writes are allowed.
	if err := r.client.AttachFlash(FlashSize); err != nil {
		t.Fatal(err)
	}
	if err := r.client.WriteRegion(0x20000, []byte{1, 2, 3, 4}, false, nil); err != nil {
		t.Fatal(err)
	}
	if got := r.flash.Bytes()[0x20000:0x20004]; !bytes.Equal(got, []byte{1, 2, 3, 4}) {
		t.Fatalf("flash % x", got)
	}
}

func TestStubDialect(t *testing.T) {
	// A RAM image executed turns the emulator into esptool's stub: OHAI,
	// 2 status bytes, raw MD5, SYNC value 0.
	r := newRig(t, ServerConfig{})
	if _, err := r.client.Connect(5); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.client.Command(OpMemBegin, words(4, 1, 0x1800, 0x40380000), 0, 0, DefaultTimeout); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.client.Command(OpMemEnd, words(0, 0x40380000), 0, 0, DefaultTimeout); err != nil {
		t.Fatal(err)
	}
	if err := r.client.Sync(5); err != nil {
		t.Fatal(err)
	}
	if !r.client.Stub {
		t.Fatal("stub not detected from SYNC value 0")
	}
	if err := r.client.AttachFlash(FlashSize); err != nil {
		t.Fatal(err)
	}
	img := testImage(9000, 9)
	if err := r.client.WriteVerified(0x20000, img, true, 1, FlashSize, nil); err != nil {
		t.Fatal(err)
	}
	si, err := r.client.GetSecurityInfo()
	if err != nil || si.ChipID != 5 {
		t.Fatalf("security info through the stub: %+v %v", si, err)
	}
}

func TestESP32HasNoSecurityInfo(t *testing.T) {
	r := newRig(t, ServerConfig{Chip: chip(t, "ESP32")})
	if err := r.client.Sync(5); err != nil {
		t.Fatal(err)
	}
	var se *StatusError
	if _, err := r.client.GetSecurityInfo(); !errors.As(err, &se) || !se.Unsupported() {
		t.Fatalf("err = %v", err)
	}
}
