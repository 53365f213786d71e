package lineproto

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

func sampleBodies() map[string]struct {
	t    Type
	resp bool
	body Body
} {
	d := [32]byte{1, 2, 3}
	digests := []ItemDigest{{Item: ItemDAC, Length: 480, SHA256: d}, {Item: ItemSalt, Length: 32, SHA256: [32]byte{9}}}
	return map[string]struct {
		t    Type
		resp bool
		body Body
	}{
		"identify-resp": {TypeIdentify, true, &IdentifyResponse{ChipModel: "ESP32-C3", ChipID: [6]byte{2, 0xDA, 0xC1, 0, 0, 1},
			Firmware: "mfg-1.0.0", State: StateKeyGenerated, KeyPresent: true, KeySPKIHash: d, LockMask: 0x03, DebugEnabled: false, Digests: digests}},
		"keygen-resp":  {TypeGenerateKey, true, &GenerateKeyResponse{CSR: []byte{0x30, 1, 2}, NewKey: true, SPKIHash: d}},
		"chunk-req":    {TypeWriteChunk, false, &WriteChunkRequest{Item: ItemCD, Total: 700, Offset: 512, Data: bytes.Repeat([]byte{0}, 188)}},
		"chunk-resp":   {TypeWriteChunk, true, &WriteChunkResponse{Item: ItemCD, Received: 700}},
		"commit-req":   {TypeCommit, false, &CommitRequest{Item: ItemPAI, Length: 400, SHA256: d}},
		"commit-resp":  {TypeCommit, true, &CommitResponse{Item: ItemPAI, Length: 400, SHA256: d, State: StateCredentialsWritten}},
		"digests-resp": {TypeReadDigests, true, &ReadDigestsResponse{Digests: digests, LockMask: 0x07}},
		"attest-req":   {TypeAttest, false, &AttestRequest{Nonce: d}},
		"attest-resp":  {TypeAttest, true, &AttestResponse{Signature: bytes.Repeat([]byte{0x30}, 70), DACSHA256: d}},
		"lock-req":     {TypeLock, false, &LockRequest{Step: LockSecureBoot}},
		"lock-resp":    {TypeLock, true, &LockResponse{Step: LockSecureBoot, AlreadyBurned: true, LockMask: 0x03, State: StateLocking}},
		"boot":         {TypeBoot, true, &BootEvent{ChipID: [6]byte{1}, State: StateLocked, Reason: BootCommand}},
	}
}

func TestBodiesRoundTrip(t *testing.T) {
	for name, c := range sampleBodies() {
		b, err := c.body.MarshalBody()
		if err != nil {
			t.Fatalf("%s: marshal: %v", name, err)
		}
		m := Message{Version: Version, Type: c.t, RequestID: 0xDEADBEEF, Body: b}
		if c.resp {
			m.Flags = FlagResponse
		}
		frame, err := MarshalFrame(m)
		if err != nil {
			t.Fatalf("%s: frame: %v", name, err)
		}
		p, err := DecodeFrame(frame[1 : len(frame)-1])
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeMessage(p)
		if err != nil || !reflect.DeepEqual(got, m) {
			t.Fatalf("%s: message round trip: %+v, %v", name, got, err)
		}
		var fresh Body
		if c.resp {
			fresh = NewResponseBody(c.t)
		} else {
			fresh = NewRequestBody(c.t)
		}
		if err := fresh.UnmarshalBody(got.Body); err != nil {
			t.Fatalf("%s: unmarshal: %v", name, err)
		}
		if !reflect.DeepEqual(fresh, c.body) {
			t.Fatalf("%s: body round trip:\n got %+v\nwant %+v", name, fresh, c.body)
		}
	}
}

func TestTLVRules(t *testing.T) {
	good, _ := (&LockRequest{Step: 1}).MarshalBody()
	cases := map[string][]byte{
		"duplicate tag":        append(bytes.Clone(good), good...),
		"unknown critical tag": append(bytes.Clone(good), 0x42, 0, 0),
		"length past end":      {0x01, 5, 0, 1},
		"trailing bytes":       append(bytes.Clone(good), 0x01),
		"wrong field length":   {0x01, 2, 0, 1, 1},
		"missing required":     {},
	}
	for name, b := range cases {
		var r LockRequest
		if err := r.UnmarshalBody(b); !errors.Is(err, ErrTLV) {
			t.Errorf("%s: got %v, want ErrTLV", name, err)
		}
	}
	// A non-critical unknown tag is skipped.
	var r LockRequest
	if err := r.UnmarshalBody(append(bytes.Clone(good), 0x90, 1, 0, 7)); err != nil || r.Step != 1 {
		t.Fatalf("non-critical tag: %v", err)
	}
	// Identify: key hash must accompany a key.
	ir := &IdentifyResponse{ChipModel: "x", Firmware: "y", KeyPresent: false}
	b, _ := ir.MarshalBody()
	b = append(b, 0x06, 32, 0)
	b = append(b, make([]byte, 32)...)
	if err := new(IdentifyResponse).UnmarshalBody(b); !errors.Is(err, ErrTLV) {
		t.Fatalf("identify with spki hash but no key: %v", err)
	}
}

func TestMessageHeaderErrors(t *testing.T) {
	p, _ := EncodeMessage(Message{Version: 1, Type: TypeIdentify, RequestID: 7, Body: []byte{1, 2}})
	if _, err := DecodeMessage(p[:HeaderLen-1]); !errors.Is(err, ErrMessageTooShort) {
		t.Errorf("short: %v", err)
	}
	if _, err := DecodeMessage(p[:len(p)-1]); !errors.Is(err, ErrBodyLength) {
		t.Errorf("body length: %v", err)
	}
	bad := bytes.Clone(p)
	bad[2] = 0x80
	if _, err := DecodeMessage(bad); !errors.Is(err, ErrFlags) {
		t.Errorf("flags: %v", err)
	}
	if _, err := EncodeMessage(Message{Body: make([]byte, MaxBody+1)}); !errors.Is(err, ErrFrameTooLarge) {
		t.Errorf("body too large: %v", err)
	}
}

func TestNoPrivateKeyMessage(t *testing.T) {
	// The protocol has exactly these commands; none reads a key. A new type
	// added here must be reviewed against docs/line-protocol.md §5.
	want := []Type{TypeIdentify, TypeGenerateKey, TypeWriteChunk, TypeCommit, TypeReadDigests, TypeAttest, TypeLock, TypeReboot, TypeBoot}
	if len(typeNames) != len(want) {
		t.Fatalf("protocol has %d message types, reviewed list has %d", len(typeNames), len(want))
	}
	for _, ty := range want {
		if !ty.Known() {
			t.Fatalf("%s unknown", ty)
		}
	}
	for _, f := range reflect.VisibleFields(reflect.TypeOf(GenerateKeyResponse{})) {
		if f.Name == "PrivateKey" || f.Name == "Key" {
			t.Fatalf("GenerateKeyResponse has a %s field", f.Name)
		}
	}
}

func FuzzDecodeMessage(f *testing.F) {
	for _, c := range sampleBodies() {
		b, _ := c.body.MarshalBody()
		p, _ := EncodeMessage(Message{Version: 1, Type: c.t, Flags: FlagResponse, RequestID: 1, Body: b})
		f.Add(p)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, p []byte) {
		m, err := DecodeMessage(p)
		if err != nil {
			return
		}
		again, err := EncodeMessage(m)
		if err != nil || !bytes.Equal(again, p) {
			t.Fatalf("message does not re-encode to the same bytes: %v", err)
		}
		for _, body := range []Body{NewRequestBody(m.Type), NewResponseBody(m.Type), &Refusal{}} {
			if body == nil {
				continue
			}
			if body.UnmarshalBody(m.Body) != nil {
				continue
			}
			// Whatever decodes must encode again and decode to the same value.
			b2, err := body.MarshalBody()
			if err != nil {
				continue
			}
			fresh := reflect.New(reflect.TypeOf(body).Elem()).Interface().(Body)
			if err := fresh.UnmarshalBody(b2); err != nil {
				t.Fatalf("%T re-encoded body does not decode: %v", body, err)
			}
			if !reflect.DeepEqual(fresh, body) {
				t.Fatalf("%T round trip differs", body)
			}
		}
	})
}
