package mattertlv

// Writer appends TLV elements to a buffer. Its zero value is ready to use.
// It does not check container nesting: callers write fixed shapes and their
// tests compare whole encodings with the SDK's.
type Writer struct{ buf []byte }

// Bytes returns the encoding written so far.
func (w *Writer) Bytes() []byte { return w.buf }

func (w *Writer) head(tag Tag, typ Type) {
	if tag < 0 {
		w.buf = append(w.buf, tagControlAnonymous|byte(typ))
		return
	}
	w.buf = append(w.buf, tagControlContext|byte(typ), byte(tag))
}

// Uint writes an unsigned integer in its shortest width.
func (w *Writer) Uint(tag Tag, v uint64) {
	width := widthOf(v)
	w.head(tag, TypeUnsigned1+width)
	w.buf = appendLE(w.buf, v, width)
}

// Int writes a signed integer in its shortest width.
func (w *Writer) Int(tag Tag, v int64) {
	width := signedWidthOf(v)
	w.head(tag, TypeSigned1+width)
	w.buf = appendLE(w.buf, uint64(v), width)
}

// UTF8 writes a UTF-8 string with the shortest length field.
func (w *Writer) UTF8(tag Tag, s string) { w.str(tag, TypeUTF8Len1, []byte(s)) }

// OctetString writes an octet string with the shortest length field.
func (w *Writer) OctetString(tag Tag, b []byte) { w.str(tag, TypeBytesLen1, b) }

func (w *Writer) str(tag Tag, first Type, b []byte) {
	width := widthOf(uint64(len(b)))
	w.head(tag, first+width)
	w.buf = appendLE(w.buf, uint64(len(b)), width)
	w.buf = append(w.buf, b...)
}

// StartStructure opens a structure; End closes it.
func (w *Writer) StartStructure(tag Tag) { w.head(tag, TypeStructure) }

// StartArray opens an array; End closes it.
func (w *Writer) StartArray(tag Tag) { w.head(tag, TypeArray) }

// End closes the innermost open structure or array.
func (w *Writer) End() { w.buf = append(w.buf, byte(TypeEndOfContainer)) }
