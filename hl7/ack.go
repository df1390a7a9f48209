package hl7

import (
	"bytes"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// AckCode is MSA-1: table 0008.
type AckCode string

// Acknowledgement codes: original mode (AA/AE/AR) and enhanced mode's
// accept acknowledgements (CA/CE/CR).
const (
	AA AckCode = "AA" // application accept
	AE AckCode = "AE" // application error: the sender should fix and resend
	AR AckCode = "AR" // application reject: the message cannot be processed
	CA AckCode = "CA" // commit accept: the message is safely stored
	CE AckCode = "CE" // commit error: not stored; the sender should retry
	CR AckCode = "CR" // commit reject: will not be stored, whatever the retries
)

// AckOptions shape an ACK. The zero value is a valid choice for each field.
type AckOptions struct {
	// ControlID is MSH-10 of the ACK; a random 20-character ID when empty.
	ControlID string
	// Time is MSH-7; now when zero.
	Time time.Time
	// Text is a human-readable reason: MSA-3 (versions before 2.7, where
	// MSA-3 still exists) and ERR-8 of an ERR segment built for it when
	// Errors is empty and the code is not an accept.
	Text string
	// Errors become ERR segments: ERR-1 before v2.5; ERR-2 (location),
	// ERR-3 (table 0357), ERR-4 (severity) and ERR-8 (text) from v2.5.
	Errors []*Error
	// SendingApplication and SendingFacility are the ACK's MSH-3 and MSH-4,
	// already in HL7 notation with the message's delimiters; empty means
	// the inbound MSH-5 and MSH-6 (the receiver the sender addressed).
	SendingApplication string
	SendingFacility    string
	// Enhanced makes RejectRaw answer CR rather than AR.
	Enhanced bool
	// DefaultVersion is MSH-12 and the ERR layout for an ACK to a message
	// whose version cannot be read; "2.5.1" when empty.
	DefaultVersion string
}

// Ack builds the acknowledgement of m: MSH built from m's (sender and
// receiver swapped, same delimiters, version and character set, MSH-9
// ACK^<event>^ACK as the version has it), MSA-2 = m's MSH-10, and ERR
// segments for o.Errors in the layout of m's version. Segments end with CR;
// the result is in m's declared character set.
func Ack(m *Message, code AckCode, o AckOptions) []byte {
	return buildAck(m, code, o, func(id string, seq int) int {
		n := 0
		for i := 0; i < seq && i < m.Len(); i++ {
			if m.segIDIs(i, id) {
				n++
			}
		}
		return n
	})
}

// buildAck builds the ACK; occurrence turns an Error's position in the
// message (Seq) into the occurrence of its segment ID, which is what ERR-2.2
// and ERR-1.2 give ("the 2nd OBX"), or 0 when it cannot be known.
func buildAck(m *Message, code AckCode, o AckOptions, occurrence func(id string, seq int) int) []byte {
	d := m.d.complete()
	msh, _ := m.Find("MSH", 1)
	raw := func(n int) []byte { return msh.Field(n).Raw() }

	version := strings.TrimSpace(msh.Field(12).Component(1).String())
	verRaw := raw(12)
	if version == "" {
		version = o.DefaultVersion
		if version == "" {
			version = "2.5.1"
		}
		verRaw = d.AppendEscaped(nil, version)
	}
	v := parseVersion(version)

	b := make([]byte, 0, 256)
	b = append(b, "MSH"...)
	b = append(b, d.Field)
	b = append(b, d.EncodingCharacters()...)
	b = append(b, d.Field)
	b = appendOr(b, o.SendingApplication, raw(5))
	b = append(b, d.Field)
	b = appendOr(b, o.SendingFacility, raw(6))
	b = append(b, d.Field)
	b = append(b, raw(3)...)
	b = append(b, d.Field)
	b = append(b, raw(4)...)
	b = append(b, d.Field)
	now := o.Time
	if now.IsZero() {
		now = time.Now()
	}
	if v.atLeast(2, 3, 0) {
		b = now.AppendFormat(b, "20060102150405-0700")
	} else {
		b = now.AppendFormat(b, "20060102150405")
	}
	b = append(b, d.Field, d.Field)
	b = append(b, "ACK"...)
	event := msh.Field(9).Component(2).Raw()
	if v.atLeast(2, 2, 0) && (len(event) > 0 || v.atLeast(2, 3, 1)) {
		b = append(b, d.Component)
		b = append(b, event...)
	}
	if v.atLeast(2, 3, 1) {
		b = append(b, d.Component)
		b = append(b, "ACK"...)
	}
	b = append(b, d.Field)
	if o.ControlID != "" {
		b = d.AppendEscaped(b, o.ControlID)
	} else {
		b = appendControlID(b)
	}
	b = append(b, d.Field)
	b = append(b, raw(11)...)
	b = append(b, d.Field)
	b = append(b, verRaw...)
	if cs := raw(18); len(cs) > 0 {
		for n := 13; n <= 18; n++ {
			b = append(b, d.Field)
		}
		b = append(b, cs...)
	}
	b = append(b, '\r')

	b = append(b, "MSA"...)
	b = append(b, d.Field)
	b = append(b, code...)
	b = append(b, d.Field)
	b = append(b, raw(10)...)
	accepted := code == AA || code == CA
	if o.Text != "" && !v.atLeast(2, 7, 0) {
		b = append(b, d.Field)
		b = d.AppendEscaped(b, o.Text)
	}
	b = append(b, '\r')

	errs := o.Errors
	if len(errs) == 0 && !accepted && o.Text != "" {
		errs = []*Error{{Code: CodeInternalError, Severity: SeverityError, Msg: o.Text, Offset: -1}}
	}
	if len(errs) > 0 {
		b = appendERR(b, d, v, errs, occurrence)
	}
	if m.enc != nil && hasHighBytes(b) {
		if out, err := m.enc.NewEncoder().Bytes(b); err == nil {
			return out
		}
	}
	return b
}

func appendOr(b []byte, override string, raw []byte) []byte {
	if override != "" {
		return append(b, override...)
	}
	return append(b, raw...)
}

// appendControlID appends a random 20-character ID: MSH-10 is ST(20) up to
// v2.6, and an ACK's control ID only needs to be unique.
func appendControlID(b []byte) []byte {
	var r [10]byte
	for i := range r {
		r[i] = byte(rand.Uint32())
	}
	const digits = "0123456789ABCDEF"
	for _, c := range r {
		b = append(b, digits[c>>4], digits[c&15])
	}
	return b
}

// appendERR writes the errors as the version has it: before 2.5 one ERR
// segment whose ERR-1 (ELD) repeats; from 2.5 one ERR segment per error,
// with ERR-2 (location), ERR-3 (table 0357), ERR-4 (severity) and ERR-8
// (the text for a user).
func appendERR(b []byte, d Delimiters, v version, errs []*Error, occurrence func(string, int) int) []byte {
	num := func(b []byte, n int) []byte {
		if n > 0 {
			b = strconv.AppendInt(b, int64(n), 10)
		}
		return b
	}
	codeOf := func(e *Error) ErrorCode {
		if e.Code == CodeAccepted {
			return CodeInternalError
		}
		return e.Code
	}
	occ := func(e *Error) int {
		if e.Segment == "" || e.Seq <= 0 {
			return 0
		}
		if n := occurrence(e.Segment, e.Seq); n > 0 {
			return n
		}
		return 0
	}
	if !v.atLeast(2, 5, 0) {
		b = append(b, "ERR"...)
		b = append(b, d.Field)
		for i, e := range errs {
			if i > 0 {
				b = append(b, d.Repetition)
			}
			// ELD: segment ID ^ sequence ^ field position ^ code (CE, as subcomponents)
			b = d.AppendEscaped(b, e.Segment)
			b = append(b, d.Component)
			b = num(b, occ(e))
			b = append(b, d.Component)
			b = num(b, e.Field)
			b = append(b, d.Component)
			code := codeOf(e)
			b = strconv.AppendInt(b, int64(code), 10)
			b = append(b, d.Subcomponent)
			b = d.AppendEscaped(b, e.Msg)
			b = append(b, d.Subcomponent)
			b = append(b, "HL70357"...)
		}
		return append(b, '\r')
	}
	for _, e := range errs {
		b = append(b, "ERR"...)
		b = append(b, d.Field)
		b = append(b, d.Field) // ERR-1 is for backward compatibility only from 2.5
		if e.Segment != "" {
			// ERR-2 (ERL): segment ^ occurrence ^ field ^ repetition ^ component ^ subcomponent
			b = d.AppendEscaped(b, e.Segment)
			b = append(b, d.Component)
			b = num(b, max(occ(e), 1))
			if e.Field > 0 {
				b = append(b, d.Component)
				b = num(b, e.Field)
				b = append(b, d.Component)
				b = num(b, max(e.Rep, 1))
				if e.Comp > 0 {
					b = append(b, d.Component)
					b = num(b, e.Comp)
					if e.Sub > 0 {
						b = append(b, d.Component)
						b = num(b, e.Sub)
					}
				}
			}
		}
		code := codeOf(e)
		b = append(b, d.Field)
		b = strconv.AppendInt(b, int64(code), 10) // ERR-3 (CWE, table 0357)
		b = append(b, d.Component)
		b = d.AppendEscaped(b, code.Text())
		b = append(b, d.Component)
		b = append(b, "HL70357"...)
		b = append(b, d.Field)
		sev := e.Severity
		if sev == 0 {
			sev = SeverityError
		}
		b = append(b, byte(sev)) // ERR-4
		b = append(b, d.Field, d.Field, d.Field, d.Field)
		b = d.AppendEscaped(b, e.Msg) // ERR-8 user message
		b = append(b, '\r')
	}
	return b
}

// RejectRaw answers input too broken to parse with AR (CR when o.Enhanced),
// salvaging from its MSH whatever can be read (delimiters, sender, control
// ID, version) so that the sender can match the NAK to what it sent. The
// cause's located errors (see Errors) become ERR segments.
func RejectRaw(raw []byte, cause error, o AckOptions) []byte {
	code := AR
	if o.Enhanced {
		code = CR
	}
	if len(o.Errors) == 0 {
		o.Errors = Errors(cause)
		if len(o.Errors) == 0 && cause != nil {
			o.Errors = []*Error{{Code: CodeInternalError, Severity: SeverityError, Msg: cause.Error(), Offset: -1}}
		}
	}
	return buildAck(salvageMSH(raw), code, o, func(id string, seq int) int { return occurrenceIn(raw, id, seq) })
}

// occurrenceIn counts the segments with ID id among the first seq segments
// of raw input that could not be parsed, by the same line rules as Parse.
func occurrenceIn(raw []byte, id string, seq int) int {
	raw = bytes.TrimPrefix(raw, utf8BOM)
	var fs byte = '|'
	if len(raw) > 3 {
		fs = raw[3]
	}
	n, pos := 0, 0
	for k := 0; k < seq && pos < len(raw); {
		end, next := lineEnd(raw, pos, fs)
		if line := raw[pos:end]; !isBlank(line) {
			k++
			if bytes.HasPrefix(line, []byte(id)) && (len(line) == len(id) || line[len(id)] == fs) {
				n++
			}
		}
		pos = next
	}
	return n
}

// salvageMSH rebuilds a clean MSH from what can be read of a broken one.
func salvageMSH(raw []byte) *Message {
	raw = bytes.TrimPrefix(raw, utf8BOM)
	raw = bytes.TrimLeft(raw, "\r\n")
	if end := lineBreak(raw); end >= 0 {
		raw = raw[:end]
	}
	d, err := parseDelimiters(append(raw[:len(raw):len(raw)], '\r'), 0)
	if err != nil && err != errDupEncoding {
		d = DefaultDelimiters()
		if len(raw) > 4 && bytes.HasPrefix(raw, []byte("MSH")) && isDelimiter(raw[3]) && !bytes.ContainsAny(raw[3:4], "^~\\&") {
			d.Field = raw[3] // MSH-2 is broken but the fields can still be split
		} else {
			raw = nil
		}
	}
	var fields [][]byte
	if raw != nil {
		fields = bytes.Split(raw, []byte{d.Field})
	}
	get := func(n int) []byte { // HL7 field n of the broken MSH, control bytes dropped
		k := n - 1
		if k >= len(fields) || k < 2 {
			return nil
		}
		// The input is broken, so its bytes are not trusted to be text in
		// any character set: keep printable ASCII only.
		out := make([]byte, 0, len(fields[k]))
		for _, c := range fields[k] {
			switch {
			case c >= 0x80:
				out = append(out, '?')
			case c >= 0x20 && c != 0x7f:
				out = append(out, c)
			}
		}
		return out
	}
	b := []byte("MSH")
	b = append(b, d.Field)
	b = append(b, d.EncodingCharacters()...)
	for n := 3; n <= 18; n++ {
		b = append(b, d.Field)
		switch n {
		case 3, 4, 5, 6, 10, 11, 12:
			b = append(b, get(n)...)
		case 9:
			if t := get(9); len(t) > 0 {
				b = append(b, d.Component)
				if parts := bytes.Split(t, []byte{d.Component}); len(parts) > 1 {
					b = append(b, parts[1]...)
				}
			}
		}
	}
	b = append(b, '\r')
	var m Message
	if err := m.parse(b, ParseOptions{}, true); err != nil {
		m = Message{}
		_ = m.parse([]byte("MSH|^~\\&|\r"), ParseOptions{}, true)
	}
	return &m
}

// version is an HL7 version number such as 2.5.1, compared numerically.
type version [3]int

func parseVersion(s string) version {
	var v version
	s = strings.TrimLeft(strings.TrimSpace(s), "vV") // "V2.4" is seen in the wild
	for i, part := range strings.SplitN(s, ".", 3) {
		n := 0
		for _, c := range part {
			if c < '0' || c > '9' {
				break
			}
			n = n*10 + int(c-'0')
		}
		v[i] = n
	}
	return v
}

func (v version) atLeast(a, b, c int) bool {
	w := version{a, b, c}
	for i := range v {
		if v[i] != w[i] {
			return v[i] > w[i]
		}
	}
	return true
}
