package transforms

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/expr-lang/expr/vm"
	"github.com/google/uuid"

	"github.com/plexus-hl7/plexus/hl7"
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
	e := envPool.Get().(*Env)
	defer func() {
		// keep the buffers and the VM; drop everything that refers to
		// this message
		segPos, slots := e.segPos, e.slots
		*e = Env{segPos: segPos, slots: slots[:0]}
		envPool.Put(e)
	}()
	e.start(r, m)
	res := &Result{}
	for ri, rr := range r.resources {
		e.instances(ri, rr)
	}
	var entries []fhirjson.Value
	for ri, rr := range r.resources {
		for ii := range e.inst[ri] {
			in := &e.inst[ri][ii]
			if in.failed {
				continue
			}
			entries = append(entries, e.build(rr, in))
		}
	}
	entries = append(entries, e.placed...)
	res.Warnings = e.warns
	res.Errors = e.errs
	res.Resources = len(entries)
	e.placed, e.placedIDs = nil, nil
	if len(e.errs) > 0 && !r.partial {
		return res, fmt.Errorf("%w: %w", ErrConversion, e.errs[0])
	}
	bundle := fhirjson.Obj(
		fhirjson.M("resourceType", fhirjson.Str("Bundle")),
		fhirjson.M("id", fhirjson.Str(uuid.NewSHA1(idSpace, []byte("Bundle|"+e.Msg.SendingApplication+"|"+e.Msg.SendingFacility+"|"+e.Msg.ControlID)).String())),
		fhirjson.M("type", fhirjson.Str(r.bundle)),
		fhirjson.M("entry", fhirjson.Arr(entries...)),
	)
	res.Bundle = bundle.AppendJSON(make([]byte, 0, 4096))
	return res, nil
}

func (e *Env) start(r *Rules, m *hl7.Message) {
	h := m.Header()
	e.Msg = Header{Type: h.Type, Event: h.Event, Structure: h.Structure, Version: h.Version, ControlID: h.ControlID,
		ProcessingID: h.ProcessingID, SendingApplication: h.SendingApplication, SendingFacility: h.SendingFacility,
		ReceivingApplication: h.ReceivingApplication, ReceivingFacility: h.ReceivingFacility, Timestamp: h.DateTime}
	e.m, e.rules, e.cur, e.repSID = m, r, -1, -1
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
	if cap(e.slots) < len(r.paths) {
		e.slots = make([]Field, len(r.paths))
	}
	e.slots = e.slots[:len(r.paths)]
	e.inst = make([][]instance, len(r.resources))
}

func (e *Env) convContext() *datatype.Context {
	if e.ctx.Warn == nil {
		e.ctx = datatype.Context{Location: e.rules.loc, Warn: func(msg string) { e.warns = append(e.warns, msg) }}
	}
	return &e.ctx
}

func (e *Env) warnf(format string, args ...any) {
	e.warns = append(e.warns, fmt.Sprintf(format, args...))
}

func (e *Env) run(p *program) (any, error) {
	if p.direct != nil {
		return convertField(p.direct, e.field(p.directPath))
	}
	return e.vm.Run(p.p, e)
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

// instances decides which resources rule rr makes for this message and
// gives each its id.
func (e *Env) instances(ri int, rr *resourceRule) {
	var positions []int
	if rr.foreach >= 0 {
		positions = e.segPos[rr.foreach]
	} else {
		positions = []int{-1}
	}
	for n, pos := range positions {
		e.cur = pos
		if rr.when != nil {
			ok, err := e.run(rr.when)
			if err != nil {
				e.fail(rr.when.pos, rr.typ+" (when)", err)
				continue
			}
			if b, _ := ok.(bool); !b {
				continue
			}
		}
		in := instance{seg: pos}
		if rr.key != nil {
			v, err := e.run(rr.key)
			if err != nil {
				e.fail(rr.key.pos, rr.typ+" (key)", err)
				continue
			}
			in.keySys, in.keyVal = keyOf(v)
			in.keyed = in.keyVal != ""
		}
		if in.keyed {
			in.id = uuid.NewSHA1(idSpace, []byte(rr.typ+"|"+in.keySys+"|"+in.keyVal)).String()
		} else {
			in.id = uuid.NewSHA1(idSpace, []byte(rr.typ+"|"+e.Msg.SendingApplication+"|"+e.Msg.SendingFacility+"|"+
				e.Msg.ControlID+"|"+rr.id+"|"+strconv.Itoa(n))).String()
		}
		e.inst[ri] = append(e.inst[ri], in)
	}
	e.cur = -1
}

// keyOf reads a business identifier from what a key expression gave: an
// Identifier (or a list: the first), a field, or text.
func keyOf(v any) (system, value string) {
	switch x := v.(type) {
	case fhirjson.Value:
		first := x
		if el := x.Elems(); len(el) > 0 {
			first = el[0]
		}
		if first.Kind() == fhirjson.KindObject {
			return first.Get("system").Text(), first.Get("value").Text()
		}
		return "", first.Text()
	case *Field:
		return "", x.String()
	case string:
		return "", x
	case nil:
		return "", ""
	}
	return "", fmt.Sprint(v)
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
	return fhirjson.Obj(fhirjson.M("reference", fhirjson.Str("urn:uuid:"+best.id)))
}

// build computes the elements of one resource and its Bundle entry.
func (e *Env) build(rr *resourceRule, in *instance) fhirjson.Value {
	e.cur = in.seg
	defer func() { e.cur = -1 }()
	var body fhirjson.Builder
	body.Set("resourceType", fhirjson.Str(rr.typ))
	conditional := in.keyed && (e.rules.bundle == "transaction" || e.rules.bundle == "batch")
	if !conditional {
		body.Set("id", fhirjson.Str(in.id))
	}
	for _, sr := range rr.sets {
		e.each(rr, sr, func(val fhirjson.Value) {
			name := sr.steps[0].name
			top, err := e.put(fhirjson.Obj(fhirjson.M(name, body.Get(name))), sr, 0, val)
			if err != nil {
				e.fail(sr.pos, sr.resolved.Last().Label, err)
				return
			}
			body.Set(name, top.Get(name))
		})
	}
	entry := []fhirjson.Member{
		fhirjson.M("fullUrl", fhirjson.Str("urn:uuid:"+in.id)),
		fhirjson.M("resource", body.Value()),
	}
	if r := e.request(rr.typ, in.id, in.keySys, in.keyVal, conditional); !r.IsNull() {
		entry = append(entry, fhirjson.M("request", r))
	}
	return fhirjson.Obj(entry...)
}

// each computes what set rule sr puts at its path and hands each value to
// put: the expression's value; for an element block, one new element per
// occurrence of its foreach segment or field repetition (once without
// one), each built from the block's rules and dropped when it comes out
// empty. (A callback, not a slice: most rules give one value, and this
// runs for every element of every message.)
func (e *Env) each(rr *resourceRule, sr *setRule, put func(fhirjson.Value)) {
	if sr.block == nil {
		e.atPos, e.atElem = sr.pos, rr.typ+"."+sr.label
		out, err := e.run(sr.prog)
		if err != nil {
			e.fail(sr.pos, rr.typ+"."+sr.label, err)
			return
		}
		last := sr.resolved.Last()
		if last.Type.Name == "Reference" {
			out = e.placeResources(out)
		}
		val, err := e.toJSON(out, last)
		if err != nil {
			e.fail(sr.pos, last.Label, err)
			return
		}
		if !val.IsNull() {
			put(val)
		}
		return
	}
	type at struct{ seg, rep int }
	positions := []at{{e.cur, 0}}
	switch {
	case sr.foreach >= 0:
		positions = nil
		for _, p := range e.blockPositions(rr, sr.foreach) {
			positions = append(positions, at{p, 0})
		}
	case sr.foreachField != nil:
		positions = nil
		if seg := e.segment(sr.foreachSID, 0); seg >= 0 {
			reps := e.m.Segment(seg).Field(sr.foreachField.Field).Reps()
			for r := 1; r <= reps; r++ {
				positions = append(positions, at{e.cur, r})
			}
		}
	}
	saved, savedRep := e.cur, [3]int{e.repSID, e.repField, e.repIdx}
	defer func() {
		e.cur = saved
		e.repSID, e.repField, e.repIdx = savedRep[0], savedRep[1], savedRep[2]
	}()
	for _, pos := range positions {
		e.cur = pos.seg
		if pos.rep > 0 {
			e.repSID, e.repField, e.repIdx = sr.foreachSID, sr.foreachField.Field, pos.rep
		}
		if sr.when != nil {
			ok, err := e.run(sr.when)
			if err != nil {
				e.fail(sr.when.pos, rr.typ+"."+sr.label+" (when)", err)
				continue
			}
			if b, _ := ok.(bool); !b {
				continue
			}
		}
		var elem fhirjson.Value
		for _, sub := range sr.block {
			e.each(rr, sub, func(val fhirjson.Value) {
				var err error
				if elem, err = e.put(elem, sub, 0, val); err != nil {
					e.fail(sub.pos, sub.resolved.Last().Label, err)
				}
			})
		}
		if !elem.IsNull() {
			put(elem)
		}
	}
}

// blockPositions are the occurrences of segment sid that belong to the
// resource being built: all of them, or, in a foreach resource, those after
// its segment and before the next occurrence of it (an OBX's NTEs).
func (e *Env) blockPositions(rr *resourceRule, sid int) []int {
	all := e.segPos[sid]
	if rr.foreach < 0 || e.cur < 0 {
		return all
	}
	next := int(^uint(0) >> 1)
	for _, p := range e.segPos[rr.foreach] {
		if p > e.cur {
			next = p
			break
		}
	}
	var out []int
	for _, p := range all {
		if p > e.cur && p < next {
			out = append(out, p)
		}
	}
	return out
}

// placeResources gives every resource that a converter returned for a
// Reference element (xcn: a Practitioner, pl: a Location) an entry of its
// own in the Bundle and returns references to them instead. The entry's id
// comes from the resource's first identifier, or else from its content, so
// the same practitioner named twice in a message, or in two messages, is
// one resource.
func (e *Env) placeResources(out any) any {
	v, ok := out.(fhirjson.Value)
	if !ok {
		return out
	}
	elems := v.Elems()
	changed := false
	refs := make([]fhirjson.Value, len(elems))
	for i, el := range elems {
		refs[i] = el
		if typ := el.Get("resourceType").Text(); typ != "" && el.Kind() == fhirjson.KindObject {
			refs[i] = e.place(typ, el)
			changed = true
		}
	}
	if !changed {
		return out
	}
	if v.Kind() == fhirjson.KindArray {
		return fhirjson.Arr(refs...)
	}
	return refs[0]
}

func (e *Env) place(typ string, res fhirjson.Value) fhirjson.Value {
	sys, val := keyOf(res.Get("identifier"))
	if sys == "" {
		// An identifier without a system (a bed "01", a doctor number
		// without its authority) is not unique: identify by content.
		val = ""
	}
	var id string
	if val != "" {
		id = uuid.NewSHA1(idSpace, []byte(typ+"|"+sys+"|"+val)).String()
	} else {
		id = uuid.NewSHA1(idSpace, res.With("id", fhirjson.Value{}).AppendJSON([]byte(typ+"|"))).String()
	}
	ref := fhirjson.Obj(fhirjson.M("reference", fhirjson.Str("urn:uuid:"+id)))
	if e.placedIDs == nil {
		e.placedIDs = map[string]bool{}
	}
	if e.placedIDs[id] {
		return ref
	}
	e.placedIDs[id] = true
	conditional := val != "" && (e.rules.bundle == "transaction" || e.rules.bundle == "batch")
	body := fhirjson.Obj(fhirjson.M("resourceType", fhirjson.Str(typ)))
	if !conditional {
		body = body.With("id", fhirjson.Str(id))
	}
	for _, m := range res.Members() {
		if m.Key != "resourceType" && m.Key != "id" {
			body = body.With(m.Key, m.Value)
		}
	}
	entry := []fhirjson.Member{
		fhirjson.M("fullUrl", fhirjson.Str("urn:uuid:"+id)),
		fhirjson.M("resource", body),
	}
	if r := e.request(typ, id, sys, val, conditional); !r.IsNull() {
		entry = append(entry, fhirjson.M("request", r))
	}
	e.placed = append(e.placed, fhirjson.Obj(entry...))
	return ref
}

// request is an entry's request in a transaction or batch Bundle: a
// conditional update by identifier when the resource has one, else an
// update of its deterministic id (so that replaying a message is harmless).
func (e *Env) request(typ, id, sys, val string, conditional bool) fhirjson.Value {
	switch e.rules.bundle {
	case "transaction", "batch":
	default:
		return fhirjson.Value{}
	}
	u := typ + "/" + id
	if conditional {
		tok := url.QueryEscape(val)
		if sys != "" {
			tok = url.QueryEscape(sys) + "|" + tok
		}
		u = typ + "?identifier=" + tok
	}
	return fhirjson.Obj(fhirjson.M("method", fhirjson.Str("PUT")), fhirjson.M("url", fhirjson.Str(u)))
}

// toJSON turns what an expression gave into the JSON of the element step,
// checking primitives against their FHIR format and required bindings.
func (e *Env) toJSON(out any, st fhir.Step) (fhirjson.Value, error) {
	var v fhirjson.Value
	switch x := out.(type) {
	case nil:
		return v, nil
	case fhirjson.Value:
		v = x
	case *Field:
		return e.toJSON(x.String(), st)
	case string:
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
		var arr []fhirjson.Value
		for _, el := range x {
			ev, err := e.toJSON(el, st)
			if err != nil {
				return v, err
			}
			arr = append(arr, ev.Elems()...)
		}
		return fhirjson.Arr(arr...), nil
	default:
		return v, fmt.Errorf("the expression gives %T, which is not a FHIR value", out)
	}
	return v, checkValue(v, st)
}

// checkValue validates primitives and required codes.
func checkValue(v fhirjson.Value, st fhir.Step) error {
	for _, el := range v.Elems() {
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
	}
	return fhir.ValidatePrimitive(typ, text)
}

// put sets val at the element path of sr, from step i, in obj.
func (e *Env) put(obj fhirjson.Value, sr *setRule, i int, val fhirjson.Value) (fhirjson.Value, error) {
	st, rs := sr.steps[i], sr.resolved.Steps[sr.offset+i]
	existing := obj.Get(st.name)
	if i == len(sr.steps)-1 {
		if !rs.Repeats() {
			if el := val.Elems(); len(el) > 1 {
				// A converter that gives a chain of resources (pl: the bed,
				// then the room and ward it is part of) has placed them all;
				// the element refers to the first, the most specific.
				if rs.Type.Name != "Reference" {
					e.warnf("%s takes one value; %d given, the first kept", rs.Label, len(el))
				}
				val = el[0]
			}
			return obj.With(st.name, val), nil
		}
		if st.index >= 0 {
			elems := append([]fhirjson.Value(nil), existing.Elems()...)
			first := val.Elems()[0]
			switch {
			case st.index < len(elems):
				elems[st.index] = first
			case st.index == len(elems):
				elems = append(elems, first)
			default:
				return obj, fmt.Errorf("%s[%d]: only %d elements so far", rs.Label, st.index, len(elems))
			}
			return obj.With(st.name, fhirjson.Arr(elems...)), nil
		}
		return obj.With(st.name, existing.Append(val.Elems()...)), nil
	}
	if !rs.Repeats() {
		child, err := e.put(existing, sr, i+1, val)
		if err != nil {
			return obj, err
		}
		return obj.With(st.name, child), nil
	}
	elems := append([]fhirjson.Value(nil), existing.Elems()...)
	k := 0
	switch {
	case st.url != "":
		k = -1
		for j, el := range elems {
			if el.Get("url").Text() == st.url {
				k = j
			}
		}
		if k < 0 {
			elems = append(elems, fhirjson.Obj(fhirjson.M("url", fhirjson.Str(st.url))))
			k = len(elems) - 1
		}
	case st.index >= 0:
		k = st.index
	}
	if k > len(elems) {
		return obj, fmt.Errorf("%s[%d]: only %d elements so far", rs.Label, k, len(elems))
	}
	if k == len(elems) {
		elems = append(elems, fhirjson.Value{})
	}
	child, err := e.put(elems[k], sr, i+1, val)
	if err != nil {
		return obj, err
	}
	elems[k] = child
	return obj.With(st.name, fhirjson.Arr(elems...)), nil
}

// vm is each Env's own expression machine (a vm.VM is not safe for
// concurrent use, and reusing one saves its stack).
type envVM = vm.VM
