package loadgen

import (
	"bytes"
	"iter"
)

// segments yields the segments of an HL7 message, whichever of CR, LF or
// CRLF ends them, without their terminators.
func segments(msg []byte) iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		for len(msg) > 0 {
			end := bytes.IndexAny(msg, "\r\n")
			if end < 0 {
				yield(msg)
				return
			}
			if end > 0 && !yield(msg[:end:end]) {
				return
			}
			msg = msg[end+1:]
		}
	}
}

// fieldSpan returns where field n of seg starts and ends: the text after the
// n-th field separator. For MSH, whose MSH-1 is the separator itself, field n
// here is MSH-(n+1). ok is false when the segment has fewer fields.
func fieldSpan(seg []byte, sep byte, n int) (start, end int, ok bool) {
	i := 0
	for range n {
		j := bytes.IndexByte(seg[i:], sep)
		if j < 0 {
			return 0, 0, false
		}
		i += j + 1
	}
	j := bytes.IndexByte(seg[i:], sep)
	if j < 0 {
		return i, len(seg), true
	}
	return i, i + j, true
}

// field returns field n of seg (see fieldSpan), nil when absent.
func field(seg []byte, sep byte, n int) []byte {
	s, e, ok := fieldSpan(seg, sep, n)
	if !ok {
		return nil
	}
	return seg[s:e]
}
