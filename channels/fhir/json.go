package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// The Bundle is rewritten as little as possible, and never through
// map[string]any: that would reorder members (resourceType first is what
// people and some parsers expect) and turn decimals such as 1.50 into
// float64. These helpers keep every untouched value byte for byte.

// member is one "key": value of a JSON object, in document order.
type member struct {
	Key   string
	Value json.RawMessage
}

// members splits a JSON object into its members, in order.
func members(raw []byte) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	var ms []member
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		ms = append(ms, member{Key: t.(string), Value: v})
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	return ms, nil
}

// encodeObject writes members back as one JSON object.
func encodeObject(ms []member) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range ms {
		if i > 0 {
			b.WriteByte(',')
		}
		writeString(&b, m.Key)
		b.WriteByte(':')
		b.Write(m.Value)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// encodeArray writes values as one JSON array, as they are (json.Marshal
// would compact them and escape <, > and &).
func encodeArray(vs []json.RawMessage) []byte {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, v := range vs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(v)
	}
	b.WriteByte(']')
	return b.Bytes()
}

// marshal is json.Marshal without HTML escaping (a conditional URL's & stays &).
func marshal(v any) (json.RawMessage, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// set replaces the value of key, or inserts it after the member named
// after (or at the front when after is absent).
func set(ms []member, key string, v json.RawMessage, after string) []member {
	for i := range ms {
		if ms[i].Key == key {
			ms[i].Value = v
			return ms
		}
	}
	at := 0
	for i := range ms {
		if ms[i].Key == after {
			at = i + 1
		}
	}
	return append(ms[:at], append([]member{{key, v}}, ms[at:]...)...)
}

// walkRefs visits the string value of every "reference" member in the JSON
// value raw, at any depth. With w non-nil it also copies raw to w, putting
// repl's answer in place of each reference it returns ok for; numbers and
// untouched strings keep their text.
func walkRefs(raw []byte, w *bytes.Buffer, repl func(ref string) (string, bool)) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := copyValue(dec, w, false, repl); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after JSON value")
	}
	return nil
}

func copyValue(dec *json.Decoder, w *bytes.Buffer, isRef bool, repl func(string) (string, bool)) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	put := func(s string) {
		if w != nil {
			w.WriteString(s)
		}
	}
	switch v := t.(type) {
	case json.Delim:
		closer := "]"
		if v == '{' {
			closer = "}"
		}
		put(v.String())
		for first := true; dec.More(); first = false {
			if !first {
				put(",")
			}
			key := false
			if v == '{' {
				k, err := dec.Token()
				if err != nil {
					return err
				}
				ks, _ := k.(string)
				if w != nil {
					writeString(w, ks)
				}
				put(":")
				key = ks == "reference"
			}
			if err := copyValue(dec, w, key, repl); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil {
			return err
		}
		put(closer)
	case string:
		if isRef {
			if r, ok := repl(v); ok {
				v = r
			}
		}
		if w != nil {
			writeString(w, v)
		}
	case json.Number:
		put(v.String())
	case bool:
		put(fmt.Sprint(v))
	case nil:
		put("null")
	}
	return nil
}

// writeString writes s as a JSON string. Unlike encoding/json it leaves <,
// > and & alone, so that narrative XHTML stays readable.
func writeString(b *bytes.Buffer, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b.WriteByte('\\')
				b.WriteByte(c)
			case c == '\n':
				b.WriteString(`\n`)
			case c == '\r':
				b.WriteString(`\r`)
			case c == '\t':
				b.WriteString(`\t`)
			case c < 0x20:
				b.WriteString(`\u00`)
				b.WriteByte(hex[c>>4])
				b.WriteByte(hex[c&0xf])
			default:
				b.WriteByte(c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch r {
		case '\u2028', '\u2029':
			// Valid JSON, but not valid JavaScript: escape as encoding/json does.
			fmt.Fprintf(b, `\u%04x`, r)
		default:
			b.WriteRune(r) // an invalid byte becomes U+FFFD, as json.Decoder already did
		}
		i += size
	}
	b.WriteByte('"')
}
