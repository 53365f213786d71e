package auditlog

import (
	"runtime"
	"sync"

	"golang.org/x/mod/sumdb/tlog"
)

// parsedLine is one entries.jsonl line after the parallel stage.
type parsedLine struct {
	leaf  tlog.Hash
	entry Entry
	err   error
}

type chunk struct {
	first int64
	lines [][]byte
	out   []parsedLine
	done  chan struct{}
}

const chunkLines = 512

// streamParsed reads the entries of x once and calls fn for each line in
// order, with its leaf hash and parsed entry (or parse error). Hashing and
// strict decoding — most of the verifier's work — run on all CPUs; fn runs
// on the calling goroutine, in order. Memory is bounded by a few chunks of
// lines in flight.
func streamParsed(x *ExportDir, fn func(n int64, p parsedLine) error) error {
	workers := max(1, runtime.GOMAXPROCS(0))
	work := make(chan *chunk, workers)
	order := make(chan *chunk, 2*workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range work {
				for i, l := range c.lines {
					p := &c.out[i]
					p.leaf = tlog.RecordHash(l)
					p.entry, p.err = ParseEntry(l)
				}
				close(c.done)
			}
		}()
	}

	readErr := make(chan error, 1)
	stop := make(chan struct{})
	go func() {
		defer close(order)
		defer close(work)
		cur := &chunk{}
		send := func() bool {
			cur.out = make([]parsedLine, len(cur.lines))
			cur.done = make(chan struct{})
			select {
			case order <- cur:
			case <-stop:
				return false
			}
			work <- cur
			return true
		}
		err := x.Entries(func(line []byte, n int64) error {
			if len(cur.lines) == 0 {
				cur.first = n
			}
			cur.lines = append(cur.lines, append([]byte(nil), line...))
			if len(cur.lines) == chunkLines {
				if !send() {
					return errStopped
				}
				cur = &chunk{}
			}
			return nil
		})
		if err == nil && len(cur.lines) > 0 {
			send()
		}
		readErr <- err
	}()

	var fnErr error
	for c := range order {
		<-c.done
		if fnErr != nil {
			continue
		}
		for i, p := range c.out {
			if fnErr = fn(c.first+int64(i), p); fnErr != nil {
				close(stop)
				break
			}
		}
	}
	wg.Wait()
	if err := <-readErr; err != nil && err != errStopped {
		return err
	}
	return fnErr
}

type stoppedError struct{}

func (stoppedError) Error() string { return "stopped" }

var errStopped error = stoppedError{}
