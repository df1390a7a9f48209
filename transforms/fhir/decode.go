package fhir

import (
	"errors"
	"fmt"
	"strings"
)

// decode reads the model that internal/gen wrote (its encode.go documents
// the format). Strings are substrings of data (no copies), and elements,
// slices and bindings are carved out of a few large allocations.
func decode(data string) (*model, error) {
	const magic = "PXFHIR1\n"
	if !strings.HasPrefix(data, magic) {
		return nil, errors.New("bad magic")
	}
	d := &decoder{s: data, off: len(magic)}
	nStrings, nVS, nConcepts, nTypes := d.uv(), d.uv(), d.uv(), d.uv()
	nElements, nTypeRefs, nStrRefs, nBindings := d.uv(), d.uv(), d.uv(), d.uv()
	if d.err != nil {
		return nil, d.err
	}
	if nStrings < 1 || nStrings > len(data) || nElements > len(data) || nTypeRefs > len(data) ||
		nStrRefs > len(data) || nBindings > len(data) || nConcepts > len(data) || nVS > len(data) || nTypes > len(data) {
		return nil, errors.New("bad counts")
	}
	d.strs = make([]string, nStrings)
	for i := 1; i < nStrings && d.err == nil; i++ {
		n := d.uv()
		if n > len(d.s)-d.off {
			d.fail("string out of range")
			break
		}
		d.strs[i] = d.s[d.off : d.off+n]
		d.off += n
	}

	// Value sets: their codes and concepts are shared by every binding.
	type valueSet struct {
		codes    []string
		concepts []Concept
	}
	valueSets := make([]valueSet, nVS)
	concepts := make([]Concept, nConcepts)
	codes := make([]string, nConcepts)
	ci := 0
	for i := range valueSets {
		d.str() // URL: the bindings carry it
		n := d.uv()
		if d.err != nil || n > nConcepts-ci {
			return nil, d.errOr("concepts out of range")
		}
		for j := 0; j < n; j++ {
			c := Concept{System: d.str(), Code: d.str(), Display: d.str()}
			concepts[ci+j], codes[ci+j] = c, c.Code
		}
		valueSets[i] = valueSet{codes: codes[ci : ci+n : ci+n], concepts: concepts[ci : ci+n : ci+n]}
		ci += n
	}

	d.elems = make([]Element, nElements)
	d.pathAt = make([][2]int32, nElements)
	d.paths = make([]byte, 0, 64*nElements)
	d.ptrs = make([]*Element, nElements)
	d.codes = make([]string, nTypeRefs)
	d.refs = make([]TypeRef, nTypeRefs)
	d.targets = make([]string, nStrRefs)
	d.bindings = make([]Binding, nBindings)
	m := &model{types: make([]*Type, nTypes)}
	typeSlab := make([]Type, nTypes)
	for i := range m.types {
		t := &typeSlab[i]
		t.Name = d.str()
		t.Kind = Kind(d.byte())
		f := d.byte()
		t.Abstract, t.Profile = f&1 != 0, f&2 != 0
		t.Base = d.str()
		t.JSON = JSONKind(d.byte())
		t.Regex = d.str()
		root := len(d.paths)
		d.paths = append(d.paths, t.Name...)
		t.Elements = d.elements(root, len(t.Name), func(vs int) ([]string, []Concept, bool) {
			if vs < 1 || vs > len(valueSets) {
				return nil, nil, false
			}
			return valueSets[vs-1].codes, valueSets[vs-1].concepts, true
		})
		if t.Kind < KindPrimitive || t.Kind > KindResource || t.JSON > JSONNumber {
			d.fail("bad type " + t.Name)
		}
		m.types[i] = t
	}
	if d.err != nil {
		return nil, d.err
	}
	// All paths are substrings of one string.
	paths := string(d.paths)
	for i := range d.elems {
		e := &d.elems[i]
		e.Path = paths[d.pathAt[i][0]:d.pathAt[i][1]]
	}
	if d.off != len(d.s) || d.ei != nElements || d.ri != nTypeRefs || d.ti != nStrRefs || d.bi != nBindings || ci != nConcepts {
		return nil, errors.New("length mismatch")
	}
	m.index()
	if err := resolveContentRefs(m); err != nil {
		return nil, err
	}
	return m, nil
}

type decoder struct {
	s   string
	off int
	err error

	strs     []string
	elems    []Element
	ptrs     []*Element
	codes    []string
	refs     []TypeRef
	targets  []string
	bindings []Binding
	ei, pi   int // next Element, next pointer
	ri, ti   int // next type ref, next target/profile
	bi       int // next binding

	paths  []byte     // every element's path, one after the other
	pathAt [][2]int32 // the start and end of element i's path in paths
}

func (d *decoder) fail(msg string) {
	if d.err == nil {
		d.err = fmt.Errorf("offset %d: %s", d.off, msg)
	}
}

func (d *decoder) errOr(msg string) error {
	d.fail(msg)
	return d.err
}

func (d *decoder) uv() int {
	var v uint64
	for shift := uint(0); ; shift += 7 {
		if d.off >= len(d.s) || shift > 56 {
			d.fail("truncated")
			return 0
		}
		b := d.s[d.off]
		d.off++
		v |= uint64(b&0x7f) << shift
		if b < 0x80 {
			break
		}
	}
	if v > 1<<31 {
		d.fail("number out of range")
		return 0
	}
	return int(v)
}

func (d *decoder) byte() byte {
	if d.off >= len(d.s) {
		d.fail("truncated")
		return 0
	}
	d.off++
	return d.s[d.off-1]
}

func (d *decoder) str() string {
	i := d.uv()
	if i >= len(d.strs) {
		d.fail("string index out of range")
		return ""
	}
	return d.strs[i]
}

// strList carves n strings out of the target/profile slab.
func (d *decoder) strList() []string {
	n := d.uv()
	if n == 0 || d.err != nil {
		return nil
	}
	if n > len(d.targets)-d.ti {
		d.fail("refs out of range")
		return nil
	}
	l := d.targets[d.ti : d.ti+n : d.ti+n]
	d.ti += n
	for i := range l {
		l[i] = d.str()
	}
	return l
}

var strengthNames = [...]string{"", Required, Extensible, Preferred, Example}

// elements decodes a list of elements whose parent's path is
// d.paths[parent:parent+parentLen].
func (d *decoder) elements(parent, parentLen int, valueSet func(int) ([]string, []Concept, bool)) []*Element {
	n := d.uv()
	if n == 0 || d.err != nil {
		return nil
	}
	if n > len(d.ptrs)-d.pi || n > len(d.elems)-d.ei {
		d.fail("elements out of range")
		return nil
	}
	list := d.ptrs[d.pi : d.pi+n : d.pi+n]
	d.pi += n
	for i := range list {
		ei := d.ei
		e := &d.elems[ei]
		d.ei++
		list[i] = e
		e.Name = d.str()
		start := len(d.paths)
		d.paths = append(d.paths, d.paths[parent:parent+parentLen]...)
		d.paths = append(d.paths, '.')
		d.paths = append(d.paths, e.Name...)
		d.pathAt[ei] = [2]int32{int32(start), int32(len(d.paths))}
		e.Min = d.uv()
		e.Max = d.uv() - 1
		f := d.byte()
		e.Choice, e.IsModifier, e.Summary = f&1 != 0, f&2 != 0, f&4 != 0
		if nt := d.uv(); nt > 0 && d.err == nil {
			if nt > len(d.refs)-d.ri {
				d.fail("type refs out of range")
				return nil
			}
			e.TypeRefs = d.refs[d.ri : d.ri+nt : d.ri+nt]
			e.Types = d.codes[d.ri : d.ri+nt : d.ri+nt]
			d.ri += nt
			for j := range e.TypeRefs {
				r := &e.TypeRefs[j]
				r.Code = d.str()
				r.Targets = d.strList()
				r.Profiles = d.strList()
				e.Types[j] = r.Code
			}
		}
		if f&16 != 0 {
			e.ContentRef = d.str()
		}
		if f&8 != 0 {
			if d.bi >= len(d.bindings) {
				d.fail("bindings out of range")
				return nil
			}
			b := &d.bindings[d.bi]
			d.bi++
			s := d.byte()
			if int(s) >= len(strengthNames) || s == 0 {
				d.fail("bad binding strength")
				return nil
			}
			b.Strength = strengthNames[s]
			b.ValueSet = d.str()
			if vs := d.uv(); vs != 0 {
				var ok bool
				if b.Codes, b.Concepts, ok = valueSet(vs); !ok {
					d.fail("value set out of range")
				}
			}
			e.Binding = b
		}
		e.Children = d.elements(start, len(d.paths)-start, valueSet)
	}
	return list
}

// resolveContentRefs points each contentReference element at the children
// and types of the element it names.
func resolveContentRefs(m *model) error {
	var walk func(es []*Element) error
	walk = func(es []*Element) error {
		for _, e := range es {
			if e.ContentRef != "" {
				target, err := elementAt(m, e.ContentRef)
				if err != nil {
					return fmt.Errorf("%s: contentReference: %w", e.Path, err)
				}
				e.Children, e.Types, e.TypeRefs = target.Children, target.Types, target.TypeRefs
				continue
			}
			if err := walk(e.Children); err != nil {
				return err
			}
		}
		return nil
	}
	for _, t := range m.types {
		if err := walk(t.Elements); err != nil {
			return err
		}
	}
	return nil
}

// elementAt finds an element by its path ("Questionnaire.item").
func elementAt(m *model, path string) (*Element, error) {
	parts := strings.Split(path, ".")
	t := m.byName[parts[0]]
	if t == nil || len(parts) < 2 {
		return nil, fmt.Errorf("no element %s", path)
	}
	es := t.Elements
	var e *Element
	for _, p := range parts[1:] {
		e = nil
		for _, c := range es {
			if c.Name == p {
				e = c
				break
			}
		}
		if e == nil || e.ContentRef != "" {
			return nil, fmt.Errorf("no element %s", path)
		}
		es = e.Children
	}
	return e, nil
}
