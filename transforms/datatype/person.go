package datatype

// People: XCN[Practitioner], XCN[PractitionerRole], XCN[RelatedPerson],
// XCN[Patient], XCN[Annotation-Author] and CNN[Practitioner].
//
// Decisions:
//
//   - The identifier (XCN.1, XCN.9, XCN.11-XCN.13) is built as a CX's is
//     (id.go): no XCN.1, no identifier. XCN[RelatedPerson] sends XCN.9 only
//     to a proposed extension (assigningAuthority) that FHIR does not have;
//     it is read as for the other XCN maps (system and assigner), so that
//     the same XCN gives the same identifier whatever resource it makes.
//   - CNN.9-CNN.11 (assigning authority namespace, universal ID and type,
//     flattened into components) go to proposed extensions in the IG; they
//     are read as an HD, as XCN.9 is.
//   - XCN.14 (assigning facility) has only the IG's proposed extension; not
//     mapped. XCN.8, XCN.15, XCN.16 and XCN.22-XCN.25 have no target.
//   - The name is built as an XPN's is (name.go), with the XCN components.
//     XCN[Practitioner] sends XCN.7 (degree) to qualification.code
//     (DegreeLicenseCertificate) and XCN.21 to suffix; the other XCN maps
//     send XCN.7 to suffix[2].
//   - XCN[PractitionerRole] and XCN[Annotation-Author] fill only a
//     reference to the Practitioner: they return it as a logical Reference
//     (identifier and display, the name as one line of text). The rule
//     engine makes the Practitioner itself with xcn from the same field and
//     can turn the logical reference into a literal one.
//   - A person with neither identifier nor name is Null.

import (
	"strings"

	"github.com/plexus-hl7/plexus/hl7"
	"github.com/plexus-hl7/plexus/transforms/fhirjson"
)

func init() {
	register(&Converter{Name: "xcn", Map: "XCN[Practitioner]", V2: []string{"XCN", "CN"}, FHIR: "Practitioner", Fn: XCNPractitioner})
	register(&Converter{Name: "xcn_practitionerrole", Map: "XCN[PractitionerRole]", V2: []string{"XCN", "CN"}, FHIR: "PractitionerRole", Fn: xcnPractitionerRole})
	register(&Converter{Name: "xcn_relatedperson", Map: "XCN[RelatedPerson]", V2: []string{"XCN", "CN"}, FHIR: "RelatedPerson", Fn: xcnRelatedPerson})
	register(&Converter{Name: "xcn_patient", Map: "XCN[Patient]", V2: []string{"XCN", "CN"}, FHIR: "Patient", Fn: xcnPatient})
	register(&Converter{Name: "xcn_annotation_author", Map: "XCN[Annotation-Author]", V2: []string{"XCN", "CN"}, FHIR: "Reference", Fn: xcnAnnotationAuthor})
	register(&Converter{Name: "cnn", Map: "CNN[Practitioner]", V2: []string{"CNN"}, FHIR: "Practitioner", Fn: CNNPractitioner})
}

// personIdentifier is the identifier of an XCN or CNN: value, assigning
// authority, and for XCN (withXCN) the check digit (XCN.11, XCN.12) and
// type (XCN.13, IdentifierType).
func personIdentifier(c *Context, p split, auth hdValue, withXCN bool) fhirjson.Value {
	value := p.text(1)
	if value == "" {
		return fhirjson.Value{}
	}
	system := auth.system(c)
	var ext, typeCC fhirjson.Value
	if withXCN {
		ext = c.arr(
			stringExtension(c, urlCheckDigit, p.text(11)),
			stringExtension(c, urlCheckDigitScheme, p.text(12)),
		)
		typeCC = vocabCC(c, "XCN.13", p.text(13), vmIdentifierType)
	}
	return c.obj(
		fhirjson.M("extension", ext),
		fhirjson.M("type", typeCC),
		fhirjson.M("system", fhirjson.Str(system)),
		fhirjson.M("value", fhirjson.Str(value)),
		fhirjson.M("assigner", auth.assigner(c, system)),
	)
}

func xcnIdentifier(c *Context, p split) fhirjson.Value {
	return personIdentifier(c, p, readHD(p.at(9), "XCN.9", "XCN.9.3"), true)
}

// XCNPractitioner converts an XCN to a Practitioner (IG XCN[Practitioner]):
//
//	XCN.1 → identifier.value; XCN.2 (FN) → name.family; XCN.3 →
//	name.given[1]; XCN.4 → name.given[2]; XCN.5 → name.suffix[1]; XCN.6 →
//	name.prefix; XCN.7 → qualification.code (DegreeLicenseCertificate);
//	XCN.9 → identifier.system and identifier.assigner; XCN.10 → name.use
//	(NameType); XCN.11 → identifier extension identifier-checkDigit;
//	XCN.12 → namingsystem-checkDigit; XCN.13 → identifier.type
//	(IdentifierType); XCN.17 → name.period if XCN.19 and XCN.20 are not
//	valued; XCN.18 → name extension humanname-assembly-order; XCN.19 →
//	name.period.start; XCN.20 → name.period.end; XCN.21 → name.suffix[2].
func XCNPractitioner(c *Context, v hl7.Value) (fhirjson.Value, error) {
	var buf [21]hl7.Value
	p := splitField(v, buf[:])
	id := xcnIdentifier(c, p)
	name, err := humanName(c, p, &xcnPractitionerNameSpec)
	if id.IsNull() && name.IsNull() {
		return fhirjson.Value{}, err
	}
	var qual fhirjson.Value
	if cc := vocabCC(c, "XCN.7", p.text(7), vmDegreeLicenseCert); !cc.IsNull() {
		qual = c.arr(c.obj(fhirjson.M("code", cc)))
	}
	return c.obj(
		fhirjson.M("resourceType", fhirjson.Str("Practitioner")),
		fhirjson.M("identifier", c.arr(id)),
		fhirjson.M("name", c.arr(name)),
		fhirjson.M("qualification", qual),
	), err
}

// xcnPerson is XCN[Patient] and XCN[RelatedPerson]: identifier and name
// (XCN.7 → name.suffix[2], XCN.21 → name.suffix).
func xcnPerson(resourceType string, c *Context, v hl7.Value) (fhirjson.Value, error) {
	var buf [21]hl7.Value
	p := splitField(v, buf[:])
	id := xcnIdentifier(c, p)
	name, err := humanName(c, p, &xcnNameSpec)
	if id.IsNull() && name.IsNull() {
		return fhirjson.Value{}, err
	}
	return c.obj(
		fhirjson.M("resourceType", fhirjson.Str(resourceType)),
		fhirjson.M("identifier", c.arr(id)),
		fhirjson.M("name", c.arr(name)),
	), err
}

// xcnRelatedPerson is XCN[RelatedPerson]. RelatedPerson.patient (1..1) is
// the rule engine's to set.
func xcnRelatedPerson(c *Context, v hl7.Value) (fhirjson.Value, error) {
	return xcnPerson("RelatedPerson", c, v)
}

// xcnPatient is XCN[Patient].
func xcnPatient(c *Context, v hl7.Value) (fhirjson.Value, error) {
	return xcnPerson("Patient", c, v)
}

// xcnReference is a logical Reference to the person of an XCN: its
// identifier, and its name as display.
func xcnReference(c *Context, p split) fhirjson.Value {
	return c.obj(
		fhirjson.M("identifier", xcnIdentifier(c, p)),
		fhirjson.M("display", fhirjson.Str(personDisplay(p, &xcnNameSpec, strings.EqualFold(p.text(18), "F")))),
	)
}

// xcnPractitionerRole is XCN[PractitionerRole]: every row fills the
// referenced Practitioner, so the PractitionerRole has only practitioner,
// a logical Reference (see the file comment): XCN.1 and XCN.9 as its
// identifier, the name as its display. Not mapped: XCN.2, XCN.3, XCN.4,
// XCN.5, XCN.6, XCN.10, XCN.17, XCN.18, XCN.19 and XCN.20 as elements of
// a Practitioner resource (Practitioner.name...): the reference is
// logical, no Practitioner is made for a PractitionerRole.
func xcnPractitionerRole(c *Context, v hl7.Value) (fhirjson.Value, error) {
	var buf [21]hl7.Value
	ref := xcnReference(c, splitField(v, buf[:]))
	if ref.IsNull() {
		return ref, nil
	}
	return c.obj(
		fhirjson.M("resourceType", fhirjson.Str("PractitionerRole")),
		fhirjson.M("practitioner", ref),
	), nil
}

// xcnAnnotationAuthor is XCN[Annotation-Author]: Annotation.authorReference
// to the Practitioner, as a logical Reference.
func xcnAnnotationAuthor(c *Context, v hl7.Value) (fhirjson.Value, error) {
	var buf [21]hl7.Value
	return xcnReference(c, splitField(v, buf[:])), nil
}

// CNNPractitioner converts a CNN to a Practitioner (IG CNN[Practitioner]):
//
//	CNN.1 → identifier.value; CNN.2 → name.family; CNN.3 →
//	name.given[1]; CNN.4 → name.given[2]; CNN.5 → name.suffix[1]; CNN.6 →
//	name.prefix; CNN.7 → name.suffix[2]; CNN.9-CNN.11 → identifier.system
//	and identifier.assigner (see the file comment).
//
// Not mapped: CNN.8 (no target in the IG).
func CNNPractitioner(c *Context, v hl7.Value) (fhirjson.Value, error) {
	var buf [11]hl7.Value
	p := splitNested(v, buf[:])
	auth := hdValue{ns: p.text(9), uid: p.text(10), typ: p.text(11), comp: "CNN.9-11", typComp: "CNN.11"}
	id := personIdentifier(c, p, auth, false)
	name, err := humanName(c, p, &cnnNameSpec)
	if id.IsNull() && name.IsNull() {
		return fhirjson.Value{}, err
	}
	return c.obj(
		fhirjson.M("resourceType", fhirjson.Str("Practitioner")),
		fhirjson.M("identifier", c.arr(id)),
		fhirjson.M("name", c.arr(name)),
	), err
}
