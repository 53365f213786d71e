package auditlog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// A file of signed checkpoints (checkpoints.txt of an export, or the file an
// auditor keeps for --checkpoint) is the signed notes concatenated, in
// signing order, with nothing between them (docs/audit-log.md §5). A signed
// note is its text (non-empty lines), one empty line, then one or more
// signature lines, each starting with "— " (U+2014 EM DASH, space). A note
// ends with its last signature line: the next line that does not start with
// "— " begins the next note. This is unambiguous for checkpoints, whose text
// lines (origin, size, root) are never empty and never start with "— " (an
// origin has no spaces). A file holding one note is just that note, so `cat
// a.note b.note` makes a valid file and every dacline checkpoint is exactly
// five lines (`tail -n 5` is the latest).

// MaxCheckpointsFileSize bounds a file of signed checkpoints: at about 170
// bytes a checkpoint, some 390,000 checkpoints (one per ceremony and export:
// decades of ceremonies).
const MaxCheckpointsFileSize = 64 << 20

// sigPrefix starts every signature line of a signed note.
const sigPrefix = "\u2014 "

// JoinNotes concatenates signed notes into one file's content, checking that
// each is one well-formed note so SplitNotes gives back exactly the same
// notes.
func JoinNotes(notes [][]byte) ([]byte, error) {
	var out []byte
	for i, n := range notes {
		got, err := SplitNotes("note", n)
		if err != nil || len(got) != 1 {
			if err == nil {
				err = fmt.Errorf("%d notes in one", len(got))
			}
			return nil, fmt.Errorf("checkpoint %d is not one signed note: %w", i+1, err)
		}
		out = append(out, n...)
	}
	if int64(len(out)) > MaxCheckpointsFileSize {
		return nil, fmt.Errorf("%d checkpoints make %d bytes, more than %d", len(notes), len(out), MaxCheckpointsFileSize)
	}
	return out, nil
}

// SplitNotes splits a file of concatenated signed notes into the notes,
// byte for byte. Each is named "<name> note <i> (line <l>)" for messages; a
// file holding a single note keeps its name. Signatures are not checked here.
func SplitNotes(name string, data []byte) ([]NamedFile, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("%s: empty: no signed note", name)
	}
	if int64(len(data)) > MaxCheckpointsFileSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, MaxCheckpointsFileSize)
	}
	if data[len(data)-1] != '\n' {
		return nil, fmt.Errorf("%s: does not end with a newline (truncated?)", name)
	}
	const (
		text  = iota // in a note's text (or before the first line of a note)
		blank        // after the empty line: a signature line must follow
		sigs         // in the signature lines
	)
	type span struct{ start, line int }
	var (
		notes      []span
		state      = text
		textLines  int
		start, pos int
		line       int
	)
	for pos < len(data) {
		end := bytes.IndexByte(data[pos:], '\n') + pos
		l := data[pos:end]
		line++
		isSig := bytes.HasPrefix(l, []byte(sigPrefix))
		if state == sigs && !isSig { // the previous note ended at the line before
			state, textLines, start = text, 0, pos
		}
		if state == text && textLines == 0 {
			notes = append(notes, span{start, line})
		}
		switch {
		case state == text && len(l) == 0:
			if textLines == 0 {
				return nil, fmt.Errorf("%s line %d: empty line where a note's text should start", name, line)
			}
			state = blank
		case state == text && isSig:
			return nil, fmt.Errorf("%s line %d: signature line with no empty line before it", name, line)
		case state == text:
			textLines++
		case state == blank && !isSig:
			return nil, fmt.Errorf("%s line %d: a note's empty line must be followed by a signature line (%q)", name, line, sigPrefix)
		default: // a signature line
			state = sigs
		}
		if end+1-start > MaxCheckpointSize {
			return nil, fmt.Errorf("%s line %d: note is larger than %d bytes", name, line, MaxCheckpointSize)
		}
		pos = end + 1
	}
	if state != sigs {
		return nil, fmt.Errorf("%s line %d: the last note has no signature lines (truncated?)", name, line)
	}
	out := make([]NamedFile, len(notes))
	for i, s := range notes {
		end := len(data)
		if i+1 < len(notes) {
			end = notes[i+1].start
		}
		n := name
		if len(notes) > 1 {
			n = fmt.Sprintf("%s note %d (line %d)", name, i+1, s.line)
		}
		out[i] = NamedFile{Name: n, Data: data[s.start:end]}
	}
	return out, nil
}

// ReadKnownCheckpoints reads a file of signed checkpoints the auditor kept
// (an export's checkpoints.txt, or single .note files): one note or several,
// concatenated.
func ReadKnownCheckpoints(path string) ([]NamedFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxCheckpointsFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(data) > MaxCheckpointsFileSize {
		return nil, errors.New(path + ": larger than a file of checkpoints may be")
	}
	return SplitNotes(path, data)
}
