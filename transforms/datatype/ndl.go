package datatype

import (
	"github.com/plexus-hl7/plexus/hl7"
	"github.com/plexus-hl7/plexus/transforms/fhirjson"
)

func init() {
	register(&Converter{Name: "ndl", Map: "NDL[PractitionerRole]", V2: []string{"NDL"}, FHIR: "PractitionerRole", Fn: NDLPractitionerRole})
}

// NDLPractitionerRole converts an NDL (OBR-32 principal result interpreter,
// OBR-33 assistant, OBR-34 technician, OBR-35 transcriptionist) to a
// PractitionerRole (IG NDL[PractitionerRole]):
//
//	NDL.1 → practitioner (CNN[Practitioner]), as a logical Reference like
//	XCN[PractitionerRole]'s: identifier (CNN.1, CNN.9-CNN.11) and the name
//	as display; NDL.2 → period.start; NDL.3 → period.end.
//
// Not mapped: NDL.4, NDL.5, NDL.6, NDL.7, NDL.8, NDL.10 and NDL.11 (the
// place, as PL.1-PL.8 are a PL's: the IG's rows make a chain of Locations
// of them whose element in PractitionerRole they do not name), NDL.9 (no
// target in the IG).
func NDLPractitionerRole(c *Context, v hl7.Value) (fhirjson.Value, error) {
	var buf [11]hl7.Value
	p := splitField(v, buf[:])
	var practitioner fhirjson.Value
	if p.has(1) {
		var cnnBuf [11]hl7.Value
		q := splitNested(p.at(1), cnnBuf[:])
		auth := hdValue{ns: q.text(9), uid: q.text(10), typ: q.text(11), comp: "NDL.1.9-11", typComp: "NDL.1.11"}
		practitioner = c.obj(
			fhirjson.M("identifier", personIdentifier(c, q, auth, false)),
			fhirjson.M("display", fhirjson.Str(personDisplay(q, &cnnNameSpec, false))),
		)
	}
	start, err := DateTime(c, p.at(2))
	if err != nil {
		return fhirjson.Value{}, err
	}
	end, err := DateTime(c, p.at(3))
	if err != nil {
		return fhirjson.Value{}, err
	}
	period := c.obj(fhirjson.M("start", start), fhirjson.M("end", end))
	if practitioner.IsNull() && period.IsNull() {
		return fhirjson.Value{}, nil
	}
	return c.obj(
		fhirjson.M("resourceType", fhirjson.Str("PractitionerRole")),
		fhirjson.M("practitioner", practitioner),
		fhirjson.M("period", period),
	), nil
}
