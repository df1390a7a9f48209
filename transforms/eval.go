package transforms

import (
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/expr-lang/expr/ast"

	"github.com/plexus-hl7/plexus/hl7"
	"github.com/plexus-hl7/plexus/transforms/datatype"
	"github.com/plexus-hl7/plexus/transforms/fhirjson"
	"github.com/plexus-hl7/plexus/transforms/vocab"
)

// The expressions of a rule file are nearly all of a few shapes: a
// converter applied to a field, a constant, `present(X) ? "code" : nil`, a
// list of converter calls, a vocabulary lookup. Running those through the
// expr VM costs more than the conversion they ask for: every call boxes its
// arguments and result into interfaces, and every fhirjson.Value returned
// escapes to the heap. So after expr has compiled and checked an expression,
// fastCompile translates its tree into a small tree of typed nodes that
// evalNode walks directly, without boxing. It accepts only nodes whose
// result kind it can know at load time and whose meaning it reproduces
// exactly (the same functions, the same order of evaluation, the same
// errors); anything else (maps, floats, builtins other than len and trim,
// operators on mixed kinds) leaves the expression to the VM.

// xkind is the kind of an expression's value.
type xkind uint8

const (
	xNil xkind = iota
	xBool
	xInt
	xStr
	xField
	xJSON
	xList
	xAny // mixed (a conditional whose branches differ): known only when run
)

// xval is an expression's value: what the VM would have boxed in an any.
type xval struct {
	kind xkind
	b    bool
	n    int
	s    string
	f    *Field
	j    fhirjson.Value
	l    []xval
}

type fop uint8

const (
	opConst   fop = iota // the constant val
	opField              // __f: compiled path n
	opRef                // __ref: resource rule n
	opHeader             // msg.<s>
	opConv               // conv(a)
	opBefore             // __before: segment id number n
	opWithin             // __within: group set n
	opRefs               // __refs: resource rule n
	opText               // text(a)
	opPresent            // present(a)
	opTable              // table(s, a)
	opEqFS               // a == b of a field and text, in either order (n: 1 when b is the field)
	opNeFS               // a != b, likewise
	opEq                 // a == b of two strings, ints or booleans
	opNe                 // a != b, likewise
	opNot
	opAnd
	opOr
	opCond // a ? b : c
	opList
	opConcat // list[0] + list[1] + ..., strings (a chain of + made one: one string, not one per +)
	opAdd    // a + b, ints
	opIn     // a in set
	opLen    // len(a), a string: its runes
	opTrim   // trim(a)
	opLess
	opMore
	opLessEq
	opMoreEq
)

// fnode is one node of a compiled expression.
type fnode struct {
	op      fop
	kind    xkind // what it gives
	a, b, c *fnode
	list    []*fnode
	val     xval // opConst
	n       int
	s       string
	conv    *datatype.Converter
	vmap    *vocab.Map
	set     map[string]struct{}
	hdr     func(*Header) string
}

// headerFields are the members of msg, by their expr names (the tags of
// Header; TestHeaderFields checks that none is missing).
var headerFields = map[string]func(*Header) string{
	"type":              func(h *Header) string { return h.Type },
	"event":             func(h *Header) string { return h.Event },
	"structure":         func(h *Header) string { return h.Structure },
	"version":           func(h *Header) string { return h.Version },
	"controlId":         func(h *Header) string { return h.ControlID },
	"processingId":      func(h *Header) string { return h.ProcessingID },
	"sendingApp":        func(h *Header) string { return h.SendingApplication },
	"sendingFacility":   func(h *Header) string { return h.SendingFacility },
	"receivingApp":      func(h *Header) string { return h.ReceivingApplication },
	"receivingFacility": func(h *Header) string { return h.ReceivingFacility },
	"timestamp":         func(h *Header) string { return h.Timestamp },
}

// fastCompile translates n, or returns nil when any part of it is beyond
// what evalNode does exactly as the VM would.
func fastCompile(n ast.Node) *fnode {
	switch x := n.(type) {
	case *ast.NilNode:
		return &fnode{op: opConst, kind: xNil}
	case *ast.StringNode:
		return &fnode{op: opConst, kind: xStr, val: xval{kind: xStr, s: x.Value}}
	case *ast.BoolNode:
		return &fnode{op: opConst, kind: xBool, val: xval{kind: xBool, b: x.Value}}
	case *ast.IntegerNode:
		// the VM turns an integer literal into the type the checker gave
		// it (a float in 1 + 2.5)
		if x.Type().Kind() != reflect.Int {
			return nil
		}
		return &fnode{op: opConst, kind: xInt, val: xval{kind: xInt, n: x.Value}}
	case *ast.ConstantNode:
		switch v := x.Value.(type) {
		case string:
			return &fnode{op: opConst, kind: xStr, val: xval{kind: xStr, s: v}}
		case bool:
			return &fnode{op: opConst, kind: xBool, val: xval{kind: xBool, b: v}}
		case int:
			return &fnode{op: opConst, kind: xInt, val: xval{kind: xInt, n: v}}
		}
		return nil
	case *ast.MemberNode:
		id, ok := x.Node.(*ast.IdentifierNode)
		prop, ok2 := x.Property.(*ast.StringNode)
		if !ok || !ok2 || id.Value != "msg" || x.Optional || x.Method {
			return nil
		}
		get, ok := headerFields[prop.Value]
		if !ok {
			return nil
		}
		return &fnode{op: opHeader, kind: xStr, hdr: get}
	case *ast.UnaryNode:
		a := fastCompile(x.Node)
		if a == nil || a.kind != xBool || (x.Operator != "!" && x.Operator != "not") {
			return nil
		}
		return &fnode{op: opNot, kind: xBool, a: a}
	case *ast.ConditionalNode:
		c, a, b := fastCompile(x.Cond), fastCompile(x.Exp1), fastCompile(x.Exp2)
		if c == nil || a == nil || b == nil || c.kind != xBool {
			return nil
		}
		kind := a.kind
		if b.kind != kind {
			kind = xAny
		}
		return &fnode{op: opCond, kind: kind, c: c, a: a, b: b}
	case *ast.ArrayNode:
		f := &fnode{op: opList, kind: xList}
		for _, el := range x.Nodes {
			c := fastCompile(el)
			if c == nil {
				return nil
			}
			f.list = append(f.list, c)
		}
		return f
	case *ast.BinaryNode:
		return fastBinary(x)
	case *ast.BuiltinNode:
		if len(x.Arguments) != 1 {
			return nil
		}
		a := fastCompile(x.Arguments[0])
		if a == nil || a.kind != xStr {
			return nil
		}
		switch x.Name {
		case "len":
			return &fnode{op: opLen, kind: xInt, a: a}
		case "trim":
			return &fnode{op: opTrim, kind: xStr, a: a}
		}
		return nil
	case *ast.CallNode:
		return fastCall(x)
	}
	return nil
}

func fastBinary(x *ast.BinaryNode) *fnode {
	a := fastCompile(x.Left)
	if a == nil {
		return nil
	}
	if x.Operator == "in" {
		set, ok := x.Right.(*ast.ConstantNode)
		if !ok || a.kind != xStr {
			return nil
		}
		m, ok := set.Value.(map[string]struct{})
		if !ok {
			return nil
		}
		return &fnode{op: opIn, kind: xBool, a: a, set: m}
	}
	b := fastCompile(x.Right)
	if b == nil || a.kind != b.kind {
		return nil
	}
	both := a.kind
	switch x.Operator {
	case "&&", "and", "||", "or":
		if both != xBool {
			return nil
		}
		op := opAnd
		if x.Operator == "||" || x.Operator == "or" {
			op = opOr
		}
		return &fnode{op: op, kind: xBool, a: a, b: b}
	case "==", "!=":
		if both != xStr && both != xInt && both != xBool {
			return nil
		}
		op := opEq
		if x.Operator == "!=" {
			op = opNe
		}
		return &fnode{op: op, kind: xBool, a: a, b: b}
	case "+":
		switch both {
		case xStr:
			f := &fnode{op: opConcat, kind: xStr}
			for _, x := range []*fnode{a, b} {
				if x.op == opConcat {
					f.list = append(f.list, x.list...)
				} else {
					f.list = append(f.list, x)
				}
			}
			return f
		case xInt:
			return &fnode{op: opAdd, kind: xInt, a: a, b: b}
		}
	case "<", ">", "<=", ">=":
		if both != xInt {
			return nil
		}
		op := map[string]fop{"<": opLess, ">": opMore, "<=": opLessEq, ">=": opMoreEq}[x.Operator]
		return &fnode{op: op, kind: xBool, a: a, b: b}
	}
	return nil
}

func fastCall(x *ast.CallNode) *fnode {
	id, ok := x.Callee.(*ast.IdentifierNode)
	if !ok {
		return nil
	}
	args := x.Arguments
	switch id.Value {
	case "__f", "__ref", "__refs", "__before", "__within":
		if len(args) != 2 {
			return nil
		}
		i, ok := args[1].(*ast.IntegerNode)
		if !ok {
			return nil
		}
		switch id.Value {
		case "__f":
			return &fnode{op: opField, kind: xField, n: i.Value}
		case "__refs":
			return &fnode{op: opRefs, kind: xJSON, n: i.Value}
		case "__before":
			return &fnode{op: opBefore, kind: xBool, n: i.Value}
		case "__within":
			return &fnode{op: opWithin, kind: xBool, n: i.Value}
		}
		return &fnode{op: opRef, kind: xJSON, n: i.Value}
	case "text", "present":
		if len(args) != 1 {
			return nil
		}
		a := fastCompile(args[0])
		if a == nil {
			return nil
		}
		if id.Value == "present" {
			return &fnode{op: opPresent, kind: xBool, a: a}
		}
		if a.kind != xField {
			return nil
		}
		return &fnode{op: opText, kind: xStr, a: a}
	case "eqFieldString", "neFieldString", "eqStringField", "neStringField":
		if len(args) != 2 {
			return nil
		}
		a, b := fastCompile(args[0]), fastCompile(args[1])
		if a == nil || b == nil {
			return nil
		}
		fieldRight := 0
		if strings.HasSuffix(id.Value, "StringField") {
			fieldRight = 1
			a, b = b, a
		}
		if a.kind != xField || b.kind != xStr {
			return nil
		}
		op := opEqFS
		if strings.HasPrefix(id.Value, "ne") {
			op = opNeFS
		}
		if fieldRight == 1 {
			a, b = b, a // evaluated in the order written
		}
		return &fnode{op: op, kind: xBool, a: a, b: b, n: fieldRight}
	case "table", "code", "coding", "concept":
		if len(args) != 2 {
			return nil
		}
		name, ok := args[0].(*ast.StringNode)
		a := fastCompile(args[1])
		if !ok || a == nil {
			return nil
		}
		if id.Value == "table" {
			m, err := datatype.VocabMap(name.Value)
			if err != nil || m == nil || (a.kind != xField && a.kind != xStr) {
				return nil
			}
			return &fnode{op: opTable, kind: xStr, a: a, vmap: m, s: name.Value}
		}
		if a.kind != xField {
			return nil
		}
		return &fnode{op: opConv, kind: xJSON, a: a, conv: vocabConverter(id.Value, name.Value)}
	}
	conv, ok := datatype.Registry[id.Value]
	if !ok || len(args) != 1 {
		return nil
	}
	a := fastCompile(args[0])
	if a == nil || a.kind != xField {
		return nil
	}
	return &fnode{op: opConv, kind: xJSON, a: a, conv: conv}
}

// evalNode computes n for the message of e.
func (e *Env) evalNode(n *fnode) (xval, error) {
	switch n.op {
	case opConst:
		return n.val, nil
	case opField:
		return xval{kind: xField, f: e.field(n.n)}, nil
	case opRef:
		return xval{kind: xJSON, j: e.ref(n.n)}, nil
	case opRefs:
		return xval{kind: xJSON, j: e.refs(n.n)}, nil
	case opBefore:
		return xval{kind: xBool, b: e.before(n.n)}, nil
	case opWithin:
		return xval{kind: xBool, b: e.within(n.n)}, nil
	case opHeader:
		return xval{kind: xStr, s: n.hdr(&e.Msg)}, nil
	case opConv:
		a, err := e.evalNode(n.a)
		if err != nil {
			return xval{}, err
		}
		v, err := convertField(n.conv, a.f)
		if err != nil {
			return xval{}, err
		}
		return xval{kind: xJSON, j: v}, nil
	case opText:
		a, err := e.evalNode(n.a)
		if err != nil {
			return xval{}, err
		}
		return xval{kind: xStr, s: a.f.String()}, nil
	case opPresent:
		a, err := e.evalNode(n.a)
		if err != nil {
			return xval{}, err
		}
		return xval{kind: xBool, b: a.present()}, nil
	case opTable:
		a, err := e.evalNode(n.a)
		if err != nil {
			return xval{}, err
		}
		var f *Field
		code := a.s
		if a.kind == xField {
			f, code = a.f, datatype.TextOf(a.f.v.Component(1))
		}
		return xval{kind: xStr, s: translateTable(n.vmap, code, f)}, nil
	case opEqFS, opNeFS:
		a, err := e.evalNode(n.a)
		if err != nil {
			return xval{}, err
		}
		b, err := e.evalNode(n.b)
		if err != nil {
			return xval{}, err
		}
		if n.n == 1 {
			a, b = b, a
		}
		return xval{kind: xBool, b: a.f.is(b.s) == (n.op == opEqFS)}, nil
	case opEq, opNe:
		a, err := e.evalNode(n.a)
		if err != nil {
			return xval{}, err
		}
		b, err := e.evalNode(n.b)
		if err != nil {
			return xval{}, err
		}
		eq := a.s == b.s && a.n == b.n && a.b == b.b
		return xval{kind: xBool, b: eq == (n.op == opEq)}, nil
	case opNot:
		a, err := e.evalNode(n.a)
		return xval{kind: xBool, b: !a.b}, err
	case opAnd, opOr:
		a, err := e.evalNode(n.a)
		if err != nil || a.b == (n.op == opOr) {
			return a, err
		}
		return e.evalNode(n.b)
	case opCond:
		c, err := e.evalNode(n.c)
		if err != nil {
			return xval{}, err
		}
		if c.b {
			return e.evalNode(n.a)
		}
		return e.evalNode(n.b)
	case opList:
		l := make([]xval, len(n.list))
		for i, el := range n.list {
			v, err := e.evalNode(el)
			if err != nil {
				return xval{}, err
			}
			l[i] = v
		}
		return xval{kind: xList, l: l}, nil
	case opConcat:
		// the operands are evaluated in order, as the VM does for
		// ((a + b) + c), and joined once
		mark := len(e.xs)
		for _, el := range n.list {
			v, err := e.evalNode(el)
			if err != nil {
				e.xs = e.xs[:mark]
				return xval{}, err
			}
			e.xs = append(e.xs, v)
		}
		b := e.textBuf[:0]
		for _, v := range e.xs[mark:] {
			b = append(b, v.s...)
		}
		e.textBuf = b
		e.xs = e.xs[:mark]
		return xval{kind: xStr, s: datatype.TextFrom(b)}, nil
	case opAdd, opLess, opMore, opLessEq, opMoreEq:
		a, err := e.evalNode(n.a)
		if err != nil {
			return xval{}, err
		}
		b, err := e.evalNode(n.b)
		if err != nil {
			return xval{}, err
		}
		switch n.op {
		case opAdd:
			return xval{kind: xInt, n: a.n + b.n}, nil
		case opLess:
			return xval{kind: xBool, b: a.n < b.n}, nil
		case opMore:
			return xval{kind: xBool, b: a.n > b.n}, nil
		case opLessEq:
			return xval{kind: xBool, b: a.n <= b.n}, nil
		}
		return xval{kind: xBool, b: a.n >= b.n}, nil
	case opIn:
		a, err := e.evalNode(n.a)
		if err != nil {
			return xval{}, err
		}
		_, ok := n.set[a.s]
		return xval{kind: xBool, b: ok}, nil
	case opLen:
		a, err := e.evalNode(n.a)
		return xval{kind: xInt, n: utf8.RuneCountInString(a.s)}, err
	case opTrim:
		a, err := e.evalNode(n.a)
		return xval{kind: xStr, s: strings.TrimSpace(a.s)}, err
	}
	panic("transforms: unknown fast op")
}

// present is the rule function present() of a value.
func (x *xval) present() bool {
	switch x.kind {
	case xField:
		return x.f.v.HasValue()
	case xJSON:
		return !x.j.IsNull()
	case xStr:
		return x.s != ""
	}
	return x.kind != xNil
}

// any is the value as the VM gives it.
func (x *xval) any() any {
	switch x.kind {
	case xBool:
		return x.b
	case xInt:
		return x.n
	case xStr:
		return x.s
	case xField:
		return x.f
	case xJSON:
		return x.j
	case xList:
		out := make([]any, len(x.l))
		for i := range x.l {
			out[i] = x.l[i].any()
		}
		return out
	}
	return nil
}

// vocabConverter is the converter of code, coding or concept with one
// vocabulary map: what vocabFunc makes on each call, made once.
func vocabConverter(name, mapName string) *datatype.Converter {
	fn := map[string]func(*datatype.Context, hl7.Value, string) (fhirjson.Value, error){
		"code": datatype.Code, "coding": datatype.CodingFrom, "concept": datatype.CodeableConceptFrom,
	}[name]
	return &datatype.Converter{Name: name, Fn: func(c *datatype.Context, v hl7.Value) (fhirjson.Value, error) {
		return fn(c, v, mapName)
	}}
}
