package datatype

// Person names: XPN[HumanName], XPN[string], FN[HumanName], and the name
// parts of XCN and CNN (person.go), all built by humanName.
//
// Decisions:
//
//   - XPN.3 (second and further given names) is one given name, as sent:
//     "Mary Ann" is not split (the IG's comment leaves it open; splitting
//     would break double first names).
//   - A name with no part (family, given, prefix or suffix) is no name:
//     Null, even when XPN.7 or a period is valued.
//   - XPN.7 → use through NameType. HumanName.use has a required binding,
//     so a code the IG maps to nothing (A, B, C, ...) or that is not in
//     table 0200 gives no use (the latter with a warning).
//   - XPN.10 (DR) is the period only when neither XPN.12 nor XPN.13 is
//     valued (the IG's condition); the same for XCN.17 against XCN.19/20.
//   - XPN.11 / XCN.18 → HumanName.extension humanname-assembly-order. For
//     XCN.18 the IG writes the extension's HTML page as its URL and puts it
//     on family; the extension is defined on HumanName, with the URL used
//     here for both.
//   - FN.4 and FN.5 both go to family.extension[3] in the IG (a slip): they
//     are the third and fourth extensions of _family.
//   - XPN.15 (Called By) is a second HumanName with use nickname, "if the
//     element allows several names": xpn then returns an array of two
//     names (the nickname alone when XPN.15 is the only part). The caller
//     flattens it into a 0..* element, and keeps the first for a 0..1
//     element (Patient.contact.name).

import (
	"strings"

	"github.com/plexus-hl7/plexus/hl7"
	"github.com/plexus-hl7/plexus/transforms/fhirjson"
)

func init() {
	register(&Converter{Name: "xpn", Map: "XPN[HumanName]", V2: []string{"XPN"}, FHIR: "HumanName", Fn: XPNHumanName})
	register(&Converter{Name: "xpn_string", Map: "XPN[string]", V2: []string{"XPN"}, FHIR: "string", Fn: XPNString})
	register(&Converter{Name: "fn", Map: "FN[HumanName]", V2: []string{"FN"}, FHIR: "HumanName", Fn: fnHumanName})
}

const (
	urlOwnPrefix      = "http://hl7.org/fhir/StructureDefinition/humanname-own-prefix"
	urlOwnName        = "http://hl7.org/fhir/StructureDefinition/humanname-own-name"
	urlPartnerPrefix  = "http://hl7.org/fhir/StructureDefinition/humanname-partner-prefix"
	urlPartnerName    = "http://hl7.org/fhir/StructureDefinition/humanname-partner-name"
	urlAssemblyOrder  = "http://hl7.org/fhir/StructureDefinition/humanname-assembly-order"
	sysNameUse        = "http://hl7.org/fhir/name-use"
	sysNameAssemblyV2 = "http://terminology.hl7.org/CodeSystem/v2-0444"
)

// nameSpec says which component of a composite holds which part of a
// person's name; 0 means the type has no such part (or the map sends it
// elsewhere, as XCN[Practitioner] does with the degree).
type nameSpec struct {
	family                                    int // an FN (XPN.1, XCN.2) or an ST (CNN.2), read alike
	given, middle, suffix, prefix, degree     int
	use, validity, assembly, start, end, prof int
	calledBy                                  int
	// labels name components in warnings and errors
	useL, assemblyL, startL, endL, validityStartL, validityEndL string
}

var (
	xpnSpec = nameSpec{family: 1, given: 2, middle: 3, suffix: 4, prefix: 5, degree: 6,
		use: 7, validity: 10, assembly: 11, start: 12, end: 13, prof: 14, calledBy: 15,
		useL: "XPN.7", assemblyL: "XPN.11", startL: "XPN.12", endL: "XPN.13", validityStartL: "XPN.10.1", validityEndL: "XPN.10.2"}
	// xcnNameSpec: XCN[Patient], XCN[RelatedPerson], XCN[PractitionerRole],
	// XCN[Annotation-Author]: XCN.7 is suffix[2].
	xcnNameSpec = nameSpec{family: 2, given: 3, middle: 4, suffix: 5, prefix: 6, degree: 7,
		use: 10, validity: 17, assembly: 18, start: 19, end: 20, prof: 21,
		useL: "XCN.10", assemblyL: "XCN.18", startL: "XCN.19", endL: "XCN.20", validityStartL: "XCN.17.1", validityEndL: "XCN.17.2"}
	// xcnPractitionerNameSpec: XCN[Practitioner] sends XCN.7 to
	// qualification.code.
	xcnPractitionerNameSpec = func() nameSpec { s := xcnNameSpec; s.degree = 0; return s }()
	cnnNameSpec             = nameSpec{family: 2, given: 3, middle: 4, suffix: 5, prefix: 6, degree: 7}
)

// textAt is p.text(n), "" for n == 0.
func textAt(p split, n int) string {
	if n == 0 {
		return ""
	}
	return p.text(n)
}

// valueAt is p.at(n), empty for n == 0.
func valueAt(p split, n int) hl7.Value {
	if n == 0 {
		return hl7.Value{}
	}
	return p.at(n)
}

// familyOf is FN[HumanName] for an FN: family = FN.1, and FN.2-FN.5 as the
// own-prefix, own-name, partner-prefix and partner-name extensions of
// _family.
func familyOf(c *Context, fn hl7.Value) (family string, ext fhirjson.Value) {
	var buf [5]hl7.Value
	p := splitNested(fn, buf[:])
	family = p.text(1)
	if len(p) > 1 {
		ext = c.arr(
			stringExtension(c, urlOwnPrefix, p.text(2)),
			stringExtension(c, urlOwnName, p.text(3)),
			stringExtension(c, urlPartnerPrefix, p.text(4)),
			stringExtension(c, urlPartnerName, p.text(5)),
		)
	}
	if !ext.IsNull() {
		ext = c.obj(fhirjson.M("extension", ext))
	}
	return family, ext
}

// familyName is familyOf's family alone.
func familyName(fn hl7.Value) string {
	var buf [5]hl7.Value
	return splitNested(fn, buf[:]).text(1)
}

// assemblyExts are the humanname-assembly-order extensions of the codes of
// table 0444, built once.
var assemblyExts = map[string]fhirjson.Value{
	"G": simpleExtension(nil, urlAssemblyOrder, "valueCode", fhirjson.Str("G")),
	"F": simpleExtension(nil, urlAssemblyOrder, "valueCode", fhirjson.Str("F")),
}

func assemblyExtension(c *Context, code string) fhirjson.Value {
	if v, ok := assemblyExts[code]; ok {
		return v
	}
	return simpleExtension(c, urlAssemblyOrder, "valueCode", fhirjson.Str(code))
}

// humanName builds one HumanName from the parts s names in p.
func humanName(c *Context, p split, s *nameSpec) (fhirjson.Value, error) {
	family, familyExt := familyOf(c, valueAt(p, s.family))
	given := c.arr(fhirjson.Str(textAt(p, s.given)), fhirjson.Str(textAt(p, s.middle)))
	prefix := c.arr(fhirjson.Str(textAt(p, s.prefix)))
	suffix := c.arr(fhirjson.Str(textAt(p, s.suffix)), fhirjson.Str(textAt(p, s.degree)), fhirjson.Str(textAt(p, s.prof)))
	if family == "" && familyExt.IsNull() && given.IsNull() && prefix.IsNull() && suffix.IsNull() {
		return fhirjson.Value{}, nil
	}
	var use, assembly, period fhirjson.Value
	if s.use != 0 {
		use = fhirjson.Str(mappedCode(c, s.useL, p.text(s.use), vmNameType, sysNameUse))
	}
	if s.assembly != 0 {
		assembly = assemblyExtension(c, mappedCode(c, s.assemblyL, p.text(s.assembly), vmNameAssemblyOrder, sysNameAssemblyV2))
	}
	var err error
	if s.start != 0 || s.end != 0 {
		start, end := valueAt(p, s.start), valueAt(p, s.end)
		if start.HasValue() || end.HasValue() {
			period, err = periodOf(c, start, end, s.startL, s.endL)
		} else if s.validity != 0 && p.has(s.validity) {
			var drBuf [2]hl7.Value
			dr := splitNested(p.at(s.validity), drBuf[:])
			period, err = periodOf(c, dr.at(1), dr.at(2), s.validityStartL, s.validityEndL)
		}
	}
	return c.obj(
		fhirjson.M("extension", c.arr(assembly)),
		fhirjson.M("use", use),
		fhirjson.M("family", fhirjson.Str(family)),
		fhirjson.M("_family", familyExt),
		fhirjson.M("given", given),
		fhirjson.M("prefix", prefix),
		fhirjson.M("suffix", suffix),
		fhirjson.M("period", period),
	), err
}

// XPNHumanName converts an XPN to a HumanName (IG XPN[HumanName]):
//
//	XPN.1 (FN) → family and its extensions (FN[HumanName]); XPN.2 →
//	given[1]; XPN.3 → given[2]; XPN.4 → suffix[1]; XPN.5 → prefix; XPN.6
//	→ suffix[2]; XPN.7 → use (NameType); XPN.10 → period (DR[Period]) if
//	XPN.12 and XPN.13 are not valued; XPN.11 → extension
//	humanname-assembly-order (NameAssemblyOrder); XPN.12 → period.start;
//	XPN.13 → period.end; XPN.14 → suffix[3]; XPN.15 → a second HumanName
//	{use: nickname, given: [XPN.15]}.
//
// Not mapped: XPN.8, XPN.9 (no FHIR target in the IG). The result is one
// HumanName, or an array of two when XPN.15 is valued.
func XPNHumanName(c *Context, v hl7.Value) (fhirjson.Value, error) {
	var buf [15]hl7.Value
	p := splitField(v, buf[:])
	name, err := humanName(c, p, &xpnSpec)
	if nick := p.text(xpnSpec.calledBy); nick != "" {
		nickname := c.obj(
			fhirjson.M("use", fhirjson.Str("nickname")),
			fhirjson.M("given", c.arr(fhirjson.Str(nick))),
		)
		if name.IsNull() {
			return nickname, err
		}
		return c.arr(name, nickname), err
	}
	return name, err
}

// XPNString converts an XPN to a string (IG XPN[string]: "concatenate
// according to XPN.11"): prefix, given, further given names, family,
// suffix, separated by spaces, in the order of XPN.11 (table 0444: G =
// Prefix Given Middle Family Suffix, the default; F = Prefix Family Middle
// Given Suffix).
func XPNString(c *Context, v hl7.Value) (fhirjson.Value, error) {
	var buf [15]hl7.Value
	p := splitField(v, buf[:])
	return fhirjson.Str(personDisplay(p, &xpnSpec, strings.EqualFold(p.text(xpnSpec.assembly), "F"))), nil
}

// personDisplay is a name as one line of text, for XPN[string] and the
// display of references to people.
func personDisplay(p split, s *nameSpec, familyFirst bool) string {
	family := familyName(valueAt(p, s.family))
	parts := [5]string{textAt(p, s.prefix), textAt(p, s.given), textAt(p, s.middle), family, textAt(p, s.suffix)}
	if familyFirst {
		parts[1], parts[3] = parts[3], parts[1]
	}
	var b strings.Builder
	for _, s := range parts {
		if s == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s)
	}
	return b.String()
}

// fnHumanName is FN[HumanName]: a HumanName with only family and its
// extensions.
func fnHumanName(c *Context, v hl7.Value) (fhirjson.Value, error) {
	family, ext := familyOf(c, v)
	return c.obj(fhirjson.M("family", fhirjson.Str(family)), fhirjson.M("_family", ext)), nil
}
