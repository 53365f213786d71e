package lineproto

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
)

// The worked examples of docs/line-protocol.md §9. A firmware team can test
// its encoder against the same bytes.
var specVectors = []struct {
	name string
	msg  Message
	wire string
}{
	{"IDENTIFY request, id 1", Message{Version: 1, Type: TypeIdentify, RequestID: 1},
		"00 03 01 01 01 02 01 01 01 01 01 05 AE C4 6F D0 00"},
	{"LOCK secure-boot request, id 0x2A", Message{Version: 1, Type: TypeLock, RequestID: 0x2A, Body: []byte{0x01, 0x01, 0x00, 0x02}},
		"00 03 01 07 01 02 2A 01 01 02 04 03 01 01 06 02 98 23 59 A5 00"},
	{"LOCK reply, burned now", Message{Version: 1, Type: TypeLock, Flags: FlagResponse, RequestID: 0x2A,
		Body: []byte{0x01, 0x01, 0x00, 0x02, 0x02, 0x01, 0x00, 0x00, 0x03, 0x01, 0x00, 0x03, 0x04, 0x01, 0x00, 0x03}},
		"00 04 01 07 01 02 2A 01 01 02 10 03 01 01 04 02 02 01 01 03 03 01 04 03 04 01 06 03 41 C4 20 14 00"},
	{"LOCK refusal, out of order", Message{Version: 1, Type: TypeLock, Flags: FlagResponse, Status: StatusLockOrder, RequestID: 0x2A,
		Body: append([]byte{0x01, 0x1D, 0x00}, "next step is flash-encryption"...)},
		"00 06 01 07 01 0B 2A 01 01 02 20 03 01 1D 22 6E 65 78 74 20 73 74 65 70 20 69 73 20 66 6C 61 73 68 2D 65 6E 63 72 79 70 74 69 6F 6E 45 3E 2B E4 00"},
}

func TestSpecVectors(t *testing.T) {
	for _, v := range specVectors {
		want, err := hex.DecodeString(strings.ReplaceAll(v.wire, " ", ""))
		if err != nil {
			t.Fatal(err)
		}
		got, err := MarshalFrame(v.msg)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s:\n got % X\nwant % X (%v)", v.name, got, want, err)
		}
		p, err := DecodeFrame(want[1 : len(want)-1])
		if err != nil {
			t.Fatalf("%s: %v", v.name, err)
		}
		if m, err := DecodeMessage(p); err != nil || m.RequestID != v.msg.RequestID || !bytes.Equal(m.Body, v.msg.Body) {
			t.Errorf("%s: decode %+v %v", v.name, m, err)
		}
	}
	var lr LockResponse
	if err := lr.UnmarshalBody(specVectors[2].msg.Body); err != nil || lr.Step != LockSecureBoot || lr.AlreadyBurned || lr.LockMask != 3 || lr.State != StateLocking {
		t.Errorf("lock reply body: %+v %v", lr, err)
	}
}

func TestCRCIsIEEE(t *testing.T) {
	// CRC-32/ISO-HDLC check value, as the spec states.
	f, _ := AppendFrame(nil, []byte("123456789"))
	p, _ := cobsDecode(f[1 : len(f)-1])
	if got := hex.EncodeToString(p[9:]); got != "2639f4cb" {
		t.Fatalf("crc trailer %s, want 2639f4cb (0xCBF43926 little-endian)", got)
	}
}
