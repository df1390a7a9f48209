// Package fhirjson is the small JSON value model that transform rules build
// FHIR resources in: objects keep their members in the order they were set
// (so that the same message always gives byte-identical output), empty
// values vanish instead of becoming "" or {} or [] (FHIR forbids them), and
// encoding appends to a byte slice without reflection.
package fhirjson

import (
	"strconv"
	"unicode/utf8"
	"unsafe"
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
//
// A Value is three words (a pointer, a length and the kind) rather than a
// struct with a field per kind: Values are copied at every step of building
// a resource, and the member and element lists they sit in are what a
// conversion allocates most, so the smaller the Value, the cheaper both.
// p points to a String's or Number's text, an Object's first Member or an
// Array's first Value; n is the length of that text or list.
type Value struct {
	p    unsafe.Pointer
	n    int
	kind Kind
	b    bool
}

// Member is one key and value of an object.
type Member struct {
	Key   string
	Value Value
}

func text(kind Kind, s string) Value {
	return Value{p: unsafe.Pointer(unsafe.StringData(s)), n: len(s), kind: kind}
}

func object(m []Member) Value {
	return Value{p: unsafe.Pointer(unsafe.SliceData(m)), n: len(m), kind: KindObject}
}

func array(v []Value) Value {
	return Value{p: unsafe.Pointer(unsafe.SliceData(v)), n: len(v), kind: KindArray}
}

// Str is a JSON string; the empty string is Null (FHIR has no empty strings).
func Str(s string) Value {
	if s == "" {
		return Value{}
	}
	return text(KindString, s)
}

// Int is a JSON integer.
func Int(n int64) Value { return text(KindNumber, strconv.FormatInt(n, 10)) }

// Num is a JSON number from its decimal text, kept as written so that a
// FHIR decimal keeps its precision ("1.50" stays "1.50"). Text that is not a
// JSON number is Null; callers validate before.
func Num(s string) Value {
	if !IsNumber(s) {
		return Value{}
	}
	return text(KindNumber, s)
}

// Bool is a JSON boolean.
func Bool(b bool) Value { return Value{kind: KindBool, b: b} }

// Obj is an object of the non-Null members, in order; with none it is Null.
func Obj(members ...Member) Value { return (*Arena)(nil).Obj(members...) }

// M is shorthand for a Member.
func M(key string, v Value) Member { return Member{Key: key, Value: v} }

// Arr is an array of the non-Null values; with none it is Null.
func Arr(values ...Value) Value { return (*Arena)(nil).Arr(values...) }

// Kind is the value's JSON kind.
func (v Value) Kind() Kind { return v.kind }

// IsNull reports whether the value is absent.
func (v Value) IsNull() bool { return v.kind == KindNull }

// Text is the string of a String, the text of a Number, "true"/"false" of a
// Bool, and "" otherwise.
func (v Value) Text() string {
	switch v.kind {
	case KindString, KindNumber:
		return unsafe.String((*byte)(v.p), v.n)
	case KindBool:
		if v.b {
			return "true"
		}
		return "false"
	}
	return ""
}

// Members are an object's members (nil for other kinds). Do not modify.
func (v Value) Members() []Member {
	if v.kind != KindObject {
		return nil
	}
	return unsafe.Slice((*Member)(v.p), v.n)
}

// Elems are an array's values; any other non-Null value is its own single
// element, so that callers can treat 0..1 and 0..* alike. Do not modify.
// (For a value that is not an array this allocates: loops use Len and
// Elem.)
func (v Value) Elems() []Value {
	switch v.kind {
	case KindArray:
		return v.arr()
	case KindNull:
		return nil
	}
	return []Value{v}
}

func (v Value) arr() []Value { return unsafe.Slice((*Value)(v.p), v.n) }

// Len is len(v.Elems()), without allocating.
func (v Value) Len() int {
	switch v.kind {
	case KindArray:
		return v.n
	case KindNull:
		return 0
	}
	return 1
}

// Elem is v.Elems()[i], without allocating.
func (v Value) Elem(i int) Value {
	if v.kind == KindArray {
		return v.arr()[i]
	}
	if i != 0 || v.kind == KindNull {
		panic("fhirjson: Elem index out of range")
	}
	return v
}

// Get returns the member key of an object (Null if absent).
func (v Value) Get(key string) Value {
	for _, m := range v.Members() {
		if m.Key == key {
			return m.Value
		}
	}
	return Value{}
}

// With returns the object with key set to val (replacing it in place if
// present, appended otherwise; removed if val is Null). A Null receiver is
// an empty object.
func (v Value) With(key string, val Value) Value { return (*Arena)(nil).With(v, key, val) }

// Append returns the array with val added at the end (a Null val changes
// nothing; a non-array receiver becomes the first element).
func (v Value) Append(vals ...Value) Value { return (*Arena)(nil).Append(v, vals...) }

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
		return AppendString(dst, v.Text())
	case KindNumber:
		return append(dst, v.Text()...)
	case KindBool:
		return strconv.AppendBool(dst, v.b)
	case KindObject:
		dst = append(dst, '{')
		for i, m := range v.Members() {
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
		for i, x := range v.arr() {
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
		// Nearly every text is plain ASCII that needs no escape: look at
		// eight bytes at a time for one that might (a Bundle has some
		// 20 KB of text; byte by byte, this loop was a tenth of a
		// conversion).
		for i+8 <= len(s) && !needsLook(load64(s, i)) {
			i += 8
		}
		for i < len(s) && plain[s[i]] {
			i++
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
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

// plain is the ASCII bytes a JSON string holds as they are.
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// load64 is the eight bytes of s from i, little-endian (one load).
func load64(s string, i int) uint64 {
	_ = s[i+7]
	return uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
		uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
}

// needsLook reports whether any of the eight bytes in x is a control
// character, '"', '\\' or not ASCII (the usual bit tricks: a byte is
// below n when subtracting n from it borrows into its high bit, and zero
// after XOR with c when it equals c; exact for "any byte").
func needsLook(x uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	below := (x - 0x20*ones) &^ x
	quote := x ^ '"'*ones
	backslash := x ^ '\\'*ones
	return (below|(quote-ones)&^quote|(backslash-ones)&^backslash|x)&highs != 0
}

// Builder builds one object in place: Set replaces a member or appends one
// without copying the others (With copies them all, which makes building a
// resource member by member quadratic). A Builder must not be used after
// Value. The zero Builder allocates on the heap; Arena.Builder one in an
// arena.
type Builder struct {
	m []Member
	a *Arena
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
	if v.IsNull() {
		return
	}
	if len(b.m) == cap(b.m) {
		grown := b.a.members(max(8, 2*len(b.m)))
		b.m = grown[:copy(grown, b.m)]
	}
	b.m = append(b.m, Member{Key: key, Value: v})
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
	return object(b.m)
}
