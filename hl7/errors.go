package hl7

import (
	"errors"
	"strconv"
	"strings"
)

// ErrorCode is a code from HL7 table 0357 (message error condition codes),
// used in ERR segments and carried by every located Error.
type ErrorCode int

// Codes of HL7 table 0357.
const (
	CodeAccepted              ErrorCode = 0
	CodeSegmentSequence       ErrorCode = 100
	CodeRequiredFieldMissing  ErrorCode = 101
	CodeDataType              ErrorCode = 102
	CodeTableValueNotFound    ErrorCode = 103
	CodeValueTooLong          ErrorCode = 104
	CodeUnsupportedMessage    ErrorCode = 200
	CodeUnsupportedEvent      ErrorCode = 201
	CodeUnsupportedProcessing ErrorCode = 202
	CodeUnsupportedVersion    ErrorCode = 203
	CodeUnknownKey            ErrorCode = 204
	CodeDuplicateKey          ErrorCode = 205
	CodeRecordLocked          ErrorCode = 206
	CodeInternalError         ErrorCode = 207
)

// Text is the table 0357 description of the code, as sent in ERR-3.2.
func (c ErrorCode) Text() string {
	switch c {
	case CodeAccepted:
		return "Message accepted"
	case CodeSegmentSequence:
		return "Segment sequence error"
	case CodeRequiredFieldMissing:
		return "Required field missing"
	case CodeDataType:
		return "Data type error"
	case CodeTableValueNotFound:
		return "Table value not found"
	case CodeValueTooLong:
		return "Value too long"
	case CodeUnsupportedMessage:
		return "Unsupported message type"
	case CodeUnsupportedEvent:
		return "Unsupported event code"
	case CodeUnsupportedProcessing:
		return "Unsupported processing id"
	case CodeUnsupportedVersion:
		return "Unsupported version id"
	case CodeUnknownKey:
		return "Unknown key identifier"
	case CodeDuplicateKey:
		return "Duplicate key identifier"
	case CodeRecordLocked:
		return "Application record locked"
	default:
		return "Application internal error"
	}
}

// Severity is HL7 table 0516 (error severity), sent in ERR-4 from v2.5 on.
type Severity byte

// Severities of table 0516.
const (
	SeverityError       Severity = 'E'
	SeverityWarning     Severity = 'W'
	SeverityInformation Severity = 'I'
	SeverityFatal       Severity = 'F'
)

// Error is a problem located in a message: what is wrong and where. It is the
// error type Parse returns, what header checks return, and what an ACK turns
// into an ERR segment. Zero location fields mean "not known / not relevant".
type Error struct {
	Segment  string // segment ID, e.g. "MSH"; empty when the problem precedes any segment
	Seq      int    // 1-based position of the segment in the message
	Field    int    // 1-based field number (MSH-1 is the field separator)
	Rep      int
	Comp     int
	Sub      int
	Offset   int // byte offset into the input (into its UTF-8 text when a non-UTF-8 character set was decoded); -1 if not known
	Code     ErrorCode
	Severity Severity
	Msg      string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("hl7: ")
	if loc := e.Location(); loc != "" {
		b.WriteString(loc)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Location renders where the error is, e.g. "PID-3[2].1 (segment 3, byte 120)".
func (e *Error) Location() string {
	var b strings.Builder
	if e.Segment != "" {
		b.WriteString(e.Segment)
		if e.Field > 0 {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(e.Field))
			if e.Rep > 0 {
				b.WriteByte('[')
				b.WriteString(strconv.Itoa(e.Rep))
				b.WriteByte(']')
			}
			if e.Comp > 0 {
				b.WriteByte('.')
				b.WriteString(strconv.Itoa(e.Comp))
				if e.Sub > 0 {
					b.WriteByte('.')
					b.WriteString(strconv.Itoa(e.Sub))
				}
			}
		}
	}
	var paren []string
	if e.Seq > 0 {
		paren = append(paren, "segment "+strconv.Itoa(e.Seq))
	}
	if e.Offset >= 0 {
		paren = append(paren, "byte "+strconv.Itoa(e.Offset))
	}
	if len(paren) > 0 {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteByte('(')
		b.WriteString(strings.Join(paren, ", "))
		b.WriteByte(')')
	}
	return b.String()
}

// Errors lists every located error in err (an *Error, or errors joined with
// errors.Join), so that an ACK can carry one ERR segment per problem.
func Errors(err error) []*Error {
	if err == nil {
		return nil
	}
	var out []*Error
	var walk func(error)
	walk = func(err error) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		var he *Error
		if errors.As(err, &he) {
			out = append(out, he)
		}
	}
	walk(err)
	return out
}

// Warning is something a lenient parse accepted but an operator should know
// about (a declared charset that the bytes contradict, an odd segment ID).
type Warning struct {
	Seq int // 1-based segment position; 0 for the whole message
	Msg string
}

func (w Warning) String() string {
	if w.Seq > 0 {
		return "segment " + strconv.Itoa(w.Seq) + ": " + w.Msg
	}
	return w.Msg
}
