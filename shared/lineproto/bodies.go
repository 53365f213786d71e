package lineproto

import (
	"encoding/binary"
	"fmt"
)

// Message bodies, one type per request and response (docs/line-protocol.md
// §5 gives each tag). MarshalBody never fails on values the type can hold
// except where a length bound is broken; UnmarshalBody is strict.

// ItemDigest is what the module reports for one committed item.
type ItemDigest struct {
	Item   Item
	Length uint32
	SHA256 [32]byte
}

const itemDigestLen = 1 + 4 + 32

func (d ItemDigest) marshal() []byte {
	b := []byte{uint8(d.Item)}
	b = binary.LittleEndian.AppendUint32(b, d.Length)
	return append(b, d.SHA256[:]...)
}

func parseItemDigests(vals [][]byte) ([]ItemDigest, error) {
	var out []ItemDigest
	seen := map[Item]bool{}
	for _, v := range vals {
		d := ItemDigest{Item: Item(v[0]), Length: binary.LittleEndian.Uint32(v[1:])}
		copy(d.SHA256[:], v[5:])
		if !d.Item.Known() || seen[d.Item] {
			return nil, fmt.Errorf("%w: item digest for unknown or repeated %s", ErrTLV, d.Item)
		}
		seen[d.Item] = true
		out = append(out, d)
	}
	return out, nil
}

// ---- IDENTIFY (0x01) ----

// IdentifyResponse describes the module. It never carries secret material:
// KeySPKIHash is SHA-256 of the DER SubjectPublicKeyInfo of the module key.
type IdentifyResponse struct {
	ChipModel    string       // tag 0x01, 1..32 bytes UTF-8, e.g. "ESP32-C3"
	ChipID       [6]byte      // tag 0x02, the factory MAC (eFuse MAC_FACTORY)
	Firmware     string       // tag 0x03, 1..32 bytes UTF-8
	State        State        // tag 0x04
	KeyPresent   bool         // tag 0x05
	KeySPKIHash  [32]byte     // tag 0x06, present iff KeyPresent
	LockMask     LockMask     // tag 0x07
	DebugEnabled bool         // tag 0x08
	Digests      []ItemDigest // tag 0x09, repeated, one per committed item
}

var identifyResponseSpec = map[uint8]field{
	0x01: {name: "chip model", min: 1, max: 32, required: true},
	0x02: {name: "chip id", min: 6, max: 6, required: true},
	0x03: {name: "firmware version", min: 1, max: 32, required: true},
	0x04: {name: "state", min: 1, max: 1, required: true},
	0x05: {name: "key present", min: 1, max: 1, required: true},
	0x06: {name: "key spki sha-256", min: 32, max: 32},
	0x07: {name: "lock mask", min: 1, max: 1, required: true},
	0x08: {name: "debug enabled", min: 1, max: 1, required: true},
	0x09: {name: "item digest", min: itemDigestLen, max: itemDigestLen, repeated: true},
}

func (r *IdentifyResponse) MarshalBody() ([]byte, error) {
	var w tlvWriter
	w.bytes(0x01, []byte(r.ChipModel))
	w.bytes(0x02, r.ChipID[:])
	w.bytes(0x03, []byte(r.Firmware))
	w.u8(0x04, uint8(r.State))
	w.bool(0x05, r.KeyPresent)
	if r.KeyPresent {
		w.bytes(0x06, r.KeySPKIHash[:])
	}
	w.u8(0x07, uint8(r.LockMask))
	w.bool(0x08, r.DebugEnabled)
	for _, d := range r.Digests {
		w.bytes(0x09, d.marshal())
	}
	return w.b, nil
}

func (r *IdentifyResponse) UnmarshalBody(b []byte) error {
	f, err := parseTLV(b, identifyResponseSpec)
	if err != nil {
		return err
	}
	*r = IdentifyResponse{State: State(f.u8(0x04)), LockMask: LockMask(f.u8(0x07))}
	if r.ChipModel, err = f.text(0x01, "chip model"); err != nil {
		return err
	}
	copy(r.ChipID[:], f.raw(0x02))
	if r.Firmware, err = f.text(0x03, "firmware version"); err != nil {
		return err
	}
	if r.KeyPresent, err = f.boolean(0x05, "key present"); err != nil {
		return err
	}
	if r.KeyPresent != f.has(0x06) {
		return fmt.Errorf("%w: key spki sha-256 must be present exactly when a key is", ErrTLV)
	}
	r.KeySPKIHash = f.digest(0x06)
	if r.DebugEnabled, err = f.boolean(0x08, "debug enabled"); err != nil {
		return err
	}
	if r.State > StateLocked || !r.LockMask.Valid() {
		return fmt.Errorf("%w: state %d / lock mask 0x%02x out of range", ErrTLV, r.State, uint8(r.LockMask))
	}
	r.Digests, err = parseItemDigests(f[0x09])
	return err
}

// ---- GENERATE_KEY (0x02) ----

// GenerateKeyResponse carries the CSR for the module's one key.
type GenerateKeyResponse struct {
	CSR      []byte   // tag 0x01, PKCS#10 DER, ≤ 600 bytes
	NewKey   bool     // tag 0x02, 1 if this request created the key
	SPKIHash [32]byte // tag 0x03, SHA-256 of the CSR's SubjectPublicKeyInfo DER
}

var generateKeyResponseSpec = map[uint8]field{
	0x01: {name: "csr", min: 1, max: 600, required: true},
	0x02: {name: "new key", min: 1, max: 1, required: true},
	0x03: {name: "spki sha-256", min: 32, max: 32, required: true},
}

func (r *GenerateKeyResponse) MarshalBody() ([]byte, error) {
	if len(r.CSR) == 0 || len(r.CSR) > 600 {
		return nil, fmt.Errorf("%w: csr is %d bytes, want 1..600", ErrTLV, len(r.CSR))
	}
	var w tlvWriter
	w.bytes(0x01, r.CSR)
	w.bool(0x02, r.NewKey)
	w.bytes(0x03, r.SPKIHash[:])
	return w.b, nil
}

func (r *GenerateKeyResponse) UnmarshalBody(b []byte) error {
	f, err := parseTLV(b, generateKeyResponseSpec)
	if err != nil {
		return err
	}
	*r = GenerateKeyResponse{CSR: f.raw(0x01), SPKIHash: f.digest(0x03)}
	r.NewKey, err = f.boolean(0x02, "new key")
	return err
}

// ---- WRITE_CHUNK (0x03) ----

// MaxChunk is the most item bytes one WRITE_CHUNK carries.
const MaxChunk = 512

// WriteChunkRequest stages Data at Offset of an item Total bytes long.
type WriteChunkRequest struct {
	Item   Item   // tag 0x01
	Total  uint32 // tag 0x02, the item's full length
	Offset uint32 // tag 0x03
	Data   []byte // tag 0x04, 1..MaxChunk bytes
}

var writeChunkRequestSpec = map[uint8]field{
	0x01: {name: "item", min: 1, max: 1, required: true},
	0x02: {name: "total length", min: 4, max: 4, required: true},
	0x03: {name: "offset", min: 4, max: 4, required: true},
	0x04: {name: "data", min: 1, max: MaxChunk, required: true},
}

func (r *WriteChunkRequest) MarshalBody() ([]byte, error) {
	if len(r.Data) == 0 || len(r.Data) > MaxChunk {
		return nil, fmt.Errorf("%w: chunk of %d bytes, want 1..%d", ErrTLV, len(r.Data), MaxChunk)
	}
	var w tlvWriter
	w.u8(0x01, uint8(r.Item))
	w.u32(0x02, r.Total)
	w.u32(0x03, r.Offset)
	w.bytes(0x04, r.Data)
	return w.b, nil
}

func (r *WriteChunkRequest) UnmarshalBody(b []byte) error {
	f, err := parseTLV(b, writeChunkRequestSpec)
	if err != nil {
		return err
	}
	*r = WriteChunkRequest{Item: Item(f.u8(0x01)), Total: f.u32(0x02), Offset: f.u32(0x03), Data: f.raw(0x04)}
	return nil
}

// WriteChunkResponse reports how many leading bytes of the item are staged.
type WriteChunkResponse struct {
	Item     Item   // tag 0x01
	Received uint32 // tag 0x02
}

var writeChunkResponseSpec = map[uint8]field{
	0x01: {name: "item", min: 1, max: 1, required: true},
	0x02: {name: "received", min: 4, max: 4, required: true},
}

func (r *WriteChunkResponse) MarshalBody() ([]byte, error) {
	var w tlvWriter
	w.u8(0x01, uint8(r.Item))
	w.u32(0x02, r.Received)
	return w.b, nil
}

func (r *WriteChunkResponse) UnmarshalBody(b []byte) error {
	f, err := parseTLV(b, writeChunkResponseSpec)
	if err != nil {
		return err
	}
	*r = WriteChunkResponse{Item: Item(f.u8(0x01)), Received: f.u32(0x02)}
	return nil
}

// ---- COMMIT (0x04) ----

// CommitRequest makes a staged item durable if its digest matches.
type CommitRequest struct {
	Item   Item     // tag 0x01
	Length uint32   // tag 0x02
	SHA256 [32]byte // tag 0x03
}

var commitSpec = map[uint8]field{
	0x01: {name: "item", min: 1, max: 1, required: true},
	0x02: {name: "length", min: 4, max: 4, required: true},
	0x03: {name: "sha-256", min: 32, max: 32, required: true},
}

func (r *CommitRequest) MarshalBody() ([]byte, error) {
	var w tlvWriter
	w.u8(0x01, uint8(r.Item))
	w.u32(0x02, r.Length)
	w.bytes(0x03, r.SHA256[:])
	return w.b, nil
}

func (r *CommitRequest) UnmarshalBody(b []byte) error {
	f, err := parseTLV(b, commitSpec)
	if err != nil {
		return err
	}
	*r = CommitRequest{Item: Item(f.u8(0x01)), Length: f.u32(0x02), SHA256: f.digest(0x03)}
	return nil
}

// CommitResponse is the digest the module computed over what it stored.
type CommitResponse struct {
	Item   Item     // tag 0x01
	Length uint32   // tag 0x02
	SHA256 [32]byte // tag 0x03
	State  State    // tag 0x04, the module state after the commit
}

var commitResponseSpec = map[uint8]field{
	0x01: {name: "item", min: 1, max: 1, required: true},
	0x02: {name: "length", min: 4, max: 4, required: true},
	0x03: {name: "sha-256", min: 32, max: 32, required: true},
	0x04: {name: "state", min: 1, max: 1, required: true},
}

func (r *CommitResponse) MarshalBody() ([]byte, error) {
	var w tlvWriter
	w.u8(0x01, uint8(r.Item))
	w.u32(0x02, r.Length)
	w.bytes(0x03, r.SHA256[:])
	w.u8(0x04, uint8(r.State))
	return w.b, nil
}

func (r *CommitResponse) UnmarshalBody(b []byte) error {
	f, err := parseTLV(b, commitResponseSpec)
	if err != nil {
		return err
	}
	*r = CommitResponse{Item: Item(f.u8(0x01)), Length: f.u32(0x02), SHA256: f.digest(0x03), State: State(f.u8(0x04))}
	return nil
}

// ---- READ_DIGESTS (0x05) ----

// ReadDigestsResponse lists every committed item's digest and the lock mask.
type ReadDigestsResponse struct {
	Digests  []ItemDigest // tag 0x01, repeated
	LockMask LockMask     // tag 0x02
}

var readDigestsResponseSpec = map[uint8]field{
	0x01: {name: "item digest", min: itemDigestLen, max: itemDigestLen, repeated: true},
	0x02: {name: "lock mask", min: 1, max: 1, required: true},
}

func (r *ReadDigestsResponse) MarshalBody() ([]byte, error) {
	var w tlvWriter
	for _, d := range r.Digests {
		w.bytes(0x01, d.marshal())
	}
	w.u8(0x02, uint8(r.LockMask))
	return w.b, nil
}

func (r *ReadDigestsResponse) UnmarshalBody(b []byte) error {
	f, err := parseTLV(b, readDigestsResponseSpec)
	if err != nil {
		return err
	}
	*r = ReadDigestsResponse{LockMask: LockMask(f.u8(0x02))}
	if !r.LockMask.Valid() {
		return fmt.Errorf("%w: lock mask 0x%02x is not a prefix of the burn order", ErrTLV, uint8(r.LockMask))
	}
	r.Digests, err = parseItemDigests(f[0x01])
	return err
}

// ---- ATTEST (0x06) ----

// AttestRequest carries the host's fresh 32-byte challenge.
type AttestRequest struct {
	Nonce [32]byte // tag 0x01
}

var attestRequestSpec = map[uint8]field{0x01: {name: "nonce", min: 32, max: 32, required: true}}

func (r *AttestRequest) MarshalBody() ([]byte, error) {
	var w tlvWriter
	w.bytes(0x01, r.Nonce[:])
	return w.b, nil
}

func (r *AttestRequest) UnmarshalBody(b []byte) error {
	f, err := parseTLV(b, attestRequestSpec)
	if err != nil {
		return err
	}
	r.Nonce = f.digest(0x01)
	return nil
}

// AttestResponse is the DAC key's signature over AttestationMessage.
type AttestResponse struct {
	Signature []byte   // tag 0x01, ASN.1 DER ECDSA-Sig-Value, 8..72 bytes
	DACSHA256 [32]byte // tag 0x02, SHA-256 of the committed DAC the signature binds
}

var attestResponseSpec = map[uint8]field{
	0x01: {name: "signature", min: 8, max: 72, required: true},
	0x02: {name: "dac sha-256", min: 32, max: 32, required: true},
}

func (r *AttestResponse) MarshalBody() ([]byte, error) {
	if len(r.Signature) < 8 || len(r.Signature) > 72 {
		return nil, fmt.Errorf("%w: signature is %d bytes, want 8..72", ErrTLV, len(r.Signature))
	}
	var w tlvWriter
	w.bytes(0x01, r.Signature)
	w.bytes(0x02, r.DACSHA256[:])
	return w.b, nil
}

func (r *AttestResponse) UnmarshalBody(b []byte) error {
	f, err := parseTLV(b, attestResponseSpec)
	if err != nil {
		return err
	}
	*r = AttestResponse{Signature: f.raw(0x01), DACSHA256: f.digest(0x02)}
	return nil
}

// ---- LOCK (0x07) ----

// LockRequest asks for one eFuse step.
type LockRequest struct {
	Step LockStep // tag 0x01
}

var lockRequestSpec = map[uint8]field{0x01: {name: "step", min: 1, max: 1, required: true}}

func (r *LockRequest) MarshalBody() ([]byte, error) {
	var w tlvWriter
	w.u8(0x01, uint8(r.Step))
	return w.b, nil
}

func (r *LockRequest) UnmarshalBody(b []byte) error {
	f, err := parseTLV(b, lockRequestSpec)
	if err != nil {
		return err
	}
	r.Step = LockStep(f.u8(0x01))
	return nil
}

// LockResponse reports one step's result.
type LockResponse struct {
	Step          LockStep // tag 0x01
	AlreadyBurned bool     // tag 0x02, 1 if the step was burned before this request
	LockMask      LockMask // tag 0x03, after the step
	State         State    // tag 0x04, after the step
}

var lockResponseSpec = map[uint8]field{
	0x01: {name: "step", min: 1, max: 1, required: true},
	0x02: {name: "already burned", min: 1, max: 1, required: true},
	0x03: {name: "lock mask", min: 1, max: 1, required: true},
	0x04: {name: "state", min: 1, max: 1, required: true},
}

func (r *LockResponse) MarshalBody() ([]byte, error) {
	var w tlvWriter
	w.u8(0x01, uint8(r.Step))
	w.bool(0x02, r.AlreadyBurned)
	w.u8(0x03, uint8(r.LockMask))
	w.u8(0x04, uint8(r.State))
	return w.b, nil
}

func (r *LockResponse) UnmarshalBody(b []byte) error {
	f, err := parseTLV(b, lockResponseSpec)
	if err != nil {
		return err
	}
	*r = LockResponse{Step: LockStep(f.u8(0x01)), LockMask: LockMask(f.u8(0x03)), State: State(f.u8(0x04))}
	if r.AlreadyBurned, err = f.boolean(0x02, "already burned"); err != nil {
		return err
	}
	if !r.LockMask.Valid() || !r.LockMask.Has(r.Step) {
		return fmt.Errorf("%w: lock mask 0x%02x invalid or without step %s", ErrTLV, uint8(r.LockMask), r.Step)
	}
	return nil
}

// ---- BOOT event (0x7F) ----

// BootReason says why the module (re)started.
type BootReason uint8

const (
	BootPowerOn  BootReason = 0
	BootCommand  BootReason = 1 // REBOOT
	BootWatchdog BootReason = 2 // brown-out, watchdog, panic
)

// BootEvent is sent once after every boot with request ID 0 and FlagEvent.
type BootEvent struct {
	ChipID [6]byte    // tag 0x01
	State  State      // tag 0x02
	Reason BootReason // tag 0x03
}

var bootSpec = map[uint8]field{
	0x01: {name: "chip id", min: 6, max: 6, required: true},
	0x02: {name: "state", min: 1, max: 1, required: true},
	0x03: {name: "reason", min: 1, max: 1, required: true},
}

func (r *BootEvent) MarshalBody() ([]byte, error) {
	var w tlvWriter
	w.bytes(0x01, r.ChipID[:])
	w.u8(0x02, uint8(r.State))
	w.u8(0x03, uint8(r.Reason))
	return w.b, nil
}

func (r *BootEvent) UnmarshalBody(b []byte) error {
	f, err := parseTLV(b, bootSpec)
	if err != nil {
		return err
	}
	*r = BootEvent{State: State(f.u8(0x02)), Reason: BootReason(f.u8(0x03))}
	copy(r.ChipID[:], f.raw(0x01))
	return nil
}

// ---- refusals ----

// Refusal is the body of a response whose status is not StatusOK.
type Refusal struct {
	Detail string // tag 0x01 (TagDetail), ≤ 128 bytes UTF-8, optional
}

var refusalSpec = map[uint8]field{TagDetail: {name: "detail", min: 0, max: maxDetail}}

func (r *Refusal) MarshalBody() ([]byte, error) {
	if r.Detail == "" {
		return nil, nil
	}
	d := r.Detail
	if len(d) > maxDetail {
		d = d[:maxDetail]
	}
	var w tlvWriter
	w.bytes(TagDetail, []byte(d))
	return w.b, nil
}

func (r *Refusal) UnmarshalBody(b []byte) error {
	f, err := parseTLV(b, refusalSpec)
	if err != nil {
		return err
	}
	r.Detail, err = f.text(TagDetail, "detail")
	return err
}

// emptySpec is for requests and responses without fields.
var emptySpec = map[uint8]field{}

// Empty is the body of IDENTIFY, GENERATE_KEY, READ_DIGESTS and REBOOT
// requests and of the REBOOT response. Non-critical tags are tolerated.
type Empty struct{}

func (Empty) MarshalBody() ([]byte, error) { return nil, nil }
func (*Empty) UnmarshalBody(b []byte) error {
	_, err := parseTLV(b, emptySpec)
	return err
}

// Body is any message body.
type Body interface {
	MarshalBody() ([]byte, error)
	UnmarshalBody([]byte) error
}

// NewRequestBody returns an empty body for a request of type t, or nil for
// an unknown type.
func NewRequestBody(t Type) Body {
	switch t {
	case TypeIdentify, TypeGenerateKey, TypeReadDigests, TypeReboot:
		return &Empty{}
	case TypeWriteChunk:
		return &WriteChunkRequest{}
	case TypeCommit:
		return &CommitRequest{}
	case TypeAttest:
		return &AttestRequest{}
	case TypeLock:
		return &LockRequest{}
	}
	return nil
}

// NewResponseBody returns an empty body for a successful response (or event)
// of type t, or nil for an unknown type.
func NewResponseBody(t Type) Body {
	switch t {
	case TypeIdentify:
		return &IdentifyResponse{}
	case TypeGenerateKey:
		return &GenerateKeyResponse{}
	case TypeWriteChunk:
		return &WriteChunkResponse{}
	case TypeCommit:
		return &CommitResponse{}
	case TypeReadDigests:
		return &ReadDigestsResponse{}
	case TypeAttest:
		return &AttestResponse{}
	case TypeLock:
		return &LockResponse{}
	case TypeReboot:
		return &Empty{}
	case TypeBoot:
		return &BootEvent{}
	}
	return nil
}
