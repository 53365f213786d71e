package sim

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/dacline/dacline/shared/lineproto"
)

// module is one virtual module: what survives power-off (persisted) and what
// lives in RAM (staging buffers, reply cache). It behaves like the
// manufacturing firmware of docs/line-protocol.md §7: one command at a time.
type module struct {
	mu    sync.Mutex
	p     persisted
	store *stateStore // nil: memory only
	opts  *Options

	// RAM, lost on reset.
	staged map[lineproto.Item]*staging
	cache  *replyCache

	key, attestKey *ecdsa.PrivateKey // parsed from p on load
}

type staging struct {
	total    uint32
	received uint32
	buf      []byte
}

type replyCache struct {
	id    uint32
	typ   lineproto.Type
	hash  [32]byte
	frame []byte
}

// ModuleInfo is a snapshot for tests and invariant checks.
type ModuleInfo struct {
	ID            int
	MAC           [6]byte
	State         lineproto.State
	KeysGenerated int // every key the module ever generated (must be ≤ 1)
	HasKey        bool
	PublicKey     *ecdsa.PublicKey
	SPKIHash      [32]byte
	CSR           []byte
	Committed     map[lineproto.Item][32]byte
	DAC           []byte
	LockMask      lineproto.LockMask
	DebugEnabled  bool
	Lying         bool
	History       []lineproto.State // every state the module entered, in order
	Boots         int
}

func (m *module) info() ModuleInfo {
	m.mu.Lock()
	defer m.mu.Unlock()
	in := ModuleInfo{
		ID: m.p.Index, KeysGenerated: m.p.KeysGenerated, HasKey: m.key != nil, CSR: bytes.Clone(m.p.CSR),
		Committed: map[lineproto.Item][32]byte{}, LockMask: lineproto.LockMask(m.p.LockMask),
		Lying: m.p.Lying, Boots: m.p.Boots, State: m.state(), DebugEnabled: m.debugEnabled(),
		DAC: bytes.Clone(m.p.Items[itemKey(lineproto.ItemDAC)]),
	}
	copy(in.MAC[:], m.mac())
	for _, s := range m.p.History {
		in.History = append(in.History, lineproto.State(s))
	}
	if m.key != nil {
		in.PublicKey = &m.key.PublicKey
		in.SPKIHash = spkiHash(&m.key.PublicKey)
	}
	for k, v := range m.p.Items {
		var it uint8
		fmt.Sscanf(k, "%d", &it)
		in.Committed[lineproto.Item(it)] = sha256.Sum256(v)
	}
	return in
}

func (m *module) mac() []byte {
	b, _ := hex.DecodeString(m.p.MAC)
	return b
}

func (m *module) committedMask() lineproto.ItemMask {
	var mask lineproto.ItemMask
	for _, it := range lineproto.AllItems {
		if _, ok := m.p.Items[itemKey(it)]; ok {
			mask |= 1 << (it - 1)
		}
	}
	return mask
}

// state derives the provisioning state from what the module holds.
func (m *module) state() lineproto.State {
	lock := lineproto.LockMask(m.p.LockMask)
	switch {
	case lock == lineproto.LockMaskAll:
		return lineproto.StateLocked
	case lock != 0:
		return lineproto.StateLocking
	case m.key == nil:
		return lineproto.StateUnprovisioned
	case m.committedMask() == lineproto.AllItemsMask:
		return lineproto.StateCredentialsWritten
	}
	return lineproto.StateKeyGenerated
}

// debugEnabled: JTAG is disabled by the flash-encryption step.
func (m *module) debugEnabled() bool {
	return !lineproto.LockMask(m.p.LockMask).Has(lineproto.LockFlashEncryption)
}

// noteState appends the current state to the history when it changed.
func (m *module) noteState() {
	s := uint8(m.state())
	if n := len(m.p.History); n == 0 || m.p.History[n-1] != s {
		m.p.History = append(m.p.History, s)
	}
}

// reset drops RAM, as a power cycle or watchdog would.
func (m *module) reset() {
	m.staged = map[lineproto.Item]*staging{}
	m.cache = nil
}

// result is what handling one request produced.
type result struct {
	status lineproto.Status
	body   lineproto.Body
	work   time.Duration // simulated processing time (TimingReal)
	reboot bool          // reset after the reply (REBOOT)
}

func refuse(s lineproto.Status, format string, args ...any) result {
	return result{status: s, body: &lineproto.Refusal{Detail: fmt.Sprintf(format, args...)}}
}

// handle executes one request. Caller holds m.mu.
func (m *module) handle(req lineproto.Message) result {
	if req.Version != lineproto.Version {
		return refuse(lineproto.StatusUnsupportedVersion, "speaks version %d", lineproto.Version)
	}
	body := lineproto.NewRequestBody(req.Type)
	if body == nil || req.Type == lineproto.TypeBoot {
		return refuse(lineproto.StatusUnknownCommand, "type 0x%02x", uint8(req.Type))
	}
	if err := body.UnmarshalBody(req.Body); err != nil {
		return refuse(lineproto.StatusMalformed, "%v", strings.TrimPrefix(err.Error(), "lineproto: "))
	}
	switch b := body.(type) {
	case *lineproto.WriteChunkRequest:
		return m.writeChunk(b)
	case *lineproto.CommitRequest:
		return m.commit(b)
	case *lineproto.AttestRequest:
		return m.attest(b)
	case *lineproto.LockRequest:
		return m.lock(b)
	}
	switch req.Type {
	case lineproto.TypeIdentify:
		return result{body: m.identify()}
	case lineproto.TypeGenerateKey:
		return m.generateKey()
	case lineproto.TypeReadDigests:
		return result{body: &lineproto.ReadDigestsResponse{Digests: m.digests(), LockMask: lineproto.LockMask(m.p.LockMask)}}
	case lineproto.TypeReboot:
		return result{body: &lineproto.Empty{}, reboot: true}
	}
	return refuse(lineproto.StatusUnknownCommand, "type 0x%02x", uint8(req.Type))
}

func (m *module) digests() []lineproto.ItemDigest {
	var out []lineproto.ItemDigest
	for _, it := range lineproto.KnownItems {
		if v, ok := m.p.Items[itemKey(it)]; ok {
			out = append(out, lineproto.ItemDigest{Item: it, Length: uint32(len(v)), SHA256: sha256.Sum256(v)})
		}
	}
	return out
}

func (m *module) identify() *lineproto.IdentifyResponse {
	r := &lineproto.IdentifyResponse{
		ChipModel: m.opts.ChipModel, Firmware: m.opts.Firmware, State: m.state(),
		KeyPresent: m.key != nil, LockMask: lineproto.LockMask(m.p.LockMask),
		DebugEnabled: m.debugEnabled(), Digests: m.digests(),
	}
	copy(r.ChipID[:], m.mac())
	if m.key != nil {
		r.KeySPKIHash = spkiHash(&m.key.PublicKey)
	}
	return r
}

func (m *module) frozen() bool { return m.p.LockMask != 0 }

func (m *module) generateKey() result {
	if m.frozen() {
		return refuse(lineproto.StatusLocked, "lock steps burned: no key generation")
	}
	if m.key != nil {
		// Idempotent: the same key's CSR, byte for byte.
		return result{body: &lineproto.GenerateKeyResponse{CSR: m.p.CSR, SPKIHash: spkiHash(&m.key.PublicKey)}}
	}
	key, err := m.newKey() // keystorage.go: where the module keeps it
	if err != nil {
		return refuse(lineproto.StatusHardwareFault, "key generation failed")
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject:            pkix.Name{CommonName: strings.ToUpper(m.p.MAC)},
		SignatureAlgorithm: x509.ECDSAWithSHA256,
	}, key)
	if err != nil {
		return refuse(lineproto.StatusHardwareFault, "csr creation failed")
	}
	if err := m.p.setKey(key, csr); err != nil {
		return refuse(lineproto.StatusHardwareFault, "key storage failed")
	}
	m.key = key
	if m.p.Lying {
		// The fault: a second key, used for attestation only.
		other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err := m.p.setLyingKey(other); err == nil {
			m.attestKey = other
		}
	} else {
		m.attestKey = key
	}
	m.noteState()
	if err := m.save(); err != nil {
		return refuse(lineproto.StatusHardwareFault, "state save failed")
	}
	return result{
		body: &lineproto.GenerateKeyResponse{CSR: csr, NewKey: true, SPKIHash: spkiHash(&key.PublicKey)},
		work: 300 * time.Millisecond,
	}
}

func (m *module) writeChunk(r *lineproto.WriteChunkRequest) result {
	if m.frozen() {
		return refuse(lineproto.StatusLocked, "lock steps burned: credentials are frozen")
	}
	if m.key == nil {
		return refuse(lineproto.StatusNoKey, "generate the key before writing credentials")
	}
	if !r.Item.Known() {
		return refuse(lineproto.StatusInvalidItem, "unknown item 0x%02x", uint8(r.Item))
	}
	if r.Total == 0 || int(r.Total) > r.Item.MaxLen() {
		return refuse(lineproto.StatusTooLarge, "%s total %d outside 1..%d", r.Item, r.Total, r.Item.MaxLen())
	}
	st := m.staged[r.Item]
	if st == nil || (r.Offset == 0 && st.total != r.Total) {
		st = &staging{total: r.Total, buf: make([]byte, r.Total)}
		m.staged[r.Item] = st
	}
	end := uint64(r.Offset) + uint64(len(r.Data))
	switch {
	case st.total != r.Total:
		return refuse(lineproto.StatusBadOffset, "%s total %d differs from staged %d (restart at offset 0)", r.Item, r.Total, st.total)
	case r.Offset > st.received:
		return refuse(lineproto.StatusBadOffset, "%s offset %d leaves a hole after %d", r.Item, r.Offset, st.received)
	case end > uint64(st.total):
		return refuse(lineproto.StatusBadOffset, "%s chunk ends at %d past total %d", r.Item, end, st.total)
	}
	copy(st.buf[r.Offset:], r.Data)
	st.received = max(st.received, uint32(end))
	return result{body: &lineproto.WriteChunkResponse{Item: r.Item, Received: st.received}}
}

func (m *module) commit(r *lineproto.CommitRequest) result {
	if !r.Item.Known() {
		return refuse(lineproto.StatusInvalidItem, "unknown item 0x%02x", uint8(r.Item))
	}
	if cur, ok := m.p.Items[itemKey(r.Item)]; ok && uint32(len(cur)) == r.Length && sha256.Sum256(cur) == r.SHA256 {
		// Idempotent: already committed with this digest (a retry after a
		// lost reply, a reset that lost the staging, or after lock).
		return result{body: &lineproto.CommitResponse{Item: r.Item, Length: r.Length, SHA256: r.SHA256, State: m.state()}}
	}
	if m.frozen() {
		return refuse(lineproto.StatusLocked, "lock steps burned: credentials are frozen")
	}
	if m.key == nil {
		return refuse(lineproto.StatusNoKey, "generate the key before writing credentials")
	}
	st := m.staged[r.Item]
	if st == nil || st.total != r.Length || st.received < st.total {
		got := uint32(0)
		if st != nil {
			got = st.received
		}
		return refuse(lineproto.StatusIncomplete, "%s has %d of %d bytes staged", r.Item, got, r.Length)
	}
	if sha256.Sum256(st.buf) != r.SHA256 {
		return refuse(lineproto.StatusDigestMismatch, "%s staged bytes hash differently", r.Item)
	}
	if err := lineproto.ValidateItem(r.Item, st.buf); err != nil {
		return refuse(lineproto.StatusInvalidItem, "%v", strings.TrimPrefix(err.Error(), "lineproto: invalid item value: "))
	}
	if r.Item == lineproto.ItemDAC {
		cert, _ := x509.ParseCertificate(st.buf) // ValidateItem parsed it
		pub, _ := cert.PublicKey.(*ecdsa.PublicKey)
		if pub == nil || !pub.Equal(&m.key.PublicKey) {
			return refuse(lineproto.StatusKeyMismatch, "dac certifies another key")
		}
	}
	m.p.Items[itemKey(r.Item)] = bytes.Clone(st.buf)
	delete(m.staged, r.Item)
	m.noteState()
	if err := m.save(); err != nil {
		return refuse(lineproto.StatusHardwareFault, "flash write failed")
	}
	return result{
		body: &lineproto.CommitResponse{Item: r.Item, Length: r.Length, SHA256: sha256.Sum256(m.p.Items[itemKey(r.Item)]), State: m.state()},
		work: 5 * time.Millisecond,
	}
}

func (m *module) attest(r *lineproto.AttestRequest) result {
	if m.key == nil {
		return refuse(lineproto.StatusNoKey, "no key")
	}
	dac, ok := m.p.Items[itemKey(lineproto.ItemDAC)]
	if !ok {
		return refuse(lineproto.StatusNoDAC, "commit the dac before attesting")
	}
	d := sha256.Sum256(dac)
	h := sha256.Sum256(lineproto.AttestationMessage(r.Nonce, d))
	sig, err := ecdsa.SignASN1(rand.Reader, m.attestKey, h[:])
	if err != nil {
		return refuse(lineproto.StatusHardwareFault, "signing failed")
	}
	return result{body: &lineproto.AttestResponse{Signature: sig, DACSHA256: d}, work: 20 * time.Millisecond}
}

// lockPreflight answers a LOCK request that needs no burn; ok=false means
// the step must be burned.
func (m *module) lockPreflight(r *lineproto.LockRequest) (result, bool) {
	mask := lineproto.LockMask(m.p.LockMask)
	switch {
	case !r.Step.Known():
		return refuse(lineproto.StatusMalformed, "unknown lock step %d", r.Step), true
	case mask.Has(r.Step):
		return result{body: &lineproto.LockResponse{Step: r.Step, AlreadyBurned: true, LockMask: mask, State: m.state()}}, true
	case m.key == nil || m.committedMask() != lineproto.AllItemsMask:
		return refuse(lineproto.StatusCredentialsMissing, "committed items 0x%03x, need 0x%03x", uint16(m.committedMask()), uint16(lineproto.AllItemsMask)), true
	case r.Step != mask.Next():
		return refuse(lineproto.StatusLockOrder, "next step is %s", mask.Next()), true
	}
	return result{}, false
}

func (m *module) lock(r *lineproto.LockRequest) result {
	if res, done := m.lockPreflight(r); done {
		return res
	}
	m.burn(r.Step)
	if err := m.save(); err != nil {
		return refuse(lineproto.StatusHardwareFault, "state save failed")
	}
	mask := lineproto.LockMask(m.p.LockMask)
	return result{body: &lineproto.LockResponse{Step: r.Step, LockMask: mask, State: m.state()}, work: burnTime(r.Step)}
}

// burn sets one step's eFuses. Irreversible: nothing clears a bit.
func (m *module) burn(s lineproto.LockStep) {
	m.p.LockMask |= 1 << (s - 1)
	m.staged = map[lineproto.Item]*staging{}
	m.noteState()
}

// burnTime: 20–50 ms a step, more eFuses in the early steps.
func burnTime(s lineproto.LockStep) time.Duration {
	return []time.Duration{0, 50, 40, 20, 20}[s] * time.Millisecond
}

// save records the durable state, then brings the flash image in line
// with it (flash.go).
func (m *module) save() error {
	if m.store == nil {
		return nil
	}
	if err := m.store.save(&m.p); err != nil {
		return err
	}
	return m.syncFlash()
}

func spkiHash(pub *ecdsa.PublicKey) [32]byte {
	der, _ := x509.MarshalPKIXPublicKey(pub)
	return sha256.Sum256(der)
}

func itemKey(it lineproto.Item) string { return fmt.Sprintf("%d", uint8(it)) }
