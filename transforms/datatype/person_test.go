package datatype

import (
	"strings"
	"testing"
)

const (
	aTypeNPI = `{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"NPI","display":"National provider identifier"}]}`
	// aXCN is an XCN with every mapped component, aligned as v2.5.1 has it.
	aXCN   = "PV1|1|I|||||1234^Smith^John^J^III^Dr^MD^^HOSP&1.2.3&ISO^L^7^M10^NPI^^^^^G^20200101^20301231^FACP"
	aXCNID = `{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/identifier-checkDigit","valueString":"7"},
	  {"url":"http://hl7.org/fhir/StructureDefinition/namingsystem-checkDigit","valueString":"M10"}],
	  "type":` + aTypeNPI + `,"system":"urn:oid:1.2.3","value":"1234","assigner":{"display":"HOSP"}}`
	aXCNName = `"extension":[` + aAssemblyG + `],"use":"official","family":"Smith","given":["John","J"],"prefix":["Dr"]`
	aXCNPer  = `"period":{"start":"2020-01-01","end":"2030-12-31"}`
	aQualMD  = `"qualification":[{"code":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0360","code":"MD","display":"Doctor of Medicine"}]}}]`
)

// XCN[Practitioner] rows XCN.1-XCN.7, XCN.9-XCN.13, XCN.17-XCN.21; the
// other XCN maps; CNN[Practitioner].
func TestXCNPractitioner(t *testing.T) {
	aRun(t, []aCase{
		{"every row: XCN.7 → qualification, XCN.21 → suffix", "xcn", aXCN, "PV1-7",
			`{"resourceType":"Practitioner","identifier":[` + aXCNID + `],
			  "name":[{` + aXCNName + `,"suffix":["III","FACP"],` + aXCNPer + `}],` + aQualMD + `}`, "", ""},
		{"IG PV1-7: its XCN.16-19 are shifted; XCN.19 \"doctor\" is an error, the rest is kept", "xcn", "", "PV1-7",
			`{"resourceType":"Practitioner","identifier":[{"extension":[
			   {"url":"http://hl7.org/fhir/StructureDefinition/identifier-checkDigit","valueString":"1"},
			   {"url":"http://hl7.org/fhir/StructureDefinition/namingsystem-checkDigit","valueString":"M10"}],
			  "type":` + aTypeNPI + `,"system":"urn:oid:1.2.3.4.5.6","value":"214425290","assigner":{"display":"AssignAuth"}}],
			  "name":[{"use":"official","family":"Doctor","given":["Emory","E"],"prefix":["Dr"],"suffix":["Sr"]}],` + aQualMD + `}`,
			`XCN.19: "doctor" is not a valid HL7 date/time`, `"20330101000000" is not in the IG map NameAssemblyOrder`},
		{"XCN.17 DR when XCN.19/20 are not valued", "xcn", "PV1|1|I|||||1234^Smith^^^^^^^^^^^^^^^20200101&20211231", "PV1-7",
			`{"resourceType":"Practitioner","identifier":[{"value":"1234"}],"name":[{"family":"Smith","period":{"start":"2020-01-01","end":"2021-12-31"}}]}`, "", ""},
		{"v2.3 CN: id and name", "xcn", "PV1|1|I|||||1234^Smith^John", "PV1-7",
			`{"resourceType":"Practitioner","identifier":[{"value":"1234"}],"name":[{"family":"Smith","given":["John"]}]}`, "", ""},
		{"name only", "xcn", "PV1|1|I|||||^Smith^John", "PV1-7",
			`{"resourceType":"Practitioner","name":[{"family":"Smith","given":["John"]}]}`, "", ""},
		{"id only", "xcn", "PV1|1|I|||||1234", "PV1-7", `{"resourceType":"Practitioner","identifier":[{"value":"1234"}]}`, "", ""},
		{"XCN.7 not in table 0360: kept, warning", "xcn", "PV1|1|I|||||1234^Smith^^^^^XYZ", "PV1-7",
			`{"resourceType":"Practitioner","identifier":[{"value":"1234"}],"name":[{"family":"Smith"}],
			  "qualification":[{"code":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0360","code":"XYZ"}]}}]}`, "", `"XYZ" is not in the IG map DegreeLicenseCertificate`},
		{"only a degree: no practitioner", "xcn", "PV1|1|I|||||^^^^^^MD", "PV1-7", `null`, "", ""},
		{`HL7 null`, "xcn", `PV1|1|I|||||""`, "PV1-7", `null`, "", ""},
		{"repetitions are converted one by one", "xcn", "ROL|1|AD|AT|1^A~2^B", "ROL-4[2]",
			`{"resourceType":"Practitioner","identifier":[{"value":"2"}],"name":[{"family":"B"}]}`, "", ""},
		{"XCN[Patient]: XCN.7 and XCN.21 are suffixes", "xcn_patient", aXCN, "PV1-7",
			`{"resourceType":"Patient","identifier":[` + aXCNID + `],"name":[{` + aXCNName + `,"suffix":["III","MD","FACP"],` + aXCNPer + `}]}`, "", ""},
		{"XCN[RelatedPerson]", "xcn_relatedperson", aXCN, "PV1-7",
			`{"resourceType":"RelatedPerson","identifier":[` + aXCNID + `],"name":[{` + aXCNName + `,"suffix":["III","MD","FACP"],` + aXCNPer + `}]}`, "", ""},
		{"XCN[PractitionerRole]: logical reference to the practitioner", "xcn_practitionerrole", aXCN, "PV1-7",
			`{"resourceType":"PractitionerRole","practitioner":{"identifier":` + aXCNID + `,"display":"Dr John J Smith III"}}`, "", ""},
		{"XCN[PractitionerRole] name only", "xcn_practitionerrole", "PV1|1|I|||||^Smith^John", "PV1-7",
			`{"resourceType":"PractitionerRole","practitioner":{"display":"John Smith"}}`, "", ""},
		{"XCN[PractitionerRole] empty", "xcn_practitionerrole", "PV1|1|I", "PV1-7", `null`, "", ""},
		{"XCN[Annotation-Author]: logical reference", "xcn_annotation_author", "PV1|1|I|||||1234^Smith^John", "PV1-7",
			`{"identifier":{"value":"1234"},"display":"John Smith"}`, "", ""},
		{"CNN[Practitioner] as NDL.1 (subcomponents), CNN.9-11 as authority", "cnn",
			"OBR|1" + strings.Repeat("|", 31) + "1234&Smith&John&&&Dr&MD&&HOSP&1.2.3&ISO^20240101", "OBR-32.1",
			`{"resourceType":"Practitioner","identifier":[{"system":"urn:oid:1.2.3","value":"1234","assigner":{"display":"HOSP"}}],
			  "name":[{"family":"Smith","given":["John"],"prefix":["Dr"],"suffix":["MD"]}]}`, "", ""},
		{"CNN[Practitioner] given as a field", "cnn", "PV1|1|I|||||1234^Smith^John^A^Jr", "PV1-7",
			`{"resourceType":"Practitioner","identifier":[{"value":"1234"}],"name":[{"family":"Smith","given":["John","A"],"suffix":["Jr"]}]}`, "", ""},
		{"CNN[Practitioner] empty", "cnn", "OBR|1", "OBR-32.1", `null`, "", ""},
		{"NDL[PractitionerRole]: NDL.1 a logical reference, NDL.2/3 the period", "ndl",
			"OBR|1" + strings.Repeat("|", 31) + "1234&Smith&John&&&Dr&MD&&HOSP&1.2.3&ISO^20240101^20240102^LAB", "OBR-32",
			`{"resourceType":"PractitionerRole","practitioner":{"identifier":{"system":"urn:oid:1.2.3","value":"1234","assigner":{"display":"HOSP"}},"display":"Dr John Smith"},
			  "period":{"start":"2024-01-01","end":"2024-01-02"}}`, "", ""},
		{"NDL[PractitionerRole] name only", "ndl", "OBR|1" + strings.Repeat("|", 31) + "&Smith&John", "OBR-32",
			`{"resourceType":"PractitionerRole","practitioner":{"display":"John Smith"}}`, "", ""},
		{"NDL[PractitionerRole] empty", "ndl", "OBR|1", "OBR-32", `null`, "", ""},
	})
}

// DLD[Location-Discharge] and CWE[Organization].
func TestResourcesFromCodes(t *testing.T) {
	aRun(t, []aCase{
		{"DLD: a Location of that type", "dld", "PV1|1|I" + strings.Repeat("|", 35) + "SNF&Skilled nursing facility&HL70113^20240101", "PV1-37",
			`{"resourceType":"Location","type":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0113","code":"SNF","display":"Skilled nursing facility"}]}]}`, "", ""},
		{"DLD empty", "dld", "PV1|1|I", "PV1-37", `null`, "", ""},
		{"CWE[Organization]: identifier and name", "cwe_organization", "ORC|NW" + strings.Repeat("|", 16) + "MAINLAB^Main Lab^HL70362", "ORC-17",
			`{"resourceType":"Organization","identifier":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0362","value":"MAINLAB"}],"name":"Main Lab"}`, "", ""},
		{"CWE[Organization]: a local system, CWE.9 as the name", "cwe_organization", "ORC|NW" + strings.Repeat("|", 16) + "LAB1^^L^^^^^^Main Lab", "ORC-17",
			`{"resourceType":"Organization","identifier":[{"value":"LAB1"}],"name":"Main Lab"}`, "", `coding system "L" has no known URI`},
		{"CWE[Organization] empty", "cwe_organization", "ORC|NW", "ORC-17", `null`, "", ""},
	})
}
