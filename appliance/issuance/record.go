package issuance

import (
	"encoding/binary"
	"errors"
	"time"
)

// recordVersion is the first byte of an encoded DACRecord.
const recordVersion = 1

// encode writes r in the store's compact binary form: DER stays raw (JSON
// would base64 it), which keeps a 1,000,000-DAC store near 700 MB instead
// of a gigabyte.
//
//	version u8 | spki [32] | serial u8-len | batch u16-len | index u32 |
//	station u16-len | module u16-len | vid u16 | pid u16 | log u64 |
//	issued-at unix-nanoseconds i64 | der u16-len
func (r *DACRecord) encode() ([]byte, error) {
	if len(r.Serial) > 255 || len(r.Batch) > 0xffff || len(r.Station) > 0xffff || len(r.ModuleID) > 0xffff || len(r.DER) > 0xffff {
		return nil, errors.New("issuance store: dac record field too long")
	}
	b := make([]byte, 0, 1+32+1+len(r.Serial)+2+len(r.Batch)+4+2+len(r.Station)+2+len(r.ModuleID)+4+8+8+2+len(r.DER))
	b = append(b, recordVersion)
	b = append(b, r.SPKIHash[:]...)
	b = append(b, byte(len(r.Serial)))
	b = append(b, r.Serial...)
	b = appendStr(b, r.Batch)
	b = binary.BigEndian.AppendUint32(b, r.Index)
	b = appendStr(b, r.Station)
	b = appendStr(b, r.ModuleID)
	b = binary.BigEndian.AppendUint16(b, r.VID)
	b = binary.BigEndian.AppendUint16(b, r.PID)
	b = binary.BigEndian.AppendUint64(b, r.LogIndex)
	b = binary.BigEndian.AppendUint64(b, uint64(r.IssuedAt.UnixNano()))
	b = binary.BigEndian.AppendUint16(b, uint16(len(r.DER)))
	return append(b, r.DER...), nil
}

func appendStr(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

var errCorrupt = errors.New("issuance store: dac record corrupt")

type reader struct {
	b   []byte
	bad bool
}

func (r *reader) take(n int) []byte {
	if r.bad || len(r.b) < n {
		r.bad = true
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) u16() uint16 {
	if v := r.take(2); v != nil {
		return binary.BigEndian.Uint16(v)
	}
	return 0
}

func (r *reader) u32() uint32 {
	if v := r.take(4); v != nil {
		return binary.BigEndian.Uint32(v)
	}
	return 0
}

func (r *reader) u64() uint64 {
	if v := r.take(8); v != nil {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

func (r *reader) str() string { return string(r.take(int(r.u16()))) }

func decodeRecord(v []byte) (*DACRecord, error) {
	rd := &reader{b: v}
	if ver := rd.take(1); ver == nil || ver[0] != recordVersion {
		return nil, errCorrupt
	}
	var rec DACRecord
	copy(rec.SPKIHash[:], rd.take(32))
	if n := rd.take(1); n != nil {
		rec.Serial = append([]byte(nil), rd.take(int(n[0]))...)
	}
	rec.Batch = rd.str()
	rec.Index = rd.u32()
	rec.Station = rd.str()
	rec.ModuleID = rd.str()
	rec.VID = rd.u16()
	rec.PID = rd.u16()
	rec.LogIndex = rd.u64()
	rec.IssuedAt = time.Unix(0, int64(rd.u64())).UTC()
	rec.DER = append([]byte(nil), rd.take(int(rd.u16()))...)
	if rd.bad || len(rd.b) != 0 {
		return nil, errCorrupt
	}
	return &rec, nil
}

// spkiRef is the by-spki value: where the record lives (batch, index).
func spkiRef(batch string, index uint32) []byte {
	b := appendStr(nil, batch)
	return binary.BigEndian.AppendUint32(b, index)
}

func parseSPKIRef(v []byte) (string, uint32, error) {
	rd := &reader{b: v}
	batch := rd.str()
	idx := rd.u32()
	if rd.bad || len(rd.b) != 0 {
		return "", 0, errCorrupt
	}
	return batch, idx, nil
}
