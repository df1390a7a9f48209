package hl7

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"

	"golang.org/x/text/encoding"
)

// Delimiters are the separators a message declares in MSH-1 and MSH-2.
// Truncation is 0 when MSH-2 has no fifth character (before v2.7).
type Delimiters struct {
	Field        byte
	Component    byte
	Repetition   byte
	Escape       byte
	Subcomponent byte
	Truncation   byte
}

// DefaultDelimiters returns |^~\& (no truncation character), the
// delimiters nearly every sender uses.
func DefaultDelimiters() Delimiters {
	return Delimiters{Field: '|', Component: '^', Repetition: '~', Escape: '\\', Subcomponent: '&'}
}

// EncodingCharacters renders MSH-2 for these delimiters.
func (d Delimiters) EncodingCharacters() []byte {
	out := []byte{d.Component, d.Repetition, d.Escape, d.Subcomponent}
	if d.Truncation != 0 {
		out = append(out, d.Truncation)
	}
	return bytes.TrimRight(out, "\x00")
}

// complete fills the separators a short MSH-2 left out (0) with standard
// ones the message does not use, so that an ACK can always be written.
func (d Delimiters) complete() Delimiters {
	if d.Field == 0 {
		return DefaultDelimiters()
	}
	used := func(c byte) bool {
		return c == d.Field || c == d.Component || c == d.Repetition || c == d.Escape || c == d.Subcomponent || c == d.Truncation
	}
	for _, slot := range []*byte{&d.Component, &d.Repetition, &d.Escape, &d.Subcomponent} {
		if *slot != 0 {
			continue
		}
		for _, c := range []byte("^~\\&!@%*$") {
			if !used(c) {
				*slot = c
				break
			}
		}
	}
	return d
}

// ParseOptions change how lenient Parse is.
type ParseOptions struct {
	// FallbackCharset names the character set (an MSH-18 value such as
	// "8859/1", or "WINDOWS-1252") used to decode a message whose bytes are
	// not valid in the character set it declares, or which declares one this
	// package does not know. Empty means such a message is an error. Either
	// way a message decoded by a rule other than its own declaration carries
	// a Warning saying so.
	FallbackCharset string
}

// Message is a parsed HL7 v2 message. Its zero value is empty; use Parse,
// ParseInto or New. A Message is not safe for concurrent mutation, but any
// number of goroutines may read one that nobody changes.
type Message struct {
	buf      []byte // UTF-8 text of the message, terminators as received
	d        Delimiters
	segs     []segment
	fields   []int32 // per segment: start offset of each field, then end+1 as a sentinel
	charset  string  // MSH-18 as declared (first repetition), "" if absent
	enc      encoding.Encoding
	warnings []Warning
}

type segment struct {
	start, end int32 // [start,end) of the segment in buf, terminator excluded
	f0, nf     int32 // fields[f0:f0+nf] are field starts; fields[f0+nf] is end+1
}

// Parse parses one HL7 v2 message. It keeps referring to data, which must
// not be modified while the Message is in use. Every error is an *Error.
func Parse(data []byte) (*Message, error) {
	m := new(Message)
	if err := ParseInto(m, data, ParseOptions{}); err != nil {
		return nil, err
	}
	return m, nil
}

// ParseWith is Parse with options.
func ParseWith(data []byte, o ParseOptions) (*Message, error) {
	m := new(Message)
	if err := ParseInto(m, data, o); err != nil {
		return nil, err
	}
	return m, nil
}

// ParseInto parses data into m, reusing m's memory: a worker that parses
// message after message into one Message allocates nothing in steady state.
func ParseInto(m *Message, data []byte, o ParseOptions) error {
	m.reset()
	return m.parse(data, o, false)
}

func (m *Message) reset() {
	m.buf = nil
	m.d = Delimiters{}
	m.segs = m.segs[:0]
	m.fields = m.fields[:0]
	m.charset = ""
	m.enc = nil
	m.warnings = m.warnings[:0]
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

func (m *Message) parse(data []byte, o ParseOptions, headerOnly bool) error {
	if len(data) > math.MaxInt32 {
		return &Error{Offset: -1, Code: CodeValueTooLong, Severity: SeverityError, Msg: "message larger than 2 GiB"}
	}
	base := 0 // bytes skipped at the front, so that offsets refer to the input
	if bytes.HasPrefix(data, utf8BOM) {
		data = data[len(utf8BOM):]
		base = len(utf8BOM)
		m.warn(0, "UTF-8 byte order mark before MSH ignored")
	}
	lead := 0
	for lead < len(data) && (data[lead] == '\r' || data[lead] == '\n') {
		lead++
	}
	data = data[lead:]
	base += lead
	if len(data) == 0 {
		return &Error{Offset: base, Code: CodeSegmentSequence, Severity: SeverityError, Msg: "empty message: no MSH segment"}
	}
	d, err := parseDelimiters(data, base)
	if err == errDupEncoding {
		m.warn(1, err.Error())
	} else if err != nil {
		return err
	}
	m.d = d
	buf, err := m.decodeCharset(data, o, base)
	if err != nil {
		return err
	}
	if len(buf) != len(data) {
		base = 0 // offsets now refer to the decoded text
	}
	m.buf = buf
	if err := m.tokenize(base, headerOnly); err != nil {
		return err
	}
	m.warnHeader()
	return nil
}

// parseDelimiters reads MSH-1 and MSH-2. It is the one place where the
// message must be exactly right, since nothing else can be read without it.
func parseDelimiters(data []byte, base int) (Delimiters, error) {
	fail := func(field, off int, format string, args ...any) (Delimiters, error) {
		return Delimiters{}, &Error{Segment: "MSH", Seq: 1, Field: field, Offset: base + off,
			Code: CodeSegmentSequence, Severity: SeverityError, Msg: fmt.Sprintf(format, args...)}
	}
	if len(data) < 3 || string(data[:3]) != "MSH" {
		id := data[:min(len(data), 3)]
		if i := bytes.IndexAny(data, "|\r\n"); i >= 0 && i <= 8 {
			id = data[:i]
		}
		if string(id) == "FHS" || string(id) == "BHS" {
			return Delimiters{}, &Error{Segment: string(id), Seq: 1, Offset: base, Code: CodeSegmentSequence, Severity: SeverityError,
				Msg: "input is a batch (" + string(id) + "), not a single message: split it with SplitBatch"}
		}
		return Delimiters{}, &Error{Seq: 1, Offset: base, Code: CodeSegmentSequence, Severity: SeverityError,
			Msg: fmt.Sprintf("message must start with an MSH segment, found %s", quoteShort(id))}
	}
	if len(data) < 4 || data[3] == '\r' || data[3] == '\n' {
		return fail(1, 3, "MSH ends before MSH-1 (field separator)")
	}
	var d Delimiters
	d.Field = data[3]
	if !isDelimiter(d.Field) {
		return fail(1, 3, "MSH-1 field separator %q is not a valid delimiter", d.Field)
	}
	end := 4
	for end < len(data) && data[end] != d.Field && data[end] != '\r' && data[end] != '\n' {
		end++
	}
	enc := data[4:end]
	if end == len(data) || data[end] != d.Field {
		return fail(2, end, "MSH is cut short inside MSH-2 (encoding characters %s): no field separator follows", quoteShort(enc))
	}
	if len(enc) == 0 || len(enc) > 5 {
		return fail(2, 4, "MSH-2 encoding characters %s must be 1 to 5 characters", quoteShort(enc))
	}
	slots := [5]*byte{&d.Component, &d.Repetition, &d.Escape, &d.Subcomponent, &d.Truncation}
	dup := false
	for i, c := range enc {
		if !isDelimiter(c) {
			return fail(2, 4+i, "MSH-2 encoding character %q is not a valid delimiter", c)
		}
		if c == d.Field || bytes.IndexByte(enc[:i], c) >= 0 {
			dup = true
		}
		*slots[i] = c
	}
	if dup {
		// A sender that repeats a character in MSH-2 ("&&&&") cannot mean
		// it: no value could be split. Assume the standard characters, which
		// such messages use in their other segments, and say so.
		std := DefaultDelimiters()
		std.Field = d.Field
		if bytes.IndexByte(std.EncodingCharacters(), d.Field) >= 0 {
			return fail(2, 4, "MSH-2 encoding characters %s repeat a character", quoteShort(enc))
		}
		return std, errDupEncoding
	}
	return d, nil
}

// errDupEncoding marks delimiters recovered from an MSH-2 that repeats a
// character: usable, but worth a warning.
var errDupEncoding = errors.New("MSH-2 encoding characters repeat a character; the standard ^~\\& were assumed")

// isDelimiter rejects what would make a message unreadable as a separator:
// letters, digits, whitespace and control characters.
func isDelimiter(c byte) bool {
	switch {
	case c <= ' ' || c >= 0x7f:
		return false
	case c >= '0' && c <= '9', c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
		return false
	}
	return true
}

func quoteShort(b []byte) string {
	if len(b) > 16 {
		return strconv.QuoteToASCII(string(b[:16])) + "..."
	}
	return strconv.QuoteToASCII(string(b))
}

func (m *Message) warn(seq int, msg string) {
	m.warnings = append(m.warnings, Warning{Seq: seq, Msg: msg})
}

// tokenize records the segments and field starts of m.buf in one pass.
// Separators are found with bytes.IndexByte (vectorised), which is several
// times faster than a byte loop on HL7's long runs of text.
func (m *Message) tokenize(base int, headerOnly bool) error {
	buf := m.buf
	n := len(buf)
	if i := bytes.IndexByte(buf, 0); i >= 0 {
		return m.nulError(base, i)
	}
	fs := m.d.Field
	if !headerOnly {
		// Size the index once: counting is vectorised too, and cheaper than
		// growing the slices several times.
		nseg := bytes.Count(buf, []byte{'\r'}) + bytes.Count(buf, []byte{'\n'}) + 1
		m.segs = slices.Grow(m.segs, nseg)
		m.fields = slices.Grow(m.fields, bytes.Count(buf, []byte{fs})+2*nseg)
	}
	// Next CR and terminating LF at or after pos; -1 when there is none
	// left. Each is searched for again only once passed, so the scans stay
	// linear.
	nextCR, nextLF := -2, -2
	for pos := 0; pos < n; {
		if nextCR != -1 && nextCR < pos {
			nextCR = indexFrom(buf, pos, '\r')
		}
		if nextLF != -1 && nextLF < pos {
			nextLF = nextTerminatingLF(buf, pos, fs)
		}
		end := n
		if nextCR >= 0 {
			end = nextCR
		}
		if nextLF >= 0 && nextLF < end {
			end = nextLF
		}
		if !isBlank(buf[pos:end]) {
			f0 := len(m.fields)
			m.fields = append(m.fields, int32(pos))
			for k := pos; ; {
				j := bytes.IndexByte(buf[k:end], fs)
				if j < 0 {
					break
				}
				k += j + 1
				m.fields = append(m.fields, int32(k))
			}
			seq := len(m.segs) + 1
			if err := m.checkSegmentID(segmentIDAt(buf, pos, fs), seq, base+pos); err != nil {
				return err
			}
			m.fields = append(m.fields, int32(end+1))
			m.segs = append(m.segs, segment{
				start: int32(pos), end: int32(end),
				f0: int32(f0), nf: int32(len(m.fields) - f0 - 1),
			})
			if headerOnly {
				return nil
			}
		}
		pos = end + 1
		if end < n && buf[end] == '\r' && pos < n && buf[pos] == '\n' {
			pos++
		}
	}
	return nil
}

// lfEndsSegment decides whether the LF at i ends a segment. HL7 ends
// segments with CR; feeds also use LF and CRLF, and some carry a bare LF
// inside text (a note's line break). An LF ends a segment when what follows
// is the end, another line break, or a segment ID and a field separator;
// otherwise it is part of the value, and a segment never swallows the next.
func lfEndsSegment(buf []byte, i int, fs byte) bool {
	j := i + 1
	if j >= len(buf) || buf[j] == '\r' || buf[j] == '\n' {
		return true
	}
	if buf[j] < 'A' || buf[j] > 'Z' {
		return false
	}
	k := j + 1
	for k < len(buf) && k-j < 5 && (buf[k] >= 'A' && buf[k] <= 'Z' || buf[k] >= '0' && buf[k] <= '9') {
		k++
	}
	if n := k - j; n < 2 || n > 4 {
		return false
	}
	return k == len(buf) || buf[k] == fs || buf[k] == '\r' || buf[k] == '\n'
}

// nextTerminatingLF is the first LF at or after from that ends a segment.
func nextTerminatingLF(buf []byte, from int, fs byte) int {
	for {
		i := indexFrom(buf, from, '\n')
		if i < 0 || lfEndsSegment(buf, i, fs) {
			return i
		}
		from = i + 1
	}
}

func indexFrom(b []byte, from int, c byte) int {
	if i := bytes.IndexByte(b[from:], c); i >= 0 {
		return from + i
	}
	return -1
}

// nulError locates a NUL byte at offset i: NUL is never HL7 text, and a
// receiver that let it through would hand C-string consumers a cut value.
func (m *Message) nulError(base, i int) error {
	buf := m.buf
	segStart := 0
	seq := 1
	for k := 0; k < i; k++ {
		c := buf[k]
		if c != '\r' && (c != '\n' || !lfEndsSegment(buf, k, m.d.Field)) {
			continue
		}
		if c == '\r' && k+1 < i && buf[k+1] == '\n' {
			k++
		}
		if !isBlank(buf[segStart:k]) {
			seq++
		}
		segStart = k + 1
	}
	id := segmentIDAt(buf, segStart, m.d.Field)
	split := bytes.Count(buf[segStart:i], []byte{m.d.Field})
	if !validSegmentID(id) {
		id = nil
	}
	return &Error{Segment: string(id), Seq: seq, Field: fieldNumber(id, split),
		Offset: base + i, Code: CodeDataType, Severity: SeverityError, Msg: "NUL byte (0x00) in message text"}
}

// lineBreak is the index of the first CR or LF in b, or -1. A plain loop:
// the first line is short, and IndexByte for the absent one would scan all.
func lineBreak(b []byte) int {
	for i, c := range b {
		if c == '\r' || c == '\n' {
			return i
		}
	}
	return -1
}

func isBlank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\f' && c != '\v' {
			return false
		}
	}
	return true
}

func segmentIDAt(buf []byte, start int, fs byte) []byte {
	end := start
	for end < len(buf) && buf[end] != fs && buf[end] != '\r' && buf[end] != '\n' {
		end++
	}
	return buf[start:end]
}

// fieldNumber converts a split index into an HL7 field number: in MSH, FHS
// and BHS the field separator itself is field 1.
func fieldNumber(id []byte, split int) int {
	if isHeaderID(id) && split > 0 {
		return split + 1
	}
	return split
}

func isHeaderID(id []byte) bool {
	return len(id) == 3 && (string(id) == "MSH" || string(id) == "FHS" || string(id) == "BHS")
}

// validSegmentID accepts upper-case letters and digits, starting with a
// letter. Other lengths than 3 are accepted (with a warning) because real
// feeds send them.
func validSegmentID(id []byte) bool {
	if len(id) == 0 || id[0] < 'A' || id[0] > 'Z' {
		return false
	}
	for _, c := range id {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func (m *Message) checkSegmentID(id []byte, seq, off int) error {
	if !validSegmentID(id) {
		return &Error{Seq: seq, Offset: off, Code: CodeSegmentSequence, Severity: SeverityError,
			Msg: fmt.Sprintf("segment ID %s is not valid: expected 3 upper-case letters or digits", quoteShort(id))}
	}
	if seq > 1 && isHeaderID(id) && string(id) != "MSH" {
		return &Error{Segment: string(id), Seq: seq, Offset: off, Code: CodeSegmentSequence, Severity: SeverityError,
			Msg: "batch header inside a message: split the input with SplitBatch"}
	}
	if seq > 1 && string(id) == "MSH" {
		return &Error{Segment: "MSH", Seq: seq, Offset: off, Code: CodeSegmentSequence, Severity: SeverityError,
			Msg: "a second MSH: the input holds several messages; split it with SplitBatch"}
	}
	if len(id) != 3 {
		m.warn(seq, fmt.Sprintf("segment ID %q is not 3 characters long", id))
	}
	return nil
}
