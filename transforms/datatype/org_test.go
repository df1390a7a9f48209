package datatype

import "testing"

const aTypeXX = `{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"XX","display":"Organization identifier"}]}`

// XON[Organization] rows XON.1, XON.3-XON.7, XON.10; XON[Location];
// XON[string].
func TestXONOrganization(t *testing.T) {
	const pd1 = `"identifier":[{"type":` + aTypeXX + `,"system":"urn:oid:1.2.3.4.5.6","value":"4324B","assigner":{"display":"AssignAuth"}}],"name":"East Hospital"`
	aRun(t, []aCase{
		{"IG PD1-3: XON.1, XON.6, XON.7, XON.10 (XON.2 and XON.8 not mapped)", "xon", "", "PD1-3",
			`{"resourceType":"Organization",` + pd1 + `}`, "", ""},
		{"IG MSH-22: XON.10 wins over XON.3; XON.4, XON.5 check digit", "xon", "", "MSH-22",
			`{"resourceType":"Organization","identifier":[{"extension":[
			  {"url":"http://hl7.org/fhir/StructureDefinition/identifier-checkDigit","valueString":"1"},
			  {"url":"http://hl7.org/fhir/StructureDefinition/namingsystem-checkDigit","valueString":"1000"}],
			 "type":` + aTypeXX + `,"system":"urn:oid:1.2.3.4.5","value":"67890","assigner":{"display":"AssignAuth"}}],"name":"SndOrg"}`, "", ""},
		{"v2.3 style: XON.3 as the value", "xon", "PD1|||Good Health Hospital^L^123", "PD1-3",
			`{"resourceType":"Organization","identifier":[{"value":"123"}],"name":"Good Health Hospital"}`, "", ""},
		{"name only", "xon", "PD1|||Good Health Hospital", "PD1-3", `{"resourceType":"Organization","name":"Good Health Hospital"}`, "", ""},
		{"identifier only, namespace authority", "xon", "PD1|||^^^^^HOSP^XX^^^A1", "PD1-3",
			`{"resourceType":"Organization","identifier":[{"type":` + aTypeXX + `,"value":"A1","assigner":{"display":"HOSP"}}]}`, "", ""},
		{"authority and type without a number: no identifier", "xon", "PD1|||Clinic^^^^^HOSP^XX", "PD1-3",
			`{"resourceType":"Organization","name":"Clinic"}`, "", ""},
		{"escapes in the name", "xon", `PD1|||Smith \T\ Sons Clinic`, "PD1-3", `{"resourceType":"Organization","name":"Smith & Sons Clinic"}`, "", ""},
		{"empty", "xon", "PD1|||", "PD1-3", `null`, "", ""},
		{`HL7 null`, "xon", `PD1|||""`, "PD1-3", `null`, "", ""},
		{"XON[Location] IG PD1-3", "xon_location", "", "PD1-3", `{"resourceType":"Location",` + pd1 + `}`, "", ""},
		{"XON[string]: XON.1", "xon_string", "", "MSH-22", `"SndOrg"`, "", ""},
		{"XON[string]: XON.10 when XON.1 is not valued", "xon_string", "PD1|||^^^^^^^^^A1", "PD1-3", `"A1"`, "", ""},
	})
}
