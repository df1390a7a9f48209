package datatype

import "testing"

// XAD[Address] rows XAD.1 (SAD[Address]) … XAD.19; SAD[Address].
func TestXADAddress(t *testing.T) {
	aRun(t, []aCase{
		{"IG PID-11[1]: rows XAD.1-7 (H → use home), XAD.9; trailing space trimmed", "xad", "", "PID-11[1]",
			`{"use":"home","line":["1000 House Lane","Appt 123"],"city":"Ann Arbor","district":"WA","state":"MI","postalCode":"99999","country":"USA"}`, "", ""},
		{"IG PID-11[2]: V has no target; XAD.13, XAD.14 → period", "xad", "", "PID-11[2]",
			`{"line":["212 Resort Drive"],"city":"Miami","state":"FL","postalCode":"99999","country":"USA","period":{"start":"2021-09-01","end":"2021-11-15"}}`, "", ""},
		{"SAD.1-3 → line[1-3], XAD.2 → line[4], XAD.19 → line[5]", "xad",
			"PID|1||1||||||||10 Main St&Main St&10^Suite 5^Springfield^IL^62701^USA^B^^^^^^^^^^^^Attn Billing", "PID-11",
			`{"use":"work","line":["10 Main St","Main St","10","Suite 5","Attn Billing"],"city":"Springfield","state":"IL","postalCode":"62701","country":"USA"}`, "", ""},
		{"street with SAD subcomponents and nothing else", "xad", "PID|1||1||||||||10 Main St&Main St&10", "PID-11",
			`{"line":["10 Main St","Main St","10"]}`, "", ""},
		{"XAD.7 M → type postal", "xad", "PID|1||1||||||||PO Box 1^^Town^^^^M", "PID-11",
			`{"type":"postal","line":["PO Box 1"],"city":"Town"}`, "", ""},
		{"XAD.7 SH → type postal", "xad", "PID|1||1||||||||Dock 4^^Town^^^^SH", "PID-11",
			`{"type":"postal","line":["Dock 4"],"city":"Town"}`, "", ""},
		{"XAD.7 BA → use old, BI → billing, C → temp, O → work", "xad", "PID|1||1||||||||A^^T^^^^BA~B^^T^^^^BI~C^^T^^^^C~D^^T^^^^O", "PID-11[3]",
			`{"use":"temp","line":["C"],"city":"T"}`, "", ""},
		{"XAD.7 BI → billing", "xad", "PID|1||1||||||||B^^T^^^^BI", "PID-11", `{"use":"billing","line":["B"],"city":"T"}`, "", ""},
		{"XAD.7 BA → old", "xad", "PID|1||1||||||||B^^T^^^^BA", "PID-11", `{"use":"old","line":["B"],"city":"T"}`, "", ""},
		{"XAD.7 in lower case", "xad", "PID|1||1||||||||B^^T^^^^h", "PID-11", `{"use":"home","line":["B"],"city":"T"}`, "", ""},
		{"XAD.7 HV → extension iso21090-AD-use", "xad", "PID|1||1||||||||Lake Rd^^T^^^^HV", "PID-11",
			`{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/iso21090-AD-use","valueCode":"HV"}],"line":["Lake Rd"],"city":"T"}`, "", ""},
		{"XAD.7 L (legal) has no target", "xad", "PID|1||1||||||||B^^T^^^^L", "PID-11", `{"line":["B"],"city":"T"}`, "", ""},
		{"XAD.9 county CWE: CWE.2 text; XAD.10 census tract → extension (valueString)", "xad",
			"PID|1||1||||||||1 Elm^^Ann Arbor^MI^^^^^26161&Washtenaw County&FIPS6_4^4001.00", "PID-11",
			`{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/iso21090-ADXP-censusTract","valueString":"4001.00"}],
			 "line":["1 Elm"],"city":"Ann Arbor","district":"Washtenaw County","state":"MI"}`, "", ""},
		{"XAD.12 DR → period; XAD.13 wins for the start", "xad", "PID|1||1||||||||1 Elm^^T^^^^^^^^^20200101&20201231^20200601", "PID-11",
			`{"line":["1 Elm"],"city":"T","period":{"start":"2020-06-01","end":"2020-12-31"}}`, "", ""},
		{"XAD.13 not a date: error, address kept", "xad", "PID|1||1||||||||1 Elm^^T^^^^^^^^^^yesterday", "PID-11",
			`{"line":["1 Elm"],"city":"T"}`, "XAD.13:", ""},
		{"only a use: no address", "xad", "PID|1||1||||||||^^^^^^H", "PID-11", `null`, "", ""},
		{`HL7 null field`, "xad", `PID|1||1||||||||""`, "PID-11", `null`, "", ""},
		{`HL7 null components left out`, "xad", `PID|1||1||||||||1 Elm^""^T^""`, "PID-11", `{"line":["1 Elm"],"city":"T"}`, "", ""},
		{"escapes", "xad", `PID|1||1||||||||Smith \T\ Sons Bldg^^T`, "PID-11", `{"line":["Smith & Sons Bldg"],"city":"T"}`, "", ""},
		{"SAD[Address] on XAD.1", "sad", "PID|1||1||||||||10 Main St&Main St&10^^T", "PID-11.1", `{"line":["10 Main St","Main St","10"]}`, "", ""},
	})
}
