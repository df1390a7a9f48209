package datatype

// Organizations: XON[Organization], XON[Location], XON[string].
//
// Decisions:
//
//   - The identifier's value is XON.10 when valued, else XON.3 (the IG's
//     condition on XON.3). Without either there is no identifier, whatever
//     XON.6 and XON.7 say.
//   - XON.6 is read as every assigning authority is (id.go): system from
//     its universal ID, assigner.display from its namespace. The IG's two
//     rows ("if organization" → assigner, "if system" → system) are both
//     applied, each where it can be.
//   - XON.2 (name type, the IG's proposed extension nameType) and XON.8
//     (assigning facility, proposed extension) have no FHIR element; not
//     mapped. XON.9 has no target in the IG.
//   - XON[Location]'s XON.7 row puts the v2-0203 system on identifier[2], a
//     slip: the type goes on the one identifier.

import (
	"github.com/plexus-hl7/plexus/hl7"
	"github.com/plexus-hl7/plexus/transforms/fhirjson"
)

func init() {
	register(&Converter{Name: "xon", Map: "XON[Organization]", V2: []string{"XON"}, FHIR: "Organization", Fn: XONOrganization})
	register(&Converter{Name: "xon_location", Map: "XON[Location]", V2: []string{"XON"}, FHIR: "Location", Fn: xonLocation})
	register(&Converter{Name: "xon_string", Map: "XON[string]", V2: []string{"XON"}, FHIR: "string", Fn: xonString})
}

// xonIdentifier is the identifier of an XON: XON.10 or XON.3 → value, XON.4
// and XON.5 → check digit extensions, XON.6 → system and assigner, XON.7 →
// type (IdentifierType).
func xonIdentifier(c *Context, p split) fhirjson.Value {
	value := p.text(10)
	if value == "" {
		value = p.text(3)
	}
	if value == "" {
		return fhirjson.Value{}
	}
	auth := readHD(p.at(6), "XON.6", "XON.6.3")
	system := auth.system(c)
	return c.obj(
		fhirjson.M("extension", c.arr(
			stringExtension(c, urlCheckDigit, p.text(4)),
			stringExtension(c, urlCheckDigitScheme, p.text(5)),
		)),
		fhirjson.M("type", vocabCC(c, "XON.7", p.text(7), vmIdentifierType)),
		fhirjson.M("system", fhirjson.Str(system)),
		fhirjson.M("value", fhirjson.Str(value)),
		fhirjson.M("assigner", auth.assigner(c, system)),
	)
}

// XONOrganization converts an XON to an Organization (IG XON[Organization]):
//
//	XON.1 → name; XON.3 (if XON.10 is not valued) or XON.10 →
//	identifier.value; XON.4 → identifier extension identifier-checkDigit;
//	XON.5 → namingsystem-checkDigit; XON.6 → identifier.system and
//	identifier.assigner; XON.7 → identifier.type (IdentifierType).
func XONOrganization(c *Context, v hl7.Value) (fhirjson.Value, error) {
	return xonResource("Organization", c, v), nil
}

// xonLocation is XON[Location]: the elements of XON[Organization], for a
// Location: XON.1 → name; XON.3 or XON.10 → identifier.value; XON.4 →
// identifier-checkDigit; XON.5 → namingsystem-checkDigit; XON.6 →
// identifier.system and assigner; XON.7 → identifier.type.
func xonLocation(c *Context, v hl7.Value) (fhirjson.Value, error) {
	return xonResource("Location", c, v), nil
}

func xonResource(resourceType string, c *Context, v hl7.Value) fhirjson.Value {
	var buf [10]hl7.Value
	p := splitField(v, buf[:])
	id := xonIdentifier(c, p)
	name := p.text(1)
	if id.IsNull() && name == "" {
		return fhirjson.Value{}
	}
	return c.obj(
		fhirjson.M("resourceType", fhirjson.Str(resourceType)),
		fhirjson.M("identifier", c.arr(id)),
		fhirjson.M("name", fhirjson.Str(name)),
	)
}

// xonString is XON[string]: XON.1, or XON.10 when XON.1 is not valued.
func xonString(c *Context, v hl7.Value) (fhirjson.Value, error) {
	var buf [10]hl7.Value
	p := splitField(v, buf[:])
	if s := p.text(1); s != "" {
		return fhirjson.Str(s), nil
	}
	return fhirjson.Str(p.text(10)), nil
}
