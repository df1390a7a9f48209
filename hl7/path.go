package hl7

import (
	"fmt"
	"strconv"
	"strings"
)

// Path addresses a value in HL7's own 1-based notation:
//
//	PID-3            field 3 of the first PID (all its repetitions)
//	PID-3[2]         its second repetition
//	PID-3[2].4.1     component 4, subcomponent 1 of that repetition
//	OBX[2]-5         field 5 of the second OBX
//	MSH-9.2          the trigger event
//
// "(n)" may be written for "[n]", and "." for the "-" after the segment ID.
// A Path is parsed once (ParsePath) and then resolved against any number of
// messages without parsing text again. Zero means "not given": no Rep means
// the whole field, no Comp the whole repetition.
type Path struct {
	Seg   string
	Occ   int // 1-based occurrence of the segment; 0 = first
	Field int
	Rep   int
	Comp  int
	Sub   int
}

// ParsePath compiles a path such as "PID-3[2].4.1".
func ParsePath(s string) (Path, error) {
	var p Path
	bad := func(why string) (Path, error) {
		return Path{}, fmt.Errorf("hl7: path %q: %s", s, why)
	}
	rest := s
	i := 0
	for i < len(rest) && (rest[i] >= 'A' && rest[i] <= 'Z' || rest[i] >= '0' && rest[i] <= '9') {
		i++
	}
	if i < 2 || i > 4 || rest[0] < 'A' || rest[0] > 'Z' {
		return bad("must start with a segment ID such as PID")
	}
	p.Seg, rest = rest[:i], rest[i:]
	var err error
	if p.Occ, rest, err = index(rest); err != nil {
		return bad("segment occurrence: " + err.Error())
	}
	if rest == "" {
		return p, nil // the segment itself
	}
	if rest[0] != '-' && rest[0] != '.' {
		return bad("expected '-' and a field number after " + p.Seg)
	}
	if p.Field, rest, err = number(rest[1:]); err != nil {
		return bad("field: " + err.Error())
	}
	if p.Rep, rest, err = index(rest); err != nil {
		return bad("repetition: " + err.Error())
	}
	if rest == "" {
		return p, nil
	}
	if rest[0] != '.' {
		return bad(fmt.Sprintf("unexpected %q after the field", rest))
	}
	if p.Comp, rest, err = number(rest[1:]); err != nil {
		return bad("component: " + err.Error())
	}
	if rest == "" {
		return p, nil
	}
	if rest[0] != '.' {
		return bad(fmt.Sprintf("unexpected %q after the component", rest))
	}
	if p.Sub, rest, err = number(rest[1:]); err != nil {
		return bad("subcomponent: " + err.Error())
	}
	if rest != "" {
		return bad(fmt.Sprintf("unexpected %q after the subcomponent", rest))
	}
	return p, nil
}

// MustPath is ParsePath for paths fixed in source code; it panics on a
// malformed path, like regexp.MustCompile.
func MustPath(s string) Path {
	p, err := ParsePath(s)
	if err != nil {
		panic(err)
	}
	return p
}

func number(s string) (int, string, error) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, s, fmt.Errorf("expected a number")
	}
	n, err := strconv.Atoi(s[:i])
	if err != nil || n < 1 || n > 1<<20 {
		return 0, s, fmt.Errorf("%q is not a number from 1", s[:i])
	}
	return n, s[i:], nil
}

func index(s string) (int, string, error) {
	if s == "" || (s[0] != '[' && s[0] != '(') {
		return 0, s, nil
	}
	closer := byte(']')
	if s[0] == '(' {
		closer = ')'
	}
	n, rest, err := number(s[1:])
	if err != nil {
		return 0, s, err
	}
	if rest == "" || rest[0] != closer {
		return 0, s, fmt.Errorf("missing %q", closer)
	}
	return n, rest[1:], nil
}

// String renders the path in canonical form.
func (p Path) String() string {
	var b strings.Builder
	b.WriteString(p.Seg)
	if p.Occ > 0 {
		fmt.Fprintf(&b, "[%d]", p.Occ)
	}
	if p.Field > 0 {
		fmt.Fprintf(&b, "-%d", p.Field)
		if p.Rep > 0 {
			fmt.Fprintf(&b, "[%d]", p.Rep)
		}
		if p.Comp > 0 {
			fmt.Fprintf(&b, ".%d", p.Comp)
			if p.Sub > 0 {
				fmt.Fprintf(&b, ".%d", p.Sub)
			}
		}
	}
	return b.String()
}

// Get resolves a compiled path. A missing segment or field is an empty Value.
func (m *Message) Get(p Path) Value {
	seg, ok := m.Find(p.Seg, p.Occ)
	if !ok {
		return Value{}
	}
	return seg.Get(p)
}

// Get resolves the field part of p (its segment part is ignored) in s.
func (s Segment) Get(p Path) Value {
	if p.Field == 0 {
		return Value{raw: s.Raw(), m: s.m, lvl: lvlLiteral}
	}
	v := s.Field(p.Field)
	if p.Rep > 0 {
		v = v.Rep(p.Rep)
	}
	if p.Comp > 0 {
		v = v.Component(p.Comp)
		if p.Sub > 0 {
			v = v.Sub(p.Sub)
		}
	}
	return v
}

// GetString parses path and returns the text at it: a convenience for tools
// and tests. Hot code compiles its paths once with ParsePath.
func (m *Message) GetString(path string) (string, error) {
	p, err := ParsePath(path)
	if err != nil {
		return "", err
	}
	return m.Get(p).String(), nil
}
