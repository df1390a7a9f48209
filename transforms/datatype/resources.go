package datatype

import (
	"strconv"

	"github.com/plexus-hl7/plexus/hl7"
	"github.com/plexus-hl7/plexus/transforms/fhirjson"
)

// Coded values that name a resource: DLD[Location-Discharge] (PV1-37,
// discharged to location) and CWE[Organization] (ORC-17 entering
// organization, and other CWE fields that name an organization).

func init() {
	register(&Converter{Name: "dld", Map: "DLD[Location-Discharge]", V2: []string{"DLD"}, FHIR: "Location", Fn: DLDLocation})
	register(&Converter{Name: "cwe_organization", Map: "CWE[Organization]", V2: []string{"CWE", "CE"}, FHIR: "Organization", Fn: CWEOrganization})
}

// DLDLocation converts a DLD to a Location (IG DLD[Location-Discharge]):
//
//	DLD.1 → type (CWE[CodeableConcept]).
//
// Not mapped: DLD.2 (the effective date: no target in the IG).
func DLDLocation(c *Context, v hl7.Value) (fhirjson.Value, error) {
	var buf [2]hl7.Value
	p := splitField(v, buf[:])
	typ, err := CodeableConcept(c, p.at(1))
	if typ.IsNull() {
		return fhirjson.Value{}, err
	}
	return c.obj(
		fhirjson.M("resourceType", fhirjson.Str("Location")),
		fhirjson.M("type", c.arr(typ)),
	), err
}

// CWEOrganization converts a CWE to an Organization (IG CWE[Organization]):
//
//	CWE.1 → identifier.value; CWE.3 → identifier.system (the coding
//	system's URI, as CWE[CodeableConcept] finds it; a name with no known
//	URI is left out, with a warning); CWE.2 → name, else CWE.9.
//
// Not mapped: CWE.4-CWE.8 and CWE.10-CWE.22 (no target in the IG).
func CWEOrganization(c *Context, v hl7.Value) (fhirjson.Value, error) {
	p := readCWE(v)
	name := p.text(2)
	if name == "" {
		name = p.text(9)
	}
	var id fhirjson.Value
	if value := p.text(1); value != "" {
		system, ok := SystemURI(p.text(3))
		if !ok {
			c.warn("CWE.3: coding system " + strconv.Quote(p.text(3)) + " has no known URI; the organization's identifier has no system")
			system = ""
		}
		id = c.obj(fhirjson.M("system", fhirjson.Str(system)), fhirjson.M("value", fhirjson.Str(value)))
	}
	if id.IsNull() && name == "" {
		return fhirjson.Value{}, nil
	}
	return c.obj(
		fhirjson.M("resourceType", fhirjson.Str("Organization")),
		fhirjson.M("identifier", c.arr(id)),
		fhirjson.M("name", fhirjson.Str(name)),
	), nil
}
