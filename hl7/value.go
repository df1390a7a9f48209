package hl7

import (
	"bytes"
)

// Delimiters returns the separators the message declared.
func (m *Message) Delimiters() Delimiters { return m.d }

// Len is the number of segments.
func (m *Message) Len() int { return len(m.segs) }

// Segment returns the i-th segment (0-based, in message order).
func (m *Message) Segment(i int) Segment {
	if i < 0 || i >= len(m.segs) {
		return Segment{}
	}
	return Segment{m: m, i: i}
}

// Find returns the n-th (1-based) segment with the given ID.
func (m *Message) Find(id string, n int) (Segment, bool) {
	if n < 1 {
		n = 1
	}
	for i := range m.segs {
		if m.segIDIs(i, id) {
			n--
			if n == 0 {
				return Segment{m: m, i: i}, true
			}
		}
	}
	return Segment{}, false
}

// All returns every segment with the given ID, in order.
func (m *Message) All(id string) []Segment {
	var out []Segment
	for i := range m.segs {
		if m.segIDIs(i, id) {
			out = append(out, Segment{m: m, i: i})
		}
	}
	return out
}

func (m *Message) segIDIs(i int, id string) bool {
	s := m.segs[i]
	f := m.fields[s.f0]
	e := m.fields[s.f0+1] - 1
	return string(m.buf[f:e]) == id
}

// Segment is one segment of a message; its zero value is an absent segment.
type Segment struct {
	m *Message
	i int
}

// Present reports whether the segment exists.
func (s Segment) Present() bool { return s.m != nil }

// Index is the 0-based position of the segment in its message.
func (s Segment) Index() int { return s.i }

// ID is the segment ID ("PID").
func (s Segment) ID() string { return string(s.IDBytes()) }

// IDBytes is the segment ID without allocating; it aliases the message.
func (s Segment) IDBytes() []byte {
	if s.m == nil {
		return nil
	}
	sg := s.m.segs[s.i]
	return s.m.buf[s.m.fields[sg.f0] : s.m.fields[sg.f0+1]-1]
}

// Is reports whether the segment has the given ID.
func (s Segment) Is(id string) bool { return s.m != nil && string(s.IDBytes()) == id }

// Raw is the segment as received, without its terminator.
func (s Segment) Raw() []byte {
	if s.m == nil {
		return nil
	}
	sg := s.m.segs[s.i]
	return s.m.buf[sg.start:sg.end]
}

// Fields is the number of the segment's last field present (HL7 numbering).
func (s Segment) Fields() int {
	if s.m == nil {
		return 0
	}
	n := int(s.m.segs[s.i].nf) - 1
	if isHeaderID(s.IDBytes()) {
		n++
	}
	return n
}

// Field returns field n (1-based, HL7 numbering: MSH-1 is the field
// separator, MSH-2 the encoding characters, both returned verbatim).
func (s Segment) Field(n int) Value {
	if s.m == nil || n < 1 {
		return Value{}
	}
	sg := s.m.segs[s.i]
	k := n
	if isHeaderID(s.IDBytes()) {
		if n == 1 {
			p := s.m.fields[sg.f0+1] - 1 // the separator after the segment ID
			return Value{raw: s.m.buf[p : p+1], m: s.m, lvl: lvlLiteral}
		}
		k = n - 1
		if k == 1 {
			return Value{raw: s.m.fieldBytes(sg, k), m: s.m, lvl: lvlLiteral}
		}
	}
	if k >= int(sg.nf) {
		return Value{m: s.m}
	}
	return Value{raw: s.m.fieldBytes(sg, k), m: s.m}
}

func (m *Message) fieldBytes(sg segment, k int) []byte {
	return m.buf[m.fields[int(sg.f0)+k] : m.fields[int(sg.f0)+k+1]-1]
}

// level says which separators may still split a Value.
type level uint8

const (
	lvlField   level = iota // repetitions, components, subcomponents
	lvlRep                  // components, subcomponents
	lvlComp                 // subcomponents
	lvlSub                  // nothing
	lvlLiteral              // MSH-1 and MSH-2: never split, never unescaped
)

// Value is a field, repetition, component or subcomponent. It is a small
// value that aliases the message; reading it allocates only for text.
// An absent value and an empty one are the same; the HL7 null `""` is
// neither (see IsNull).
type Value struct {
	raw []byte
	m   *Message
	lvl level
}

// Raw is the value as on the wire: escaped, delimiters inside kept.
func (v Value) Raw() []byte { return v.raw }

// IsEmpty reports whether the value is absent or empty.
func (v Value) IsEmpty() bool { return len(v.raw) == 0 }

// IsNull reports whether the value is the HL7 explicit null `""`, which
// tells the receiver to delete what it holds (unlike an empty value, which
// says nothing).
func (v Value) IsNull() bool { return len(v.raw) == 2 && v.raw[0] == '"' && v.raw[1] == '"' }

// HasValue reports whether the value carries data: not empty and not null.
func (v Value) HasValue() bool { return len(v.raw) > 0 && !v.IsNull() }

// Reps is the number of repetitions (at least 1 when the value is present).
func (v Value) Reps() int { return v.count(lvlField, v.sep(lvlField)) }

// Components is the number of components of the first repetition.
func (v Value) Components() int {
	if v.lvl == lvlField {
		v = v.Rep(1)
	}
	return v.count(lvlRep, v.sep(lvlRep))
}

// Subcomponents is the number of subcomponents of the first component.
func (v Value) Subcomponents() int {
	if v.lvl < lvlComp {
		v = v.Component(1)
	}
	return v.count(lvlComp, v.sep(lvlComp))
}

func (v Value) count(at level, sep byte) int {
	if len(v.raw) == 0 {
		return 0
	}
	if v.lvl != at || sep == 0 {
		return 1
	}
	return bytes.Count(v.raw, []byte{sep}) + 1
}

func (v Value) sep(at level) byte {
	if v.m == nil {
		return 0
	}
	switch at {
	case lvlField:
		return v.m.d.Repetition
	case lvlRep:
		return v.m.d.Component
	case lvlComp:
		return v.m.d.Subcomponent
	}
	return 0
}

// Rep returns repetition i (1-based) of a field. On anything below a
// field, Rep(1) is the value itself.
func (v Value) Rep(i int) Value {
	return v.split(lvlField, i)
}

// Component returns component i (1-based) of the first repetition.
func (v Value) Component(i int) Value {
	if v.lvl == lvlField {
		v = v.Rep(1)
	}
	return v.split(lvlRep, i)
}

// Sub returns subcomponent i (1-based) of the first component.
func (v Value) Sub(i int) Value {
	if v.lvl < lvlComp {
		v = v.Component(1)
	}
	return v.split(lvlComp, i)
}

func (v Value) split(at level, i int) Value {
	if i < 1 {
		return Value{m: v.m, lvl: at + 1}
	}
	if v.lvl > at {
		if i == 1 {
			return v
		}
		return Value{m: v.m, lvl: v.lvl}
	}
	sep := v.sep(at)
	rest := v.raw
	for ; i > 1; i-- {
		j := bytes.IndexByte(rest, sep)
		if j < 0 || sep == 0 {
			return Value{m: v.m, lvl: at + 1}
		}
		rest = rest[j+1:]
	}
	if j := bytes.IndexByte(rest, sep); j >= 0 && sep != 0 {
		rest = rest[:j]
	}
	return Value{raw: rest, m: v.m, lvl: at + 1}
}

// String is the value as text: escape sequences decoded, in UTF-8. A value
// that still holds separators (a whole field read as text) keeps them. The
// HL7 null `""` reads as "" (IsNull tells it from an empty value).
func (v Value) String() string {
	if len(v.raw) == 0 || v.IsNull() {
		return ""
	}
	if v.lvl == lvlLiteral || v.m == nil || bytes.IndexByte(v.raw, v.m.d.Escape) < 0 || v.m.d.Escape == 0 {
		return string(v.raw)
	}
	return string(v.m.unescape(nil, v.raw))
}

// AppendText appends the value's text (as String) to dst without an
// intermediate allocation.
func (v Value) AppendText(dst []byte) []byte {
	if v.IsNull() {
		return dst
	}
	if v.lvl == lvlLiteral || v.m == nil || v.m.d.Escape == 0 {
		return append(dst, v.raw...)
	}
	return v.m.unescape(dst, v.raw)
}

// Parts walks the repetitions, components or subcomponents of a value in
// one pass, without allocating (Rep(i) in a loop rescans from the start):
//
//	for p := v.RepParts(); p.Next(); {
//		rep := p.Value() // p.Index() is its 1-based number
//	}
type Parts struct {
	rest  []byte
	m     *Message
	sep   byte
	lvl   level
	idx   int
	cur   Value
	done  bool
	split bool
}

// RepParts walks the repetitions of a field.
func (v Value) RepParts() Parts { return v.parts(lvlField) }

// ComponentParts walks the components of the first repetition.
func (v Value) ComponentParts() Parts {
	if v.lvl == lvlField {
		v = v.Rep(1)
	}
	return v.parts(lvlRep)
}

// SubParts walks the subcomponents of the first component.
func (v Value) SubParts() Parts {
	if v.lvl < lvlComp {
		v = v.Component(1)
	}
	return v.parts(lvlComp)
}

func (v Value) parts(at level) Parts {
	p := Parts{rest: v.raw, m: v.m, lvl: at + 1, done: len(v.raw) == 0}
	if v.lvl == at {
		p.sep = v.sep(at)
		p.split = p.sep != 0
	} else {
		p.lvl = v.lvl
	}
	return p
}

// Next advances to the next part; it returns false when there is none.
func (p *Parts) Next() bool {
	if p.done {
		return false
	}
	p.idx++
	if p.split {
		if j := bytes.IndexByte(p.rest, p.sep); j >= 0 {
			p.cur = Value{raw: p.rest[:j], m: p.m, lvl: p.lvl}
			p.rest = p.rest[j+1:]
			return true
		}
	}
	p.cur = Value{raw: p.rest, m: p.m, lvl: p.lvl}
	p.done = true
	return true
}

// Value is the current part.
func (p *Parts) Value() Value { return p.cur }

// Index is the 1-based number of the current part.
func (p *Parts) Index() int { return p.idx }
