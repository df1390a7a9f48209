package fhir

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// PrimitiveError is a value that is not valid for a primitive type. Its
// message does not repeat the value (it may be patient data); Value has it.
type PrimitiveError struct {
	Type   string
	Value  string
	Reason string
}

func (e *PrimitiveError) Error() string {
	return fmt.Sprintf("not a valid FHIR %s: %s", e.Type, e.Reason)
}

var (
	regexOnce sync.Once
	regexes   map[string]*regexp.Regexp
)

// compileRegexes compiles the formats of all primitive types, once.
func compileRegexes() {
	regexes = map[string]*regexp.Regexp{}
	for _, t := range Types() {
		if t.Kind == KindPrimitive && t.Regex != "" {
			// The definitions' regexes are unanchored (XML Schema style).
			regexes[t.Name] = regexp.MustCompile(`^(?:` + t.Regex + `)$`)
		}
	}
}

// formats are hints for the error messages.
var formats = map[string]string{
	"date":        "YYYY, YYYY-MM or YYYY-MM-DD",
	"dateTime":    "YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss[.fff](Z|+hh:mm)",
	"instant":     "YYYY-MM-DDThh:mm:ss[.fff](Z|+hh:mm)",
	"time":        "hh:mm:ss[.fff]",
	"boolean":     "true or false",
	"integer":     "a 32-bit integer",
	"positiveInt": "an integer from 1 to 2147483647",
	"unsignedInt": "an integer from 0 to 2147483647",
	"decimal":     "a decimal number",
	"id":          "1 to 64 of A-Z a-z 0-9 - .",
	"oid":         "urn:oid:1.2.3",
	"uuid":        "urn:uuid: and a lower-case UUID",
	"code":        "no leading, trailing or double whitespace",
}

// ValidatePrimitive checks value against the format of the primitive type
// typeName: the regex of its definition, plus what the regex cannot say
// (dates exist in the calendar, integers fit in 32 bits). It returns a
// *PrimitiveError, or an error for a type that is not primitive.
func ValidatePrimitive(typeName, value string) error {
	t, ok := Lookup(typeName)
	if !ok {
		return unknownType(typeName)
	}
	if t.Kind != KindPrimitive {
		return fmt.Errorf("%s is not a primitive type", typeName)
	}
	regexOnce.Do(compileRegexes)
	fail := func(reason string) error {
		if reason == "" {
			reason = "does not match its format"
			if f := formats[typeName]; f != "" {
				reason = "expected " + f
			}
		}
		return &PrimitiveError{Type: typeName, Value: value, Reason: reason}
	}
	if re := regexes[typeName]; re != nil && !re.MatchString(value) {
		return fail("")
	}
	switch {
	case t.IsA("integer"):
		if _, err := strconv.ParseInt(value, 10, 32); err != nil {
			return fail("")
		}
	case typeName == "date" || typeName == "dateTime" || typeName == "instant":
		if !validDay(value) {
			return fail("no such day")
		}
	case typeName == "xhtml":
		if !strings.HasPrefix(strings.TrimSpace(value), "<div") {
			return fail("expected an XHTML <div> element")
		}
	}
	return nil
}

// validDay checks the day of a date that matched the regex (YYYY-MM-DD...).
func validDay(v string) bool {
	if len(v) < 10 {
		return true // YYYY or YYYY-MM
	}
	y, _ := strconv.Atoi(v[0:4])
	m, _ := strconv.Atoi(v[5:7])
	d, _ := strconv.Atoi(v[8:10])
	days := [...]int{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[m-1]
	if m == 2 && y%4 == 0 && (y%100 != 0 || y%400 == 0) {
		days = 29
	}
	return d <= days
}
