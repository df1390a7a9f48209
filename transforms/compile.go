package transforms

import (
	"cmp"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"

	"github.com/plexus-hl7/plexus/hl7"
	"github.com/plexus-hl7/plexus/hl7/structure"
	"github.com/plexus-hl7/plexus/internal/suggest"
	"github.com/plexus-hl7/plexus/transforms/datatype"
	"github.com/plexus-hl7/plexus/transforms/fhir"
	"github.com/plexus-hl7/plexus/transforms/fhirjson"
	"github.com/plexus-hl7/plexus/transforms/vocab"
)

// Rules is a compiled rule file: every expression compiled and every
// element checked against FHIR R4. It is safe for concurrent use.
type Rules struct {
	Name        string
	Description string
	File        string

	bundle    string // transaction, batch, collection, message
	partial   bool   // on_error: partial
	loc       *time.Location
	resources []*resourceRule
	paths     []compiledPath
	nslots    int
	segIDs    []string // segment IDs used, indexed by compiledPath.sid

	// structure is the message structure the rules are written for
	// (structure: ORU_R01): with it segments are read in their groups (the
	// OBR of an OBX's order group, the NTEs of an OBX) and foreach may
	// name a group. near[node ID][sid] says, for a scope in that group,
	// where segment sid is read (nil: message-wide).
	structure *structure.Node
	near      [][]*nearSlots
	groupSets [][]bool // the groups of each within() call, by node ID
}

// nearSlots is where a segment is read from a scope: the segment nodes
// of that name nearest to the scope's group in the structure (fewest
// steps up to a common group and down to the segment: an OBX's NTE is
// OBSERVATION.NTE, not ORDER_OBSERVATION.NTE; an OBR's ORC in OML_O21 is
// ORDER.ORC, not that of a prior result), in the instance of the group
// up steps above the scope's.
type nearSlots struct {
	up    int
	slots []bool // by node ID
}

type compiledPath struct {
	path hl7.Path
	sid  int
	// slot is where the value is kept while it is valid (Env.field): the
	// same for every reference to the same path, so that PV1[19] read by
	// five rules of one resource is looked up once.
	slot int
}

type resourceRule struct {
	id      string
	typ     string
	pos     Pos
	when    *program
	foreach int // segment id number, -1 for none
	// foreachSlots, with foreach, keeps only the occurrences matched to
	// these segment nodes (`foreach: PROCEDURE.ROL`).
	foreachSlots []*structure.Node
	// foreachGroup marks, by node ID, the groups of `foreach: GROUP`
	// (nil for none): one resource per instance of them.
	foreachGroup []bool
	key          *program
	sets         []*setRule
}

type setRule struct {
	pos      Pos
	label    string // the path as written (from the resource)
	elem     string // resource type "." label, for errors (made once, not per message)
	steps    []elemStep
	resolved *fhir.Resolved // from the resource type: a block's rules resolve parent and own steps
	offset   int            // resolved.Steps index of steps[0] (a block's rules: the parent's length)
	last     fhir.Step      // resolved.Last(): the element the value is for
	prog     *program
	// constant is set when prog is a constant that is valid for the
	// element ('"final"'): its JSON, made once.
	constant *fhirjson.Value

	// An element block: one new element (the path ends in [+]) built from
	// block, per occurrence of segment foreach (-1: once).
	block   []*setRule
	foreach int
	when    *program
	// foreachField is set for `foreach: PV1[7]`: one element per repetition
	// of that field, in which PV1[7] (and its components) is the repetition.
	foreachField *hl7.Path
	foreachSID   int
	// foreachGroup: one element per instance of these groups (by node
	// ID) in the resource's own group.
	foreachGroup []bool
	// foreachSlots, with foreach: only the occurrences matched to these
	// segment nodes (`foreach: SERVICE.NTE`).
	foreachSlots []*structure.Node
	// this is `$this:` in a block: the value is the block's new element.
	this bool
}

// elemStep is one step of an element path as written in a rule:
// name, name[2], extension("http://…").
type elemStep struct {
	name   string
	index  int    // -1: not given
	url    string // extension("url")
	append bool   // [+]: a new element
}

type program struct {
	p   *vm.Program
	src string
	pos Pos
	// fast is the expression as evalNode runs it, without the expression
	// machine; nil for the expressions only the VM runs (eval.go).
	fast *fnode
}

// Bundle types a rule file may name.
var bundleTypes = map[string]bool{"transaction": true, "batch": true, "collection": true, "message": true}

// Compile compiles a rule file's source. Every problem found is reported,
// as LoadErrors, with file:line:column.
func Compile(filename string, src []byte) (*Rules, error) {
	rf, errs := parseRules(filename, src)
	if rf == nil {
		return nil, errs
	}
	if rf.Extends != nil {
		errs = append(errs, &LoadError{Pos: rf.Extends.pos, Msg: "extends needs a Loader that can find " + strconv.Quote(rf.Extends.text) + "; use Loader.Load"})
	}
	kept := rf.Resources[:0]
	for _, r := range rf.Resources {
		if r.Include != nil {
			errs = append(errs, &LoadError{Pos: r.Include.pos, Msg: "include needs a Loader that can find " + strconv.Quote(r.Include.text) + "; use Loader.Load"})
			continue
		}
		kept = append(kept, r)
	}
	rf.Resources = kept
	r, cerrs := compileFile(rf)
	errs = append(errs, cerrs...)
	if len(errs) > 0 {
		errs.sort()
		return nil, errs
	}
	return r, nil
}

func (l LoadErrors) sort() {
	slices.SortStableFunc(l, func(a, b *LoadError) int {
		return cmp.Or(cmp.Compare(a.Pos.File, b.Pos.File), cmp.Compare(a.Pos.Line, b.Pos.Line), cmp.Compare(a.Pos.Column, b.Pos.Column))
	})
}

func compileFile(rf *ruleFile) (*Rules, LoadErrors) {
	c := &compiler{r: &Rules{Name: rf.Name, Description: rf.Description, File: rf.pos.File}, sids: map[string]int{}}
	if rf.Name == "" {
		c.errorf(rf.pos, "a rule file needs a name")
	}
	c.r.bundle = rf.Bundle
	if c.r.bundle == "" {
		c.r.bundle = "transaction"
	}
	if !bundleTypes[c.r.bundle] {
		c.errorf(rf.pos, "bundle %q is not one of transaction, batch, collection, message", rf.Bundle)
	}
	switch rf.OnError {
	case "", "reject":
	case "partial":
		c.r.partial = true
	default:
		c.errorf(rf.pos, "on_error %q is not reject or partial", rf.OnError)
	}
	if rf.Structure != nil {
		c.r.structure = structure.Lookup(rf.Structure.text)
		if c.r.structure == nil {
			msg := fmt.Sprintf("structure %q is not a message structure Plexus knows", rf.Structure.text)
			if s := suggest.Closest(rf.Structure.text, structure.Names()); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			c.errorf(rf.Structure.pos, "%s (known: %s)", msg, strings.Join(structure.Names(), ", "))
		}
	}
	if rf.Timezone != nil {
		loc, err := time.LoadLocation(rf.Timezone.text)
		if err != nil {
			c.errorf(rf.Timezone.pos, "timezone %q: %v", rf.Timezone.text, err)
		}
		c.r.loc = loc
	}
	if len(rf.Resources) == 0 {
		c.errorf(rf.pos, "a rule file needs at least one resource")
	}
	ids := map[string]bool{}
	for _, rr := range rf.Resources {
		if rr.ID == "" {
			c.errorf(rr.pos, "every resource needs an id (used by ref() and by files that extend this one)")
		} else if ids[rr.ID] {
			c.errorf(rr.pos, "resource id %q is used twice", rr.ID)
		} else if !isIdent(rr.ID) {
			c.errorf(rr.pos, "resource id %q must be a name of letters, digits and _", rr.ID)
		}
		ids[rr.ID] = true
	}
	c.resourceIDs = ids
	c.order = map[string]int{}
	for i, rr := range rf.Resources {
		c.order[rr.ID] = i
	}
	for _, rr := range rf.Resources {
		if res := c.resource(rr); res != nil {
			c.r.resources = append(c.r.resources, res)
		}
	}
	if c.r.bundle == "message" && len(c.r.resources) > 0 && c.r.resources[0].typ != "MessageHeader" {
		c.errorf(rf.Resources[0].pos, "a message Bundle starts with a MessageHeader: make it the first resource")
	}
	c.r.segIDs = make([]string, len(c.sids))
	for id, n := range c.sids {
		c.r.segIDs[n] = id
	}
	if st := c.r.structure; st != nil {
		c.r.near = nearest(st, c.r.segIDs)
	}
	c.r.assignSlots()
	return c.r, c.errs
}

// assignSlots gives every compiled path its slot, once the patcher has
// deepened the paths (PID, then PID[3], then PID[3][1]).
func (r *Rules) assignSlots() {
	slots := map[hl7.Path]int{}
	for i := range r.paths {
		n, ok := slots[r.paths[i].path]
		if !ok {
			n = len(slots)
			slots[r.paths[i].path] = n
		}
		r.paths[i].slot = n
	}
	r.nslots = len(slots)
}

type compiler struct {
	r           *Rules
	errs        LoadErrors
	sids        map[string]int
	resourceIDs map[string]bool
	order       map[string]int
}

func (c *compiler) errorf(pos Pos, format string, args ...any) {
	c.errs = append(c.errs, &LoadError{Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

func isIdent(s string) bool {
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return s != ""
}

func (c *compiler) sid(seg string) int {
	n, ok := c.sids[seg]
	if !ok {
		n = len(c.sids)
		c.sids[seg] = n
	}
	return n
}

func (c *compiler) resource(rr *ruleResource) *resourceRule {
	res := &resourceRule{id: rr.ID, pos: rr.pos, foreach: -1}
	if rr.Resource == nil {
		c.errorf(rr.pos, "resource %q: which FHIR resource? (resource: Patient)", rr.ID)
		return nil
	}
	res.typ = rr.Resource.text
	t, ok := fhir.Lookup(res.typ)
	if !ok || t.Kind != fhir.KindResource || t.Abstract {
		msg := fmt.Sprintf("%q is not a FHIR R4 resource type", res.typ)
		if s := suggestResource(res.typ); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		c.errorf(rr.Resource.pos, "%s", msg)
		return nil
	}
	if rr.Foreach != nil {
		seg := rr.Foreach.text
		switch {
		case isSegmentID(seg):
			res.foreach = c.sid(seg)
		case slotName(seg) != "":
			res.foreach, res.foreachSlots = c.slots(rr.Foreach)
		case isGroupName(seg):
			res.foreachGroup = c.groups(rr.Foreach)
		default:
			c.errorf(rr.Foreach.pos, "foreach %q must name a segment (foreach: OBX), a segment of a group (foreach: PROCEDURE.ROL) or a segment group of the structure (foreach: ORDER_OBSERVATION)", seg)
		}
	}
	if rr.When != nil {
		res.when = c.expr(rr.When, reflect.TypeFor[bool](), res)
	}
	if rr.Key != nil {
		res.key = c.expr(rr.Key, nil, res)
	}
	seen := map[string]bool{}
	for _, se := range rr.Set {
		sr := c.set(res, se)
		if sr == nil {
			continue
		}
		// every [+] is a new element; anything else is set once
		if seen[sr.label] && !sr.steps[len(sr.steps)-1].append {
			c.errorf(se.path.pos, "%s is set twice", sr.label)
		}
		seen[sr.label] = true
		res.sets = append(res.sets, sr)
	}
	return res
}

func suggestResource(name string) string {
	for _, t := range fhir.ResourceTypes() {
		if strings.EqualFold(t, name) {
			return t
		}
	}
	return ""
}

// parseElemPath reads `name[0].given`, `valueQuantity.unit`,
// `extension("http://…").valueString`.
func parseElemPath(s string) ([]elemStep, error) {
	var steps []elemStep
	rest := s
	for rest != "" {
		i := 0
		for i < len(rest) && (rest[i] == '_' || rest[i] >= 'a' && rest[i] <= 'z' || rest[i] >= 'A' && rest[i] <= 'Z' || i > 0 && rest[i] >= '0' && rest[i] <= '9') {
			i++
		}
		if i == 0 {
			return nil, fmt.Errorf("expected an element name at %q", rest)
		}
		st := elemStep{name: rest[:i], index: -1}
		rest = rest[i:]
		switch {
		case strings.HasPrefix(rest, "("):
			end := strings.Index(rest, ")")
			if end < 0 || (st.name != "extension" && st.name != "modifierExtension") {
				return nil, fmt.Errorf("only extension(\"url\") takes a URL")
			}
			u, err := strconv.Unquote(strings.TrimSpace(rest[1:end]))
			if err != nil || u == "" {
				return nil, fmt.Errorf("extension(...) needs a quoted URL")
			}
			st.url = u
			rest = rest[end+1:]
		case strings.HasPrefix(rest, "[+"):
			// [+] or [+label]: a new element; the label only keeps YAML
			// keys distinct when one element gets several blocks
			// (participant[+attender], participant[+referrer]).
			end := strings.Index(rest, "]")
			if end < 0 || (end > 2 && !isIdent(rest[2:end])) {
				return nil, fmt.Errorf("[+] or [+label] with a label of letters, digits and _")
			}
			st.append = true
			rest = rest[end+1:]
		case strings.HasPrefix(rest, "["):
			end := strings.Index(rest, "]")
			if end < 0 {
				return nil, fmt.Errorf("missing ]")
			}
			n, err := strconv.Atoi(rest[1:end])
			if err != nil || n < 0 {
				return nil, fmt.Errorf("index %q is not a number from 0", rest[1:end])
			}
			st.index = n
			rest = rest[end+1:]
		}
		steps = append(steps, st)
		if rest == "" {
			break
		}
		if rest[0] != '.' {
			return nil, fmt.Errorf("unexpected %q", rest)
		}
		rest = rest[1:]
		if rest == "" {
			return nil, fmt.Errorf("path ends with '.'")
		}
	}
	return steps, nil
}

func (c *compiler) set(res *resourceRule, se setEntry) *setRule {
	return c.setIn(res, nil, se)
}

// setIn compiles a set entry of a resource, or of the element block parent.
func (c *compiler) setIn(res *resourceRule, parent *setRule, se setEntry) *setRule {
	if se.path.text == "$this" {
		return c.setThis(res, parent, se)
	}
	steps, err := parseElemPath(se.path.text)
	if err != nil {
		c.errorf(se.path.pos, "element path %q: %v", se.path.text, err)
		return nil
	}
	var names []string
	label := se.path.text
	if parent != nil {
		for _, r := range parent.resolved.Steps {
			names = append(names, r.Name)
		}
		label = parent.label + "." + label
	}
	offset := len(names)
	for _, st := range steps {
		names = append(names, st.name)
	}
	if parent == nil && (names[0] == "resourceType" || names[0] == "id") {
		c.errorf(se.path.pos, "%s.%s is set by Plexus (deterministic id from key)", res.typ, names[0])
		return nil
	}
	resolved, err := fhir.ResolvePath(res.typ, names)
	if err != nil {
		c.errorf(se.path.pos, "%v", err)
		return nil
	}
	for i, st := range steps {
		rs := resolved.Steps[offset+i]
		if st.append && (!rs.Repeats() || i != len(steps)-1) {
			c.errorf(se.path.pos, "%s: [+] (a new element) goes on the last step, of an element that repeats", rs.Label)
			return nil
		}
		if st.index >= 0 && !rs.Repeats() {
			c.errorf(se.path.pos, "%s does not repeat (0..1): remove [%d]", rs.Label, st.index)
			return nil
		}
		if st.url != "" && rs.Type.Name != "Extension" {
			c.errorf(se.path.pos, "%s is not an extension", rs.Label)
			return nil
		}
	}
	sr := &setRule{pos: se.path.pos, label: label, elem: res.typ + "." + label, steps: steps, resolved: resolved, offset: offset, foreach: -1,
		last: resolved.Last()}
	if se.isBlock {
		last := steps[len(steps)-1]
		if !last.append {
			c.errorf(se.path.pos, "an element block makes one new element: write %s[+]", se.path.text)
			return nil
		}
		if resolved.Last().Primitive() {
			c.errorf(se.path.pos, "%s is a primitive: set it directly, not with a block", resolved.Last().Label)
			return nil
		}
		if se.foreach != nil {
			seg := se.foreach.text
			switch {
			case isSegmentID(seg):
				sr.foreach = c.sid(seg)
			case fieldRef(seg) != nil:
				sr.foreachField = fieldRef(seg)
				sr.foreachSID = c.sid(sr.foreachField.Seg)
			case slotName(seg) != "":
				sr.foreach, sr.foreachSlots = c.slots(se.foreach)
			case isGroupName(seg):
				sr.foreachGroup = c.groups(se.foreach)
			default:
				c.errorf(se.foreach.pos, "foreach %q must name a segment (foreach: NK1), a field (foreach: PV1[7]), a segment of a group (foreach: SERVICE.NTE) or a segment group of the structure (foreach: OBSERVATION)", seg)
			}
		}
		if se.when != nil {
			sr.when = c.expr(se.when, reflect.TypeFor[bool](), res)
		}
		seen := map[string]bool{}
		for i, sub := range se.block {
			if r := c.setIn(res, sr, sub); r != nil {
				if r.this {
					if i != 0 {
						c.errorf(sub.path.pos, "$this comes first in its block: the other entries set elements of what it gives")
					}
					sr.block = append(sr.block, r)
					continue
				}
				if seen[r.label] && !r.steps[len(r.steps)-1].append {
					c.errorf(sub.path.pos, "%s is set twice", r.label)
				}
				seen[r.label] = true
				sr.block = append(sr.block, r)
			}
		}
		return sr
	}
	sr.prog = c.expr(se.value, nil, res)
	if sr.prog != nil {
		c.checkResult(sr, se.value)
		if f := sr.prog.fast; f != nil && f.op == opConst {
			// what xToJSON gives for it, every time; one that fails keeps
			// failing per message, as it did
			if v, err := (&Env{}).xToJSON(&f.val, sr.last); err == nil {
				sr.constant = &v
			}
		}
	}
	return sr
}

// checkResult compares what a converter call returns with the element's
// FHIR type. Only a direct call can be checked at load; anything else is
// checked per message.
func (c *compiler) checkResult(sr *setRule, src *scalar) {
	tree := sr.prog.p.Node()
	call, ok := tree.(*ast.CallNode)
	if !ok {
		return
	}
	id, ok := call.Callee.(*ast.IdentifierNode)
	if !ok {
		return
	}
	conv, ok := datatype.Registry[id.Value]
	if !ok {
		return
	}
	last := sr.resolved.Last()
	want := last.Type.Name
	if conv.FHIR == want || last.Type.IsA(conv.FHIR) || (conv.FHIR == "Reference" && want == "Reference") {
		return
	}
	if isResourceType(conv.FHIR) && want == "Reference" {
		return // a resource converter in a Reference element: placed and referenced
	}
	c.errs = append(c.errs, &LoadError{Pos: src.pos, Expr: src.text,
		Msg: fmt.Sprintf("%s is %s, but %s returns %s", last.Label, want, id.Value, conv.FHIR)})
}

func isResourceType(name string) bool {
	t, ok := fhir.Lookup(name)
	return ok && t.Kind == fhir.KindResource
}

// expr compiles one expression of resource res; want is the Go result
// type required (nil: any).
func (c *compiler) expr(s *scalar, want reflect.Type, res *resourceRule) *program {
	p := &patcher{c: c, res: res}
	opts := append(exprOptions(), expr.Patch(p))
	if want != nil && want.Kind() == reflect.Bool {
		opts = append(opts, expr.AsBool())
	}
	prog, err := expr.Compile(s.text, opts...)
	if p.err != nil {
		c.errs = append(c.errs, &LoadError{Pos: s.pos, Msg: p.err.Error(), Expr: s.text})
		return nil
	}
	if err != nil {
		c.errs = append(c.errs, exprError(s, err))
		return nil
	}
	return &program{p: prog, src: s.text, pos: s.pos, fast: fastCompile(prog.Node())}
}

// exprError places an expr compile error in the rule file.
func exprError(s *scalar, err error) *LoadError {
	pos := s.pos
	msg := err.Error()
	var fe *file.Error
	if errors.As(err, &fe) {
		msg = fe.Message
		if name, ok := strings.CutPrefix(msg, "unknown name "); ok {
			if s := suggestFunc(name); s != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", s)
			}
		}
		if fe.Line <= 1 {
			pos.Line = s.line0
			pos.Column = s.col0 + fe.Column
		} else {
			pos.Line = s.line0 + fe.Line - 1
			pos.Column = fe.Column + 1
		}
	}
	return &LoadError{Pos: pos, Msg: msg, Expr: s.text}
}

// patcher rewrites HL7 references into direct, precompiled access:
//
//	PID        the segment (for present(PID))
//	PID[3]     field 3;  PID[3][4] component 4;  PID[3][4][2] subcomponent 2
//	v("PID-3[2].4.1")  any HL7 path, repetition included
//	ref(patient)       a reference to the resource with id patient
type patcher struct {
	c      *compiler
	res    *resourceRule
	err    error
	fields map[*ast.CallNode]int // field calls made here: their path number
}

func (p *patcher) fail(format string, args ...any) {
	if p.err == nil {
		p.err = fmt.Errorf(format, args...)
	}
}

func (p *patcher) Visit(n *ast.Node) {
	switch node := (*n).(type) {
	case *ast.MemberNode:
		// expr walks children first, so PID is already a field call here:
		// PID[3] deepens it to a field, PID[3][4] to a component, and so on.
		call, ok := node.Node.(*ast.CallNode)
		if !ok {
			return
		}
		idx, ok := p.fields[call]
		if !ok {
			return
		}
		in, ok := node.Property.(*ast.IntegerNode)
		if !ok {
			p.fail("%s: index HL7 positions with numbers: %s[3], %s[3][1]", p.c.r.paths[idx].path.Seg, p.c.r.paths[idx].path.Seg, p.c.r.paths[idx].path.Seg)
			return
		}
		path := &p.c.r.paths[idx].path
		if in.Value < 1 {
			p.fail("%s: HL7 positions count from 1", path)
			return
		}
		switch {
		case path.Field == 0:
			path.Field = in.Value
		case path.Comp == 0:
			path.Comp = in.Value
		case path.Sub == 0:
			path.Sub = in.Value
		default:
			p.fail("%s[%d]: at most field, component and subcomponent: SEG[f][c][s]", path, in.Value)
			return
		}
		ast.Patch(n, call)
	case *ast.IdentifierNode:
		if isSegmentID(node.Value) {
			p.replaceWithField(n, hl7.Path{Seg: node.Value})
		}
	case *ast.CallNode:
		id, ok := node.Callee.(*ast.IdentifierNode)
		if !ok {
			return
		}
		switch id.Value {
		case "v":
			if len(node.Arguments) != 1 {
				p.fail(`v() takes one HL7 path: v("PID-3[2].4.1")`)
				return
			}
			s, ok := node.Arguments[0].(*ast.StringNode)
			if !ok {
				p.fail(`v() takes a constant HL7 path in quotes: v("PID-3[2].4.1")`)
				return
			}
			path, err := hl7.ParsePath(s.Value)
			if err != nil {
				p.fail("%v", err)
				return
			}
			p.replaceWithField(n, path)
		case "table", "code", "coding", "concept":
			if len(node.Arguments) == 2 {
				if s, ok := node.Arguments[0].(*ast.StringNode); ok {
					if _, err := vocab.Resolve(s.Value); err != nil {
						p.fail("%s(%q, …): %v", id.Value, s.Value, err)
					}
				}
			}
		case "before":
			s, ok := singleString(node)
			if !ok || !isSegmentID(s) {
				p.fail(`before() takes a segment ID in quotes: before("PV1")`)
				return
			}
			ast.Patch(n, &ast.CallNode{
				Callee:    &ast.IdentifierNode{Value: "__before"},
				Arguments: []ast.Node{&ast.IdentifierNode{Value: "$env"}, &ast.IntegerNode{Value: p.c.sid(s)}},
			})
		case "within":
			s, ok := singleString(node)
			if !ok || !isGroupName(s) {
				p.fail(`within() takes a segment group's name in quotes: within("PROCEDURE")`)
				return
			}
			set := p.c.groupSet(s)
			if set == nil {
				p.fail("%s", p.c.groupErr(s))
				return
			}
			p.c.r.groupSets = append(p.c.r.groupSets, set)
			ast.Patch(n, &ast.CallNode{
				Callee:    &ast.IdentifierNode{Value: "__within"},
				Arguments: []ast.Node{&ast.IdentifierNode{Value: "$env"}, &ast.IntegerNode{Value: len(p.c.r.groupSets) - 1}},
			})
		case "ref", "refs":
			if len(node.Arguments) != 1 {
				p.fail("%s() takes the id of a resource of this file: %s(patient)", id.Value, id.Value)
				return
			}
			target, ok := node.Arguments[0].(*ast.IdentifierNode)
			if !ok || !p.c.resourceIDs[target.Value] {
				p.fail("%s(%s): no resource with that id in this file", id.Value, node.Arguments[0])
				return
			}
			ast.Patch(n, &ast.CallNode{
				Callee:    &ast.IdentifierNode{Value: "__" + id.Value},
				Arguments: []ast.Node{&ast.IdentifierNode{Value: "$env"}, &ast.IntegerNode{Value: p.c.order[target.Value]}},
			})
		}
	}
}

func (p *patcher) replaceWithField(n *ast.Node, path hl7.Path) {
	c := p.c
	c.r.paths = append(c.r.paths, compiledPath{path: path, sid: c.sid(path.Seg)})
	call := &ast.CallNode{
		Callee:    &ast.IdentifierNode{Value: "__f"},
		Arguments: []ast.Node{&ast.IdentifierNode{Value: "$env"}, &ast.IntegerNode{Value: len(c.r.paths) - 1}},
	}
	if p.fields == nil {
		p.fields = map[*ast.CallNode]int{}
	}
	p.fields[call] = len(c.r.paths) - 1
	ast.Patch(n, call)
}

// nearest computes Rules.near for structure st: for every group and every
// segment the rules read, the nearest segment nodes of that name.
func nearest(st *structure.Node, segIDs []string) [][]*nearSlots {
	nodes := st.Nodes()
	out := make([][]*nearSlots, len(nodes))
	for _, g := range nodes {
		if !g.Group {
			continue
		}
		out[g.ID] = make([]*nearSlots, len(segIDs))
		for sid, id := range segIDs {
			best, up := -1, 0
			var slots []bool
			for _, s := range nodes {
				if s.Group || s.Name != id {
					continue
				}
				// steps from g up to the common group, and down to s
				a, u := g, 0
				for !isAncestor(a, s) {
					a, u = a.Parent, u+1
				}
				d := u + s.Depth() - a.Depth()
				switch {
				case best < 0 || d < best:
					best, up, slots = d, u, make([]bool, len(nodes))
				case d > best:
					continue
				}
				up = max(up, u)
				slots[s.ID] = true
			}
			if best >= 0 {
				out[g.ID][sid] = &nearSlots{up: up, slots: slots}
			}
		}
	}
	return out
}

func isAncestor(a, n *structure.Node) bool {
	for x := n; x != nil; x = x.Parent {
		if x == a {
			return true
		}
	}
	return false
}

// setThis compiles `$this: EXPR` in an element block: the new element is
// what EXPR gives (a converter's ContactPoint, say), and the block's other
// entries then set or replace elements of it (use: "home"). It must come
// first in its block.
func (c *compiler) setThis(res *resourceRule, parent *setRule, se setEntry) *setRule {
	if parent == nil {
		c.errorf(se.path.pos, "$this is the element an element block builds: it goes inside a block (telecom[+]: with $this: xtn(PID[13]))")
		return nil
	}
	if se.isBlock {
		c.errorf(se.path.pos, "$this takes an expression, not a block")
		return nil
	}
	sr := &setRule{pos: se.path.pos, label: parent.label, elem: parent.elem, resolved: parent.resolved,
		offset: len(parent.resolved.Steps), foreach: -1, last: parent.resolved.Last(), this: true}
	sr.prog = c.expr(se.value, nil, res)
	if sr.prog != nil {
		c.checkResult(sr, se.value)
	}
	return sr
}

// isGroupName reports whether s reads as a segment group's name or path
// (ORDER_OBSERVATION, PATIENT_RESULT.ORDER_OBSERVATION): upper case, more
// than a segment ID.
func isGroupName(s string) bool {
	if len(s) <= 3 {
		return false
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// groups resolves `foreach: GROUP` against the rules' structure: the
// groups of that name (or dotted path), marked by node ID.
func (c *compiler) groups(s *scalar) []bool {
	set := c.groupSet(s.text)
	if set == nil {
		msg := c.groupErr(s.text)
		if c.r.structure == nil {
			msg = fmt.Sprintf("foreach %s names a segment group: %s", s.text, msg)
		}
		c.errorf(s.pos, "%s", msg)
	}
	return set
}

// groupSet marks, by node ID, the groups of the rules' structure named
// name (or dotted path); nil when there are none.
func (c *compiler) groupSet(name string) []bool {
	st := c.r.structure
	if st == nil {
		return nil
	}
	nodes := st.Groups(name)
	if len(nodes) == 0 {
		return nil
	}
	set := make([]bool, len(st.Nodes()))
	for _, n := range nodes {
		set[n.ID] = true
	}
	return set
}

// groupErr says why groupSet found no group name.
func (c *compiler) groupErr(name string) string {
	st := c.r.structure
	if st == nil {
		return "say which message structure the rules are for (structure: ORU_R01 at the top of the file)"
	}
	msg := fmt.Sprintf("%s has no segment group %s", st.Name, name)
	if sg := suggest.Closest(name, st.GroupNames()); sg != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", sg)
	}
	return fmt.Sprintf("%s (its groups: %s)", msg, strings.Join(st.GroupNames(), ", "))
}

// slotName is the segment of a `GROUP.SEG` foreach (SERVICE.NTE), or "".
func slotName(s string) string {
	i := strings.LastIndexByte(s, '.')
	if i <= 0 || !isSegmentID(s[i+1:]) || !isGroupName(s[:i]) {
		return ""
	}
	return s[i+1:]
}

// slots resolves `foreach: GROUP.SEG`: the segment's id number and the
// segment nodes of that name that are the group's own.
func (c *compiler) slots(s *scalar) (int, []*structure.Node) {
	seg := slotName(s.text)
	group := s.text[:len(s.text)-len(seg)-1]
	set := c.groupSet(group)
	if set == nil {
		c.errorf(s.pos, "foreach %s: %s", s.text, c.groupErr(group))
		return -1, nil
	}
	var nodes []*structure.Node
	for _, n := range c.r.structure.Nodes() {
		if !n.Group && n.Name == seg && set[n.Parent.ID] {
			nodes = append(nodes, n)
		}
	}
	if len(nodes) == 0 {
		c.errorf(s.pos, "foreach %s: %s has no segment %s of its own", s.text, group, seg)
		return -1, nil
	}
	return c.sid(seg), nodes
}

// singleString reads the one quoted argument of a call.
func singleString(node *ast.CallNode) (string, bool) {
	if len(node.Arguments) != 1 {
		return "", false
	}
	s, ok := node.Arguments[0].(*ast.StringNode)
	if !ok {
		return "", false
	}
	return s.Value, true
}

// fieldRef reads `PV1[7]`, a field as a block's foreach names it.
func fieldRef(s string) *hl7.Path {
	if len(s) < 6 || !isSegmentID(s[:3]) || s[3] != '[' || s[len(s)-1] != ']' {
		return nil
	}
	n, err := strconv.Atoi(s[4 : len(s)-1])
	if err != nil || n < 1 {
		return nil
	}
	return &hl7.Path{Seg: s[:3], Field: n}
}

// isSegmentID tells HL7 segment names (PID, OBX, ZPI, PV1) from the
// lower-case names of functions and variables.
func isSegmentID(s string) bool {
	if len(s) != 3 || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for i := 1; i < 3; i++ {
		if !(s[i] >= 'A' && s[i] <= 'Z' || s[i] >= '0' && s[i] <= '9') {
			return false
		}
	}
	return true
}

// builtinFuncs are the rule language's own functions, for suggestions.
var builtinFuncs = []string{"v", "ref", "text", "present", "table", "code", "coding", "concept", "before", "within", "refs"}

// suggestFunc lists the functions a misspelt name most likely meant:
// at most three within two edits, closest first.
func suggestFunc(name string) string {
	type cand struct {
		name string
		d    int
	}
	var cands []cand
	try := func(f string) {
		if d := suggest.Distance(strings.ToLower(name), f, 2); d <= 2 {
			cands = append(cands, cand{f, d})
		}
	}
	for _, f := range builtinFuncs {
		try(f)
	}
	for f := range datatype.Registry {
		try(f)
	}
	slices.SortFunc(cands, func(a, b cand) int { return cmp.Or(cmp.Compare(a.d, b.d), cmp.Compare(a.name, b.name)) })
	var names []string
	for i := 0; i < len(cands) && i < 3; i++ {
		names = append(names, cands[i].name)
	}
	return strings.Join(names, ", ")
}
