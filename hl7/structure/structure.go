// Package structure knows HL7 v2 message structures (ORU_R01: MSH, then
// PATIENT_RESULT groups, each a PATIENT and ORDER_OBSERVATION groups of an
// ORC, an OBR and OBSERVATION groups...) and finds the group instances of
// a message by them, so that rules can say "the OBR of this OBX's order"
// or "the NTEs of this OBX" and mean that, not the nearest segment.
//
// The structures are those the HL7 v2-to-FHIR IG's message maps list
// (structures.txt, generated from them). Matching is tolerant, as senders
// are: a segment the structure does not expect where it stands (a Z
// segment, one out of order) joins the innermost group open at that point,
// and a missing required segment does not stop a group from being found.
package structure

import (
	_ "embed"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/plexus-hl7/plexus/hl7"
)

//go:generate go run ./internal/gen -ig ../../../shared/v2-to-fhir -o structures.txt

// Node is a segment or a group of a message structure; the structure
// itself is a group (Name ORU_R01).
type Node struct {
	Name      string // segment ID, or group name
	Group     bool
	Optional  bool
	Repeating bool
	Children  []*Node
	Parent    *Node
	// ID numbers the nodes of one structure in document order (the
	// structure is 0), so that callers can keep facts per node in slices.
	ID int
	// segs lists the segment IDs anywhere under a group.
	segs map[string]bool
}

// Contains reports whether segment id may occur anywhere in group n.
func (n *Node) Contains(id string) bool { return n.segs[id] }

// Path is the node's group names from the structure down, dot-separated
// (PATIENT_RESULT.ORDER_OBSERVATION.OBSERVATION).
func (n *Node) Path() string {
	var parts []string
	for x := n; x != nil && x.Parent != nil; x = x.Parent {
		parts = append(parts, x.Name)
	}
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return strings.Join(parts, ".")
}

// Nodes lists the structure's nodes in document order (Nodes()[i].ID == i).
func (n *Node) Nodes() []*Node {
	var out []*Node
	var walk func(x *Node)
	walk = func(x *Node) {
		out = append(out, x)
		for _, c := range x.Children {
			walk(c)
		}
	}
	walk(n)
	return out
}

// Groups lists the groups named name (a group name, or a dotted path of
// them from the structure: ORDER_OBSERVATION.OBSERVATION), in document
// order.
func (n *Node) Groups(name string) []*Node {
	var out []*Node
	for _, x := range n.Nodes() {
		if x.Group && x != n && (x.Name == name || strings.HasSuffix("."+x.Path(), "."+name)) {
			out = append(out, x)
		}
	}
	return out
}

// GroupNames lists the names of the structure's groups.
func (n *Node) GroupNames() []string {
	var out []string
	for _, x := range n.Nodes() {
		if x.Group && x != n {
			out = append(out, x.Name)
		}
	}
	return out
}

//go:embed structures.txt
var structuresTxt string

var (
	loadOnce   sync.Once
	structures map[string]*Node
	loadErr    error
)

// Lookup returns the structure named name (ORU_R01), or nil.
func Lookup(name string) *Node {
	loadOnce.Do(load)
	return structures[name]
}

// Names lists the structures known, sorted.
func Names() []string {
	loadOnce.Do(load)
	out := make([]string, 0, len(structures))
	for n := range structures {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func load() {
	structures = map[string]*Node{}
	for i, line := range strings.Split(structuresTxt, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, def, ok := strings.Cut(line, ":")
		if !ok {
			loadErr = fmt.Errorf("structures.txt:%d: no NAME: before the definition", i+1)
			continue
		}
		n, err := Parse(strings.TrimSpace(name), def)
		if err != nil {
			loadErr = fmt.Errorf("structures.txt:%d: %w", i+1, err)
			continue
		}
		structures[n.Name] = n
	}
	if loadErr != nil {
		panic(loadErr) // the embedded file is generated and tested
	}
}

// Parse reads a structure in the notation of structures.txt: segment IDs,
// [x] optional, {x} repeating, [{x}] both, and groups written NAME: ...
// inside brackets ({ORDER: ORC [OBR]}).
func Parse(name, def string) (*Node, error) {
	p := &parser{toks: tokens(def)}
	root := &Node{Name: name, Group: true}
	if err := p.seq(root, ""); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if p.i < len(p.toks) {
		return nil, fmt.Errorf("%s: unexpected %q", name, p.toks[p.i])
	}
	for i, x := range root.Nodes() {
		x.ID = i
	}
	root.index()
	return root, nil
}

func (n *Node) index() {
	if !n.Group {
		return
	}
	n.segs = map[string]bool{}
	for _, c := range n.Children {
		c.Parent = n
		if c.Group {
			c.index()
			for s := range c.segs {
				n.segs[s] = true
			}
		} else {
			n.segs[c.Name] = true
		}
	}
}

func tokens(s string) []string {
	var out []string
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == ' ' || c == '\t':
			i++
		case strings.IndexByte("[]{}", c) >= 0:
			out = append(out, s[i:i+1])
			i++
		default:
			j := i
			for j < len(s) && strings.IndexByte(" \t[]{}", s[j]) < 0 {
				j++
			}
			out = append(out, s[i:j])
			i = j
		}
	}
	return out
}

type parser struct {
	toks []string
	i    int
}

// seq reads elements into parent until closer ("" for the end).
func (p *parser) seq(parent *Node, closer string) error {
	for p.i < len(p.toks) {
		t := p.toks[p.i]
		if t == closer {
			return nil
		}
		if t == "]" || t == "}" {
			return fmt.Errorf("unexpected %q", t)
		}
		n, err := p.elem()
		if err != nil {
			return err
		}
		parent.Children = append(parent.Children, n)
	}
	if closer != "" {
		return fmt.Errorf("missing %q", closer)
	}
	return nil
}

// elem reads a segment, or a bracketed segment or group.
func (p *parser) elem() (*Node, error) {
	t := p.toks[p.i]
	p.i++
	if t != "[" && t != "{" {
		if strings.HasSuffix(t, ":") {
			return nil, fmt.Errorf("group %s outside brackets", t)
		}
		return &Node{Name: t}, nil
	}
	opt, rep := t == "[", t == "{"
	closers := []string{map[bool]string{true: "]", false: "}"}[opt]}
	if p.i < len(p.toks) && (p.toks[p.i] == "{" && opt || p.toks[p.i] == "[" && rep) {
		opt, rep = true, true
		closers = append([]string{map[bool]string{true: "}", false: "]"}[t == "["]}, closers...)
		p.i++
	}
	if p.i >= len(p.toks) {
		return nil, fmt.Errorf("unfinished %s", t)
	}
	var n *Node
	if head := p.toks[p.i]; strings.HasSuffix(head, ":") {
		p.i++
		n = &Node{Name: strings.TrimSuffix(head, ":"), Group: true}
		if err := p.seq(n, closers[0]); err != nil {
			return nil, fmt.Errorf("group %s: %w", n.Name, err)
		}
	} else {
		p.i++
		n = &Node{Name: head}
	}
	for _, c := range closers {
		if p.i >= len(p.toks) || p.toks[p.i] != c {
			return nil, fmt.Errorf("%s: missing %q", n.Name, c)
		}
		p.i++
	}
	n.Optional, n.Repeating = opt, rep
	return n, nil
}

// Instance is one occurrence of a group in a message.
type Instance struct {
	Node *Node
	// Start and End bound its segments: indices [Start, End) of the
	// message (nested instances included).
	Start, End int
	// Parent is the index in Groups.Instances of the group instance it is
	// in, -1 when that is the message itself.
	Parent int
}

// Groups is what Match found: the group instances of one message, in the
// order they begin, and the innermost instance of each segment.
type Groups struct {
	Instances []Instance
	// Of holds, per segment index, the index of the innermost group
	// instance it belongs to; -1 for the message itself.
	Of []int
	// Slot holds, per segment index, the segment node of the structure it
	// was matched to; nil for a segment the structure does not have.
	Slot []*Node

	stack []frame
}

type frame struct {
	node  *Node
	child int // index in node.Children of the last child matched, -1 none
	inst  int // instance index, -1 for the structure
}

// Match finds the group instances of m by structure s, reusing g's slices.
func (g *Groups) Match(s *Node, m *hl7.Message) {
	g.Instances = g.Instances[:0]
	g.Of = g.Of[:0]
	g.Slot = g.Slot[:0]
	g.stack = append(g.stack[:0], frame{node: s, child: -1, inst: -1})
	for i := 0; i < m.Len(); i++ {
		id := string(m.Segment(i).IDBytes())
		var of int
		var slot *Node
		if !g.place(id, i) && s.Contains(id) {
			// No place for it here (out of order): it joins the innermost
			// open group that may hold it at all (an NK1 after the PV1
			// joins the PATIENT group, not VISIT), else the message. A
			// segment the structure does not know (Z) stays in the
			// innermost open group, beside the segment it extends.
			of = -1
			l := len(g.stack) - 1
			for ; l > 0 && !g.stack[l].node.Contains(id); l-- {
			}
			if l > 0 {
				of = g.stack[l].inst
			}
			slot = g.stack[l].node.slot(id)
		} else {
			top := g.stack[len(g.stack)-1]
			of = top.inst
			if top.child >= 0 && !top.node.Children[top.child].Group && top.node.Children[top.child].Name == id {
				slot = top.node.Children[top.child]
			}
		}
		g.Of = append(g.Of, of)
		g.Slot = append(g.Slot, slot)
		for _, f := range g.stack {
			if f.inst >= 0 {
				g.Instances[f.inst].End = i + 1
			}
		}
	}
}

// place moves the cursor to where segment id, at index i, belongs: the same
// repeating segment again; else a later child of the innermost group, or
// of the groups around it, outwards; else a new occurrence of a repeating
// group it can begin. A group that id could begin only by skipping its
// optional first members (an OML PRIOR_RESULT, whose PATIENT_PRIOR is
// optional, for an ORC) is taken only when nothing further out begins
// with id (a new ORDER does). A segment with no place leaves the cursor
// where it is (false).
func (g *Groups) place(id string, i int) bool {
	weakLevel, weakChild := -1, -1
	for level := len(g.stack) - 1; level >= 0; level-- {
		f := &g.stack[level]
		kids := f.node.Children
		if f.child >= 0 {
			if c := kids[f.child]; !c.Group && c.Repeating && c.Name == id {
				g.stack = g.stack[:level+1]
				return true
			}
		}
		for j := f.child + 1; j < len(kids); j++ {
			c := kids[j]
			if !c.Group && c.Name == id {
				g.stack = g.stack[:level+1]
				g.stack[level].child = j
				return true
			}
			if c.Group && canStart(c, id) {
				if !startsWith(c, id) {
					if weakLevel < 0 {
						weakLevel, weakChild = level, j
					}
					continue
				}
				g.stack = g.stack[:level+1]
				g.stack[level].child = j
				g.enter(c, id, i, level)
				return true
			}
		}
		if level > 0 && f.node.Repeating && canStart(f.node, id) && (weakLevel < 0 || startsWith(f.node, id)) {
			node := f.node
			g.stack = g.stack[:level]
			g.enter(node, id, i, level-1)
			return true
		}
	}
	if weakLevel >= 0 {
		c := g.stack[weakLevel].node.Children[weakChild]
		g.stack = g.stack[:weakLevel+1]
		g.stack[weakLevel].child = weakChild
		g.enter(c, id, i, weakLevel)
		return true
	}
	return false
}

// startsWith reports whether segment id is group n's first member (or its
// first group's, and so on), without skipping optional ones.
func startsWith(n *Node, id string) bool {
	if len(n.Children) == 0 {
		return false
	}
	c := n.Children[0]
	if c.Group {
		return startsWith(c, id)
	}
	return c.Name == id
}

// enter opens an instance of group n (in the frame at parent) at segment i
// and descends to where id goes in it.
func (g *Groups) enter(n *Node, id string, i, parent int) {
	for {
		g.Instances = append(g.Instances, Instance{Node: n, Start: i, End: i + 1, Parent: g.stack[parent].inst})
		g.stack = append(g.stack, frame{node: n, child: -1, inst: len(g.Instances) - 1})
		parent = len(g.stack) - 1
		for j, c := range n.Children {
			if !c.Group && c.Name == id {
				g.stack[parent].child = j
				return
			}
			if c.Group && canStart(c, id) {
				g.stack[parent].child = j
				n = c
				break
			}
		}
		if g.stack[parent].child < 0 {
			return // unreachable: canStart said it could
		}
		if !n.Group || n == g.stack[parent].node {
			return
		}
	}
}

// slot is the first segment node named id in group n (its own segments
// before those of groups within).
func (n *Node) slot(id string) *Node {
	for _, c := range n.Children {
		if !c.Group && c.Name == id {
			return c
		}
	}
	for _, c := range n.Children {
		if c.Group && c.Contains(id) {
			return c.slot(id)
		}
	}
	return nil
}

// Depth is the number of groups from the structure down to n (0 for the
// structure, 1 for its own segments and groups).
func (n *Node) Depth() int {
	d := 0
	for x := n.Parent; x != nil; x = x.Parent {
		d++
	}
	return d
}

// canStart reports whether segment id can be the first of group n: it is
// the first child, or follows only optional ones (a choice's alternatives
// are all optional).
func canStart(n *Node, id string) bool {
	for _, c := range n.Children {
		if c.Group {
			if canStart(c, id) {
				return true
			}
		} else if c.Name == id {
			return true
		}
		if !c.Optional {
			return false
		}
	}
	return false
}
