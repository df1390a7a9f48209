package hl7

import (
	"bytes"
	"fmt"
)

// Encode renders the message in its wire form: segments as received, each
// terminated by CR, in the character set the message declares. For a parsed
// message this gives back its input with terminators normalised to CR (and
// blank lines between segments dropped).
func (m *Message) Encode() ([]byte, error) {
	size := 0
	for _, s := range m.segs {
		size += int(s.end-s.start) + 1
	}
	out := make([]byte, 0, size)
	for _, s := range m.segs {
		out = append(out, m.buf[s.start:s.end]...)
		out = append(out, '\r')
	}
	if m.enc == nil {
		return out, nil
	}
	enc, err := m.enc.NewEncoder().Bytes(out)
	if err != nil {
		return nil, &Error{Segment: "MSH", Seq: 1, Field: 18, Offset: -1, Code: CodeDataType, Severity: SeverityError,
			Msg: fmt.Sprintf("text cannot be encoded in the declared character set %q: %v", m.charset, err)}
	}
	return enc, nil
}

// New starts a message from scratch: an MSH with the given delimiters, the
// message type's components (ADT, A01, ADT_A01; event and structure may be
// empty), control ID, processing ID P and version. Fill it in with Set.
func New(d Delimiters, msgType, event, structure, controlID, version string) (*Message, error) {
	var b []byte
	b = append(b, "MSH"...)
	b = append(b, d.Field)
	b = append(b, d.EncodingCharacters()...)
	b = append(b, bytes.Repeat([]byte{d.Field}, 7)...) // MSH-3..MSH-8 empty
	b = d.AppendEscaped(b, msgType)
	if event != "" || structure != "" {
		b = append(b, d.Component)
		b = d.AppendEscaped(b, event)
	}
	if structure != "" {
		b = append(b, d.Component)
		b = d.AppendEscaped(b, structure)
	}
	b = append(b, d.Field)
	b = d.AppendEscaped(b, controlID)
	b = append(b, d.Field, 'P', d.Field)
	b = d.AppendEscaped(b, version)
	b = append(b, '\r')
	return Parse(b)
}

// Set writes text (escaped as needed) at path p, creating the segment (appended
// at the end, or after the last one of its ID) and any missing fields,
// repetitions and components. MSH-1 and MSH-2 cannot be set. Each Set
// rebuilds the message, which is right for building a message and wrong for a
// loop over a large one.
func (m *Message) Set(p Path, text string) error {
	if p.Field < 1 {
		return fmt.Errorf("hl7: set %s: a field is required", p)
	}
	if isHeaderID([]byte(p.Seg)) && p.Field <= 2 {
		return fmt.Errorf("hl7: set %s: the delimiters cannot be changed", p)
	}
	if m.d.Field == 0 {
		return fmt.Errorf("hl7: set %s: message has no MSH; start it with New", p)
	}
	occ := max(p.Occ, 1)
	all := m.All(p.Seg)
	var seg []byte
	var at, replace int // insert position in segs and whether a segment is replaced
	switch {
	case len(all) >= occ:
		s := all[occ-1]
		seg = append([]byte(nil), s.Raw()...)
		at, replace = s.i, 1
	case len(all) == occ-1:
		seg = []byte(p.Seg)
		at = len(m.segs)
		if len(all) > 0 {
			at = all[len(all)-1].i + 1
		}
	default:
		return fmt.Errorf("hl7: set %s: %s occurrence %d would leave a gap (the message has %d)", p, p.Seg, occ, len(all))
	}
	k := p.Field
	if isHeaderID([]byte(p.Seg)) {
		k--
	}
	if (p.Rep > 1 && m.d.Repetition == 0) || (p.Comp > 1 && m.d.Component == 0) || (p.Sub > 1 && m.d.Subcomponent == 0) {
		return fmt.Errorf("hl7: set %s: the message's MSH-2 declares no separator for that level", p)
	}
	escaped := m.d.AppendEscaped(nil, text)
	seg = setPart(seg, m.d.Field, k, func(field []byte) []byte {
		rep := max(p.Rep, 1)
		return setPart(field, m.d.Repetition, rep-1, func(r []byte) []byte {
			if p.Comp == 0 {
				return escaped
			}
			return setPart(r, m.d.Component, p.Comp-1, func(c []byte) []byte {
				if p.Sub == 0 {
					return escaped
				}
				return setPart(c, m.d.Subcomponent, p.Sub-1, func([]byte) []byte { return escaped })
			})
		})
	})
	var out []byte
	for i, s := range m.segs {
		if i == at {
			out = append(out, seg...)
			out = append(out, '\r')
		}
		if i == at && replace == 1 {
			continue
		}
		out = append(out, m.buf[s.start:s.end]...)
		out = append(out, '\r')
	}
	if at == len(m.segs) {
		out = append(out, seg...)
		out = append(out, '\r')
	}
	// Build the new index aside, so that a failure leaves m as it was.
	var next Message
	next.d = m.d
	next.buf = out // already text: no decoding again
	next.charset = declaredCharset(out, m.d)
	if kind, enc := lookupCharset(next.charset); kind == csOther {
		next.enc = enc // MSH-18 may have been what was set
	}
	if err := next.tokenize(0, false); err != nil {
		return fmt.Errorf("hl7: set %s: %w", p, err)
	}
	*m = next
	return nil
}

// setPart replaces the i-th (0-based) sep-separated part of b with f(part),
// padding with separators when b has fewer parts.
func setPart(b []byte, sep byte, i int, f func([]byte) []byte) []byte {
	start := 0
	for n := 0; n < i; n++ {
		j := bytes.IndexByte(b[start:], sep)
		if j < 0 {
			b = append(b, bytes.Repeat([]byte{sep}, i-n)...)
			start = len(b)
			break
		}
		start += j + 1
	}
	end := len(b)
	if j := bytes.IndexByte(b[start:], sep); j >= 0 {
		end = start + j
	}
	part := f(append([]byte(nil), b[start:end]...))
	out := make([]byte, 0, len(b)-(end-start)+len(part))
	out = append(out, b[:start]...)
	out = append(out, part...)
	return append(out, b[end:]...)
}
