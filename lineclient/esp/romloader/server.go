package romloader

import (
	"bytes"
	"compress/zlib"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"sync"
	"time"
)

// ServerFaults are injection rates in [0,1], rolled per packet (the Drop and
// Corrupt ones) or per data block (BadWrite, ResetDuringWrite).
type ServerFaults struct {
	DropRequest      float64 // a request frame is lost on the way in
	DropReply        float64 // a reply frame is lost on the way out
	CorruptReply     float64 // one byte of a reply frame is changed
	BadWrite         float64 // a data block lands in flash with one bit wrong (only MD5 can tell)
	ResetDuringWrite float64 // the chip resets halfway through writing a data block
}

// ServerStats count what the emulator saw and did.
type ServerStats struct {
	Requests, BadFrames, Replies int
	Faults                       map[string]int
	BytesWritten                 int64
}

// Timing is how long a real chip takes; zero values mean instantly.
type Timing struct {
	// SectorErase is the time to erase one 4 KB sector (a ROM erases the
	// whole region on FLASH_BEGIN).
	SectorErase time.Duration
	// PageProgram is the time to program one 256-byte page.
	PageProgram time.Duration
}

// ServerConfig configures an emulated ROM loader.
type ServerConfig struct {
	Chip  Chip
	MAC   [6]byte
	Flash Flash
	// Security returns the chip's current security summary (the simulator's
	// eFuse state); SECURE_DOWNLOAD_ENABLE in it puts the loader in secure
	// download mode.
	Security func() SecurityInfo
	Faults   ServerFaults
	Seed     uint64
	Timing   Timing
	// Wait, if set, is given the time each exchange takes on a real chip:
	// the frames on the wire at the current baud plus flash time. The
	// simulator's real timing sleeps there; nil means no waiting.
	Wait func(time.Duration)
	// OnReset is called (after the banner is written) when a fault resets
	// the chip.
	OnReset func()
	// OnExit is called after FLASH_END / FLASH_DEFL_END: the chip leaves
	// the loader (runUserCode: boots the app from flash).
	OnExit func(runUserCode bool)
}

// Server is an emulated ROM loader. Feed it the bytes a client sends; it
// writes SLIP-framed replies through the write function. Not safe for
// concurrent Feed calls.
type Server struct {
	cfg   ServerConfig
	write func([]byte)
	rng   *rand.Rand
	dec   SLIPDecoder
	baud  int
	stub  bool

	mu    sync.Mutex
	stats ServerStats

	// write session (RAM: lost on reset)
	w *writeSession
}

type writeSession struct {
	deflate   bool
	offset    uint32
	eraseSize uint32
	blocks    uint32
	blockSize uint32
	next      uint32 // next sequence number expected
	written   uint32 // bytes of output written so far
	inflater  *inflater
}

// NewServer returns an emulator answering through write.
func NewServer(cfg ServerConfig, write func([]byte)) *Server {
	if cfg.Security == nil {
		cfg.Security = func() SecurityInfo { return SecurityInfo{} }
	}
	return &Server{cfg: cfg, write: write, rng: rand.New(rand.NewPCG(cfg.Seed, 0x524f4d)), baud: 115200,
		stats: ServerStats{Faults: map[string]int{}}}
}

// Stats returns a copy of the counters.
func (s *Server) Stats() ServerStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Faults = map[string]int{}
	for k, v := range s.stats.Faults {
		st.Faults[k] = v
	}
	return st
}

// Baud is the line rate the loader is at (CHANGE_BAUDRATE moves it).
func (s *Server) Baud() int { return s.baud }

// Banner is what the ROM prints on the UART when it boots into download
// mode (esptool-js looks for "waiting for download").
func (s *Server) Banner() []byte {
	return []byte("ESP-ROM:" + s.cfg.Chip.Name + "\r\nrst:0x1 (POWERON),boot:0x0 (DOWNLOAD(USB/UART0))\r\nwaiting for download\r\n")
}

// Reset is a chip reset: the write session, the stub and the baud rate are
// lost; the flash keeps what was written.
func (s *Server) Reset() {
	s.endSession()
	s.stub, s.baud = false, 115200
	s.dec.Reset()
}

func (s *Server) endSession() {
	if s.w != nil && s.w.inflater != nil {
		s.w.inflater.abort()
	}
	s.w = nil
}

func (s *Server) fault(name string, rate float64) bool {
	if rate <= 0 || s.rng.Float64() >= rate {
		return false
	}
	s.mu.Lock()
	s.stats.Faults[name]++
	s.mu.Unlock()
	return true
}

func (s *Server) count(f func(*ServerStats)) {
	s.mu.Lock()
	f(&s.stats)
	s.mu.Unlock()
}

// Feed processes bytes from the client.
func (s *Server) Feed(p []byte) {
	s.dec.Feed(p, func(frame []byte, err error) {
		if err != nil {
			s.count(func(st *ServerStats) { st.BadFrames++ })
			return
		}
		req, err := ParseRequest(frame)
		if err != nil {
			s.count(func(st *ServerStats) { st.BadFrames++ })
			return
		}
		if s.fault("drop-request", s.cfg.Faults.DropRequest) {
			return
		}
		s.count(func(st *ServerStats) { st.Requests++ })
		s.serve(req, len(frame))
	})
}

// reply is one answer: value, payload, status (0 ok, else an error code).
type reply struct {
	value   uint32
	payload []byte
	fail    bool
	code    byte
	flash   time.Duration // flash time spent
	repeat  int           // extra copies (SYNC)
	after   func()        // runs after the reply is sent
	noReply bool          // the chip reset: nothing is sent
}

func ok(payload []byte) reply { return reply{payload: payload} }
func fail(code byte) reply    { return reply{fail: true, code: code} }

func (s *Server) serve(req Request, inLen int) {
	r := s.handle(req)
	if r.noReply {
		return
	}
	status := []byte{0, 0, 0, 0}
	if s.stub {
		status = status[:2]
	}
	if r.fail {
		status[0], status[1] = 1, r.code
	}
	frame := SLIPEncode(Response{Op: req.Op, Value: r.value, Data: append(r.payload, status...)}.Marshal())
	baud := s.baud
	for i := 0; i <= r.repeat; i++ {
		s.wait(r.flash + wireTime(inLen+len(frame), baud))
		r.flash = 0
		s.send(frame)
	}
	if r.after != nil {
		r.after()
	}
}

func (s *Server) wait(d time.Duration) {
	if s.cfg.Wait != nil && d > 0 {
		s.cfg.Wait(d)
	}
}

// wireTime is how long n bytes take at baud, 8N1.
func wireTime(n, baud int) time.Duration {
	return time.Duration(n) * 10 * time.Second / time.Duration(baud)
}

func (s *Server) send(frame []byte) {
	if s.fault("drop-reply", s.cfg.Faults.DropReply) {
		return
	}
	if s.fault("corrupt-reply", s.cfg.Faults.CorruptReply) && len(frame) > 2 {
		frame = bytes.Clone(frame)
		i := 1 + s.rng.IntN(len(frame)-2)
		frame[i] ^= byte(1 + s.rng.IntN(255))
	}
	s.count(func(st *ServerStats) { st.Replies++ })
	s.write(frame)
}

// allowedInSecureDownload are the commands secure download mode keeps
// (serial-protocol.rst, "Supported in Secure Download Mode").
var allowedInSecureDownload = map[Op]bool{
	OpSync: true, OpSPIAttach: true, OpSPISetParams: true, OpChangeBaudrate: true,
	OpFlashBegin: true, OpFlashData: true, OpFlashEnd: true, OpGetSecurityInfo: true,
}

func (s *Server) handle(req Request) reply {
	sec := s.cfg.Security()
	if sec.SecureDownload() && s.cfg.Chip.SecureDownload && !allowedInSecureDownload[req.Op] {
		return fail(ErrCodeInvalidMessage)
	}
	d := req.Data
	switch req.Op {
	case OpSync:
		if !bytes.Equal(d, syncPayload()) {
			return fail(ErrCodeInvalidMessage)
		}
		r := ok(nil)
		if !s.stub {
			r.value, r.repeat = 0x20120707, 7 // a ROM answers a SYNC eight times, with a non-zero value
		}
		return r
	case OpReadReg:
		if len(d) != 4 {
			return fail(ErrCodeInvalidMessage)
		}
		return reply{value: s.readReg(binary.LittleEndian.Uint32(d))}
	case OpGetSecurityInfo:
		if !s.cfg.Chip.HasSecurityInfo {
			return fail(ErrCodeInvalidMessage)
		}
		sec.HasChipID = s.cfg.Chip.SecurityInfoChipID
		if sec.HasChipID {
			sec.ChipID = uint32(s.cfg.Chip.ImageID)
		}
		return ok(sec.Marshal())
	case OpSPIAttach:
		if len(d) != 4 && len(d) != 8 {
			return fail(ErrCodeInvalidMessage)
		}
		return ok(nil)
	case OpSPISetParams:
		if len(d) != 24 {
			return fail(ErrCodeInvalidMessage)
		}
		return ok(nil)
	case OpChangeBaudrate:
		if len(d) != 8 {
			return fail(ErrCodeInvalidMessage)
		}
		baud := int(binary.LittleEndian.Uint32(d))
		if baud < 300 || baud > 5000000 {
			return fail(ErrCodeInvalidParam)
		}
		r := ok(nil)
		r.after = func() { s.baud = baud }
		return r
	case OpFlashBegin, OpFlashDeflBegin:
		return s.begin(req)
	case OpFlashData, OpFlashDeflData:
		return s.data(req)
	case OpFlashEnd, OpFlashDeflEnd:
		if len(d) != 4 {
			return fail(ErrCodeInvalidMessage)
		}
		run := binary.LittleEndian.Uint32(d) != 0
		s.endSession()
		r := ok(nil)
		if s.stub && run {
			return r // the stub stays in the loader (esptool flash_defl_finish)
		}
		r.after = func() {
			if s.cfg.OnExit != nil {
				s.cfg.OnExit(run)
			}
		}
		return r
	case OpSPIFlashMD5:
		return s.md5(d)
	case OpReadFlashSlow:
		return s.readSlow(d)
	case OpMemBegin, OpMemData:
		return ok(nil) // RAM loads are accepted; the code is never run
	case OpMemEnd:
		if len(d) != 8 {
			return fail(ErrCodeInvalidMessage)
		}
		if binary.LittleEndian.Uint32(d) != 0 { // entry 0: nothing to execute
			return ok(nil)
		}
		// A RAM image executed: the simulator takes it for esptool's flasher
		// stub (it cannot run the code) and speaks the stub's dialect from
		// now on, announcing itself with OHAI as the stub does.
		r := ok(nil)
		r.after = func() {
			s.stub = true
			s.send(SLIPEncode([]byte("OHAI")))
		}
		return r
	}
	return fail(ErrCodeInvalidMessage)
}

func (s *Server) readReg(addr uint32) uint32 {
	m := s.cfg.MAC
	switch addr {
	case ChipDetectMagicReg:
		return s.cfg.Chip.Magic[0]
	case s.cfg.Chip.MACReg:
		return uint32(m[2])<<24 | uint32(m[3])<<16 | uint32(m[4])<<8 | uint32(m[5])
	case s.cfg.Chip.MACReg + 4:
		return uint32(m[0])<<8 | uint32(m[1])
	}
	return 0
}

func (s *Server) begin(req Request) reply {
	d := req.Data
	n := len(d)
	if !(n == 16 || (n == 20 && (s.cfg.Chip.ExtendedBegin || s.stub))) {
		return fail(ErrCodeInvalidMessage)
	}
	size, blocks, bs, off := le32at(d, 0), le32at(d, 4), le32at(d, 8), le32at(d, 12)
	if n == 20 && le32at(d, 16) != 0 {
		return fail(ErrCodeInvalidParam) // encrypted writes: not emulated
	}
	fsz := uint64(s.cfg.Flash.Size())
	if bs == 0 || bs > 0x10000 || uint64(off)+uint64(size) > fsz || uint64(blocks)*uint64(bs) > 2*fsz+0x10000 {
		return fail(ErrCodeInvalidParam)
	}
	s.endSession()
	// The ROM erases every 4 KB sector the region touches, up front.
	start, end := off&^0xFFF, (uint64(off)+uint64(size)+0xFFF)&^0xFFF
	if size > 0 {
		ff := bytes.Repeat([]byte{0xFF}, 0x1000)
		for a := uint64(start); a < end && a < fsz; a += 0x1000 {
			if _, err := s.cfg.Flash.WriteAt(ff, int64(a)); err != nil {
				return fail(ErrCodeFlashWrite)
			}
		}
	}
	w := &writeSession{deflate: req.Op == OpFlashDeflBegin, offset: off, eraseSize: size, blocks: blocks, blockSize: bs}
	if w.deflate {
		w.inflater = newInflater(func(p []byte) error { return s.program(w, p) })
	}
	s.w = w
	r := ok(nil)
	if size > 0 {
		r.flash = time.Duration((end-uint64(start))/0x1000) * s.cfg.Timing.SectorErase
	}
	return r
}

// program writes p at the session's cursor with NOR semantics (bits only
// go from 1 to 0), within the erased region, rolling the bad-write dice.
func (s *Server) program(w *writeSession, p []byte) error {
	if uint64(w.written)+uint64(len(p)) > uint64(w.eraseSize)+uint64(w.blockSize) ||
		int64(w.offset)+int64(w.written)+int64(len(p)) > s.cfg.Flash.Size() {
		return errors.New("write past the region")
	}
	at := int64(w.offset) + int64(w.written)
	old := make([]byte, len(p))
	if _, err := s.cfg.Flash.ReadAt(old, at); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	for i := range old {
		old[i] &= p[i]
	}
	if len(old) > 0 && s.fault("bad-write", s.cfg.Faults.BadWrite) {
		old[s.rng.IntN(len(old))] ^= 1 << s.rng.IntN(8)
	}
	if _, err := s.cfg.Flash.WriteAt(old, at); err != nil {
		return err
	}
	w.written += uint32(len(p))
	s.count(func(st *ServerStats) { st.BytesWritten += int64(len(p)) })
	return nil
}

func (s *Server) data(req Request) reply {
	d := req.Data
	w := s.w
	wantDeflate := req.Op == OpFlashDeflData
	if w == nil || w.deflate != wantDeflate || len(d) < 16 {
		return fail(ErrCodeInvalidMessage)
	}
	n, seq := le32at(d, 0), le32at(d, 4)
	block := d[16:]
	if int(n) != len(block) || n > w.blockSize {
		return fail(ErrCodeInvalidMessage)
	}
	if Checksum(block) != req.Checksum&0xFF {
		return fail(ErrCodeChecksum)
	}
	if w.next > 0 && seq == w.next-1 {
		return ok(nil) // a resend of the block just written (its reply was lost)
	}
	if seq != w.next || seq >= w.blocks {
		return fail(ErrCodeInvalidMessage)
	}
	before := w.written
	if s.fault("reset-during-write", s.cfg.Faults.ResetDuringWrite) {
		if !w.deflate {
			_ = s.program(w, block[:len(block)/2]) // half the block reached the flash
		}
		s.Reset()
		s.write(s.Banner())
		if s.cfg.OnReset != nil {
			s.cfg.OnReset()
		}
		return reply{noReply: true}
	}
	var err error
	if w.deflate {
		err = w.inflater.feed(block, seq == w.blocks-1)
	} else {
		err = s.program(w, block)
	}
	if err != nil {
		s.endSession()
		if w.deflate {
			return fail(ErrCodeDeflate)
		}
		return fail(ErrCodeFlashWrite)
	}
	w.next++
	r := ok(nil)
	pages := (w.written - before + 255) / 256
	r.flash = time.Duration(pages) * s.cfg.Timing.PageProgram
	return r
}

func (s *Server) md5(d []byte) reply {
	if len(d) != 16 {
		return fail(ErrCodeInvalidMessage)
	}
	addr, size := le32at(d, 0), le32at(d, 4)
	if uint64(addr)+uint64(size) > uint64(s.cfg.Flash.Size()) {
		return fail(ErrCodeReadLength)
	}
	h := md5.New()
	if _, err := io.Copy(h, io.NewSectionReader(s.cfg.Flash, int64(addr), int64(size))); err != nil {
		return fail(ErrCodeFlashRead)
	}
	sum := h.Sum(nil)
	if s.stub {
		return ok(sum)
	}
	return ok([]byte(hex.EncodeToString(sum)))
}

func (s *Server) readSlow(d []byte) reply {
	if len(d) != 8 {
		return fail(ErrCodeInvalidMessage)
	}
	addr, n := le32at(d, 0), le32at(d, 4)
	if n > readSlowBlock || uint64(addr)+uint64(n) > uint64(s.cfg.Flash.Size()) {
		return fail(ErrCodeReadLength)
	}
	buf := make([]byte, readSlowBlock)
	if _, err := s.cfg.Flash.ReadAt(buf[:n], int64(addr)); err != nil && !errors.Is(err, io.EOF) {
		return fail(ErrCodeFlashRead)
	}
	return ok(buf)
}

func le32at(b []byte, i int) uint32 { return binary.LittleEndian.Uint32(b[i:]) }

// inflater decompresses a zlib stream fed in blocks, writing the output as
// it comes. A goroutine runs the decompressor; feed hands it one block and
// waits until it has used it up (or the stream ended), so the goroutine
// never runs concurrently with the server.
type inflater struct {
	in      chan []byte
	idle    chan struct{}
	quit    chan struct{}
	done    chan error
	cur     []byte
	started bool
	end     error
	aborted bool
}

func newInflater(out func([]byte) error) *inflater {
	f := &inflater{in: make(chan []byte), idle: make(chan struct{}), quit: make(chan struct{}), done: make(chan error, 1)}
	go f.run(out)
	return f
}

// Read gives the decompressor the current block; when it is used up it
// tells feed so and waits for the next one.
func (f *inflater) Read(p []byte) (int, error) {
	for len(f.cur) == 0 {
		if f.started {
			select {
			case f.idle <- struct{}{}:
			case <-f.quit:
				return 0, io.ErrUnexpectedEOF
			}
		}
		f.started = true
		select {
		case b := <-f.in:
			f.cur = b
		case <-f.quit:
			return 0, io.ErrUnexpectedEOF
		}
	}
	n := copy(p, f.cur)
	f.cur = f.cur[n:]
	return n, nil
}

func (f *inflater) run(out func([]byte) error) {
	zr, err := zlib.NewReader(f)
	if err == nil {
		buf := make([]byte, 16*1024)
		for {
			n, rerr := zr.Read(buf)
			if n > 0 {
				if werr := out(buf[:n]); werr != nil {
					err = werr
					break
				}
			}
			if rerr == io.EOF {
				break
			}
			if rerr != nil {
				err = rerr
				break
			}
		}
	}
	f.done <- err
}

// feed hands block to the decompressor and waits until it has used it up.
// last says it is the final block: the stream must end with it.
func (f *inflater) feed(block []byte, last bool) error {
	if f.end != nil {
		return f.end
	}
	select {
	case f.in <- block:
	case err := <-f.done:
		f.end = errors.Join(errors.New("zlib stream already complete"), err)
		return f.end
	}
	select {
	case <-f.idle:
		if last {
			f.end = errors.New("zlib stream not complete after the last block")
			f.abort()
			return f.end
		}
		return nil
	case err := <-f.done:
		if err != nil {
			f.end = err
			return err
		}
		f.end = errors.New("zlib stream already complete")
		if !last {
			return errors.New("zlib stream ended before the last block")
		}
		return nil
	}
}

// abort stops the decompressor goroutine.
func (f *inflater) abort() {
	if !f.aborted {
		f.aborted = true
		close(f.quit)
	}
}
