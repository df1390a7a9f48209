// Package names holds the two normalisations that the vocabulary generator
// and the vocab package must agree on: the IG's rule for matching map keys
// and the spelling of a v2 table number.
package names

import (
	"strings"
	"unicode"
)

// Key is the IG's cross-reference rule (shared/v2-to-fhir/README.md): keys
// match case-insensitively, ignoring every character other than letters,
// digits, '[', ']' and '-'. "Yes/NoIndicator" and "yesnoindicator" both give
// "yesnoindicator".
func Key(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	for _, r := range name {
		switch {
		case unicode.IsLetter(r):
			b.WriteRune(unicode.ToLower(r))
		case unicode.IsDigit(r), r == '[', r == ']', r == '-':
			b.WriteRune(r)
		}
	}
	return b.String()
}

// V2SystemPrefix is the start of the canonical URI of an HL7 v2 table
// ("http://terminology.hl7.org/CodeSystem/v2-0001").
const V2SystemPrefix = "http://terminology.hl7.org/CodeSystem/v2-"

// Table reads a v2 table number in any of the spellings found in the IG and
// in rules, and returns it as four digits: "0001", "1", "HL70001",
// "HL7-0354", "HL0207" (a typo in ProcessingMode), "v2-0001" and the
// V2SystemPrefix URI. After a prefix the number must have four digits. ok is
// false when s is not a table number.
func Table(s string) (table string, ok bool) {
	s = strings.TrimSpace(s)
	prefixed := false
	for _, p := range []string{V2SystemPrefix, "v2-", "HL7-", "HL7", "HL"} {
		if len(s) > len(p) && strings.EqualFold(s[:len(p)], p) {
			s, prefixed = s[len(p):], true
			break
		}
	}
	if len(s) == 0 || len(s) > 4 || prefixed && len(s) != 4 {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return "", false
		}
	}
	return strings.Repeat("0", 4-len(s)) + s, true
}
