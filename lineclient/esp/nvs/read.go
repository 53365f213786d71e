package nvs

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sort"
)

// Item is one entry as stored, for listings: where it is and its checksums.
type Item struct {
	Page       int    // page index in the partition
	Seq        uint32 // page sequence number
	Index      int    // entry index in the page
	Offset     int    // byte offset of the entry in the partition
	Namespace  uint8  // namespace index (0: the namespace table)
	Type       Type
	Span       uint8
	ChunkIndex uint8
	Key        string
	CRC        uint32 // entry CRC (checked)
	DataSize   int    // strings and blob chunks: data bytes; blob index: blob size
	DataCRC    uint32 // strings and blob chunks: data CRC (checked)
	ChunkCount uint8  // blob index: chunks
	ChunkStart uint8  // blob index: first chunk index
	Erased     bool   // state 00: the entry was deleted
}

// PageInfo describes one page.
type PageInfo struct {
	Index   int
	State   string // active, full, freeing, empty
	Seq     uint32
	CRC     uint32 // header CRC (checked) for used pages
	Written int    // written entries
}

// Partition is a parsed NVS partition.
type Partition struct {
	Pages      []PageInfo
	Items      []Item           // every written or erased entry, in page-sequence order
	Namespaces map[string]uint8 // name → index
	Entries    []Entry          // the key-value pairs, in the order they were written
}

// Lookup returns the entry ns/key.
func (p *Partition) Lookup(ns, key string) (Entry, bool) {
	for _, e := range p.Entries {
		if e.Namespace == ns && e.Key == key {
			return e, true
		}
	}
	return Entry{}, false
}

type blobKey struct {
	ns  uint8
	key string
}

type pending struct {
	item Item
	pos  int
	e    Entry
}

type chunk struct {
	data []byte
	pos  int
	item Item
}

// Parse reads an unencrypted NVS partition (version 2).
func Parse(b []byte) (*Partition, error) {
	if len(b) == 0 || len(b)%PageSize != 0 {
		return nil, fmt.Errorf("%w: partition is %d bytes, not a multiple of %d", ErrFormat, len(b), PageSize)
	}
	p := &Partition{Namespaces: map[string]uint8{}}
	type used struct {
		idx int
		seq uint32
	}
	var order []used
	seqs := map[uint32]int{}
	for i := 0; i < len(b)/PageSize; i++ {
		pg := b[i*PageSize : (i+1)*PageSize]
		info := PageInfo{Index: i, Seq: binary.LittleEndian.Uint32(pg[4:])}
		switch st := binary.LittleEndian.Uint32(pg); st {
		case stateEmpty:
			info.State = "empty"
			if !allFF(pg) {
				return nil, fmt.Errorf("%w: page %d (offset 0x%x): state empty but the page holds data", ErrFormat, i, i*PageSize)
			}
			p.Pages = append(p.Pages, info)
			continue
		case stateActive:
			info.State = "active"
		case stateFull:
			info.State = "full"
		case 0xFFFFFFF8:
			info.State = "freeing"
		default:
			return nil, fmt.Errorf("%w: page %d (offset 0x%x): page state 0x%08x is not active, full or freeing", ErrFormat, i, i*PageSize, st)
		}
		info.CRC = binary.LittleEndian.Uint32(pg[28:])
		if got := crc(pg[4:28]); got != info.CRC {
			return nil, fmt.Errorf("%w: page %d (offset 0x%x): header crc 0x%08x, computed 0x%08x", ErrFormat, i, i*PageSize, info.CRC, got)
		}
		if pg[8] != version2 {
			return nil, fmt.Errorf("%w: page %d (offset 0x%x): version 0x%02x, want 0xfe (nvs version 2)", ErrFormat, i, i*PageSize, pg[8])
		}
		if j, dup := seqs[info.Seq]; dup {
			return nil, fmt.Errorf("%w: pages %d and %d both have sequence number %d", ErrFormat, j, i, info.Seq)
		}
		seqs[info.Seq] = i
		p.Pages = append(p.Pages, info)
		order = append(order, used{i, info.Seq})
	}
	sort.Slice(order, func(a, c int) bool { return order[a].seq < order[c].seq })

	var values []pending // integers, strings, blob indexes (pos: first position)
	chunks := map[blobKey]map[uint8]chunk{}
	pos := 0
	for _, u := range order {
		pg := b[u.idx*PageSize : (u.idx+1)*PageSize]
		bitmap := pg[bitmapOffset : bitmapOffset+32]
		stateOf := func(i int) byte { return bitmap[i/4] >> (2 * (i % 4)) & 3 }
		for i := 0; i < EntriesPerPage; {
			st := stateOf(i)
			off := u.idx*PageSize + firstEntry + i*EntrySize
			e := b[off : off+EntrySize]
			where := func() string {
				return fmt.Sprintf("page %d (seq %d) entry %d (offset 0x%x)", u.idx, u.seq, i, off)
			}
			switch st {
			case 3: // empty
				i++
				continue
			case 1:
				return nil, fmt.Errorf("%w: %s: entry state 01 is not a state", ErrFormat, where())
			}
			it := Item{Page: u.idx, Seq: u.seq, Index: i, Offset: off, Namespace: e[0], Type: Type(e[1]),
				Span: e[2], ChunkIndex: e[3], CRC: binary.LittleEndian.Uint32(e[4:]), Erased: st == 0}
			k := e[8:24]
			if n := bytes.IndexByte(k, 0); n >= 0 {
				k = k[:n]
			}
			it.Key = string(k)
			if st == 0 { // erased: skip it (and what its span covered, if its header is intact)
				p.Items = append(p.Items, it)
				i++
				continue
			}
			if it.Span == 0 || i+int(it.Span) > EntriesPerPage {
				return nil, fmt.Errorf("%w: %s key %q: span %d runs past the page", ErrFormat, where(), it.Key, it.Span)
			}
			if got := entryCRC(e); got != it.CRC {
				return nil, fmt.Errorf("%w: %s key %q: entry crc 0x%08x, computed 0x%08x", ErrFormat, where(), it.Key, it.CRC, got)
			}
			for j := 1; j < int(it.Span); j++ {
				if stateOf(i+j) != 2 {
					return nil, fmt.Errorf("%w: %s key %q: data entry %d of its span is not marked written", ErrFormat, where(), it.Key, i+j)
				}
			}
			if len(it.Key) == 0 || len(k) == 16 {
				return nil, fmt.Errorf("%w: %s: key is empty or not NUL-terminated", ErrFormat, where())
			}
			data := b[off+EntrySize : off+EntrySize*int(it.Span)]
			entry := Entry{Key: it.Key, Type: it.Type}
			switch {
			case it.Type.IsInt():
				if it.Span != 1 {
					return nil, fmt.Errorf("%w: %s key %q: %s with span %d", ErrFormat, where(), it.Key, it.Type, it.Span)
				}
				var v uint64
				for j := it.Type.intSize() - 1; j >= 0; j-- {
					v = v<<8 | uint64(e[24+j])
				}
				entry.Uint = v
				if it.Type.Signed() {
					shift := 64 - 8*it.Type.intSize()
					entry.Int, entry.Uint = int64(v<<shift)>>shift, 0
				}
			case it.Type == TypeString || it.Type == TypeBlobData || it.Type == TypeBlobV1:
				size := int(binary.LittleEndian.Uint16(e[24:]))
				it.DataSize, it.DataCRC = size, binary.LittleEndian.Uint32(e[28:])
				if want := 1 + (size+EntrySize-1)/EntrySize; int(it.Span) != want {
					return nil, fmt.Errorf("%w: %s key %q: %s of %d bytes has span %d, want %d", ErrFormat, where(), it.Key, it.Type, size, it.Span, want)
				}
				d := data[:size]
				if got := crc(d); got != it.DataCRC {
					return nil, fmt.Errorf("%w: %s key %q: data crc 0x%08x, computed 0x%08x", ErrFormat, where(), it.Key, it.DataCRC, got)
				}
				if it.Type == TypeString {
					if size == 0 || d[size-1] != 0 || bytes.IndexByte(d, 0) != size-1 {
						return nil, fmt.Errorf("%w: %s key %q: string is not one NUL-terminated text", ErrFormat, where(), it.Key)
					}
					entry.Data = append([]byte{}, d[:size-1]...)
				} else {
					entry.Data = append([]byte{}, d...)
					if it.Type == TypeBlobData {
						bk := blobKey{it.Namespace, it.Key}
						if chunks[bk] == nil {
							chunks[bk] = map[uint8]chunk{}
						}
						if _, dup := chunks[bk][it.ChunkIndex]; dup {
							return nil, fmt.Errorf("%w: %s key %q: chunk %d appears twice", ErrFormat, where(), it.Key, it.ChunkIndex)
						}
						chunks[bk][it.ChunkIndex] = chunk{entry.Data, pos, it}
					}
				}
			case it.Type == TypeBlobIndex:
				if it.Span != 1 {
					return nil, fmt.Errorf("%w: %s key %q: blob index with span %d", ErrFormat, where(), it.Key, it.Span)
				}
				it.DataSize = int(binary.LittleEndian.Uint32(e[24:]))
				it.ChunkCount, it.ChunkStart = e[28], e[29]
			default:
				return nil, fmt.Errorf("%w: %s key %q: unknown type 0x%02x", ErrFormat, where(), it.Key, uint8(it.Type))
			}
			p.Items = append(p.Items, it)
			if it.Type != TypeBlobData {
				values = append(values, pending{it, pos, entry})
			}
			pos++
			i += int(it.Span)
		}
	}
	return p, p.assemble(values, chunks)
}

// assemble resolves namespaces, joins blob chunks through their index and
// checks that every key appears once.
func (p *Partition) assemble(values []pending, chunks map[blobKey]map[uint8]chunk) error {
	names := map[uint8]string{}
	for _, v := range values {
		if v.item.Namespace != 0 {
			continue
		}
		if v.item.Type != TypeU8 || v.e.Uint == 0 || v.e.Uint == 0xFF {
			return fmt.Errorf("%w: page %d entry %d: namespace table entry %q is %s %s, want u8 1..254", ErrFormat, v.item.Page, v.item.Index, v.item.Key, v.item.Type, v.e.ValueString())
		}
		idx := uint8(v.e.Uint)
		if other, dup := names[idx]; dup {
			return fmt.Errorf("%w: namespaces %q and %q share index %d", ErrFormat, other, v.item.Key, idx)
		}
		if _, dup := p.Namespaces[v.item.Key]; dup {
			return fmt.Errorf("%w: namespace %q defined twice", ErrFormat, v.item.Key)
		}
		names[idx] = v.item.Key
		p.Namespaces[v.item.Key] = idx
	}
	type placed struct {
		pos int
		e   Entry
	}
	var out []placed
	seen := map[blobKey]Item{}
	used := map[blobKey]bool{}
	for _, v := range values {
		it := v.item
		if it.Namespace == 0 {
			continue
		}
		ns, ok := names[it.Namespace]
		if !ok {
			return fmt.Errorf("%w: page %d entry %d key %q: namespace index %d is not defined", ErrFormat, it.Page, it.Index, it.Key, it.Namespace)
		}
		bk := blobKey{it.Namespace, it.Key}
		if prev, dup := seen[bk]; dup {
			return fmt.Errorf("%w: key %q in namespace %q appears twice (page %d entry %d and page %d entry %d)", ErrFormat, it.Key, ns, prev.Page, prev.Index, it.Page, it.Index)
		}
		seen[bk] = it
		e := v.e
		e.Namespace = ns
		pos := v.pos
		if it.Type == TypeBlobIndex {
			nChunks, start := int(it.ChunkCount), int(it.ChunkStart)
			data := []byte{}
			for c := start; c < start+nChunks; c++ {
				ch, ok := chunks[bk][uint8(c)]
				if !ok || c > 0xFF {
					return fmt.Errorf("%w: blob %q in namespace %q (index at page %d entry %d): chunk %d of %d..%d is missing", ErrFormat, it.Key, ns, it.Page, it.Index, c, start, start+nChunks-1)
				}
				if c == start {
					pos = ch.pos
				}
				data = append(data, ch.data...)
			}
			if len(data) != it.DataSize {
				return fmt.Errorf("%w: blob %q in namespace %q: chunks hold %d bytes, its index says %d", ErrFormat, it.Key, ns, len(data), it.DataSize)
			}
			if len(chunks[bk]) != nChunks {
				return fmt.Errorf("%w: blob %q in namespace %q: %d chunks stored, its index names %d", ErrFormat, it.Key, ns, len(chunks[bk]), nChunks)
			}
			used[bk] = true
			e.Type, e.Data = TypeBlob, data
		}
		out = append(out, placed{pos, e})
	}
	for bk, cs := range chunks {
		if !used[bk] {
			for _, ch := range cs {
				return fmt.Errorf("%w: page %d entry %d: blob chunk %d of %q has no blob index", ErrFormat, ch.item.Page, ch.item.Index, ch.item.ChunkIndex, ch.item.Key)
			}
		}
	}
	sort.SliceStable(out, func(a, c int) bool { return out[a].pos < out[c].pos })
	for _, o := range out {
		p.Entries = append(p.Entries, o.e)
	}
	return nil
}

func allFF(b []byte) bool {
	for _, c := range b {
		if c != 0xFF {
			return false
		}
	}
	return true
}
