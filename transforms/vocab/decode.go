package vocab

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/plexus-hl7/plexus/transforms/vocab/internal/names"
)

// The number of string fields per row in the encoding; internal/vocabgen
// documents the format.
const nFields = 11

// decode reads the data that internal/vocabgen wrote: the string table, the
// inventory and each map's header. A map's rows are decoded by decodeRows
// when the map is first used. Strings are substrings of data (no copies).
func decode(data string) (*store, error) {
	const magic = "PXVOCAB2\n"
	if !strings.HasPrefix(data, magic) {
		return nil, errors.New("bad magic")
	}
	r := &reader{s: data, off: len(magic)}
	nf, nStrings, nInv, nMaps, nRows := r.uv(), r.uv(), r.uv(), r.uv(), r.uv()
	if r.err != nil {
		return nil, r.err
	}
	if nf != nFields {
		return nil, fmt.Errorf("%d fields per row, want %d", nf, nFields)
	}
	if nStrings < 1 || nStrings > len(data) || nInv > len(data) || nMaps > len(data) || nRows > len(data) {
		return nil, errors.New("bad counts")
	}
	r.strs = make([]string, nStrings)
	for i := 1; i < nStrings && r.err == nil; i++ {
		n := r.uv()
		if n > len(r.s)-r.off {
			r.fail("string out of range")
			break
		}
		r.strs[i] = r.s[r.off : r.off+n]
		r.off += n
	}

	d := &store{
		inventory: make([]Entry, nInv),
		maps:      make([]*Map, nMaps),
		byKey:     make(map[string]*Map, 2*nMaps),
		byTable:   make(map[string][]*Map, nMaps),
	}
	for i := range d.inventory {
		d.inventory[i] = Entry{Name: r.str(), Table: r.str(), Status: r.str(), Map: r.str()}
	}
	slab := make([]Map, nMaps)
	total := 0
	for i := range d.maps {
		m := &slab[i]
		m.Name, m.Table, m.Status, m.InventoryName, m.Source = r.str(), r.str(), r.str(), r.str(), r.str()
		m.nrows = r.uv()
		n := r.uv()
		if r.err != nil || m.nrows > nRows-total || n > len(r.s)-r.off {
			return nil, r.errOr("rows out of range")
		}
		total += m.nrows
		m.enc, m.strs = r.s[r.off:r.off+n], r.strs
		r.off += n
		if m.Name == "" {
			return nil, fmt.Errorf("map %d has no name", i)
		}
		if m.Table != "" {
			if t, ok := names.Table(m.Table); !ok || t != m.Table {
				return nil, fmt.Errorf("%s: bad table %q", m.Name, m.Table)
			}
			m.system = names.V2SystemPrefix + m.Table
			d.byTable[m.Table] = append(d.byTable[m.Table], m)
		}
		k := names.Key(m.Name)
		if _, dup := d.byKey[k]; dup {
			return nil, fmt.Errorf("two maps named %q", k)
		}
		d.byKey[k] = m
		d.maps[i] = m
	}
	if total != nRows {
		return nil, errors.New("row count mismatch")
	}
	if r.off != len(data) {
		return nil, fmt.Errorf("%d bytes after the data", len(data)-r.off)
	}
	// The inventory's spellings, where they differ, find their map too.
	for _, e := range d.inventory {
		if e.Map == "" {
			continue
		}
		m, ok := d.byKey[names.Key(e.Map)]
		if !ok {
			return nil, fmt.Errorf("inventory entry %q names unknown map %q", e.Name, e.Map)
		}
		if k := names.Key(e.Name); d.byKey[k] == nil {
			d.byKey[k] = m
		}
	}
	return d, nil
}

// decodeRows decodes the map's rows and builds its indexes.
func (m *Map) decodeRows() error {
	r := &reader{s: m.enc, strs: m.strs}
	m.rows = make([]Row, m.nrows)
	for j := range m.rows {
		w := &m.rows[j]
		w.V2 = Coding{Code: r.str(), Display: r.str(), System: r.str()}
		w.Condition = Condition{ANTLR: r.str(), FHIRPath: r.str(), Narrative: r.str()}
		w.FHIR.Code, w.FHIRText, w.FHIR.Display, w.FHIR.System = r.str(), r.str(), r.str(), r.str()
		w.Comment = r.str()
	}
	if r.err != nil {
		return r.err
	}
	if r.off != len(r.s) {
		return fmt.Errorf("%d bytes after the rows", len(r.s)-r.off)
	}
	m.index()
	return nil
}

// index builds the code indexes and the target systems of m. The rows of
// each code are a run of m.order, so that a map costs a few allocations
// whatever its size.
func (m *Map) index() {
	m.exact = make(map[string]int32, len(m.rows))
	var counts []int32
	last := ""
	for i := range m.rows {
		r := &m.rows[i]
		if c := r.V2.Code; c != "" {
			g, ok := m.exact[c]
			if !ok {
				g = int32(len(counts))
				m.exact[c] = g
				counts = append(counts, 0)
			}
			counts[g]++
		}
		if s := r.FHIR.System; s != last && s != "" {
			last = s
			if strings.Contains(s, ":") && !strings.ContainsAny(s, " \t") && !slices.Contains(m.targets, s) {
				m.targets = append(m.targets, s)
			}
		}
	}
	m.groups = make([]group, len(counts))
	off := int32(0)
	for g, n := range counts {
		m.groups[g] = group{off, 0}
		off += n
	}
	m.order = make([]*Row, off)
	for i := range m.rows {
		r := &m.rows[i]
		if r.V2.Code != "" {
			g := &m.groups[m.exact[r.V2.Code]]
			m.order[g.off+g.n] = r
			g.n++
		}
	}
	// The folded keys are substrings of one string.
	var b strings.Builder
	b.Grow(int(off) * 4)
	ends := make([]int, len(m.groups))
	for g, x := range m.groups {
		writeFold(&b, m.order[x.off].V2.Code)
		ends[g] = b.Len()
	}
	keys := b.String()
	m.fold = make(map[string]int32, len(m.groups))
	start := 0
	for g, end := range ends {
		k := keys[start:end]
		start = end
		if _, dup := m.fold[k]; dup {
			m.fold[k] = -1
		} else {
			m.fold[k] = int32(g)
		}
	}
}

// writeFold writes foldKey(s) to b, without allocating when s is ASCII.
func writeFold(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			b.WriteString(foldKey(s[i:]))
			return
		}
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
}

type reader struct {
	s    string
	off  int
	strs []string
	err  error
}

func (r *reader) fail(msg string) {
	if r.err == nil {
		r.err = fmt.Errorf("offset %d: %s", r.off, msg)
	}
}

func (r *reader) errOr(msg string) error {
	r.fail(msg)
	return r.err
}

func (r *reader) uv() int {
	if r.err != nil {
		return 0
	}
	var v uint64
	for shift := uint(0); shift < 64; shift += 7 {
		if r.off >= len(r.s) {
			break
		}
		b := r.s[r.off]
		r.off++
		v |= uint64(b&0x7f) << shift
		if b < 0x80 {
			if v > 1<<31 {
				break
			}
			return int(v)
		}
	}
	r.fail("bad number")
	return 0
}

func (r *reader) str() string {
	i := r.uv()
	if i >= len(r.strs) {
		r.fail("string index out of range")
		return ""
	}
	return r.strs[i]
}
