package hl7

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
)

// charsetKind says how a declared MSH-18 value is read.
type charsetKind int

const (
	csUnknown charsetKind = iota
	csASCII
	csUTF8
	csOther // decoded to UTF-8 with an x/text encoding
)

// lookupCharset maps an MSH-18 value (HL7 table 0211, plus the names real
// feeds use) to a decoder. The returned name is the canonical one.
func lookupCharset(name string) (charsetKind, encoding.Encoding) {
	n := strings.ToUpper(strings.TrimSpace(name))
	n = strings.ReplaceAll(n, "_", " ")
	switch n {
	case "", "ASCII", "ISO IR6", "US-ASCII":
		return csASCII, nil
	case "UNICODE UTF-8", "UTF-8", "UTF8", "UNICODE":
		// "UNICODE" (withdrawn) meant UCS-2 in theory; every feed seen that
		// declares it sends UTF-8, and invalid bytes still fall back below.
		return csUTF8, nil
	case "8859/1", "ISO IR100", "ISO-8859-1", "LATIN1":
		return csOther, charmap.ISO8859_1
	case "8859/2", "ISO IR101", "ISO-8859-2":
		return csOther, charmap.ISO8859_2
	case "8859/3", "ISO IR109", "ISO-8859-3":
		return csOther, charmap.ISO8859_3
	case "8859/4", "ISO IR110", "ISO-8859-4":
		return csOther, charmap.ISO8859_4
	case "8859/5", "ISO IR144", "ISO-8859-5":
		return csOther, charmap.ISO8859_5
	case "8859/6", "ISO IR127", "ISO-8859-6":
		return csOther, charmap.ISO8859_6
	case "8859/7", "ISO IR126", "ISO-8859-7":
		return csOther, charmap.ISO8859_7
	case "8859/8", "ISO IR138", "ISO-8859-8":
		return csOther, charmap.ISO8859_8
	case "8859/9", "ISO IR148", "ISO-8859-9":
		return csOther, charmap.ISO8859_9
	case "8859/15", "ISO-8859-15":
		return csOther, charmap.ISO8859_15
	case "WINDOWS-1252", "CP1252", "WINDOWS1252":
		return csOther, charmap.Windows1252
	case "GB 18030-2000", "GB18030":
		return csOther, simplifiedchinese.GB18030
	case "BIG-5", "BIG5":
		return csOther, traditionalchinese.Big5
	case "KS X 1001", "EUC-KR":
		return csOther, korean.EUCKR
	case "ISO IR87", "ISO-2022-JP":
		return csOther, japanese.ISO2022JP
	case "SHIFT-JIS", "SHIFT JIS", "SJIS":
		return csOther, japanese.ShiftJIS
	}
	return csUnknown, nil
}

// declaredCharset finds MSH-18 (its first repetition) in the raw MSH before
// anything else is parsed: the decoding must be known before tokenising,
// since a multi-byte character set can hide delimiter bytes inside characters.
func declaredCharset(data []byte, d Delimiters) string {
	end := lineBreak(data)
	if end < 0 {
		end = len(data)
	}
	msh := data[:end]
	// split index 17 is MSH-18 (MSH-1 is the separator itself)
	for i := 0; i < 17; i++ {
		j := bytes.IndexByte(msh, d.Field)
		if j < 0 {
			return ""
		}
		msh = msh[j+1:]
	}
	if j := bytes.IndexByte(msh, d.Field); j >= 0 {
		msh = msh[:j]
	}
	if d.Repetition != 0 {
		if j := bytes.IndexByte(msh, d.Repetition); j >= 0 {
			msh = msh[:j]
		}
	}
	return internCharset(bytes.TrimSpace(msh))
}

// commonCharsets are returned without allocating a string per message.
var commonCharsets = []string{"ASCII", "UNICODE UTF-8", "8859/1", "8859/15", "UTF-8", "UNICODE"}

func internCharset(b []byte) string {
	for _, c := range commonCharsets {
		if string(b) == c {
			return c
		}
	}
	return string(b)
}

// hasHighBytes reports whether b has a byte outside 7-bit ASCII, eight
// bytes at a time: it runs over every inbound message.
func hasHighBytes(b []byte) bool {
	for len(b) >= 8 {
		if binary.LittleEndian.Uint64(b)&0x8080808080808080 != 0 {
			return true
		}
		b = b[8:]
	}
	for _, c := range b {
		if c >= 0x80 {
			return true
		}
	}
	return false
}

// decodeCharset returns the message as UTF-8 text. Pure ASCII input is
// returned as is whatever the declaration says: every supported character set
// agrees with ASCII on those bytes.
func (m *Message) decodeCharset(data []byte, o ParseOptions, base int) ([]byte, error) {
	m.charset = declaredCharset(data, m.d)
	kind, enc := lookupCharset(m.charset)
	// ISO 2022 character sets are 7-bit: they switch with ESC sequences.
	if !hasHighBytes(data) && (enc != japanese.ISO2022JP || bytes.IndexByte(data, 0x1b) < 0) {
		if kind == csUnknown {
			m.warn(0, fmt.Sprintf("MSH-18 character set %q is not known; the message is plain ASCII, so it was read as such", m.charset))
		}
		if kind == csOther {
			m.enc = enc
		}
		return data, nil
	}
	fail := func(msg string) error {
		return &Error{Segment: "MSH", Seq: 1, Field: 18, Offset: -1, Code: CodeTableValueNotFound, Severity: SeverityError, Msg: msg}
	}
	switch kind {
	case csASCII, csUTF8:
		if utf8.Valid(data) {
			if kind == csASCII {
				what := "declares no character set (ASCII)"
				if m.charset != "" {
					what = fmt.Sprintf("declares %q", m.charset)
				}
				m.warn(0, "MSH-18 "+what+" but the message carries non-ASCII bytes; they are valid UTF-8 and were read as UTF-8")
			}
			return data, nil
		}
		if o.FallbackCharset == "" {
			return nil, fail(fmt.Sprintf("message declares %s but is not valid UTF-8 (first bad byte at %d); configure a fallback character set to accept such feeds",
				charsetLabel(m.charset), base+firstInvalidUTF8(data)))
		}
	case csOther:
		if _, single := enc.(*charmap.Charmap); single && hasMultibyteUTF8(data) {
			// A single-byte character set can decode any bytes, so a
			// sender that declares 8859/1 and sends UTF-8 would become
			// mojibake ("MÃ¼ller") without a word. Valid multi-byte
			// UTF-8 is next to impossible in real Latin text: read it as
			// what it is, and say so.
			m.warn(0, fmt.Sprintf("MSH-18 declares %q but the non-ASCII bytes are valid UTF-8; they were read as UTF-8", m.charset))
			return data, nil
		}
		out, err := enc.NewDecoder().Bytes(data)
		if err == nil && bytes.Count(out, replacementChar) != bytes.Count(data, replacementChar) {
			// x/text decoders replace what they cannot decode with U+FFFD
			// instead of failing: a byte the character set does not define
			err = fmt.Errorf("bytes that %s does not define", charsetLabel(m.charset))
		}
		if err == nil {
			m.enc = enc
			return out, nil
		}
		if o.FallbackCharset == "" {
			return nil, fail(fmt.Sprintf("message is not valid %s: %v", charsetLabel(m.charset), err))
		}
	case csUnknown:
		if o.FallbackCharset == "" {
			return nil, fail(fmt.Sprintf("MSH-18 character set %q is not supported and the message has non-ASCII bytes; configure a fallback character set to accept it", m.charset))
		}
	}
	fk, fenc := lookupCharset(o.FallbackCharset)
	switch fk {
	case csUnknown:
		return nil, fail(fmt.Sprintf("fallback character set %q is not supported", o.FallbackCharset))
	case csASCII, csUTF8:
		if !utf8.Valid(data) {
			return nil, fail(fmt.Sprintf("message is not valid in its declared character set %s nor in the fallback %q", charsetLabel(m.charset), o.FallbackCharset))
		}
		m.warn(0, fmt.Sprintf("message is not valid %s; decoded as UTF-8 (fallback)", charsetLabel(m.charset)))
		return data, nil
	}
	out, err := fenc.NewDecoder().Bytes(data)
	if err == nil && bytes.Count(out, replacementChar) != bytes.Count(data, replacementChar) {
		err = fmt.Errorf("bytes that %q does not define", o.FallbackCharset)
	}
	if err != nil {
		return nil, fail(fmt.Sprintf("message is not valid in its declared character set %s nor in the fallback %q: %v", charsetLabel(m.charset), o.FallbackCharset, err))
	}
	m.warn(0, fmt.Sprintf("message is not valid %s; decoded with the fallback character set %q", charsetLabel(m.charset), o.FallbackCharset))
	m.enc = fenc
	return out, nil
}

var replacementChar = []byte("\uFFFD")

// hasMultibyteUTF8 reports whether b is valid UTF-8 with at least one
// multi-byte character.
func hasMultibyteUTF8(b []byte) bool {
	return hasHighBytes(b) && utf8.Valid(b)
}

func charsetLabel(cs string) string {
	if cs == "" {
		return "ASCII (MSH-18 empty)"
	}
	return fmt.Sprintf("%q", cs)
}

func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return -1
}

// Charset is MSH-18 as declared (first repetition), "" when absent.
func (m *Message) Charset() string { return m.charset }

// Warnings lists what a lenient parse accepted but an operator should know.
func (m *Message) Warnings() []Warning { return m.warnings }
