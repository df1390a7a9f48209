package loadgen

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/plexus-hl7/plexus/hl7"
	"github.com/plexus-hl7/plexus/mllp"
)

// patientPrefix starts every patient id the generator writes into PID-3.1.
// It is the same in every run, so that repeated runs reuse the same patients
// rather than create new ones downstream each time.
const patientPrefix = "LG"

// template is one input message cut around the two values rewritten for
// each send (MSH-10 and PID-3.1), so that building a message is a few
// appends rather than a parse and an encode:
//
//	head | MSH-10 | mid | PID-3.1 | tail
type template struct {
	head, mid, pid, tail []byte
	hasPID               bool // the message has a PID-3 to rewrite
}

// newTemplate cuts raw. It fails when raw has no MSH-10 to rewrite or
// contains the MLLP end block byte.
func newTemplate(raw []byte) (template, error) {
	if i := bytes.IndexByte(raw, mllp.EndBlock); i >= 0 {
		return template{}, fmt.Errorf("byte %d: %w", i, mllp.ErrInvalidMessage)
	}
	if len(raw) < 8 || string(raw[:3]) != "MSH" {
		return template{}, fmt.Errorf("does not start with an MSH segment")
	}
	sep := raw[3]
	mshEnd := bytes.IndexAny(raw, "\r\n")
	if mshEnd < 0 {
		mshEnd = len(raw)
	}
	cs, ce, ok := fieldSpan(raw[:mshEnd], sep, 9) // MSH-10: see fieldSpan
	if !ok {
		return template{}, fmt.Errorf("MSH has no field 10 (control id) to rewrite")
	}
	t := template{head: raw[:cs], mid: raw[ce:]}

	ps, pe, ok := pidSpan(raw, ce)
	if ok {
		t.hasPID = true
		t.mid, t.pid, t.tail = raw[ce:ps], raw[ps:pe], raw[pe:]
	}
	return t, nil
}

// pidSpan finds PID-3.1 (the first identifier's number) in the first PID
// segment after offset from.
func pidSpan(raw []byte, from int) (start, end int, ok bool) {
	sep := raw[3]
	// MSH-2 lists the component, repetition, escape and subcomponent
	// separators; any of them ends the first component of the first
	// repetition. Escapes never contain a separator, so the raw bytes can be
	// scanned as they are.
	stops := []byte{sep, '\r', '\n'}
	for _, c := range raw[4:min(8, len(raw))] {
		if c == sep {
			break
		}
		stops = append(stops, c)
	}
	for i := from; i < len(raw); {
		end := bytes.IndexAny(raw[i:], "\r\n")
		if end < 0 {
			end = len(raw)
		} else {
			end += i
		}
		seg := raw[i:end]
		if len(seg) >= 4 && string(seg[:3]) == "PID" && seg[3] == sep {
			s, _, ok := fieldSpan(seg, sep, 3)
			if !ok {
				return 0, 0, false
			}
			e := s
			for e < len(seg) && bytes.IndexByte(stops, seg[e]) < 0 {
				e++
			}
			return i + s, i + e, true
		}
		i = end + 1
	}
	return 0, 0, false
}

// ids decides the values spliced into each message.
type ids struct {
	prefix   string // starts every control id of the run
	patients int64  // 0 keeps PID-3.1 as it is
}

// build appends message seq (1-based: the first message of the run is 1),
// framed for MLLP, to dst. It returns the frame and the control id in it.
func (t *template) build(dst []byte, seq int64, x ids) (frame, id []byte) {
	dst = append(dst, mllp.StartBlock)
	dst = append(dst, t.head...)
	s := len(dst)
	dst = append(dst, x.prefix...)
	dst = strconv.AppendInt(dst, seq, 10)
	e := len(dst)
	dst = append(dst, t.mid...)
	if t.hasPID && x.patients > 0 {
		dst = append(dst, patientPrefix...)
		dst = strconv.AppendInt(dst, (seq-1)%x.patients, 10)
	} else {
		dst = append(dst, t.pid...)
	}
	dst = append(dst, t.tail...)
	dst = append(dst, mllp.EndBlock, mllp.CarriageReturn)
	return dst, dst[s:e]
}

// check builds one message from t and reads it back with package hl7, so
// that a cut in the wrong place fails before the run rather than as a
// stream of NAKs.
func (t *template) check(x ids) error {
	frame, id := t.build(nil, 1, x)
	msg := frame[1 : len(frame)-2]
	m, err := hl7.ParseWith(msg, hl7.ParseOptions{FallbackCharset: "8859/1"})
	if err != nil {
		return fmt.Errorf("rewritten message does not parse: %w", err)
	}
	if got := m.Header().ControlID; got != string(id) {
		return fmt.Errorf("rewritten MSH-10 reads %q, want %q", got, id)
	}
	if t.hasPID && x.patients > 0 {
		want := patientPrefix + "0"
		if got := m.Get(hl7.MustPath("PID-3.1")).String(); got != want {
			return fmt.Errorf("rewritten PID-3.1 reads %q, want %q", got, want)
		}
	}
	return nil
}
