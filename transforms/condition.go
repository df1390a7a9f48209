package transforms

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/goccy/go-yaml/ast"

	"github.com/plexus-hl7/plexus/hl7"
)

// Condition is a boolean expression over one message in the rule language
// (`msg.type == "ADT" && PV1[2] == "I"`), compiled once: a route's `when:`.
// It is safe for concurrent use.
type Condition struct {
	r *Rules
	p *program
}

// CompileCondition compiles the expression held by a YAML node of file (a
// routes.yaml `when:`); errors are LoadErrors placed in that file.
func CompileCondition(file string, node ast.Node) (*Condition, error) {
	r, p, err := compileNode(file, node, "when", reflect.TypeOf(true))
	if err != nil {
		return nil, err
	}
	return &Condition{r: r, p: p}, nil
}

// compileNode compiles the expression of a YAML node of file on its own,
// as what (the key, for messages); want is the result type, nil for any.
func compileNode(file string, node ast.Node, what string, want reflect.Type) (*Rules, *program, error) {
	d := &decoder{file: file}
	s := d.scalar(node, what)
	if len(d.errs) > 0 {
		return nil, nil, d.errs
	}
	if s == nil {
		return nil, nil, LoadErrors{{Pos: d.pos(node.GetToken()), Msg: what + " is empty"}}
	}
	c := &compiler{r: &Rules{Name: what, File: file}, sids: map[string]int{}}
	p := c.expr(s, want, nil)
	if len(c.errs) > 0 {
		return nil, nil, c.errs
	}
	if p == nil {
		return nil, nil, LoadErrors{{Pos: s.pos, Msg: what + " does not compile", Expr: s.text}}
	}
	c.r.segIDs = make([]string, len(c.sids))
	for id, n := range c.sids {
		c.r.segIDs[n] = id
	}
	c.r.assignSlots()
	return c.r, p, nil
}

// Text is an expression whose value is taken as text: a destination's
// partition key (`key: PID[18]`, `key: msg.sendingFacility + "/" +
// v("PV1-19")`). It is safe for concurrent use.
type Text struct {
	r *Rules
	p *program
}

// CompileText compiles the expression held by a YAML node of file.
func CompileText(file string, node ast.Node, what string) (*Text, error) {
	r, p, err := compileNode(file, node, what, nil)
	if err != nil {
		return nil, err
	}
	return &Text{r: r, p: p}, nil
}

// String returns the expression's source.
func (t *Text) String() string { return t.p.src }

// Eval returns the expression's value for m as text: an HL7 value's text,
// a string, or a number or boolean formatted; nil is "".
func (t *Text) Eval(m *hl7.Message) (string, error) {
	e := envPool.Get().(*Env)
	defer e.release()
	e.start(t.r, m)
	v, err := e.run(t.p)
	if err != nil && t.p.fast != nil {
		v, err = e.vm.Run(t.p.p, e)
	}
	if err != nil {
		return "", fmt.Errorf("%s: %w", t.p.src, err)
	}
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case fmt.Stringer:
		return strings.Clone(x.String()), nil
	}
	return fmt.Sprint(v), nil
}

// String returns the expression's source.
func (c *Condition) String() string { return c.p.src }

// Eval reports whether m satisfies the condition. An expression that fails
// on this message (a converter refusing a value) is an error, not false.
func (c *Condition) Eval(m *hl7.Message) (bool, error) {
	e := envPool.Get().(*Env)
	defer e.release()
	e.start(c.r, m)
	v, err := e.run(c.p)
	if err != nil && c.p.fast != nil {
		// the error the VM gives names the place in the expression: the
		// one a condition has always returned
		v, err = e.vm.Run(c.p.p, e)
	}
	if err != nil {
		return false, fmt.Errorf("when %s: %w", c.p.src, err)
	}
	b, ok := v.(bool)
	if !ok {
		return false, errors.New("when " + c.p.src + ": not a boolean")
	}
	return b, nil
}
