package sim

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/creack/pty"
	"golang.org/x/term"

	"github.com/dacline/dacline/shared/lineproto"
)

// Jig is one test fixture: a USB-UART bridge (the pseudo-terminal, whose
// path stays the same) and the module currently clamped in it, if any. An
// empty jig is silent, like a fixture with nothing in it.
type Jig struct {
	sim    *Sim
	index  int
	master *os.File // the module side
	slave  *os.File // held open so the master never sees EIO between clients
	path   string

	mu    sync.Mutex
	mod   *module
	modID int
	next  int         // next module in this jig's sequence, or -1
	polls int         // IDENTIFY requests answered in a row while the module is locked
	rom   *romSession // the module is in the ROM loader (download.go)
	stats JigStats

	wmu     sync.Mutex // serialises writes to master
	rng     *rand.Rand // fault dice; loop goroutine only
	df      lineproto.Deframer
	inFault inputFault
	done    chan struct{}
}

// JigStats counts traffic and injected faults on one jig.
type JigStats struct {
	FramesIn  int            // valid request frames received
	BadFrames int            // frames dropped (CRC, COBS, length, header)
	Replies   int            // reply frames sent (including cached and faulted)
	Cached    int            // replies served from the reply cache
	Faults    map[string]int // injected faults by name
}

type inputFault struct {
	kind      int // 0 none, 1 flip, 2 drop
	countdown int // bytes after the delimiter before it hits
}

func newJig(s *Sim, index int) (*Jig, error) {
	master, slave, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("sim jig %d: open pty: %w", index, err)
	}
	// pty.Open leaves the master blocking (it calls Fd()); dup it into a
	// non-blocking descriptor so reads take deadlines and Close interrupts them.
	fd, err := syscall.Dup(int(master.Fd()))
	master.Close()
	if err != nil {
		slave.Close()
		return nil, fmt.Errorf("sim jig %d: dup pty: %w", index, err)
	}
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		slave.Close()
		return nil, fmt.Errorf("sim jig %d: %w", index, err)
	}
	// Raw from the start: no echo or line discipline before a client opens
	// the port (go.bug.st/serial sets raw mode again on open).
	if _, err := term.MakeRaw(int(slave.Fd())); err != nil {
		syscall.Close(fd)
		slave.Close()
		return nil, fmt.Errorf("sim jig %d: raw mode: %w", index, err)
	}
	j := &Jig{
		sim: s, index: index, master: os.NewFile(uintptr(fd), "ptmx"), slave: slave, path: slave.Name(),
		next: -1, modID: -1, rng: rand.New(rand.NewPCG(s.opts.Seed, uint64(index)+1<<32)),
		done: make(chan struct{}), stats: JigStats{Faults: map[string]int{}},
	}
	return j, nil
}

// Path is the device path a line client opens (/dev/pts/N).
func (j *Jig) Path() string { return j.path }

// Current returns the ID of the module in the jig, or ok=false when empty.
func (j *Jig) Current() (id int, ok bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.modID, j.mod != nil
}

// Stats returns a copy of the jig's counters.
func (j *Jig) Stats() JigStats {
	j.mu.Lock()
	defer j.mu.Unlock()
	st := j.stats
	st.Faults = map[string]int{}
	for k, v := range j.stats.Faults {
		st.Faults[k] = v
	}
	return st
}

// Remove takes the module off the jig: its RAM (staged chunks, reply cache)
// is lost, its persisted state stays. The jig goes silent.
func (j *Jig) Remove() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.removeLocked()
}

func (j *Jig) removeLocked() {
	if j.mod == nil {
		return
	}
	j.mod.mu.Lock()
	j.mod.reset()
	j.mod.mu.Unlock()
	j.rom = nil
	j.sim.release(j.modID)
	j.sim.opts.Logf("jig %d: module %d (%s) removed", j.index, j.modID, j.mod.p.MAC)
	j.mod, j.modID = nil, -1
}

// Insert puts module id on the jig (taking off whatever was there). The
// module powers on and announces itself with a BOOT event. A module can be
// on one jig at a time.
func (j *Jig) Insert(id int) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.insertLocked(id)
}

func (j *Jig) insertLocked(id int) error {
	j.removeLocked()
	m, err := j.sim.claim(id, j.index)
	if err != nil {
		return err
	}
	ev := powerOn(m, lineproto.BootPowerOn)
	j.mod, j.modID = m, id
	j.polls = 0
	j.sim.opts.Logf("jig %d: module %d (%s) inserted", j.index, id, m.p.MAC)
	if j.sim.opts.Download.Enabled {
		return j.enterDownload(m)
	}
	go j.announce(m, ev)
	return nil
}

// powerOn is a module (re)start: RAM cleared, boot counted. It returns the
// BOOT event the module will send once it has booted.
func powerOn(m *module, reason lineproto.BootReason) *lineproto.BootEvent {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reset()
	m.p.Boots++
	_ = m.save()
	ev := &lineproto.BootEvent{State: m.state(), Reason: reason}
	copy(ev.ChipID[:], m.mac())
	return ev
}

// announce waits the boot time and sends the BOOT event, unless the module
// was taken off the jig meanwhile.
func (j *Jig) announce(m *module, ev *lineproto.BootEvent) {
	j.sleep(150 * time.Millisecond)
	j.mu.Lock()
	still := j.mod == m
	j.mu.Unlock()
	if !still {
		return
	}
	body, _ := ev.MarshalBody()
	frame, err := lineproto.MarshalFrame(lineproto.Message{Version: lineproto.Version, Type: lineproto.TypeBoot, Flags: lineproto.FlagEvent, Body: body})
	if err == nil {
		j.write(frame)
	}
}

// reboot restarts m in place: the loop is blocked (the module does not
// answer) until it has booted.
func (j *Jig) reboot(m *module, reason lineproto.BootReason) {
	j.announce(m, powerOn(m, reason))
}

func (j *Jig) sleep(d time.Duration) {
	if j.sim.opts.Timing == TimingReal && d > 0 {
		select {
		case <-time.After(d):
		case <-j.sim.closing:
		}
	}
}

// wireTime is how long n bytes take at 115200 baud, 8N1.
func wireTime(n int) time.Duration { return time.Duration(n) * 10 * time.Second / 115200 }

func (j *Jig) write(b []byte) {
	j.wmu.Lock()
	defer j.wmu.Unlock()
	_ = j.master.SetWriteDeadline(time.Now().Add(2 * time.Second))
	_, _ = j.master.Write(b) // a client that stopped reading loses bytes, like a real UART
}

func (j *Jig) fault(name string, rate float64) bool {
	if rate <= 0 || j.rng.Float64() >= rate {
		return false
	}
	j.mu.Lock()
	j.stats.Faults[name]++
	j.mu.Unlock()
	j.sim.opts.Logf("jig %d: fault %s", j.index, name)
	return true
}

// run is the module's UART loop: read, deframe, execute, reply.
func (j *Jig) run() {
	defer close(j.done)
	buf := make([]byte, 4096)
	for {
		_ = j.master.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		n, err := j.master.Read(buf)
		if n > 0 && !j.feedROM(buf[:n]) {
			j.df.Feed(j.filterInput(buf[:n]), j.onFrame)
		}
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				continue
			}
			return // closed
		}
	}
}

// filterInput injects noise and drops into received bytes, one fault at a
// random position of a frame, so the real deframer has to cope.
func (j *Jig) filterInput(p []byte) []byte {
	f := j.sim.opts.Faults
	out := p[:0]
	for _, b := range p {
		if b == lineproto.Delimiter {
			out = append(out, b)
			j.inFault = inputFault{}
			switch {
			case j.fault("noise", f.Noise/2): // two delimiters a frame
				j.inFault = inputFault{kind: 1, countdown: j.rng.IntN(40)}
			case j.fault("drop", f.Drop/2):
				j.inFault = inputFault{kind: 2, countdown: j.rng.IntN(40)}
			}
			continue
		}
		if j.inFault.kind != 0 {
			if j.inFault.countdown > 0 {
				j.inFault.countdown--
			} else {
				kind := j.inFault.kind
				j.inFault = inputFault{}
				if kind == 2 {
					continue
				}
				b = j.otherByte(b)
			}
		}
		out = append(out, b)
	}
	return out
}

func (j *Jig) otherByte(b byte) byte {
	for {
		if nb := byte(j.rng.UintN(256)); nb != 0 && nb != b {
			return nb
		}
	}
}

func (j *Jig) onFrame(fr lineproto.FrameResult) {
	if fr.Err != nil {
		j.count(func(s *JigStats) { s.BadFrames++ })
		return
	}
	req, err := lineproto.DecodeMessage(fr.Payload)
	if err != nil {
		j.count(func(s *JigStats) { s.BadFrames++ })
		return
	}
	if req.Flags != 0 { // a response or event echoed back: not for the module
		return
	}
	j.mu.Lock()
	m := j.mod
	if m != nil {
		j.stats.FramesIn++
		if req.Type != lineproto.TypeIdentify {
			j.polls = 0 // the station is still working on the module
		}
	}
	j.mu.Unlock()
	if m == nil {
		return // empty jig: nobody answers
	}
	j.serve(m, req, len(fr.Payload))
}

func (j *Jig) count(f func(*JigStats)) {
	j.mu.Lock()
	f(&j.stats)
	j.mu.Unlock()
}

// serve executes req on m (or replays the cached reply) and sends the reply
// through the output faults.
func (j *Jig) serve(m *module, req lineproto.Message, inLen int) {
	faults := j.sim.opts.Faults
	h := sha256.Sum256(req.Body)

	// Roll lock-reboot dice before taking m.mu: j.fault takes j.mu, and the
	// lock order is j.mu before m.mu.
	rebootInLock := req.Type == lineproto.TypeLock && faults.RebootDuringLock > 0 && j.rng.Float64() < faults.RebootDuringLock
	m.mu.Lock()
	var frame []byte
	var res result
	cached := false
	if c := m.cache; c != nil && c.id == req.RequestID {
		if c.typ == req.Type && c.hash == h {
			frame, cached = c.frame, true
		} else {
			res = refuse(lineproto.StatusRequestIDReused, "request id %08x was %s", req.RequestID, c.typ)
		}
	} else if rebootInLock {
		// Power lost during the burn: half the time the step burned first.
		if j.rng.IntN(2) == 0 {
			res = m.handle(req)
		}
		m.mu.Unlock()
		j.count(func(s *JigStats) { s.Faults["reboot-during-lock"]++ })
		j.sim.opts.Logf("jig %d: fault reboot-during-lock", j.index)
		j.sleep(res.work)
		j.reboot(m, lineproto.BootWatchdog)
		return
	} else {
		res = m.handle(req)
	}
	if frame == nil {
		body, err := res.body.MarshalBody()
		if err != nil {
			res, body = refuse(lineproto.StatusHardwareFault, "reply encoding failed"), nil
		}
		frame, err = lineproto.MarshalFrame(lineproto.Message{Version: lineproto.Version, Type: req.Type,
			Flags: lineproto.FlagResponse, Status: res.status, RequestID: req.RequestID, Body: body})
		if err != nil {
			m.mu.Unlock()
			return
		}
		if res.status != lineproto.StatusRequestIDReused {
			m.cache = &replyCache{id: req.RequestID, typ: req.Type, hash: h, frame: frame}
		}
	}
	m.mu.Unlock()
	if cached {
		j.count(func(s *JigStats) { s.Cached++ })
	}

	j.sleep(res.work + wireTime(inLen+len(frame)))
	switch {
	case j.fault("silent", faults.Silent):
		return
	case j.fault("disconnect", faults.Disconnect):
		j.write(frame[:len(frame)/2])
		j.reboot(m, lineproto.BootWatchdog)
		return
	case j.fault("slow", faults.Slow):
		select {
		case <-time.After(j.sim.opts.SlowDelay):
		case <-j.sim.closing:
			return
		}
	}
	out, intact := frame, true
	if j.fault("noise", faults.Noise) {
		out = bytes.Clone(frame)
		i := 1 + j.rng.IntN(len(out)-2)
		out[i] = j.otherByte(out[i])
		intact = false
	} else if j.fault("drop", faults.Drop) {
		i := 1 + j.rng.IntN(len(frame)-2)
		out = append(bytes.Clone(frame[:i]), frame[i+1:]...)
		intact = false
	}
	j.write(out)
	j.count(func(s *JigStats) { s.Replies++ })
	if res.reboot {
		j.reboot(m, lineproto.BootCommand)
	}
	if req.Type == lineproto.TypeIdentify && intact {
		// A poll counts when its reply reached the station intact (a retry
		// answered from the cache counts like the first try).
		j.notePoll(m)
	}
}

// notePoll counts an answered IDENTIFY poll of a locked module (any other
// command starts the count again, see onFrame) and swaps the module once the
// count reaches SwapPolls.
func (j *Jig) notePoll(m *module) {
	m.mu.Lock()
	locked := m.state() == lineproto.StateLocked
	waiting := m.waitingForBatch()
	m.mu.Unlock()
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.mod != m {
		return
	}
	if !locked && !(waiting && j.sim.opts.SwapWaiting) {
		j.polls = 0
		return
	}
	j.polls++
	if j.sim.opts.SwapWaiting {
		j.maybeSwapRing(locked)
		return
	}
	j.maybeSwapLocked()
}

// maybeSwapLocked replaces a locked module that has answered SwapPolls
// IDENTIFY polls in a row by the next one in the jig's sequence
// (Options.ModulesPerJig). The last module stays on the jig. Caller holds j.mu.
func (j *Jig) maybeSwapLocked() {
	if j.mod == nil || j.next < 0 || j.polls < j.sim.opts.SwapPolls {
		return
	}
	next := j.next
	j.next++
	if j.next >= (j.index+1)*j.sim.opts.ModulesPerJig {
		j.next = -1
	}
	if err := j.insertLocked(next); err != nil {
		j.sim.opts.Logf("jig %d: insert module %d: %v", j.index, next, err)
	}
}

func (j *Jig) close() {
	j.master.Close()
	<-j.done
	j.slave.Close()
}
