package datatype

import (
	"testing"
	"time"
)

const aAssemblyG = `{"url":"http://hl7.org/fhir/StructureDefinition/humanname-assembly-order","valueCode":"G"}`

// XPN[HumanName] rows XPN.1 (FN[HumanName]) … XPN.15; XPN[string];
// FN[HumanName].
func TestXPNHumanName(t *testing.T) {
	aRun(t, []aCase{
		{"IG PID-5[1]: rows XPN.1-5, 7 (L → official), 11, 12, 13, 14", "xpn", "", "PID-5[1]",
			`{"extension":[` + aAssemblyG + `],"use":"official","family":"Everywoman","given":["Eve","L"],"prefix":["Dr"],
			 "suffix":["Jr","PhD"],"period":{"start":"2000-09-09","end":"2030-12-31"}}`, "", ""},
		{"IG PID-5[2]: XPN.7 M → maiden, XPN.10 DR → period", "xpn", "", "PID-5[2]",
			`{"extension":[` + aAssemblyG + `],"use":"maiden","family":"Original","given":["Eve","L"],"suffix":["Jr"],
			 "period":{"start":"1970-06-01","end":"2000-09-08"}}`, "", ""},
		{"XPN.6 degree is suffix[2], XPN.14 suffix[3]", "xpn", "PID|1||1||Smith^John^^III^^MD^^^^^^^^FACP", "PID-5",
			`{"family":"Smith","given":["John"],"suffix":["III","MD","FACP"]}`, "", ""},
		{"XPN.15 called by: a second HumanName, nickname", "xpn", "PID|1||1||Smith^Robert^^^^^L^^^^^^^^Bob", "PID-5",
			`[{"use":"official","family":"Smith","given":["Robert"]},{"use":"nickname","given":["Bob"]}]`, "", ""},
		{"XPN.15 alone: the nickname only", "xpn", "PID|1||1||^^^^^^^^^^^^^^Bob", "PID-5",
			`{"use":"nickname","given":["Bob"]}`, "", ""},
		{"FN.2-FN.5: _family extensions (FN.5 as the 4th, not the IG's [3])", "xpn",
			"PID|1||1||van Beethoven-Smit&van&Beethoven&&Smit^Ludwig", "PID-5",
			`{"family":"van Beethoven-Smit","_family":{"extension":[
			  {"url":"http://hl7.org/fhir/StructureDefinition/humanname-own-prefix","valueString":"van"},
			  {"url":"http://hl7.org/fhir/StructureDefinition/humanname-own-name","valueString":"Beethoven"},
			  {"url":"http://hl7.org/fhir/StructureDefinition/humanname-partner-name","valueString":"Smit"}]},
			 "given":["Ludwig"]}`, "", ""},
		{"family name with FN subcomponents and nothing else is still an XPN", "xpn", "PID|1||1||de Vries&de&Vries", "PID-5",
			`{"family":"de Vries","_family":{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/humanname-own-prefix","valueString":"de"},
			 {"url":"http://hl7.org/fhir/StructureDefinition/humanname-own-name","valueString":"Vries"}]}}`, "", ""},
		{"XPN.7 D → usual, R → official", "xpn", "PID|1||1||Smith^Jo^^^^^D~Smith^Jo^^^^^R", "PID-5[2]",
			`{"use":"official","family":"Smith","given":["Jo"]}`, "", ""},
		{"XPN.7 with no FHIR code in NameType (B): no use, no warning", "xpn", "PID|1||1||Smith^Jo^^^^^B", "PID-5",
			`{"family":"Smith","given":["Jo"]}`, "", ""},
		{"XPN.7 not in table 0200: no use, warning", "xpn", "PID|1||1||Smith^Jo^^^^^ZZ", "PID-5",
			`{"family":"Smith","given":["Jo"]}`, "", `"ZZ" is not in the IG map NameType`},
		{"XPN.7 in lower case", "xpn", "PID|1||1||Smith^Jo^^^^^l", "PID-5", `{"use":"official","family":"Smith","given":["Jo"]}`, "", ""},
		{"XPN.11 F", "xpn", "PID|1||1||Mao^Zedong^^^^^^^^^F", "PID-5",
			`{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/humanname-assembly-order","valueCode":"F"}],"family":"Mao","given":["Zedong"]}`, "", ""},
		{"XPN.11 not in table 0444: dropped, warning", "xpn", "PID|1||1||Mao^Zedong^^^^^^^^^X", "PID-5",
			`{"family":"Mao","given":["Zedong"]}`, "", `"X" is not in the IG map NameAssemblyOrder`},
		{"XPN.12 valued: XPN.10 not used", "xpn", "PID|1||1||Smith^Jo^^^^^^^^19990101&20000101^^20240101", "PID-5",
			`{"family":"Smith","given":["Jo"],"period":{"start":"2024-01-01"}}`, "", ""},
		{"XPN.3 with several names is one given name", "xpn", "PID|1||1||Smith^Anna^Mary Ann", "PID-5",
			`{"family":"Smith","given":["Anna","Mary Ann"]}`, "", ""},
		{"apostrophe needs no escape", "xpn", "PID|1||1||O'Brien^Mary", "PID-5", `{"family":"O'Brien","given":["Mary"]}`, "", ""},
		{`escapes \T\ and \S\ decoded`, "xpn", `PID|1||1||Smith\T\Jones^Ann\S\Marie`, "PID-5",
			`{"family":"Smith&Jones","given":["Ann^Marie"]}`, "", ""},
		{"non-ASCII text", "xpn", "PID|1||1||Müller^Zoë", "PID-5", `{"family":"Müller","given":["Zoë"]}`, "", ""},
		{`HL7 null "" in a component: left out`, "xpn", `PID|1||1||Smith^""^John`, "PID-5", `{"family":"Smith","given":["John"]}`, "", ""},
		{`HL7 null field`, "xpn", `PID|1||1||""`, "PID-5", `null`, "", ""},
		{"white space trimmed, blank parts dropped", "xpn", "PID|1||1|| Smith ^   ^ Jo ", "PID-5", `{"family":"Smith","given":["Jo"]}`, "", ""},
		{"only name type and dates: no name", "xpn", "PID|1||1||^^^^^^L^^^^^20240101", "PID-5", `null`, "", ""},
		{"XPN.12 not a date: error, name kept", "xpn", "PID|1||1||Smith^Jo^^^^^^^^^^2024-13", "PID-5",
			`{"family":"Smith","given":["Jo"]}`, "XPN.12:", ""},
		{"XPN.12 after XPN.13: period dropped, error", "xpn", "PID|1||1||Smith^Jo^^^^^^^^^^2024^2020", "PID-5",
			`{"family":"Smith","given":["Jo"]}`, "XPN.12 2024 is after XPN.13 2020", ""},
		{"XPN[string] IG PID-5[1]: G order", "xpn_string", "", "PID-5[1]", `"Dr Eve L Everywoman Jr"`, "", ""},
		{"XPN[string] F order", "xpn_string", "PID|1||1||Mao^Zedong^^^^^^^^^F", "PID-5", `"Mao Zedong"`, "", ""},
		{"XPN[string] F order with prefix and middle", "xpn_string", "PID|1||1||Doe^Jane^Q^Jr^Ms^^^^^^F", "PID-5", `"Ms Doe Q Jane Jr"`, "", ""},
		{"XPN[string] mother's maiden name", "xpn_string", "", "PID-6", `"Madewell"`, "", ""},
		{"XPN[string] empty", "xpn_string", "PID|1", "PID-6", `null`, "", ""},
		{"FN[HumanName] on XPN.1", "fn", "PID|1||1||de Vries&de&Vries^Jan", "PID-5.1",
			`{"family":"de Vries","_family":{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/humanname-own-prefix","valueString":"de"},
			 {"url":"http://hl7.org/fhir/StructureDefinition/humanname-own-name","valueString":"Vries"}]}}`, "", ""},
	})
}

// BenchmarkXPN: the IG's PID-5[1] (every part, assembly order, two dates)
// and a plain name (family, given, middle initial, name type).
func BenchmarkXPN(b *testing.B) {
	for _, bb := range []struct{ name, segs, path string }{
		{"ig-pid5", "", "PID-5[1]"},
		{"plain", "PID|1||1||Smith^John^Q^^^^L", "PID-5"},
	} {
		b.Run(bb.name, func(b *testing.B) {
			v := aValue(b, bb.segs, bb.path)
			c := &Context{Location: time.UTC}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := XPNHumanName(c, v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
