package transforms

import (
	"crypto/sha1"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"github.com/expr-lang/expr/vm"
	"github.com/google/uuid"

	"github.com/plexus-hl7/plexus/hl7"
	"github.com/plexus-hl7/plexus/hl7/structure"
	"github.com/plexus-hl7/plexus/transforms/datatype"
	"github.com/plexus-hl7/plexus/transforms/fhir"
	"github.com/plexus-hl7/plexus/transforms/fhirjson"
)

// Result is what converting one message gave.
type Result struct {
	// Bundle is the FHIR Bundle as JSON; nil when the conversion failed
	// (rule file with on_error: reject, the default, and any error).
	Bundle    []byte
	Resources int
	Warnings  []string
	Errors    []*ConvError
}

// ConvError is a failure to compute one element for one message: where in
// the rules, which element, which HL7 value, and why.
type ConvError struct {
	Rule    Pos    // the element's line in the rule file
	Element string // e.g. Patient.birthDate
	Field   string // the HL7 path that failed, when known (PID-7)
	Msg     string
}

func (e *ConvError) Error() string {
	var b strings.Builder
	b.WriteString(e.Element)
	if e.Field != "" {
		b.WriteString(" from ")
		b.WriteString(e.Field)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	b.WriteString(" (rule ")
	b.WriteString(e.Rule.String())
	b.WriteString(")")
	return b.String()
}

// ErrConversion is returned (wrapped, with the first error) when a message
// could not be converted; Result.Errors has them all.
var ErrConversion = errors.New("conversion failed")

// idSpace is the UUIDv5 namespace of the ids Plexus gives resources: the
// same business identifier always yields the same id.
var idSpace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://github.com/plexus-hl7/plexus/fhir-resource-id"))

var envPool = sync.Pool{New: func() any { return &Env{} }}

// Convert turns one parsed message into a FHIR Bundle.
func (r *Rules) Convert(m *hl7.Message) (*Result, error) {
	return r.ConvertAppend(nil, m)
}

// ConvertAppend is Convert with the Bundle appended to dst: Result.Bundle
// is dst extended by it (nil, and dst untouched, when the conversion
// failed). A caller that gives the Bundle's buffer back, say when the
// message has been delivered, passes it as dst[:0] for the next message:
// the Bundle is then most of what a conversion allocated (two thirds of the
// bytes of an ADT), and with it gone the garbage collector runs that much
// less often.
func (r *Rules) ConvertAppend(dst []byte, m *hl7.Message) (*Result, error) {
	e := envPool.Get().(*Env)
	defer e.release()
	res, err := e.convert(r, m)
	if err == nil {
		res.Bundle = append(dst, e.out...)
	}
	return res, err
}

// convert encodes the Bundle of m in e.out.
func (e *Env) convert(r *Rules, m *hl7.Message) (*Result, error) {
	e.start(r, m)
	for ri, rr := range r.resources {
		e.instances(ri, rr)
	}
	// The Bundle is encoded as it is built, each entry as soon as its
	// resource is complete: no tree of the whole Bundle is kept. (Ids and
	// UUIDs are written as they are: they have nothing JSON escapes.)
	e.hash = append(e.hash[:len(idSpace)], "Bundle|"...)
	e.hash = append(e.hash, e.Msg.SendingApplication...)
	e.hash = append(e.hash, '|')
	e.hash = append(e.hash, e.Msg.SendingFacility...)
	e.hash = append(e.hash, '|')
	e.hash = append(e.hash, e.Msg.ControlID...)
	out := append(e.out[:0], `{"resourceType":"Bundle","id":`...)
	out = appendUUID(append(out, '"'), e.hashID())
	out = append(out, '"')
	if r.bundle != "" {
		out = append(out, `,"type":`...)
		out = fhirjson.AppendString(out, r.bundle)
	}
	noEntries := len(out)
	out = append(out, `,"entry":[`...)
	e.out = out
	n := 0
	for ri, rr := range r.resources {
		for ii := range e.inst[ri] {
			in := &e.inst[ri][ii]
			if in.failed {
				continue
			}
			if n > 0 {
				e.out = append(e.out, ',')
			}
			e.build(rr, in)
			n++
		}
	}
	res := &Result{Warnings: e.warns, Errors: e.errs, Resources: n + e.nplaced}
	if len(e.errs) > 0 && !r.partial {
		return res, fmt.Errorf("%w: %w", ErrConversion, e.errs[0])
	}
	if e.nplaced > 0 {
		if n > 0 {
			e.out = append(e.out, ',')
		}
		e.out = append(e.out, e.placed...)
	}
	if res.Resources == 0 {
		e.out = e.out[:noEntries]
	} else {
		e.out = append(e.out, ']')
	}
	e.out = append(e.out, '}')
	return res, nil
}

// headerOf is the message's hl7.Header as expressions see it, its texts
// made by TextOf (what Value.String gives, copied into shared blocks rather
// than allocated one by one as m.Header() does).
func headerOf(m *hl7.Message) Header {
	msh, ok := m.Find("MSH", 1)
	if !ok {
		return Header{}
	}
	text := func(v hl7.Value) string { return datatype.TextOf(v) }
	typ := msh.Field(9)
	return Header{
		Type:                 text(typ.Component(1)),
		Event:                text(typ.Component(2)),
		Structure:            text(typ.Component(3)),
		Version:              text(msh.Field(12).Component(1)),
		ControlID:            text(msh.Field(10)),
		ProcessingID:         text(msh.Field(11).Component(1)),
		SendingApplication:   text(msh.Field(3)),
		SendingFacility:      text(msh.Field(4)),
		ReceivingApplication: text(msh.Field(5)),
		ReceivingFacility:    text(msh.Field(6)),
		Timestamp:            text(msh.Field(7)),
	}
}

func (e *Env) start(r *Rules, m *hl7.Message) {
	e.Msg = headerOf(m)
	e.m, e.rules, e.cur, e.scope, e.repSID = m, r, -1, -1, -1
	e.gen++ // what the slots hold is of another message
	if r.structure != nil {
		e.groups.Match(r.structure, m)
	} else {
		e.groups.Instances, e.groups.Of, e.groups.Slot = e.groups.Instances[:0], e.groups.Of[:0], e.groups.Slot[:0]
	}
	for len(e.segPos) < len(r.segIDs) {
		e.segPos = append(e.segPos, nil)
	}
	e.segPos = e.segPos[:len(r.segIDs)]
	for i := range e.segPos {
		e.segPos[i] = e.segPos[i][:0]
	}
	for i := 0; i < m.Len(); i++ {
		id := m.Segment(i).IDBytes()
		for k, want := range r.segIDs {
			if string(id) == want {
				e.segPos[k] = append(e.segPos[k], i)
			}
		}
	}
	if cap(e.slots) < r.nslots {
		e.slots = make([]Field, r.nslots)
	}
	e.slots = e.slots[:r.nslots]
	for len(e.inst) < len(r.resources) {
		e.inst = append(e.inst, nil)
	}
	e.inst = e.inst[:len(r.resources)]
	for i := range e.inst {
		e.inst[i] = e.inst[i][:0]
	}
	e.arena.Reset()
	if len(e.hash) < len(idSpace) {
		e.hash = append(e.hash[:0], idSpace[:]...)
	}
	if e.placedIDs == nil {
		e.placedIDs = map[[16]byte]string{}
	}
	if e.ctx.Warn == nil {
		e.ctx.Warn = func(msg string) { e.warn(msg) }
	}
	e.ctx.Location = r.loc
	e.ctx.Arena = &e.arena
}

// release returns e to the pool. It keeps the buffers, the arena and the
// VM, and drops everything that refers to the message (but what the
// buffers still hold until they are written over).
func (e *Env) release() {
	clear(e.placedIDs)
	*e = Env{
		segPos: e.segPos, slots: e.slots[:0], gen: e.gen, inst: e.inst, vm: e.vm, ctx: e.ctx, groups: e.groups,
		arena: e.arena, out: keep(e.out), hash: e.hash, ids: e.ids[:0], rest: keep(e.rest), textBuf: keep(e.textBuf),
		xs: e.xs[:0], xsInts: e.xsInts[:0], vals: e.vals[:0], placed: keep(e.placed), placedIDs: e.placedIDs,
	}
	e.ctx.Location = nil
	envPool.Put(e)
}

// keep is a buffer emptied for the next conversion, or nil after a very
// large message (an ADT Bundle is some 25 KB).
func keep(b []byte) []byte {
	if cap(b) > 1<<20 {
		return nil
	}
	return b[:0]
}

func (e *Env) convContext() *datatype.Context { return &e.ctx }

func (e *Env) warnf(format string, args ...any) {
	e.warn(fmt.Sprintf(format, args...))
}

// warn adds a warning to the result.
func (e *Env) warn(msg string) {
	if e.warns == nil {
		e.warns = make([]string, 0, 8) // most messages that warn warn a few times
	}
	e.warns = append(e.warns, msg)
}

// run computes an expression as the VM gives it (for key and Condition).
func (e *Env) run(p *program) (any, error) {
	if p.fast != nil {
		x, err := e.evalNode(p.fast)
		if err != nil {
			return nil, err
		}
		return x.any(), nil
	}
	return e.vm.Run(p.p, e)
}

// runBool computes a when.
func (e *Env) runBool(p *program) (bool, error) {
	if p.fast != nil && p.fast.kind == xBool {
		x, err := e.evalNode(p.fast)
		return x.b, err
	}
	v, err := e.vm.Run(p.p, e)
	if err != nil {
		return false, err
	}
	b, _ := v.(bool)
	return b, nil
}

// fail records a conversion error of the element being computed.
func (e *Env) fail(pos Pos, element string, err error) {
	ce := &ConvError{Rule: pos, Element: element, Msg: err.Error()}
	var fe *fieldError
	if errors.As(err, &fe) {
		ce.Field = fe.path.String()
		ce.Msg = fe.err.Error()
	}
	e.errs = append(e.errs, ce)
}

// txn reports whether the Bundle's entries have requests.
func (r *Rules) txn() bool { return r.bundle == "transaction" || r.bundle == "batch" }

// hashID is the UUIDv5 (SHA-1) of the name in e.hash after idSpace: what
// uuid.NewSHA1(idSpace, name) gives, without its allocations.
func (e *Env) hashID() [16]byte {
	sum := sha1.Sum(e.hash)
	var id [16]byte
	copy(id[:], sum[:])
	id[6] = id[6]&0x0f | 0x50 // version 5
	id[8] = id[8]&0x3f | 0x80 // RFC 4122 variant
	return id
}

// appendUUID appends id as uuid.UUID.String writes it.
func appendUUID(dst []byte, id [16]byte) []byte {
	const hex = "0123456789abcdef"
	for i, b := range id {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst = append(dst, '-')
		}
		dst = append(dst, hex[b>>4], hex[b&0xf])
	}
	return dst
}

// newID writes the id uid of a resource of type typ as one string cut
// three ways: urn:uuid:<id> (its fullUrl), the id, and <typ>/<id> (its
// request's URL in a transaction or batch).
//
// The string is a view of e.ids, which release empties after every
// conversion, instead of an allocation per id: ids never outlive the conversion (they are
// written into the Bundle, and into no warning, error or cache), and a
// block is never written over within one, since a full block is replaced
// rather than grown.
func (e *Env) newID(typ string, uid [16]byte) (urn, id, put string) {
	const urnLen = len("urn:uuid:") + 36
	n := urnLen
	if e.rules.txn() {
		n += len(typ) + 1 + 36
	}
	if cap(e.ids)-len(e.ids) < n {
		e.ids = make([]byte, 0, max(idBlock, n))
	}
	start := len(e.ids)
	b := append(e.ids, "urn:uuid:"...)
	b = appendUUID(b, uid)
	if n > urnLen {
		b = append(b, typ...)
		b = append(b, '/')
		b = appendUUID(b, uid)
	}
	e.ids = b
	s := unsafe.String(&b[start], n)
	return s[:urnLen], s[len("urn:uuid:"):urnLen], s[urnLen:]
}

// idBlock is the size of the blocks of e.ids: the ids of an ADT with a few
// dozen resources in a transaction.
const idBlock = 4096

// instances decides which resources rule rr makes for this message and
// gives each its id.
func (e *Env) instances(ri int, rr *resourceRule) {
	one := [1]int{-1}
	positions := one[:]
	switch {
	case rr.foreach >= 0 && rr.foreachSlots != nil:
		positions = e.xsInts[:0]
		for _, p := range e.segPos[rr.foreach] {
			if e.isSlot(p, rr.foreachSlots) {
				positions = append(positions, p)
			}
		}
		e.xsInts = positions
	case rr.foreach >= 0:
		positions = e.segPos[rr.foreach]
	case rr.foreachGroup != nil:
		positions = e.xsInts[:0]
		for i, in := range e.groups.Instances {
			if rr.foreachGroup[in.Node.ID] {
				positions = append(positions, i)
			}
		}
		e.xsInts = positions
	}
	for n, pos := range positions {
		group := -1
		if rr.foreachGroup != nil {
			group = pos
			e.atGroup(group)
			pos = e.groups.Instances[group].Start
		} else {
			e.at(pos)
		}
		if rr.when != nil {
			ok, err := e.runBool(rr.when)
			if err != nil {
				e.fail(rr.when.pos, rr.typ+" (when)", err)
				continue
			}
			if !ok {
				continue
			}
		}
		in := instance{seg: pos, group: group}
		if rr.key != nil {
			if rr.key.fast != nil && rr.key.fast.kind == xJSON {
				x, err := e.evalNode(rr.key.fast)
				if err != nil {
					e.fail(rr.key.pos, rr.typ+" (key)", err)
					continue
				}
				in.keySys, in.keyVal = keyOfValue(x.j)
			} else {
				v, err := e.run(rr.key)
				if err != nil {
					e.fail(rr.key.pos, rr.typ+" (key)", err)
					continue
				}
				in.keySys, in.keyVal = keyOf(v)
			}
			in.keyed = in.keyVal != ""
		}
		h := append(e.hash[:len(idSpace)], rr.typ...)
		h = append(h, '|')
		if in.keyed {
			h = append(h, in.keySys...)
			h = append(h, '|')
			h = append(h, in.keyVal...)
		} else {
			for _, s := range [...]string{e.Msg.SendingApplication, e.Msg.SendingFacility, e.Msg.ControlID, rr.id} {
				h = append(h, s...)
				h = append(h, '|')
			}
			h = strconv.AppendInt(h, int64(n), 10)
		}
		e.hash = h
		in.urn, in.id, in.put = e.newID(rr.typ, e.hashID())
		e.inst[ri] = append(e.inst[ri], in)
	}
	e.at(-1)
}

// keyOf reads a business identifier from what a key expression gave: an
// Identifier (or a list: the first), a field, or text.
func keyOf(v any) (system, value string) {
	switch x := v.(type) {
	case fhirjson.Value:
		return keyOfValue(x)
	case *Field:
		return "", x.String()
	case string:
		return "", x
	case nil:
		return "", ""
	}
	return "", fmt.Sprint(v)
}

func keyOfValue(x fhirjson.Value) (system, value string) {
	first := x
	if x.Len() > 0 {
		first = x.Elem(0)
	}
	if first.Kind() == fhirjson.KindObject {
		return first.Get("system").Text(), first.Get("value").Text()
	}
	return "", first.Text()
}

// ref is the Reference to the instance of resource rule ri that belongs
// with the current context: the one whose foreach segment is nearest before
// the current segment (the report of an observation's order group).
func (e *Env) ref(ri int) fhirjson.Value {
	insts := e.inst[ri]
	if len(insts) == 0 {
		return fhirjson.Value{}
	}
	best := &insts[0]
	if e.cur >= 0 && insts[0].seg >= 0 {
		for i := range insts {
			if insts[i].seg <= e.cur {
				best = &insts[i]
			}
		}
	}
	if best.ref.IsNull() {
		best.ref = e.arena.Obj(fhirjson.M("reference", fhirjson.Str(best.urn)))
	}
	return best.ref
}

// refs is a list of References to every instance of resource rule ri
// (a Provenance's targets: both patients of an A17).
func (e *Env) refs(ri int) fhirjson.Value {
	insts := e.inst[ri]
	if len(insts) == 0 {
		return fhirjson.Value{}
	}
	mark := len(e.vals)
	for i := range insts {
		in := &insts[i]
		if in.ref.IsNull() {
			in.ref = e.arena.Obj(fhirjson.M("reference", fhirjson.Str(in.urn)))
		}
		e.vals = append(e.vals, in.ref)
	}
	out := e.arena.Arr(e.vals[mark:]...)
	e.vals = e.vals[:mark]
	return out
}

// sink is where the values of set rules go: the resource being built, or
// the element an element block is building.
type sink struct {
	body *fhirjson.Builder
	elem *fhirjson.Value
}

// build computes the elements of one resource and appends its Bundle entry
// to e.out.
func (e *Env) build(rr *resourceRule, in *instance) {
	if in.group >= 0 {
		e.atGroup(in.group)
	} else {
		e.at(in.seg)
	}
	body := e.arena.Builder(len(rr.sets) + 2)
	body.Set("resourceType", fhirjson.Str(rr.typ))
	conditional := in.keyed && e.rules.txn()
	if !conditional {
		body.Set("id", fhirjson.Str(in.id))
	}
	sk := sink{body: &body}
	for _, sr := range rr.sets {
		e.each(rr, sr, &sk)
	}
	e.at(-1)
	e.out = e.appendEntry(e.out, in.urn, body.Value(), rr.typ, in.put, in.keySys, in.keyVal, conditional)
}

// each computes what set rule sr puts at its path and hands each value to
// emit: the expression's value; for an element block, one new element per
// occurrence of its foreach segment or field repetition (once without
// one), each built from the block's rules and dropped when it comes out
// empty.
func (e *Env) each(rr *resourceRule, sr *setRule, sk *sink) {
	if sr.block == nil {
		if val, ok := e.value(sr); ok && !val.IsNull() {
			e.emit(sk, sr, val)
		}
		return
	}
	saved, savedScope, savedRep := e.cur, e.scope, [3]int{e.repSID, e.repField, e.repIdx}
	switch {
	case sr.foreach >= 0:
		// the occurrences that belong to the resource being built: with a
		// structure, those in the group of the current scope (or around
		// it) where the structure puts them (an OBX's NTEs); else all of
		// them, or, in a foreach resource, those after its segment and
		// before the next occurrence of it
		lo, hi := -1, int(^uint(0)>>1)
		if sr.foreachSlots != nil {
			// those of the named group, inside the scope's instance of a
			// group that holds it
			in := e.scope
			for in >= 0 && !isAbove(e.groups.Instances[in].Node, sr.foreachSlots) {
				in = e.groups.Instances[in].Parent
			}
			if in >= 0 {
				lo, hi = e.groups.Instances[in].Start-1, e.groups.Instances[in].End
			}
			for _, p := range e.segPos[sr.foreach] {
				if p > lo && p < hi && e.isSlot(p, sr.foreachSlots) {
					e.blockElem(rr, sr, sk, p, 0, -1)
				}
			}
			break
		}
		g, grouped := e.groupOf(sr.foreach)
		if !grouped && rr.foreach >= 0 && saved >= 0 {
			lo = saved
			for _, p := range e.segPos[rr.foreach] {
				if p > saved {
					hi = p
					break
				}
			}
		}
		for _, p := range e.segPos[sr.foreach] {
			if grouped && g.in(e, p) || !grouped && p > lo && p < hi {
				e.blockElem(rr, sr, sk, p, 0, -1)
			}
		}
	case sr.foreachGroup != nil:
		// the instances of the group inside the current scope
		lo, hi := -1, int(^uint(0)>>1)
		if savedScope >= 0 {
			lo, hi = e.groups.Instances[savedScope].Start, e.groups.Instances[savedScope].End
		}
		for i := range e.groups.Instances {
			in := &e.groups.Instances[i]
			if sr.foreachGroup[in.Node.ID] && in.Start >= lo && in.End <= hi && i != savedScope {
				e.blockElem(rr, sr, sk, in.Start, 0, i)
			}
		}
	case sr.foreachField != nil:
		if seg := e.segment(sr.foreachSID, 0); seg >= 0 {
			reps := e.m.Segment(seg).Field(sr.foreachField.Field).Reps()
			for r := 1; r <= reps; r++ {
				e.blockElem(rr, sr, sk, saved, r, -1)
			}
		}
	default:
		e.blockElem(rr, sr, sk, saved, 0, -1)
	}
	e.moveTo(saved, savedScope)
	e.atRep(savedRep[0], savedRep[1], savedRep[2])
}

// isSlot reports whether segment index p was matched to one of nodes.
func (e *Env) isSlot(p int, nodes []*structure.Node) bool {
	if p >= len(e.groups.Slot) {
		return false
	}
	return slices.Contains(nodes, e.groups.Slot[p])
}

// isAbove reports whether group g holds one of nodes.
func isAbove(g *structure.Node, nodes []*structure.Node) bool {
	for _, n := range nodes {
		for x := n.Parent; x != nil; x = x.Parent {
			if x == g {
				return true
			}
		}
	}
	return false
}

// blockElem builds one element of block sr at segment seg (and repetition
// rep of its foreach field, when rep > 0; in group instance group, when
// that is not -1).
func (e *Env) blockElem(rr *resourceRule, sr *setRule, sk *sink, seg, rep, group int) {
	switch {
	case group >= 0:
		e.atGroup(group)
	case seg == e.cur:
		// a block without foreach, or one per repetition of a field: the
		// resource's own place (and scope, which may be a group's)
	default:
		e.at(seg)
	}
	if rep > 0 {
		e.atRep(sr.foreachSID, sr.foreachField.Field, rep)
	}
	if sr.when != nil {
		ok, err := e.runBool(sr.when)
		if err != nil {
			e.fail(sr.when.pos, sr.elem+" (when)", err)
			return
		}
		if !ok {
			return
		}
	}
	var elem fhirjson.Value
	sub := sink{elem: &elem}
	for _, s := range sr.block {
		e.each(rr, s, &sub)
	}
	if !elem.IsNull() {
		e.emit(sk, sr, elem)
	}
}

// value computes the value of set rule sr's expression for its element:
// placed resources replaced by references, checked against the element's
// type. ok is false when that failed (and the error is recorded).
func (e *Env) value(sr *setRule) (v fhirjson.Value, ok bool) {
	e.atPos, e.atElem = sr.pos, sr.elem
	if sr.constant != nil {
		return *sr.constant, true
	}
	last := &sr.last
	if p := sr.prog; p.fast != nil {
		x, err := e.evalTop(p.fast)
		if err != nil {
			e.fail(sr.pos, sr.elem, err)
			return v, false
		}
		if x.kind == xJSON && last.Type.Name == "Reference" {
			x.j = e.placeResources(x.j)
		}
		if v, err = e.xToJSON(&x, *last); err != nil {
			e.fail(sr.pos, last.Label, err)
			return v, false
		}
		return v, true
	}
	out, err := e.vm.Run(sr.prog.p, e)
	if err != nil {
		e.fail(sr.pos, sr.elem, err)
		return v, false
	}
	if last.Type.Name == "Reference" {
		if x, ok := out.(fhirjson.Value); ok {
			out = e.placeResources(x)
		}
	}
	if v, err = e.toJSON(out, *last); err != nil {
		e.fail(sr.pos, last.Label, err)
		return v, false
	}
	return v, true
}

// evalTop is evalNode for a whole expression: a list at the top (the
// common [cx(PID[2]), cx(PID[3])]) is gathered in e.xs instead of a new
// slice; it is valid until the next evalTop.
func (e *Env) evalTop(n *fnode) (xval, error) {
	if n.op != opList {
		return e.evalNode(n)
	}
	e.xs = e.xs[:0]
	for _, el := range n.list {
		v, err := e.evalNode(el)
		if err != nil {
			return xval{}, err
		}
		e.xs = append(e.xs, v)
	}
	return xval{kind: xList, l: e.xs}, nil
}

// emit puts val at sr's path in the sink.
func (e *Env) emit(sk *sink, sr *setRule, val fhirjson.Value) {
	if sr.this {
		if val.Kind() == fhirjson.KindArray {
			if val.Len() > 1 {
				e.warnf("%s takes one value; %d given, the first kept", sr.resolved.Last().Label, val.Len())
			}
			val = val.Elem(0)
		}
		*sk.elem = val
		return
	}
	if sk.body != nil {
		name := sr.steps[0].name
		v, err := e.putElem(sk.body.Get(name), sr, 0, val)
		if err != nil {
			e.fail(sr.pos, sr.resolved.Last().Label, err)
			return
		}
		sk.body.Set(name, v)
		return
	}
	v, err := e.put(*sk.elem, sr, 0, val)
	if err != nil {
		e.fail(sr.pos, sr.resolved.Last().Label, err)
		return
	}
	*sk.elem = v
}

// placeResources gives every resource that a converter returned for a
// Reference element (xcn: a Practitioner, pl: a Location) an entry of its
// own in the Bundle and returns references to them instead. The entry's id
// comes from the resource's first identifier, or else from its content, so
// the same practitioner named twice in a message, or in two messages, is
// one resource.
func (e *Env) placeResources(v fhirjson.Value) fhirjson.Value {
	n := v.Len()
	changed := false
	mark := len(e.vals)
	for i := 0; i < n; i++ {
		el := v.Elem(i)
		if typ := el.Get("resourceType").Text(); typ != "" && el.Kind() == fhirjson.KindObject {
			el = e.place(typ, el)
			changed = true
		}
		e.vals = append(e.vals, el)
	}
	refs := e.vals[mark:]
	defer func() { e.vals = e.vals[:mark] }()
	switch {
	case !changed:
		return v
	case v.Kind() == fhirjson.KindArray:
		return e.arena.Arr(refs...)
	}
	return refs[0]
}

func (e *Env) place(typ string, res fhirjson.Value) fhirjson.Value {
	sys, val := keyOfValue(res.Get("identifier"))
	if sys == "" {
		// An identifier without a system (a bed "01", a doctor number
		// without its authority) is not unique: identify by content.
		val = ""
	}
	// What a converter returns has resourceType first and no key twice:
	// then the JSON of its other members (but id) is encoded once, hashed
	// for an id by content and copied into the entry.
	ms := res.Members()
	simple := ms[0].Key == "resourceType" && ms[0].Value.Kind() == fhirjson.KindString && distinctKeys(ms)
	restDone := false
	rest := func() {
		if restDone {
			return
		}
		restDone = true
		e.rest = e.rest[:0]
		for _, m := range ms[1:] {
			if m.Key == "id" {
				continue
			}
			e.rest = append(e.rest, ',')
			e.rest = fhirjson.AppendString(e.rest, m.Key)
			e.rest = append(e.rest, ':')
			e.rest = m.Value.AppendJSON(e.rest)
		}
	}
	h := append(e.hash[:len(idSpace)], typ...)
	h = append(h, '|')
	switch {
	case val != "":
		h = append(h, sys...)
		h = append(h, '|')
		h = append(h, val...)
	case simple:
		// what appendWithout(h, res, "id") gives
		rest()
		h = append(h, `{"resourceType":`...)
		h = fhirjson.AppendString(h, typ)
		h = append(h, e.rest...)
		h = append(h, '}')
	default:
		h = appendWithout(h, res, "id")
	}
	e.hash = h
	uid := e.hashID()
	if urn, ok := e.placedIDs[uid]; ok {
		return e.arena.Obj(fhirjson.M("reference", fhirjson.Str(urn)))
	}
	urn, id, put := e.newID(typ, uid)
	e.placedIDs[uid] = urn
	ref := e.arena.Obj(fhirjson.M("reference", fhirjson.Str(urn)))
	conditional := val != "" && e.rules.txn()
	if e.nplaced > 0 {
		e.placed = append(e.placed, ',')
	}
	e.nplaced++
	if simple {
		rest()
		out := append(e.placed, `{"fullUrl":`...)
		out = fhirjson.AppendString(out, urn)
		out = append(out, `,"resource":{"resourceType":`...)
		out = fhirjson.AppendString(out, typ)
		if !conditional {
			out = append(out, `,"id":`...)
			out = fhirjson.AppendString(out, id)
		}
		out = append(out, e.rest...)
		out = append(out, '}')
		out = e.appendRequest(out, typ, put, sys, val, conditional)
		e.placed = append(out, '}')
		return ref
	}
	body := e.arena.Builder(len(ms) + 2)
	body.Set("resourceType", fhirjson.Str(typ))
	if !conditional {
		body.Set("id", fhirjson.Str(id))
	}
	for _, m := range ms {
		if m.Key != "resourceType" && m.Key != "id" {
			body.Set(m.Key, m.Value)
		}
	}
	e.placed = e.appendEntry(e.placed, urn, body.Value(), typ, put, sys, val, conditional)
	return ref
}

// distinctKeys reports whether no two members have the same key.
func distinctKeys(ms []fhirjson.Member) bool {
	for i := range ms {
		for j := i + 1; j < len(ms); j++ {
			if ms[i].Key == ms[j].Key {
				return false
			}
		}
	}
	return true
}

// appendWithout appends the JSON of object v without its member key (what
// v.With(key, Null).AppendJSON gives).
func appendWithout(dst []byte, v fhirjson.Value, key string) []byte {
	n := 0
	for _, m := range v.Members() {
		if m.Key != key {
			n++
		}
	}
	if n == 0 {
		return append(dst, "null"...)
	}
	dst = append(dst, '{')
	first := true
	for _, m := range v.Members() {
		if m.Key == key {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = fhirjson.AppendString(dst, m.Key)
		dst = append(dst, ':')
		dst = m.Value.AppendJSON(dst)
	}
	return append(dst, '}')
}

// appendEntry appends a Bundle entry: fullUrl, resource and, in a
// transaction or batch, its request.
func (e *Env) appendEntry(dst []byte, urn string, resource fhirjson.Value, typ, put, sys, val string, conditional bool) []byte {
	dst = append(dst, `{"fullUrl":`...)
	dst = fhirjson.AppendString(dst, urn)
	dst = append(dst, `,"resource":`...)
	dst = resource.AppendJSON(dst)
	dst = e.appendRequest(dst, typ, put, sys, val, conditional)
	return append(dst, '}')
}

// appendRequest appends an entry's request in a transaction or batch
// Bundle (nothing in others): a conditional update by identifier when the
// resource has one, else an update of its deterministic id, put (so that
// replaying a message is harmless). The URL is written as it is: a
// resource type, a UUID and query-escaped text have nothing JSON escapes.
func (e *Env) appendRequest(dst []byte, typ, put, sys, val string, conditional bool) []byte {
	if !e.rules.txn() {
		return dst
	}
	dst = append(dst, `,"request":{"method":"PUT","url":"`...)
	if !conditional {
		dst = append(dst, put...)
	} else {
		dst = append(dst, typ...)
		dst = append(dst, "?identifier="...)
		if sys != "" {
			dst = appendQueryEscape(dst, sys)
			dst = append(dst, '|')
		}
		dst = appendQueryEscape(dst, val)
	}
	return append(dst, `"}`...)
}

// appendQueryEscape appends url.QueryEscape(s) without its allocation (a
// system URI always has something to escape): letters, digits and -_.~ as
// they are, a space as +, any other byte as %XX.
func appendQueryEscape(dst []byte, s string) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '.', c == '~':
			dst = append(dst, c)
		case c == ' ':
			dst = append(dst, '+')
		default:
			dst = append(dst, '%', hex[c>>4], hex[c&15])
		}
	}
	return dst
}

// toJSON turns what the VM gave into the JSON of the element step,
// checking primitives against their FHIR format and required bindings.
func (e *Env) toJSON(out any, st fhir.Step) (fhirjson.Value, error) {
	var v fhirjson.Value
	switch x := out.(type) {
	case nil:
		return v, nil
	case fhirjson.Value:
		v = x
	case *Field:
		return stringJSON(x.String(), st)
	case string:
		return stringJSON(x, st)
	case bool:
		v = fhirjson.Bool(x)
	case int:
		v = fhirjson.Int(int64(x))
	case int64:
		v = fhirjson.Int(x)
	case float64:
		v = fhirjson.Num(strconv.FormatFloat(x, 'f', -1, 64))
	case map[string]any:
		// an object literal ({"system": "...", "code": "..."}): each member
		// is checked against the element's type like a set entry would be
		if st.Primitive() {
			return v, fmt.Errorf("%s is %s, a primitive, but the expression gives an object", st.Label, st.Type.Name)
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var b fhirjson.Builder
		for _, k := range keys {
			ms, err := st.Member(k)
			if err != nil {
				return v, err
			}
			mv, err := e.toJSON(x[k], ms)
			if err != nil {
				return v, err
			}
			if ms.Repeats() && mv.Kind() != fhirjson.KindArray && !mv.IsNull() {
				mv = fhirjson.Arr(mv)
			}
			b.Set(k, mv)
		}
		return b.Value(), nil
	case []any:
		mark := len(e.vals)
		defer func() { e.vals = e.vals[:mark] }()
		for _, el := range x {
			ev, err := e.toJSON(el, st)
			if err != nil {
				return v, err
			}
			e.vals = appendElems(e.vals, ev)
		}
		return e.arena.Arr(e.vals[mark:]...), nil
	default:
		return v, fmt.Errorf("the expression gives %T, which is not a FHIR value", out)
	}
	return v, checkValue(v, st)
}

// xToJSON is toJSON for what evalNode gave.
func (e *Env) xToJSON(x *xval, st fhir.Step) (fhirjson.Value, error) {
	var v fhirjson.Value
	switch x.kind {
	case xNil:
		return v, nil
	case xJSON:
		v = x.j
	case xField:
		return stringJSON(x.f.String(), st)
	case xStr:
		return stringJSON(x.s, st)
	case xBool:
		v = fhirjson.Bool(x.b)
	case xInt:
		v = fhirjson.Int(int64(x.n))
	case xList:
		mark := len(e.vals)
		defer func() { e.vals = e.vals[:mark] }()
		for i := range x.l {
			ev, err := e.xToJSON(&x.l[i], st)
			if err != nil {
				return v, err
			}
			e.vals = appendElems(e.vals, ev)
		}
		return e.arena.Arr(e.vals[mark:]...), nil
	}
	return v, checkValue(v, st)
}

// appendElems appends v's elements (Value.Elems without its allocation).
func appendElems(dst []fhirjson.Value, v fhirjson.Value) []fhirjson.Value {
	for i := range v.Len() {
		dst = append(dst, v.Elem(i))
	}
	return dst
}

// stringJSON is text as the JSON of the element step: a string, number or
// boolean as the step's type wants, checked.
func stringJSON(x string, st fhir.Step) (fhirjson.Value, error) {
	var v fhirjson.Value
	if x == "" {
		return v, nil
	}
	if !st.Primitive() {
		return v, fmt.Errorf("%s is %s, but the expression gives text %q", st.Label, st.Type.Name, x)
	}
	switch st.JSON() {
	case fhir.JSONNumber:
		v = fhirjson.Num(x)
		if v.IsNull() {
			return v, fmt.Errorf("%q is not a number", x)
		}
	case fhir.JSONBoolean:
		b, err := strconv.ParseBool(x)
		if err != nil {
			return v, fmt.Errorf("%q is not true or false", x)
		}
		v = fhirjson.Bool(b)
	default:
		v = fhirjson.Str(x)
	}
	return v, checkValue(v, st)
}

// checkValue validates primitives and required codes.
func checkValue(v fhirjson.Value, st fhir.Step) error {
	for i := range v.Len() {
		el := v.Elem(i)
		if st.Primitive() {
			switch el.Kind() {
			case fhirjson.KindObject, fhirjson.KindArray:
				return fmt.Errorf("%s is %s, a primitive, but the value is an object", st.Label, st.Type.Name)
			}
			if err := validatePrimitive(st.Type.Name, el.Text()); err != nil {
				return err
			}
			if b := st.Element.Binding; b != nil && b.Strength == "required" && len(b.Codes) > 0 && !b.HasCode(el.Text()) {
				return fmt.Errorf("code %q is not in the required value set of %s (%s)", el.Text(), st.Label, strings.Join(b.Codes, ", "))
			}
			continue
		}
		if el.Kind() != fhirjson.KindObject {
			return fmt.Errorf("%s is %s, but the value is %s", st.Label, st.Type.Name, el.Kind())
		}
	}
	return nil
}

// validatePrimitive skips the regular expression for string and markdown,
// whose only rule (some non-whitespace content) holds for any value that
// gets here: they are most of the elements, and a regexp per value is the
// largest cost of a conversion.
func validatePrimitive(typ, text string) error {
	switch typ {
	case "string", "markdown":
		if strings.TrimSpace(text) != "" {
			return nil
		}
	case "code":
		// [^\s]+(\s[^\s]+)*: no leading, trailing or double whitespace
		if text != "" && !strings.Contains(text, "  ") && strings.TrimSpace(text) == text && !strings.ContainsAny(text, "\t\r\n") {
			return nil
		}
	case "uri", "url", "canonical":
		if text != "" && !strings.ContainsAny(text, " \t\r\n") {
			return nil
		}
	case "date", "dateTime", "instant":
		// the forms converters write; anything else goes to the regexp,
		// which decides (and says why not)
		if plainDateTime(typ, text) {
			return nil
		}
	}
	return fhir.ValidatePrimitive(typ, text)
}

// plainDateTime reports whether text is certainly a valid FHIR date,
// dateTime or instant (typ) of the forms YYYY, YYYY-MM, YYYY-MM-DD and
// YYYY-MM-DDThh:mm:ss[.f...](Z|+hh:mm|-hh:mm), a day that exists in its
// month included. False means "ask the regexp", not "invalid".
func plainDateTime(typ, s string) bool {
	num := func(i int) int {
		if s[i] < '0' || s[i] > '9' || s[i+1] < '0' || s[i+1] > '9' {
			return -1
		}
		return int(s[i]-'0')*10 + int(s[i+1]-'0')
	}
	if len(s) < 4 || s == "0000" || s[:4] == "0000" {
		return false
	}
	y1, y2 := num(0), num(2)
	if y1 < 0 || y2 < 0 {
		return false
	}
	switch len(s) {
	case 4, 7:
		if typ == "instant" {
			return false
		}
		return len(s) == 4 || s[4] == '-' && num(5) >= 1 && num(5) <= 12
	case 10:
		if typ == "instant" {
			return false
		}
	default:
		if typ == "date" || len(s) < 20 || s[10] != 'T' {
			return false
		}
	}
	month, day := num(5), num(8)
	if s[4] != '-' || s[7] != '-' || month < 1 || month > 12 || day < 1 {
		return false
	}
	days := [...]int{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[month-1]
	if year := y1*100 + y2; month == 2 && year%4 == 0 && (year%100 != 0 || year%400 == 0) {
		days = 29
	}
	if day > days {
		return false
	}
	if len(s) == 10 {
		return true
	}
	hour, minute, second := num(11), num(14), num(17)
	if s[13] != ':' || s[16] != ':' || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 60 {
		return false
	}
	rest := s[19:]
	if rest[0] == '.' {
		n := 1
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		if n == 1 {
			return false
		}
		rest = rest[n:]
	}
	if rest == "Z" {
		return true
	}
	if len(rest) != 6 || rest[0] != '+' && rest[0] != '-' || rest[3] != ':' {
		return false
	}
	oh, om := num(len(s)-5), num(len(s)-2)
	return oh >= 0 && om >= 0 && (oh <= 13 && om <= 59 || oh == 14 && om == 0)
}

// put sets val at the element path of sr, from step i, in obj (an object
// or Null) and returns the new obj; on error, obj unchanged.
func (e *Env) put(obj fhirjson.Value, sr *setRule, i int, val fhirjson.Value) (fhirjson.Value, error) {
	name := sr.steps[i].name
	v, err := e.putElem(obj.Get(name), sr, i, val)
	if err != nil {
		return obj, err
	}
	return e.arena.With(obj, name, v), nil
}

// putElem returns what the element at step i of sr's path becomes when val
// is put at the path below it; existing is what it is now.
func (e *Env) putElem(existing fhirjson.Value, sr *setRule, i int, val fhirjson.Value) (fhirjson.Value, error) {
	st, rs := sr.steps[i], sr.resolved.Steps[sr.offset+i]
	a := &e.arena
	if i == len(sr.steps)-1 {
		if !rs.Repeats() {
			if n := val.Len(); n > 1 {
				// A converter that gives a chain of resources (pl: the bed,
				// then the room and ward it is part of) has placed them all;
				// the element refers to the first, the most specific.
				if rs.Type.Name != "Reference" {
					e.warnf("%s takes one value; %d given, the first kept", rs.Label, n)
				}
				val = val.Elem(0)
			}
			return val, nil
		}
		if st.index >= 0 {
			n := existing.Len()
			switch {
			case st.index < n:
				return e.replaceElem(existing, st.index, val.Elem(0)), nil
			case st.index == n:
				return a.Append(existing, val.Elem(0)), nil
			}
			return existing, fmt.Errorf("%s[%d]: only %d elements so far", rs.Label, st.index, n)
		}
		if val.Kind() == fhirjson.KindArray {
			return a.Append(existing, val.Elems()...), nil
		}
		return a.Append(existing, val), nil
	}
	if !rs.Repeats() {
		return e.put(existing, sr, i+1, val)
	}
	n := existing.Len()
	var cur fhirjson.Value // the element to put into; Null for a new one
	k := 0
	switch {
	case st.url != "":
		k = -1
		for j := range n {
			if existing.Elem(j).Get("url").Text() == st.url {
				k = j
			}
		}
		if k < 0 {
			k = n
			cur = a.Obj(fhirjson.M("url", fhirjson.Str(st.url)))
		}
	case st.index >= 0:
		k = st.index
	}
	if k > n {
		return existing, fmt.Errorf("%s[%d]: only %d elements so far", rs.Label, k, n)
	}
	if k < n {
		cur = existing.Elem(k)
	}
	child, err := e.put(cur, sr, i+1, val)
	if err != nil {
		return existing, err
	}
	if k == n {
		return a.Append(existing, child), nil
	}
	return e.replaceElem(existing, k, child), nil
}

// replaceElem is array v with element k replaced by x.
func (e *Env) replaceElem(v fhirjson.Value, k int, x fhirjson.Value) fhirjson.Value {
	mark := len(e.vals)
	e.vals = appendElems(e.vals, v)
	e.vals[mark+k] = x
	out := e.arena.Arr(e.vals[mark:]...)
	e.vals = e.vals[:mark]
	return out
}

// vm is each Env's own expression machine (a vm.VM is not safe for
// concurrent use, and reusing one saves its stack).
type envVM = vm.VM
