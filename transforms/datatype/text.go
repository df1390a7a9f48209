package datatype

// Text types: ST, TX, FT (and ID, IS read as text) to FHIR string,
// markdown, CodeableConcept.text, Identifier.value and Annotation; SI to
// unsignedInt.
//
// hl7.Value.String has already decoded the escapes, FT's formatting
// commands included (\.br\, \.sp\ and \.ce\ become line breaks, the others
// nothing). A value is read as one repetition, as the whole of its text:
// separators a sender left unescaped inside it stay in the text rather
// than losing what follows them.
//
//   - ST, ID, IS: trimmed of surrounding white space.
//   - TX, FT: only trailing white space is trimmed (leading spaces may be
//     indentation), and each line's trailing spaces.
//   - FT to markdown (FT[Annotation-Comment]): the text as it is; FHIR
//     markdown readers show plain text as text, and no character is
//     escaped, so that the receiver gets what the sender wrote.

import (
	"strconv"
	"strings"

	"github.com/plexus-hl7/plexus/hl7"
	"github.com/plexus-hl7/plexus/transforms/fhirjson"
)

func init() {
	register(&Converter{Name: "st", Map: "ST[string]", V2: []string{"ST", "ID", "IS"}, FHIR: "string", Fn: String})
	register(&Converter{Name: "tx", Map: "TX[string]", V2: []string{"TX"}, FHIR: "string", Fn: Text})
	register(&Converter{Name: "ft", Map: "FT[string]", V2: []string{"FT"}, FHIR: "string", Fn: Text})
	register(&Converter{Name: "ft_markdown", Map: "FT[markdown]", V2: []string{"FT", "TX"}, FHIR: "markdown", Fn: Text})
	register(&Converter{Name: "ft_annotation_comment", Map: "FT[Annotation-Comment]", V2: []string{"FT"}, FHIR: "Annotation", Fn: ftAnnotation})
	register(&Converter{Name: "st_codeableconcept", Map: "ST[CodeableConcept]", V2: []string{"ST"}, FHIR: "CodeableConcept", Fn: stCodeableConcept})
	register(&Converter{Name: "st_identifier", Map: "ST[Identifier]", V2: []string{"ST"}, FHIR: "Identifier", Fn: stIdentifier})
	register(&Converter{Name: "si", Map: "SI[unsignedInt]", V2: []string{"SI"}, FHIR: "unsignedInt", Fn: seqID})
}

// String converts an ST, ID or IS (ID[string], IS[string]) to a FHIR
// string, trimmed.
func String(c *Context, v hl7.Value) (fhirjson.Value, error) {
	return fhirjson.Str(strings.TrimSpace(cleanText(v2Text(v.Rep(1))))), nil
}

// Text converts a TX or FT to a FHIR string (or markdown): line breaks
// kept, trailing white space of the text and of each line removed.
func Text(c *Context, v hl7.Value) (fhirjson.Value, error) {
	v = v.Rep(1)
	if !v.HasValue() {
		return fhirjson.Value{}, nil
	}
	s := cleanText(TextOf(v))
	if strings.Contains(s, " \n") || strings.Contains(s, "\t\n") || strings.Contains(s, "\r") {
		lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
		for i, l := range lines {
			lines[i] = strings.TrimRight(l, " \t\r")
		}
		s = strings.Join(lines, "\n")
	}
	return fhirjson.Str(strings.TrimRight(s, " \t\r\n")), nil
}

// ftAnnotation is FT[Annotation-Comment]: FT → Annotation.text (markdown).
func ftAnnotation(c *Context, v hl7.Value) (fhirjson.Value, error) {
	t, err := Text(c, v)
	return c.obj(fhirjson.M("text", t)), err
}

// stCodeableConcept is ST[CodeableConcept]: ST.1 → text.
func stCodeableConcept(c *Context, v hl7.Value) (fhirjson.Value, error) {
	t, err := String(c, v)
	return c.obj(fhirjson.M("text", t)), err
}

// stIdentifier is ST[Identifier]: ST.1 → $value, which in an Identifier is
// its value.
func stIdentifier(c *Context, v hl7.Value) (fhirjson.Value, error) {
	t, err := String(c, v)
	return c.obj(fhirjson.M("value", t)), err
}

// seqID converts an SI (a non-negative integer) to an unsignedInt. The IG
// maps no SI field; this is for local rules.
func seqID(c *Context, v hl7.Value) (fhirjson.Value, error) {
	s := v2Text(v.Rep(1))
	if s == "" {
		return fhirjson.Value{}, nil
	}
	n, err := strconv.ParseUint(s, 10, 31)
	if err != nil {
		return fhirjson.Value{}, &ValueError{Type: "SI", Value: s, Reason: "not an integer from 0 to 2147483647"}
	}
	return fhirjson.Int(int64(n)), nil
}

// cleanText replaces the control characters FHIR strings should not hold
// (below U+0020 except tab, CR and LF; \f also fails the string regex) with
// a space. It does not allocate when there are none.
func cleanText(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' && c != '\r' && c != '\n' {
			return strings.Map(func(r rune) rune {
				if r < 0x20 && r != '\t' && r != '\r' && r != '\n' {
					return ' '
				}
				return r
			}, s)
		}
	}
	return s
}
