package hl7

import (
	"bytes"
	"unicode/utf8"
)

// unescape appends the text of raw to dst, decoding HL7 escape sequences:
// \F\ \S\ \T\ \R\ \E\ \P\ to the delimiters, \Xhh..\ to the bytes it names
// (in the message's character set), \.br\ (and \.sp\, \.ce\) to a line
// break, \H\ and \N\ (highlighting) to nothing. Anything else — an unknown
// sequence, a lone escape character — is kept verbatim.
func (m *Message) unescape(dst, raw []byte) []byte {
	esc := m.d.Escape
	for {
		i := bytes.IndexByte(raw, esc)
		if i < 0 {
			return append(dst, raw...)
		}
		dst = append(dst, raw[:i]...)
		raw = raw[i:]
		j := bytes.IndexByte(raw[1:], esc)
		if j < 0 {
			return append(dst, raw...)
		}
		seq := raw[1 : 1+j]
		whole := raw[:j+2]
		raw = raw[j+2:]
		dst = m.decodeEscape(dst, seq, whole)
	}
}

func (m *Message) decodeEscape(dst, seq, whole []byte) []byte {
	d := m.d
	if len(seq) == 1 {
		switch seq[0] {
		case 'F':
			return append(dst, d.Field)
		case 'S':
			return append(dst, d.Component)
		case 'T':
			return append(dst, d.Subcomponent)
		case 'R':
			return append(dst, d.Repetition)
		case 'E':
			return append(dst, d.Escape)
		case 'P':
			if d.Truncation != 0 {
				return append(dst, d.Truncation)
			}
		case 'H', 'N':
			return dst
		}
		return append(dst, whole...)
	}
	if len(seq) == 0 {
		return append(dst, whole...)
	}
	switch seq[0] {
	case 'X':
		hex := seq[1:]
		if len(hex) == 0 || len(hex)%2 != 0 {
			return append(dst, whole...)
		}
		start := len(dst)
		for k := 0; k < len(hex); k += 2 {
			hi, ok1 := unhex(hex[k])
			lo, ok2 := unhex(hex[k+1])
			if !ok1 || !ok2 {
				return append(dst[:start], whole...)
			}
			dst = append(dst, hi<<4|lo)
		}
		return m.fixHexText(dst, start)
	case '.':
		cmd := seq[1:]
		switch {
		case bytes.Equal(cmd, []byte("br")), bytes.Equal(cmd, []byte("ce")):
			return append(dst, '\n')
		case bytes.HasPrefix(cmd, []byte("sp")):
			n := 1
			if num := cmd[2:]; len(num) > 0 {
				n = 0
				for _, c := range num {
					if c < '0' || c > '9' {
						return append(dst, whole...)
					}
					n = n*10 + int(c-'0')
				}
				n = min(n, 100)
			}
			for ; n > 0; n-- {
				dst = append(dst, '\n')
			}
			return dst
		case bytes.Equal(cmd, []byte("fi")), bytes.Equal(cmd, []byte("nf")),
			bytes.HasPrefix(cmd, []byte("in")), bytes.HasPrefix(cmd, []byte("ti")), bytes.HasPrefix(cmd, []byte("sk")):
			// Formatting for a display (fill, indent, skip): no text.
			return dst
		}
	}
	return append(dst, whole...)
}

// fixHexText turns the bytes of a \X..\ sequence, which are in the message's
// own character set, into UTF-8, so that text never carries invalid bytes.
func (m *Message) fixHexText(dst []byte, start int) []byte {
	b := dst[start:]
	if m.enc != nil {
		if out, err := m.enc.NewDecoder().Bytes(b); err == nil {
			return append(dst[:start], out...)
		}
	}
	if utf8.Valid(b) {
		return dst
	}
	fixed := bytes.ToValidUTF8(b, []byte("\uFFFD"))
	return append(dst[:start], fixed...)
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// AppendEscaped appends text to dst with every character that is a delimiter of d
// escaped, so that it can be placed in a field as one value. Line breaks
// become \.br\ and other control characters \Xhh\.
func (d Delimiters) AppendEscaped(dst []byte, text string) []byte {
	for i := 0; i < len(text); i++ {
		c := text[i]
		var code byte
		switch {
		case c == d.Field:
			code = 'F'
		case c == d.Component:
			code = 'S'
		case c == d.Subcomponent:
			code = 'T'
		case c == d.Repetition:
			code = 'R'
		case c == d.Escape:
			code = 'E'
		case c == d.Truncation && c != 0:
			code = 'P'
		case c == '\r' || c == '\n':
			if c == '\r' && i+1 < len(text) && text[i+1] == '\n' {
				i++
			}
			dst = append(dst, d.Escape, '.', 'b', 'r', d.Escape)
			continue
		case (c < 0x20 && c != '\t') || c == 0x7f:
			const digits = "0123456789ABCDEF"
			dst = append(dst, d.Escape, 'X', digits[c>>4], digits[c&15], d.Escape)
			continue
		default:
			dst = append(dst, c)
			continue
		}
		dst = append(dst, d.Escape, code, d.Escape)
	}
	return dst
}
