package manifest

import (
	"bufio"
	"fmt"
	"io"
)

func newBufWriter(w io.Writer) *bufio.Writer { return bufio.NewWriterSize(w, 256<<10) }

// limitedLines fails a read once a line grows past maxRowBytes.
type limitedLines struct {
	r       io.Reader
	lineLen int
}

func (l *limitedLines) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	for _, c := range p[:n] {
		if c == '\n' {
			l.lineLen = 0
			continue
		}
		l.lineLen++
		if l.lineLen > maxRowBytes {
			return 0, fmt.Errorf("a line is longer than %d bytes", maxRowBytes)
		}
	}
	return n, err
}
