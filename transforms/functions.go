package transforms

import (
	"fmt"
	"sort"
	"sync"

	"github.com/expr-lang/expr"

	"github.com/plexus-hl7/plexus/hl7"
	"github.com/plexus-hl7/plexus/transforms/datatype"
	"github.com/plexus-hl7/plexus/transforms/fhirjson"
	"github.com/plexus-hl7/plexus/transforms/vocab"
)

// exprOptions are the compile options shared by every expression: the
// environment, the functions of the rule language and the converters.
// Built once; expr options are read-only after that.
var exprOptions = sync.OnceValue(func() []expr.Option {
	opts := []expr.Option{
		expr.Env(&Env{}),
		expr.Function("__f", func(p ...any) (any, error) {
			e := p[0].(*Env)
			return e.field(p[1].(int)), nil
		}, new(func(*Env, int) *Field)),
		expr.Function("__ref", func(p ...any) (any, error) {
			return p[0].(*Env).ref(p[1].(int)), nil
		}, new(func(*Env, int) fhirjson.Value)),
		expr.Function("__refs", func(p ...any) (any, error) {
			return p[0].(*Env).refs(p[1].(int)), nil
		}, new(func(*Env, int) fhirjson.Value)),
		expr.Function("__before", func(p ...any) (any, error) {
			return p[0].(*Env).before(p[1].(int)), nil
		}, new(func(*Env, int) bool)),
		expr.Function("__within", func(p ...any) (any, error) {
			return p[0].(*Env).within(p[1].(int)), nil
		}, new(func(*Env, int) bool)),
		expr.Function("text", func(p ...any) (any, error) {
			return p[0].(*Field).String(), nil
		}, new(func(*Field) string)),
		expr.Function("present", func(p ...any) (any, error) {
			switch v := p[0].(type) {
			case *Field:
				return v.v.HasValue(), nil
			case fhirjson.Value:
				return !v.IsNull(), nil
			case string:
				return v != "", nil
			}
			return p[0] != nil, nil
		}, new(func(*Field) bool), new(func(fhirjson.Value) bool), new(func(string) bool)),
		expr.Function("table", func(p ...any) (any, error) {
			return tableCode(p[0].(string), p[1])
		}, new(func(string, *Field) string), new(func(string, string) string)),
		vocabFunc("code", datatype.Code),
		vocabFunc("coding", datatype.CodingFrom),
		vocabFunc("concept", datatype.CodeableConceptFrom),
		expr.Function("eqFieldString", func(p ...any) (any, error) {
			return p[0].(*Field).String() == p[1].(string), nil
		}, new(func(*Field, string) bool)),
		expr.Function("eqStringField", func(p ...any) (any, error) {
			return p[0].(string) == p[1].(*Field).String(), nil
		}, new(func(string, *Field) bool)),
		expr.Function("neFieldString", func(p ...any) (any, error) {
			return p[0].(*Field).String() != p[1].(string), nil
		}, new(func(*Field, string) bool)),
		expr.Function("neStringField", func(p ...any) (any, error) {
			return p[0].(string) != p[1].(*Field).String(), nil
		}, new(func(string, *Field) bool)),
		expr.Operator("==", "eqFieldString", "eqStringField"),
		expr.Operator("!=", "neFieldString", "neStringField"),
	}
	names := make([]string, 0, len(datatype.Registry))
	for name := range datatype.Registry {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		conv := datatype.Registry[name]
		opts = append(opts, expr.Function(name, func(p ...any) (any, error) {
			return convertField(conv, p[0].(*Field))
		}, new(func(*Field) fhirjson.Value)))
	}
	return opts
})

// vocabFunc makes a rule function name("VocabularyMap", FIELD) from a
// converter that translates through one of the IG's vocabulary maps: code
// (a code, dropped with a warning when the map cannot translate it into its
// target system), coding and concept (Coding, CodeableConcept). Each
// repetition of a field is converted.
func vocabFunc(name string, fn func(*datatype.Context, hl7.Value, string) (fhirjson.Value, error)) expr.Option {
	return expr.Function(name, func(p ...any) (any, error) {
		mapName, f := p[0].(string), p[1].(*Field)
		conv := &datatype.Converter{Name: name, Fn: func(c *datatype.Context, v hl7.Value) (fhirjson.Value, error) {
			return fn(c, v, mapName)
		}}
		return convertField(conv, f)
	}, new(func(string, *Field) fhirjson.Value))
}

// String is the field's text, escapes decoded.
func (f *Field) String() string { return datatype.TextOf(f.v) }

// is reports whether the field's text is s, without making the text.
func (f *Field) is(s string) bool {
	if f.env == nil {
		return f.String() == s
	}
	f.env.textBuf = f.v.AppendText(f.env.textBuf[:0])
	return string(f.env.textBuf) == s
}

// convertField applies a converter to every repetition of a field; one
// repetition gives a single value, several an array. A map often asks the
// same converter for the same field twice in one place (present(pl(PV1[3]))
// to decide a status, pl(PV1[3]) for the location): the last few results
// are kept while the field means the same thing (its slot, in this gen),
// so the second call costs nothing and places nothing twice. A call that
// failed or warned is not kept: its errors and warnings name the element
// that asked, and each asking element gets its own.
func convertField(conv *datatype.Converter, f *Field) (fhirjson.Value, error) {
	if !f.v.HasValue() {
		return fhirjson.Value{}, nil
	}
	e := f.env
	for i := range e.memo {
		if m := &e.memo[i]; m.f == f && m.conv == conv && m.gen == e.gen {
			return m.v, nil
		}
	}
	nw, ne := len(e.warns), len(e.errs)
	v, err := convertFieldOnce(conv, f)
	if err == nil && len(e.warns) == nw && len(e.errs) == ne {
		e.memo[e.memoNext] = convMemo{gen: e.gen, conv: conv, f: f, v: v}
		e.memoNext = (e.memoNext + 1) % len(e.memo)
	}
	return v, err
}

// convMemo is one converter result kept by convertField.
type convMemo struct {
	gen  uint64
	conv *datatype.Converter
	f    *Field
	v    fhirjson.Value
}

func convertFieldOnce(conv *datatype.Converter, f *Field) (fhirjson.Value, error) {
	ctx := f.env.convContext()
	if f.path.Comp > 0 || f.path.Rep > 0 {
		v, err := conv.Fn(ctx, f.v)
		if err != nil {
			return v, f.env.partialOr(v, f.errorf("%s: %w", conv.Name, err))
		}
		return v, nil
	}
	// Nearly every field has one repetition that gives one value: that
	// value is the result as it is, without gathering it in a list.
	var first fhirjson.Value
	var out []fhirjson.Value
	n := 0
	for r := f.v.RepParts(); r.Next(); {
		rep := r.Value()
		if !rep.HasValue() {
			continue
		}
		v, err := conv.Fn(ctx, rep)
		if err != nil {
			if err := f.env.partialOr(v, f.errorf("%s: repetition %d: %w", conv.Name, r.Index(), err)); err != nil {
				return fhirjson.Value{}, err
			}
		}
		// a converter may give several values for one repetition (a
		// name and its nickname; a location and the ones it is part of)
		for i := range v.Len() {
			if n == 0 {
				first = v.Elem(i)
			} else {
				if n == 1 {
					out = append(f.env.vals, first)
				}
				out = append(out, v.Elem(i))
			}
			n++
		}
	}
	switch n {
	case 0:
		return fhirjson.Value{}, nil
	case 1:
		return first, nil
	}
	// out was gathered in f.env.vals after what it held (nothing appends
	// to it while a converter runs): put it back as it was
	mark := len(f.env.vals)
	f.env.vals = out
	arr := f.env.arena.Arr(out[mark:]...)
	f.env.vals = out[:mark]
	return arr, nil
}

// partialOr decides what a converter's error means: with on_error:
// partial, the error is recorded and the value the converter could still
// build (everything but the bad component) is kept; otherwise it fails the
// expression, and so the message.
func (e *Env) partialOr(v fhirjson.Value, err error) error {
	if e == nil || !e.rules.partial {
		return err
	}
	e.fail(e.atPos, e.atElem, err)
	return nil
}

// fieldError is a conversion failure that knows which HL7 value caused it.
type fieldError struct {
	path hl7.Path
	err  error
}

func (e *fieldError) Error() string { return e.path.String() + ": " + e.err.Error() }
func (e *fieldError) Unwrap() error { return e.err }

func (f *Field) errorf(format string, args ...any) error {
	return &fieldError{path: f.path, err: fmt.Errorf(format, args...)}
}

// tableCode translates a v2 code with one of the IG's vocabulary maps (by
// name or v2 table number). A code the map does not know is kept as sent:
// never dropped, and the required-binding check then decides.
func tableCode(name string, v any) (string, error) {
	m, err := datatype.VocabMap(name)
	if err != nil {
		return "", err
	}
	var code string
	var f *Field
	switch x := v.(type) {
	case *Field:
		f = x
		code = datatype.TextOf(x.v.Component(1))
	case string:
		code = x
	}
	return translateTable(m, code, f), nil
}

// translateTable is table() with its map found: f is the field the code
// was read from (for the warning), if any.
func translateTable(m *vocab.Map, code string, f *Field) string {
	c, res := m.Translate(code)
	if res == vocab.Unmapped || res == vocab.NoTarget {
		if f != nil && f.env != nil {
			f.env.warnf("%s: code %q is not mapped by %s; kept as sent", f.path, code, m.Name)
		}
	}
	return c.Code
}
