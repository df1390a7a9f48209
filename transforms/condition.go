package transforms

import (
	"errors"
	"fmt"
	"reflect"

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
	d := &decoder{file: file}
	s := d.scalar(node, "when")
	if len(d.errs) > 0 {
		return nil, d.errs
	}
	if s == nil {
		return nil, LoadErrors{{Pos: d.pos(node.GetToken()), Msg: "when is empty"}}
	}
	c := &compiler{r: &Rules{Name: "when", File: file}, sids: map[string]int{}}
	p := c.expr(s, reflect.TypeOf(true), nil)
	if len(c.errs) > 0 {
		return nil, c.errs
	}
	if p == nil {
		return nil, LoadErrors{{Pos: s.pos, Msg: "when does not compile", Expr: s.text}}
	}
	c.r.segIDs = make([]string, len(c.sids))
	for id, n := range c.sids {
		c.r.segIDs[n] = id
	}
	c.r.assignSlots()
	return &Condition{r: c.r, p: p}, nil
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
