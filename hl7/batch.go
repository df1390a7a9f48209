package hl7

import (
	"bytes"
	"fmt"
	"strconv"
)

// Batch is the content of an HL7 batch file: FHS/BHS headers, messages, and
// BTS/FTS trailers, or simply several messages one after another.
type Batch struct {
	FileHeader  []byte  // the FHS segment, nil if none
	FileTrailer []byte  // the FTS segment, nil if none
	Batches     []Group // at least one when the input holds any message
}

// Group is one batch (BHS … BTS) of a batch file. Input without BHS has one
// Group with no header.
type Group struct {
	Header   []byte   // the BHS segment, nil if none
	Trailer  []byte   // the BTS segment, nil if none
	Messages [][]byte // each message's bytes, aliasing the input; parse with Parse
}

// Messages returns every message of every group, in order.
func (b *Batch) Messages() [][]byte {
	var out [][]byte
	for _, g := range b.Batches {
		out = append(out, g.Messages...)
	}
	return out
}

// SplitBatch splits data into its messages: an FHS/BHS batch file, or
// several messages in a row, or a single message. The counts that BTS-1 and
// FTS-1 declare are checked against what the file holds. Messages are not
// parsed: each can then be parsed (and fail) on its own.
func SplitBatch(data []byte) (*Batch, error) {
	data = bytes.TrimPrefix(data, utf8BOM)
	var b Batch
	var g *Group
	curStart := -1 // start of the message being collected
	seq := 0
	flush := func(end int) {
		if curStart >= 0 {
			if g == nil {
				b.Batches = append(b.Batches, Group{})
				g = &b.Batches[len(b.Batches)-1]
			}
			g.Messages = append(g.Messages, data[curStart:end])
			curStart = -1
		}
	}
	fail := func(id string, off int, format string, args ...any) (*Batch, error) {
		if !validSegmentID([]byte(id)) {
			id = ""
		}
		return nil, &Error{Segment: id, Seq: seq, Offset: off, Code: CodeSegmentSequence, Severity: SeverityError, Msg: fmt.Sprintf(format, args...)}
	}
	var fs byte = '|'
	if len(data) > 3 {
		fs = data[3] // of FHS, BHS or MSH: anything else fails below
	}
	pos := 0
	for pos < len(data) {
		end, next := lineEnd(data, pos, fs)
		line := data[pos:end]
		if isBlank(line) {
			pos = next
			continue
		}
		seq++
		id := ""
		if len(line) >= 3 {
			id = string(line[:3])
		}
		switch id {
		case "FHS":
			if seq != 1 {
				return fail(id, pos, "FHS must be the first segment of a batch file")
			}
			b.FileHeader = line
		case "FTS":
			flush(pos)
			b.FileTrailer = line
			if next < len(data) && !isBlank(data[next:]) {
				return fail(id, next, "data after FTS, the end of the batch file")
			}
		case "BHS":
			flush(pos)
			b.Batches = append(b.Batches, Group{Header: line})
			g = &b.Batches[len(b.Batches)-1]
		case "BTS":
			flush(pos)
			if g == nil {
				return fail(id, pos, "BTS without BHS")
			}
			g.Trailer = line
			g = nil
		case "MSH":
			flush(pos)
			curStart = pos
		default:
			if curStart < 0 {
				return fail(id, pos, "segment %s outside any message (expected MSH, BHS or FHS)", quoteShort(line[:min(len(line), 3)]))
			}
		}
		pos = next
	}
	flush(len(data))
	if len(b.Batches) == 0 {
		return fail("", 0, "no message in the input")
	}
	for i, g := range b.Batches {
		if g.Trailer == nil {
			if g.Header != nil {
				return fail("BHS", -1, "batch %d has no BTS trailer", i+1)
			}
			continue
		}
		if n, ok := trailerCount(g.Trailer); ok && n != len(g.Messages) {
			return fail("BTS", -1, "batch %d: BTS-1 says %d messages, the batch holds %d", i+1, n, len(g.Messages))
		}
	}
	if b.FileHeader != nil && b.FileTrailer == nil {
		return fail("FHS", -1, "batch file has no FTS trailer")
	}
	if b.FileTrailer != nil {
		if n, ok := trailerCount(b.FileTrailer); ok && n != len(b.Batches) {
			return fail("FTS", -1, "FTS-1 says %d batches, the file holds %d", n, len(b.Batches))
		}
	}
	return &b, nil
}

// lineEnd finds the end of the segment starting at pos and where the next one
// starts, with the same terminator rules as Parse.
func lineEnd(data []byte, pos int, fs byte) (end, next int) {
	for i := pos; i < len(data); i++ {
		switch data[i] {
		case '\r':
			if i+1 < len(data) && data[i+1] == '\n' {
				return i, i + 2
			}
			return i, i + 1
		case '\n':
			if lfEndsSegment(data, i, fs) {
				return i, i + 1
			}
		}
	}
	return len(data), len(data)
}

// trailerCount reads BTS-1 / FTS-1; ok is false when it is empty.
func trailerCount(seg []byte) (int, bool) {
	if len(seg) < 5 {
		return 0, false
	}
	fs := seg[3]
	f := seg[4:]
	if i := bytes.IndexByte(f, fs); i >= 0 {
		f = f[:i]
	}
	n, err := strconv.Atoi(string(bytes.TrimSpace(f)))
	if err != nil {
		return 0, false
	}
	return n, true
}
