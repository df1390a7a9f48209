package datatype

import "testing"

const (
	aExtCountry1 = `{"url":"http://hl7.org/fhir/StructureDefinition/contactpoint-country","valueString":"1"}`
	aExtArea555  = `{"url":"http://hl7.org/fhir/StructureDefinition/contactpoint-area","valueString":"555"}`
	aAbsentSys   = `"_system":{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/data-absent-reason","valueCode":"unknown"}]}`
)

// XTN[ContactPoint] rows XTN.1 … XTN.18.
func TestXTNContactPoint(t *testing.T) {
	aRun(t, []aCase{
		{"IG PID-13[1]: XTN.2 PRN → home, XTN.3 PH → phone, value +XTN.5 XTN.6 XTN.7, extensions", "xtn", "", "PID-13[1]",
			`{"extension":[` + aExtCountry1 + `,` + aExtArea555 + `,{"url":"http://hl7.org/fhir/StructureDefinition/contactpoint-local","valueString":"555-8473"}],
			 "system":"phone","value":"+1 555 555-8473","use":"home"}`, "", ""},
		{"IG PID-13[2]: Internet → email, XTN.4 → value, NET has no use", "xtn", "", "PID-13[2]",
			`{"system":"email","value":"eve@test.test"}`, "", ""},
		{"IG PID-14: WPN → work, XTN.8 → extension and X", "xtn", "", "PID-14",
			`{"extension":[` + aExtCountry1 + `,` + aExtArea555 + `,{"url":"http://hl7.org/fhir/StructureDefinition/contactpoint-local","valueString":"555-1126"},
			 {"url":"http://hl7.org/fhir/StructureDefinition/contactpoint-extension","valueString":"12"}],
			 "system":"phone","value":"+1 555 555-1126 X12","use":"work"}`, "", ""},
		{"IG PID-41: internet in lower case", "xtn", "", "PID-41", `{"system":"email","value":"me@northpole.earth"}`, "", ""},
		{"v2.3: number in XTN.1 with use and type", "xtn", "PID|1||1||||||||||(555)555-1234^PRN^PH", "PID-13",
			`{"system":"phone","value":"(555)555-1234","use":"home"}`, "", ""},
		{"v2.3: number alone: system data-absent-reason unknown", "xtn", "PID|1||1||||||||||(555)555-1234", "PID-13",
			`{` + aAbsentSys + `,"value":"(555)555-1234"}`, "", ""},
		{"XTN.1 and XTN.7 both: the built number", "xtn", "PID|1||1||||||||||(555)555-1234^PRN^PH^^^555^5551234", "PID-13",
			`{"extension":[` + aExtArea555 + `,{"url":"http://hl7.org/fhir/StructureDefinition/contactpoint-local","valueString":"5551234"}],
			 "system":"phone","value":"555 5551234","use":"home"}`, "", ""},
		{"XTN.7 without area code: value still built", "xtn", "PID|1||1||||||||||^PRN^PH^^^^5551234", "PID-13",
			`{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/contactpoint-local","valueString":"5551234"}],
			 "system":"phone","value":"5551234","use":"home"}`, "", ""},
		{"XTN.12 unformatted number wins", "xtn", "PID|1||1||||||||||^PRN^PH^^1^555^5551234^^^^^+15555551234", "PID-13",
			`{"extension":[` + aExtCountry1 + `,` + aExtArea555 + `,{"url":"http://hl7.org/fhir/StructureDefinition/contactpoint-local","valueString":"5551234"}],
			 "system":"phone","value":"+15555551234","use":"home"}`, "", ""},
		{"CP: system phone, use mobile (the IG's CP → mobile is a use)", "xtn", "PID|1||1||||||||||^^CP^^^555^5551234", "PID-13",
			`{"extension":[` + aExtArea555 + `,{"url":"http://hl7.org/fhir/StructureDefinition/contactpoint-local","valueString":"5551234"}],
			 "system":"phone","value":"555 5551234","use":"mobile"}`, "", ""},
		{"CP with XTN.2 WPN: use work", "xtn", "PID|1||1||||||||||^WPN^CP^^^^5551234", "PID-13",
			`{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/contactpoint-local","valueString":"5551234"}],
			 "system":"phone","value":"5551234","use":"work"}`, "", ""},
		{"PRS → mobile use", "xtn", "PID|1||1||||||||||555-1234^PRS^PH", "PID-13", `{"system":"phone","value":"555-1234","use":"mobile"}`, "", ""},
		{"FX → fax", "xtn", "PID|1||1||||||||||555-1234^WPN^FX", "PID-13", `{"system":"fax","value":"555-1234","use":"work"}`, "", ""},
		{"BP → pager", "xtn", "PID|1||1||||||||||555-1234^BPN^BP", "PID-13", `{"system":"pager","value":"555-1234"}`, "", ""},
		{"MD (modem) → other", "xtn", "PID|1||1||||||||||555-1234^^MD", "PID-13", `{"system":"other","value":"555-1234"}`, "", ""},
		{"X.400 → email", "xtn", "PID|1||1||||||||||^^X.400^C=US;O=Org", "PID-13", `{"system":"email","value":"C=US;O=Org"}`, "", ""},
		{"XTN.3 not valued, XTN.4 valued: email", "xtn", "PID|1||1||||||||||^NET^^a@b.example", "PID-13", `{"system":"email","value":"a@b.example"}`, "", ""},
		{"v2.3 email in XTN.1 with Internet", "xtn", "PID|1||1||||||||||a@b.example^NET^Internet", "PID-13", `{"system":"email","value":"a@b.example"}`, "", ""},
		{"XTN.7 of an email is not contactpoint-local", "xtn", "PID|1||1||||||||||^NET^Internet^a@b.example^^^x", "PID-13",
			`{"system":"email","value":"a@b.example"}`, "", ""},
		{"XTN.3 not in table 0202: absent system, warning", "xtn", "PID|1||1||||||||||555-1234^^ZZ", "PID-13",
			`{` + aAbsentSys + `,"value":"555-1234"}`, "", `"ZZ" is not in the IG map TelecommunicationEquipmentType`},
		{"XTN.2 not in table 0201: no use, warning", "xtn", "PID|1||1||||||||||555-1234^ZZZ^PH", "PID-13",
			`{"system":"phone","value":"555-1234"}`, "", `"ZZZ" is not in the IG map TelecommunicationUseCode`},
		{"XTN.13, XTN.14 → period; XTN.18 → rank", "xtn", "PID|1||1||||||||||555-1234^^PH^^^^^^^^^^20200101^20251231^^^^1", "PID-13",
			`{"system":"phone","value":"555-1234","rank":1,"period":{"start":"2020-01-01","end":"2025-12-31"}}`, "", ""},
		{"XTN.18 zero: error, rest kept", "xtn", "PID|1||1||||||||||555-1234^^PH^^^^^^^^^^^^^^^0", "PID-13",
			`{"system":"phone","value":"555-1234"}`, `XTN.18: "0" is not a valid HL7 preference order`, ""},
		{"XTN.18 and XTN.13 both bad: both reported", "xtn", "PID|1||1||||||||||555-1234^^PH^^^^^^^^^^x^^^^^-2", "PID-13",
			`{"system":"phone","value":"555-1234"}`, `XTN.13`, ""},
		{"no number: no ContactPoint", "xtn", "PID|1||1||||||||||^PRN^PH", "PID-13", `null`, "", ""},
		{`HL7 null field`, "xtn", `PID|1||1||||||||||""`, "PID-13", `null`, "", ""},
		{`HL7 null XTN.1 with pieces`, "xtn", `PID|1||1||||||||||""^PRN^PH^^^555^1234`, "PID-13",
			`{"extension":[` + aExtArea555 + `,{"url":"http://hl7.org/fhir/StructureDefinition/contactpoint-local","valueString":"1234"}],"system":"phone","value":"555 1234","use":"home"}`, "", ""},
	})
}
