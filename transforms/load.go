package transforms

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"

	"github.com/plexus-hl7/plexus/internal/yamlnode"
)

// Pos is a place in a rule file.
type Pos struct {
	File   string
	Line   int
	Column int
}

func (p Pos) String() string {
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Column)
}

// LoadError is one mistake in a rule file, with where it is and, when it
// is about an expression, the expression.
type LoadError struct {
	Pos  Pos
	Msg  string
	Expr string // the offending text, if any
}

func (e *LoadError) Error() string {
	if e.Expr != "" {
		return fmt.Sprintf("%s: %s\n\t%s", e.Pos, e.Msg, e.Expr)
	}
	return fmt.Sprintf("%s: %s", e.Pos, e.Msg)
}

// LoadErrors is every mistake found in a rule file: loading goes on after
// the first so that `plexus validate` can list them all.
type LoadErrors []*LoadError

func (l LoadErrors) Error() string {
	var b strings.Builder
	for i, e := range l {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap lets errors.As find each *LoadError.
func (l LoadErrors) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

// ruleFile is a rule file as written, before compilation.
type ruleFile struct {
	pos         Pos
	Name        string
	Description string
	Bundle      string
	Extends     *scalar
	Structure   *scalar
	Timezone    *scalar
	OnError     string
	Resources   []*ruleResource
}

type ruleResource struct {
	pos      Pos
	ID       string
	Resource *scalar
	When     *scalar
	Foreach  *scalar
	Key      *scalar
	Set      []setEntry
	Remove   bool // in a file that extends another: drop the base's resource
	// Include (`- include: NAME`) stands for the resources of a part: a
	// file of resources shared by several maps (see Loader).
	Include *scalar
}

type setEntry struct {
	path  *scalar
	value *scalar
	// An element block (`participant[+]:` with a mapping) has sub-entries
	// relative to the new element instead of a value, and may repeat per
	// occurrence of a segment.
	block   []setEntry
	foreach *scalar
	when    *scalar
	isBlock bool
}

// scalar is a YAML scalar with where it starts.
type scalar struct {
	text string
	pos  Pos
	// col0 is the column of the first character of text, which differs
	// from pos.Column for quoted strings; line0 likewise for block scalars.
	line0, col0 int
}

type decoder struct {
	file string
	errs LoadErrors
}

func (d *decoder) errorf(pos Pos, format string, args ...any) {
	d.errs = append(d.errs, &LoadError{Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

func (d *decoder) pos(tk *token.Token) Pos {
	if tk == nil || tk.Position == nil {
		return Pos{File: d.file}
	}
	return Pos{File: d.file, Line: tk.Position.Line, Column: tk.Position.Column}
}

// parseRules reads the YAML of a rule file into its structure, reporting
// unknown keys and wrong shapes with their line and column.
func parseRules(file string, src []byte) (*ruleFile, LoadErrors) {
	d := &decoder{file: file}
	f, err := parser.ParseBytes(src, 0)
	if err != nil {
		return nil, LoadErrors{yamlError(file, err)}
	}
	if len(f.Docs) != 1 || f.Docs[0].Body == nil {
		return nil, LoadErrors{{Pos: Pos{File: file, Line: 1, Column: 1}, Msg: "a rule file holds one YAML document: a mapping with name, bundle and resources"}}
	}
	rf := &ruleFile{pos: d.pos(f.Docs[0].Body.GetToken())}
	d.mapping(f.Docs[0].Body, "rule file", map[string]func(ast.Node){
		"name":        func(n ast.Node) { rf.Name = d.str(n, "name") },
		"description": func(n ast.Node) { rf.Description = d.str(n, "description") },
		"bundle":      func(n ast.Node) { rf.Bundle = d.str(n, "bundle") },
		"extends":     func(n ast.Node) { rf.Extends = d.scalar(n, "extends") },
		"structure":   func(n ast.Node) { rf.Structure = d.scalar(n, "structure") },
		"timezone":    func(n ast.Node) { rf.Timezone = d.scalar(n, "timezone") },
		"on_error":    func(n ast.Node) { rf.OnError = d.str(n, "on_error") },
		"resources": func(n ast.Node) {
			seq, ok := unwrap(n).(*ast.SequenceNode)
			if !ok {
				d.errorf(d.pos(n.GetToken()), "resources must be a list of resources (- id: …)")
				return
			}
			for _, item := range seq.Values {
				if inc := d.include(item); inc != nil {
					rf.Resources = append(rf.Resources, inc)
					continue
				}
				rf.Resources = append(rf.Resources, d.resource(item))
			}
		},
	})
	return rf, d.errs
}

// include reads a `- include: NAME` item of resources; nil if the item is
// not one.
func (d *decoder) include(n ast.Node) *ruleResource {
	m, ok := unwrap(n).(*ast.MappingNode)
	if !ok || len(m.Values) == 0 {
		return nil
	}
	k := m.Values[0].Key
	if k == nil || k.GetToken() == nil || k.GetToken().Value != "include" {
		return nil
	}
	r := &ruleResource{pos: d.pos(n.GetToken())}
	if len(m.Values) > 1 {
		d.errorf(d.pos(m.Values[1].Key.GetToken()), "an include item holds only include: NAME; refine an included resource in an item of its own with the same id")
	}
	r.Include = d.scalar(m.Values[0].Value, "include")
	if r.Include == nil {
		return nil
	}
	return r
}

func (d *decoder) resource(n ast.Node) *ruleResource {
	r := &ruleResource{pos: d.pos(n.GetToken())}
	d.mapping(n, "resource", map[string]func(ast.Node){
		"id":       func(n ast.Node) { r.ID = d.str(n, "id") },
		"resource": func(n ast.Node) { r.Resource = d.scalar(n, "resource") },
		"when":     func(n ast.Node) { r.When = d.scalar(n, "when") },
		"foreach":  func(n ast.Node) { r.Foreach = d.scalar(n, "foreach") },
		"key":      func(n ast.Node) { r.Key = d.scalar(n, "key") },
		"remove": func(n ast.Node) {
			s := d.scalar(n, "remove")
			if s != nil {
				b, err := strconv.ParseBool(s.text)
				if err != nil {
					d.errorf(s.pos, "remove must be true or false")
				}
				r.Remove = b
			}
		},
		"set": func(n ast.Node) {
			m, ok := unwrap(n).(*ast.MappingNode)
			if !ok {
				if _, null := unwrap(n).(*ast.NullNode); null {
					return
				}
				d.errorf(d.pos(n.GetToken()), "set must be a mapping from FHIR element paths to expressions")
				return
			}
			r.Set = d.setEntries(m)
		},
	})
	return r
}

// setEntries reads a set: mapping; a value that is itself a mapping is an
// element block.
func (d *decoder) setEntries(m *ast.MappingNode) []setEntry {
	var out []setEntry
	for _, mv := range m.Values {
		k := d.scalar(mv.Key, "element path")
		if k == nil {
			continue
		}
		if sub, ok := unwrap(mv.Value).(*ast.MappingNode); ok {
			se := setEntry{path: k, isBlock: true}
			var rest []*ast.MappingValueNode
			for _, smv := range sub.Values {
				if sk := d.scalar(smv.Key, "element path"); sk != nil {
					switch sk.text {
					case "foreach":
						se.foreach = d.scalar(smv.Value, "foreach")
						continue
					case "when":
						se.when = d.scalar(smv.Value, "when")
						continue
					}
				}
				rest = append(rest, smv)
			}
			se.block = d.setEntries(&ast.MappingNode{BaseNode: sub.BaseNode, Start: sub.Start, Values: rest})
			if len(se.block) == 0 {
				d.errorf(k.pos, "element block %s sets nothing", k.text)
				continue
			}
			out = append(out, se)
			continue
		}
		if v := d.scalar(mv.Value, "expression"); v != nil {
			out = append(out, setEntry{path: k, value: v})
		}
	}
	return out
}

// unwrap: see yamlnode.Unwrap.
func unwrap(n ast.Node) ast.Node { return yamlnode.Unwrap(n) }

func (d *decoder) mapping(n ast.Node, what string, fields map[string]func(ast.Node)) {
	m, ok := unwrap(n).(*ast.MappingNode)
	if !ok {
		d.errorf(d.pos(n.GetToken()), "%s must be a mapping", what)
		return
	}
	seen := map[string]bool{}
	for _, mv := range m.Values {
		k := d.scalar(mv.Key, "key")
		if k == nil {
			continue
		}
		fn, ok := fields[k.text]
		if !ok {
			d.errorf(k.pos, "unknown key %q in %s (known: %s)", k.text, what, strings.Join(keys(fields), ", "))
			continue
		}
		if seen[k.text] {
			d.errorf(k.pos, "%q given twice in %s", k.text, what)
			continue
		}
		seen[k.text] = true
		fn(mv.Value)
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (d *decoder) str(n ast.Node, what string) string {
	if s := d.scalar(n, what); s != nil {
		return s.text
	}
	return ""
}

// scalar reads a scalar node; a mapping or list where a scalar belongs is
// an error (nil result).
func (d *decoder) scalar(n ast.Node, what string) *scalar {
	if n == nil {
		return nil
	}
	n = unwrap(n)
	tk := n.GetToken()
	pos := d.pos(tk)
	s := &scalar{pos: pos, line0: pos.Line, col0: pos.Column}
	switch v := n.(type) {
	case *ast.StringNode:
		s.text = v.Value
		if tk != nil && (tk.Type == token.DoubleQuoteType || tk.Type == token.SingleQuoteType) {
			s.col0++
		}
	case *ast.LiteralNode:
		s.text = strings.TrimRight(v.Value.Value, "\n")
		s.line0++
		s.col0 = 1
		if v.Value.Token != nil && v.Value.Token.Position != nil {
			s.col0 = v.Value.Token.Position.Column
		}
	case *ast.NullNode:
		d.errorf(pos, "%s is empty", what)
		return nil
	case *ast.MappingNode, *ast.SequenceNode:
		d.errorf(pos, "%s must be a single value, not a %s", what, strings.ToLower(n.Type().String()))
		return nil
	default:
		if tk == nil {
			d.errorf(pos, "%s is empty", what)
			return nil
		}
		s.text = tk.Value
	}
	return s
}

// yamlError turns a goccy/go-yaml syntax error into a LoadError.
func yamlError(file string, err error) *LoadError {
	var se interface{ GetToken() *token.Token }
	if errors.As(err, &se) {
		if tk := se.GetToken(); tk != nil && tk.Position != nil {
			msg := err.Error()
			if m, ok := err.(interface{ GetMessage() string }); ok {
				msg = m.GetMessage()
			}
			return &LoadError{Pos: Pos{File: file, Line: tk.Position.Line, Column: tk.Position.Column}, Msg: "YAML: " + msg}
		}
	}
	return &LoadError{Pos: Pos{File: file}, Msg: "YAML: " + err.Error()}
}
