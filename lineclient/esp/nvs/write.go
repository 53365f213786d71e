package nvs

import (
	"encoding/binary"
	"fmt"
)

// Writer builds an NVS partition the way nvs_partition_gen.py `generate`
// does, row by row: Namespace starts (or continues) a namespace, Put adds an
// entry to the current one, Bytes pads the partition with erased pages and
// the reserved last page. The first error sticks.
type Writer struct {
	size      int // partition size
	left      int // bytes still available for pages (the generator's self.size)
	pages     [][]byte
	page      []byte // current page
	entry     int    // next free entry in the current page
	nsCount   int
	namespace map[string]int
	current   string
	keys      map[string]bool // "namespace\x00key" already written
	err       error
}

// NewWriter starts a partition of size bytes: a multiple of 4,096 and at
// least 0x3000 (smaller partitions are read-only NVS, which the generator
// writes without the reserved page; dacline does not write them).
func NewWriter(size int) (*Writer, error) {
	if size <= 0 || size%PageSize != 0 {
		return nil, fmt.Errorf("%w: partition size 0x%x is not a positive multiple of 0x1000", ErrFormat, size)
	}
	if size < 3*PageSize {
		return nil, fmt.Errorf("%w: partition size 0x%x is below 0x3000 (read-only nvs is not supported)", ErrFormat, size)
	}
	w := &Writer{size: size, left: size - PageSize, namespace: map[string]int{}, keys: map[string]bool{}}
	w.newPage()
	return w, nil
}

// Err is the first error the writer met.
func (w *Writer) Err() error { return w.err }

func (w *Writer) fail(err error) error {
	if w.err == nil {
		w.err = err
	}
	return w.err
}

// newPage closes the current page (ACTIVE becomes FULL) and starts the next
// one with a header, as the generator's create_new_page does.
func (w *Writer) newPage() bool {
	if w.page != nil && binary.LittleEndian.Uint32(w.page) == stateActive {
		binary.LittleEndian.PutUint32(w.page, stateFull)
	}
	if w.left == 0 {
		w.fail(fmt.Errorf("%w: partition size 0x%x is too small for the entries", ErrFormat, w.size))
		return false
	}
	w.left -= PageSize
	p := make([]byte, PageSize)
	for i := range p {
		p[i] = 0xFF
	}
	binary.LittleEndian.PutUint32(p[0:], stateActive)
	binary.LittleEndian.PutUint32(p[4:], uint32(len(w.pages)))
	p[8] = version2
	binary.LittleEndian.PutUint32(p[28:], crc(p[4:28]))
	w.pages = append(w.pages, p)
	w.page, w.entry = p, 0
	return true
}

// put copies data at the next free entry and marks n entries written.
func (w *Writer) put(data []byte, n int) {
	copy(w.page[firstEntry+EntrySize*w.entry:], data)
	for range n {
		bit := w.entry * 2
		w.page[bitmapOffset+bit/8] &^= 1 << (bit & 7)
		w.entry++
	}
}

func header(ns uint8, t Type, span, chunk uint8, key string) []byte {
	e := make([]byte, EntrySize)
	for i := range e {
		e[i] = 0xFF
	}
	e[0], e[1], e[2], e[3] = ns, byte(t), span, chunk
	for i := 8; i < 24; i++ {
		e[i] = 0
	}
	copy(e[8:24], key)
	return e
}

func seal(e []byte) { binary.LittleEndian.PutUint32(e[4:], entryCRC(e)) }

func checkKey(what, key string) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: %s has an empty key", ErrFormat, what)
	case len(key) > maxKeyLen:
		return fmt.Errorf("%w: %s key %q is %d bytes, at most %d", ErrFormat, what, key, len(key), maxKeyLen)
	}
	for i := 0; i < len(key); i++ {
		if key[i] == 0 {
			return fmt.Errorf("%w: %s key %q contains NUL", ErrFormat, what, key)
		}
	}
	return nil
}

// Namespace makes name the namespace of the entries that follow, writing
// its namespace entry the first time. Going back to an earlier namespace is
// refused: the generator would file the following entries under the latest
// namespace instead (it uses its namespace count as the index).
func (w *Writer) Namespace(name string) error {
	if w.err != nil {
		return w.err
	}
	if err := checkKey("namespace", name); err != nil {
		return w.fail(err)
	}
	if idx, ok := w.namespace[name]; ok {
		if idx != w.nsCount {
			return w.fail(fmt.Errorf("%w: namespace %q used again after namespace %q: Espressif's generator would write its entries into %q", ErrFormat, name, w.current, w.current))
		}
		return nil
	}
	if w.nsCount == 254 {
		return w.fail(fmt.Errorf("%w: namespace %q: more than 254 namespaces", ErrFormat, name))
	}
	w.nsCount++
	w.namespace[name] = w.nsCount
	w.current = name
	return w.primitive(0, U8("", name, uint8(w.nsCount)))
}

// Put adds e to the current namespace (e.Namespace is ignored; use Encode
// for entries that name their namespace).
func (w *Writer) Put(e Entry) error {
	if w.err != nil {
		return w.err
	}
	if w.nsCount == 0 {
		return w.fail(fmt.Errorf("%w: entry %q comes before any namespace", ErrFormat, e.Key))
	}
	if err := checkKey("entry", e.Key); err != nil {
		return w.fail(err)
	}
	if id := w.current + "\x00" + e.Key; w.keys[id] {
		return w.fail(fmt.Errorf("%w: key %q appears twice in namespace %q", ErrFormat, e.Key, w.current))
	} else {
		w.keys[id] = true
	}
	ns := uint8(w.nsCount)
	switch {
	case e.Type.IsInt():
		return w.primitive(ns, e)
	case e.Type == TypeString:
		return w.str(ns, e)
	case e.Type == TypeBlob:
		return w.blob(ns, e)
	}
	return w.fail(fmt.Errorf("%w: entry %q: cannot write %s", ErrFormat, e.Key, e.Type))
}

func (w *Writer) primitive(ns uint8, e Entry) error {
	if w.entry >= EntriesPerPage && !w.newPage() {
		return w.err
	}
	h := header(ns, e.Type, 1, chunkAny, e.Key)
	copy(h[24:], e.intBytes())
	seal(h)
	w.put(h, 1)
	return nil
}

func (w *Writer) str(ns uint8, e Entry) error {
	for _, b := range e.Data {
		if b == 0 {
			return w.fail(fmt.Errorf("%w: string %q contains NUL", ErrFormat, e.Key))
		}
	}
	if len(e.Data) > MaxStringLen {
		return w.fail(fmt.Errorf("%w: string %q is %d bytes, at most %d fit a page", ErrFormat, e.Key, len(e.Data), MaxStringLen))
	}
	data := append(append([]byte{}, e.Data...), 0)
	n := (len(data) + EntrySize - 1) / EntrySize
	// The generator wants the header and data entries to leave at least
	// one entry of the page free, else it starts a new page.
	if w.entry+n+1 >= EntriesPerPage && !w.newPage() {
		return w.err
	}
	h := header(ns, TypeString, uint8(n+1), chunkAny, e.Key)
	binary.LittleEndian.PutUint16(h[24:], uint16(len(data)))
	binary.LittleEndian.PutUint32(h[28:], crc(data))
	seal(h)
	w.put(h, 1)
	w.put(data, n)
	return nil
}

// blob writes data chunks, each filling what the page has left, then the
// blob index — the generator's write_varlen_binary_data, quirks included
// (a chunk may be empty when the page had one entry left).
func (w *Writer) blob(ns uint8, e Entry) error {
	if len(e.Data) > 0xFFFFFFFF/2 {
		return w.fail(fmt.Errorf("%w: blob %q too large", ErrFormat, e.Key))
	}
	if w.entry >= EntriesPerPage && !w.newPage() {
		return w.err
	}
	h := header(ns, TypeBlobData, 0, 0, e.Key)
	remaining, offset, chunks := len(e.Data), 0, 0
	for {
		tailroom := (EntriesPerPage - w.entry - 1) * EntrySize
		size := min(tailroom, remaining)
		remaining -= size
		n := (size + EntrySize - 1) / EntrySize
		h[1], h[2], h[3] = byte(TypeBlobData), uint8(n+1), uint8(chunks)
		chunk := e.Data[offset : offset+size]
		binary.LittleEndian.PutUint16(h[24:], uint16(size))
		binary.LittleEndian.PutUint32(h[28:], crc(chunk))
		seal(h)
		w.put(h, 1)
		w.put(chunk, n)
		chunks++
		if chunks > 127 {
			return w.fail(fmt.Errorf("%w: blob %q needs more than 127 chunks", ErrFormat, e.Key))
		}
		if (remaining > 0 || tailroom-size < EntrySize) && !w.newPage() {
			return w.err
		}
		offset += size
		if remaining == 0 {
			for i := 24; i < 32; i++ {
				h[i] = 0xFF
			}
			h[1], h[2], h[3] = byte(TypeBlobIndex), 1, chunkAny
			binary.LittleEndian.PutUint32(h[24:], uint32(len(e.Data)))
			h[28], h[29] = uint8(chunks), 0
			seal(h)
			w.put(h, 1)
			return nil
		}
	}
}

// Bytes finishes the partition: the current page stays ACTIVE, the pages
// left are erased and the last one is the reserved page.
func (w *Writer) Bytes() ([]byte, error) {
	if w.err != nil {
		return nil, w.err
	}
	out := make([]byte, 0, w.size)
	for _, p := range w.pages {
		out = append(out, p...)
	}
	for len(out) < w.size {
		out = append(out, 0xFF)
	}
	return out, nil
}

// Encode writes entries in order, starting a namespace whenever an entry's
// namespace differs from the one before.
func Encode(size int, entries []Entry) ([]byte, error) {
	w, err := NewWriter(size)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if w.nsCount == 0 || e.Namespace != w.current {
			w.Namespace(e.Namespace)
		}
		w.Put(e)
	}
	return w.Bytes()
}
