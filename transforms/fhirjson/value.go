// Package fhirjson is the small JSON value model that transform rules build
// FHIR resources in: objects keep their members in the order they were set
// (so that the same message always gives byte-identical output), empty
// values vanish instead of becoming "" or {} or [] (FHIR forbids them), and
// encoding appends to a byte slice without reflection.
package fhirjson

import (
	"strconv"
	"unicode/utf8"
)

// Kind is the JSON kind of a Value.
type Kind uint8

// The kinds of Value. KindNull is the zero Value: absent, and never written.
const (
	KindNull Kind = iota
	KindString
	KindNumber
	KindBool
	KindObject
	KindArray
)

func (k Kind) String() string {
	switch k {
	case KindString:
		return "string"
	case KindNumber:
		return "number"
	case KindBool:
		return "boolean"
	case KindObject:
		return "object"
	case KindArray:
		return "array"
	}
	return "null"
}

// Value is a JSON value. Values are immutable: the methods that change one
// return a new Value and never modify shared memory.
type Value struct {
	kind Kind
	b    bool
	s    string   // String, and Number as its JSON text
	obj  []Member // Object, in insertion order
	arr  []Value  // Array
}

// Member is one key and value of an object.
type Member struct {
	Key   string
	Value Value
}

// Str is a JSON string; the empty string is Null (FHIR has no empty strings).
func Str(s string) Value {
	if s == "" {
		return Value{}
	}
	return Value{kind: KindString, s: s}
}

// Int is a JSON integer.
func Int(n int64) Value { return Value{kind: KindNumber, s: strconv.FormatInt(n, 10)} }

// Num is a JSON number from its decimal text, kept as written so that a
// FHIR decimal keeps its precision ("1.50" stays "1.50"). Text that is not a
// JSON number is Null; callers validate before.
func Num(text string) Value {
	if !IsNumber(text) {
		return Value{}
	}
	return Value{kind: KindNumber, s: text}
}

// Bool is a JSON boolean.
func Bool(b bool) Value { return Value{kind: KindBool, b: b} }

// Obj is an object of the non-Null members, in order; with none it is Null.
func Obj(members ...Member) Value {
	n := 0
	for _, m := range members {
		if !m.Value.IsNull() {
			n++
		}
	}
	if n == 0 {
		return Value{}
	}
	// sized exactly, so the variadic arguments can stay on the caller's stack
	out := make([]Member, 0, n)
	for _, m := range members {
		if !m.Value.IsNull() {
			out = append(out, m)
		}
	}
	return Value{kind: KindObject, obj: out}
}

// M is shorthand for a Member.
func M(key string, v Value) Member { return Member{Key: key, Value: v} }

// Arr is an array of the non-Null values; with none it is Null.
func Arr(values ...Value) Value {
	n := 0
	for _, v := range values {
		if !v.IsNull() {
			n++
		}
	}
	if n == 0 {
		return Value{}
	}
	out := make([]Value, 0, n)
	for _, v := range values {
		if !v.IsNull() {
			out = append(out, v)
		}
	}
	return Value{kind: KindArray, arr: out}
}

// Kind is the value's JSON kind.
func (v Value) Kind() Kind { return v.kind }

// IsNull reports whether the value is absent.
func (v Value) IsNull() bool { return v.kind == KindNull }

// Text is the string of a String, the text of a Number, "true"/"false" of a
// Bool, and "" otherwise.
func (v Value) Text() string {
	switch v.kind {
	case KindString, KindNumber:
		return v.s
	case KindBool:
		if v.b {
			return "true"
		}
		return "false"
	}
	return ""
}

// Members are an object's members (nil for other kinds). Do not modify.
func (v Value) Members() []Member { return v.obj }

// Elems are an array's values; any other non-Null value is its own single
// element, so that callers can treat 0..1 and 0..* alike. Do not modify.
func (v Value) Elems() []Value {
	switch v.kind {
	case KindArray:
		return v.arr
	case KindNull:
		return nil
	}
	return []Value{v}
}

// Get returns the member key of an object (Null if absent).
func (v Value) Get(key string) Value {
	for _, m := range v.obj {
		if m.Key == key {
			return m.Value
		}
	}
	return Value{}
}

// With returns the object with key set to val (replacing it in place if
// present, appended otherwise; removed if val is Null). A Null receiver is
// an empty object.
func (v Value) With(key string, val Value) Value {
	obj := make([]Member, 0, len(v.obj)+1)
	found := false
	for _, m := range v.obj {
		if m.Key == key {
			found = true
			if !val.IsNull() {
				obj = append(obj, Member{Key: key, Value: val})
			}
			continue
		}
		obj = append(obj, m)
	}
	if !found && !val.IsNull() {
		obj = append(obj, Member{Key: key, Value: val})
	}
	if len(obj) == 0 {
		return Value{}
	}
	return Value{kind: KindObject, obj: obj}
}

// Append returns the array with val added at the end (a Null val changes
// nothing; a non-array receiver becomes the first element).
func (v Value) Append(vals ...Value) Value {
	arr := append([]Value(nil), v.Elems()...)
	for _, x := range vals {
		if !x.IsNull() {
			arr = append(arr, x)
		}
	}
	if len(arr) == 0 {
		return Value{}
	}
	return Value{kind: KindArray, arr: arr}
}

// IsNumber reports whether s is a JSON number.
func IsNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	if i >= len(s) {
		return false
	}
	if s[i] == '0' {
		i++
	} else if s[i] >= '1' && s[i] <= '9' {
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	} else {
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	return i == len(s)
}

// AppendJSON appends the value's compact JSON encoding.
func (v Value) AppendJSON(dst []byte) []byte {
	switch v.kind {
	case KindString:
		return AppendString(dst, v.s)
	case KindNumber:
		return append(dst, v.s...)
	case KindBool:
		return strconv.AppendBool(dst, v.b)
	case KindObject:
		dst = append(dst, '{')
		for i, m := range v.obj {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendString(dst, m.Key)
			dst = append(dst, ':')
			dst = m.Value.AppendJSON(dst)
		}
		return append(dst, '}')
	case KindArray:
		dst = append(dst, '[')
		for i, x := range v.arr {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = x.AppendJSON(dst)
		}
		return append(dst, ']')
	}
	return append(dst, "null"...)
}

// MarshalJSON makes a Value usable with encoding/json.
func (v Value) MarshalJSON() ([]byte, error) { return v.AppendJSON(nil), nil }

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD, and
// U+2028/U+2029 are escaped so the output is also valid JavaScript.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, "\ufffd"...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// Builder builds one object in place: Set replaces a member or appends one
// without copying the others (With copies them all, which makes building a
// resource member by member quadratic). A Builder must not be used after
// Value.
type Builder struct {
	m []Member
}

// Set replaces the member key, or appends it; a Null v removes it.
func (b *Builder) Set(key string, v Value) {
	for i := range b.m {
		if b.m[i].Key == key {
			if v.IsNull() {
				b.m = append(b.m[:i], b.m[i+1:]...)
			} else {
				b.m[i].Value = v
			}
			return
		}
	}
	if !v.IsNull() {
		b.m = append(b.m, Member{Key: key, Value: v})
	}
}

// Get returns the member key (Null if absent).
func (b *Builder) Get(key string) Value {
	for _, m := range b.m {
		if m.Key == key {
			return m.Value
		}
	}
	return Value{}
}

// Value is the object built (Null when it has no members).
func (b *Builder) Value() Value {
	if len(b.m) == 0 {
		return Value{}
	}
	return Value{kind: KindObject, obj: b.m}
}
