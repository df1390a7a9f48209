package datatype

// HL7 date and time types (DTM, TS, DT, TM) to FHIR date, dateTime,
// instant and time.
//
// The IG has two maps for these: DTM[dateTime] and TS[dateTime] (TS.1 through
// DTM[dateTime]; TS.2, degree of precision, is not mapped). Both say only
// "convert the v2 date time format to the FHIR date time format". Its segment
// maps also send DTM to date (PID-7 → birthDate), instant (MSH-7 →
// Bundle.timestamp, EVN-2 → Provenance.recorded) and TM to time, without a
// data type map: the converters dtm_date, dt, dtm_instant and tm do those.
//
// The rules, decided here because the IG leaves them open:
//
//   - Input: HL7 DTM YYYY[MM[DD[HH[MM[SS[.S…]]]]]][+/-ZZZZ]. The first
//     subcomponent of the first component is read, so a 2.3–2.5 TS with its
//     degree of precision (20240506^D), a TS inside a component (XPN.12 as
//     20240506&D) and a plain DTM all work. Surrounding spaces are ignored.
//     Fractional seconds may have 1 to 9 digits (v2 allows 4; senders send 6).
//     The offset must have 4 digits and lie in -1200..+1400.
//   - Precision is kept: 2024 → "2024", 202405 → "2024-05",
//     20240506 → "2024-05-06", and fractional digits as sent.
//   - A time with less than seconds (HH or HHMM) has the missing minutes and
//     seconds filled with zeros: FHIR requires hh:mm:ss whenever there is a
//     time.
//   - A time needs a zone in FHIR. Without an offset, Context.Location gives
//     it: the offset in force in that zone at that local time (DST-aware; a
//     local time that falls in a DST gap or overlap takes the offset Go's
//     time.Date chooses). Context.Warn is told a zone was assumed. With no
//     Location, such a value is an error. A date without a time needs no
//     zone, and an offset sent with a date only is dropped.
//   - Offsets are written +hh:mm, +0000 as "+00:00" (not "Z"); an offset
//     from Location that is not a whole number of minutes (local mean time
//     before 1900) is rounded to the minute.
//   - Second 60 (a leap second) is accepted and kept: both v2 and FHIR allow
//     it. Hour 24 is rejected (FHIR has none).
//   - date (dtm_date, dt): only the date part, as the sender wrote it (no
//     conversion between zones), whatever the precision.
//   - instant (dtm_instant): needs a time of day; hours or hours and minutes
//     are padded as for dateTime; a date without a time is an error, since
//     an instant is a moment and midnight would be invented.
//   - time (tm): hh:mm:ss[.f]; FHIR time has no zone, so an offset is
//     dropped (with a warning).
//   - Year 0000 is rejected (FHIR years start at 0001).

import (
	"bytes"
	"strconv"
	"time"

	"github.com/plexus-hl7/plexus/hl7"
	"github.com/plexus-hl7/plexus/transforms/fhirjson"
)

func init() {
	register(&Converter{Name: "dtm", Map: "DTM[dateTime]", V2: []string{"DTM", "DT"}, FHIR: "dateTime", Fn: DateTime})
	register(&Converter{Name: "ts", Map: "TS[dateTime]", V2: []string{"TS"}, FHIR: "dateTime", Fn: DateTime})
	register(&Converter{Name: "dtm_date", Map: "DTM[date]", V2: []string{"DTM", "TS", "DT"}, FHIR: "date", Fn: Date})
	register(&Converter{Name: "dt", Map: "DT[date]", V2: []string{"DT"}, FHIR: "date", Fn: Date})
	register(&Converter{Name: "dtm_instant", Map: "DTM[instant]", V2: []string{"DTM", "TS"}, FHIR: "instant", Fn: Instant})
	register(&Converter{Name: "tm", Map: "TM[time]", V2: []string{"TM"}, FHIR: "time", Fn: Time})
	register(&Converter{Name: "dtm_annotation_time", Map: "DTM[Annotation-Time]", V2: []string{"DTM", "TS"}, FHIR: "Annotation", Fn: annotationTime})
}

// ValueError is a v2 value that cannot be converted: what it is, and why.
// Its message quotes the value; Reason alone does not.
type ValueError struct {
	Type   string // the v2 type, as it reads in a message: "date/time", "time", "ED"
	Value  string
	Reason string
}

func (e *ValueError) Error() string {
	return strconv.Quote(e.Value) + " is not a valid HL7 " + e.Type + ": " + e.Reason
}

// Precision of a parsed DTM.
const (
	precYear = iota + 1
	precMonth
	precDay
	precHour
	precMinute
	precSecond
)

// dtm is a parsed HL7 DTM or TM. frac aliases the input.
type dtm struct {
	year, month, day int
	hour, min, sec   int
	frac             []byte // digits after the '.', nil if none
	prec             int
	hasTZ            bool
	tz               int // offset in minutes east of UTC
	tzNeg            bool
}

// firstAtom is the text of a DTM/TS/TM value: TS.1 of a TS (first
// component), or of a TS used as a component (first subcomponent).
func firstAtom(v hl7.Value) []byte {
	return bytes.TrimSpace(v.Sub(1).Raw())
}

func digits(b []byte) int {
	n := 0
	for n < len(b) && b[n] >= '0' && b[n] <= '9' {
		n++
	}
	return n
}

func atoi(b []byte) int {
	n := 0
	for _, c := range b {
		n = n*10 + int(c-'0')
	}
	return n
}

func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

var monthNames = [...]string{"", "January", "February", "March", "April", "May", "June",
	"July", "August", "September", "October", "November", "December"}

// parseTail reads the optional fraction and offset after the digits.
func parseTail(d *dtm, b []byte, fracOK bool) string {
	if len(b) > 0 && b[0] == '.' {
		if !fracOK {
			return "fractional seconds without seconds"
		}
		n := digits(b[1:])
		if n == 0 {
			return "no digits after '.'"
		}
		if n > 9 {
			return "more than 9 digits of fractional seconds"
		}
		d.frac = b[1 : 1+n]
		b = b[1+n:]
	}
	if len(b) > 0 && (b[0] == '+' || b[0] == '-') {
		if len(b) != 5 || digits(b[1:]) != 4 {
			return "time zone offset must be +HHMM or -HHMM"
		}
		h, m := atoi(b[1:3]), atoi(b[3:5])
		if m > 59 {
			return "time zone offset minutes " + string(b[3:5])
		}
		d.tzNeg = b[0] == '-'
		d.tz = h*60 + m
		if d.tzNeg {
			d.tz = -d.tz
		}
		if d.tz < -12*60 || d.tz > 14*60 {
			return "time zone offset " + string(b) + " outside -1200..+1400"
		}
		d.hasTZ = true
		b = b[5:]
	}
	if len(b) > 0 {
		return "unexpected " + strconv.QuoteRune(rune(b[0]))
	}
	return ""
}

// parseDTM parses YYYY[MM[DD[HH[MM[SS[.S…]]]]]][+/-ZZZZ]; it returns the
// reason when b is not one.
func parseDTM(b []byte) (dtm, string) {
	var d dtm
	n := digits(b)
	switch n {
	case 4, 6, 8, 10, 12, 14:
	default:
		if n == len(b) {
			return d, strconv.Itoa(n) + " digits (expected YYYY[MM[DD[HH[MM[SS]]]]])"
		}
		if n < 4 {
			return d, "expected a 4-digit year first"
		}
		// digits then something: a length that is not a precision
		return d, strconv.Itoa(n) + " digits before " + strconv.QuoteRune(rune(b[n])) + " (expected YYYY[MM[DD[HH[MM[SS]]]]])"
	}
	d.prec = n/2 - 1
	d.year = atoi(b[0:4])
	if d.year == 0 {
		return d, "year 0000"
	}
	if n >= 6 {
		d.month = atoi(b[4:6])
		if d.month < 1 || d.month > 12 {
			return d, "month " + strconv.Itoa(d.month)
		}
	}
	if n >= 8 {
		d.day = atoi(b[6:8])
		if d.day < 1 || d.day > daysIn(d.year, d.month) {
			return d, "day " + strconv.Itoa(d.day) + " in " + monthNames[d.month] + " " + string(b[0:4])
		}
	}
	if n > 8 {
		if r := parseClock(&d, b[8:n]); r != "" {
			return d, r
		}
	}
	if r := parseTail(&d, b[n:], n == 14); r != "" {
		return d, r
	}
	return d, ""
}

// parseClock reads HH[MM[SS]] (an even number of digits, up to 6).
func parseClock(d *dtm, b []byte) string {
	if len(b) >= 2 {
		d.hour = atoi(b[0:2])
		if d.hour > 23 {
			return "hour " + strconv.Itoa(d.hour)
		}
	}
	if len(b) >= 4 {
		d.min = atoi(b[2:4])
		if d.min > 59 {
			return "minute " + strconv.Itoa(d.min)
		}
	}
	if len(b) >= 6 {
		d.sec = atoi(b[4:6])
		if d.sec > 60 {
			return "second " + strconv.Itoa(d.sec)
		}
	}
	return ""
}

// parseTM parses HH[MM[SS[.S…]]][+/-ZZZZ].
func parseTM(b []byte) (dtm, string) {
	var d dtm
	n := digits(b)
	switch n {
	case 2, 4, 6:
	default:
		return d, strconv.Itoa(n) + " digits (expected HH[MM[SS]])"
	}
	d.prec = precDay + n/2
	if r := parseClock(&d, b[:n]); r != "" {
		return d, r
	}
	if r := parseTail(&d, b[n:], n == 6); r != "" {
		return d, r
	}
	return d, ""
}

func append2(dst []byte, n int) []byte {
	return append(dst, byte('0'+n/10), byte('0'+n%10))
}

func appendDate(dst []byte, d *dtm) []byte {
	y := d.year
	dst = append(dst, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10))
	if d.prec >= precMonth {
		dst = append2(append(dst, '-'), d.month)
	}
	if d.prec >= precDay {
		dst = append2(append(dst, '-'), d.day)
	}
	return dst
}

// appendClock appends hh:mm:ss[.f], zero-filled below the precision.
func appendClock(dst []byte, d *dtm) []byte {
	dst = append2(dst, d.hour)
	dst = append2(append(dst, ':'), d.min)
	dst = append2(append(dst, ':'), d.sec)
	if len(d.frac) > 0 {
		dst = append(append(dst, '.'), d.frac...)
	}
	return dst
}

func appendOffset(dst []byte, neg bool, minutes int) []byte {
	if neg || minutes < 0 {
		dst = append(dst, '-')
	} else {
		dst = append(dst, '+')
	}
	if minutes < 0 {
		minutes = -minutes
	}
	return append2(append(append2(dst, minutes/60), ':'), minutes%60)
}

// zone sets d's offset from c.Location when it has none.
func (d *dtm) zone(c *Context, raw []byte) error {
	if d.hasTZ {
		return nil
	}
	if c == nil || c.Location == nil {
		return &ValueError{Type: "date/time", Value: string(raw), Reason: "no time zone offset, and no default time zone configured"}
	}
	sec := d.sec
	if sec > 59 {
		sec = 59
	}
	t := time.Date(d.year, time.Month(d.month), d.day, d.hour, d.min, sec, 0, c.Location)
	_, off := t.Zone()
	m := off / 60
	if r := off % 60; r >= 30 {
		m++
	} else if r <= -30 {
		m--
	}
	if m < -12*60 || m > 14*60 {
		return &ValueError{Type: "date/time", Value: string(raw), Reason: "offset of time zone " + c.Location.String() + " outside -12:00..+14:00"}
	}
	d.tz, d.hasTZ = m, true
	if c.Warn != nil {
		c.Warn("HL7 date/time without time zone offset: assumed " + c.Location.String())
	}
	return nil
}

// readDTM reads the date/time of v (TS.1 of a TS); ok is false for an
// empty or null value (err nil) and for one that is not a date/time.
func readDTM(v hl7.Value) (d dtm, raw []byte, ok bool, err error) {
	if !v.HasValue() {
		return dtm{}, nil, false, nil
	}
	raw = firstAtom(v)
	if len(raw) == 0 || isNullText(raw) {
		return dtm{}, nil, false, nil
	}
	d, reason := parseDTM(raw)
	if reason != "" {
		return dtm{}, raw, false, dtmError(raw, reason)
	}
	return d, raw, true, nil
}

func dtmError(raw []byte, reason string) error {
	return &ValueError{Type: "date/time", Value: string(raw), Reason: reason}
}

// DateTime converts a DTM, DT or TS (TS.1) to a FHIR dateTime.
func DateTime(c *Context, v hl7.Value) (fhirjson.Value, error) {
	d, raw, ok, err := readDTM(v)
	if !ok {
		return fhirjson.Value{}, err
	}
	var buf [48]byte
	out := appendDate(buf[:0], &d)
	if d.prec >= precHour {
		if err := d.zone(c, raw); err != nil {
			return fhirjson.Value{}, err
		}
		out = appendOffset(appendClock(append(out, 'T'), &d), d.tzNeg, d.tz)
	}
	return fhirjson.Str(TextFrom(out)), nil
}

// Date converts a DTM, DT or TS (TS.1) to a FHIR date: the date part as
// the sender wrote it, at the precision it has (YYYY, YYYY-MM, YYYY-MM-DD).
func Date(c *Context, v hl7.Value) (fhirjson.Value, error) {
	d, _, ok, err := readDTM(v)
	if !ok {
		return fhirjson.Value{}, err
	}
	var buf [10]byte
	return fhirjson.Str(TextFrom(appendDate(buf[:0], &d))), nil
}

// Instant converts a DTM or TS (TS.1) to a FHIR instant. The value must
// have a time of day; minutes and seconds missing are zero-filled, and the
// zone comes from Context.Location when the value has no offset.
func Instant(c *Context, v hl7.Value) (fhirjson.Value, error) {
	d, raw, ok, err := readDTM(v)
	if !ok {
		return fhirjson.Value{}, err
	}
	if d.prec < precHour {
		return fhirjson.Value{}, dtmError(raw, "an instant needs a time of day (at least YYYYMMDDHH)")
	}
	if err := d.zone(c, raw); err != nil {
		return fhirjson.Value{}, err
	}
	var buf [48]byte
	out := appendDate(buf[:0], &d)
	out = appendOffset(appendClock(append(out, 'T'), &d), d.tzNeg, d.tz)
	return fhirjson.Str(TextFrom(out)), nil
}

// Time converts a TM to a FHIR time (hh:mm:ss[.f]); minutes and seconds
// missing are zero-filled, and an offset is dropped with a warning since
// FHIR time has no zone.
func Time(c *Context, v hl7.Value) (fhirjson.Value, error) {
	if !v.HasValue() {
		return fhirjson.Value{}, nil
	}
	raw := firstAtom(v)
	if len(raw) == 0 || isNullText(raw) {
		return fhirjson.Value{}, nil
	}
	d, reason := parseTM(raw)
	if reason != "" {
		return fhirjson.Value{}, &ValueError{Type: "time", Value: string(raw), Reason: reason}
	}
	if d.hasTZ {
		c.warn("HL7 time with a time zone offset: FHIR time has none, offset dropped")
	}
	var buf [32]byte
	return fhirjson.Str(TextFrom(appendClock(buf[:0], &d))), nil
}

// isNullText reports whether b is the HL7 null "" (after trimming, or as
// the first component of a field).
func isNullText(b []byte) bool {
	return len(b) == 2 && b[0] == '"' && b[1] == '"'
}

// annotationTime is DTM[Annotation-Time]: DTM.1 → Annotation.time. The
// Annotation's text (required) comes from another field.
func annotationTime(c *Context, v hl7.Value) (fhirjson.Value, error) {
	t, err := DateTime(c, v)
	return c.obj(fhirjson.M("time", t)), err
}
