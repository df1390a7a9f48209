package transforms

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/plexus-hl7/plexus/hl7"
	"github.com/plexus-hl7/plexus/internal/fhirvalidate"
)

// Two order groups, the first without an ORC, NTEs after the OBR and
// after each OBX, a specimen with its own OBX.
const groupedORU = "MSH|^~\\&|LAB|HOSP|EHR|HOSP|20240506070809||ORU^R01^ORU_R01|MSG1|P|2.5.1\r" +
	"PID|1||12345^^^HOSP^MR||DOE^JANE\r" +
	"OBR|1||F1|CBC^Blood count\rNTE|1||about the order\r" +
	"OBX|1|NM|HGB^Hemoglobin||13.5|g/dL|||||F\rNTE|1||about HGB\r" +
	"OBX|2|NM|WBC^Leukocytes||6.1|10*9/L|||||F\r" +
	"ORC|RE||F2|||||||||1234^WELBY^MARCUS\rOBR|2||F2|LIPID^Lipid panel\r" +
	"OBX|1|NM|CHOL^Cholesterol||190|mg/dL|||||F\rNTE|1||fasting\rNTE|2||repeat in a year\r" +
	"SPM|1|S1||BLD^Blood\rOBX|1|ST|COND^Condition||hemolyzed||||||F\r"

const groupRules = `name: groups
bundle: collection
structure: ORU_R01
resources:
  - id: patient
    resource: Patient
    set:
      identifier: cx(PID[3])
  - id: report
    resource: DiagnosticReport
    foreach: ORDER_OBSERVATION
    set:
      status: '"final"'
      code: cwe(OBR[4])
      identifier[0].value: text(OBR[3])
      subject: ref(patient)
      # the ORC of this group; none in the first
      performer[+]:
        when: present(ORC)
        display: text(ORC[12][2])
      conclusion: text(NTE[3])
      result[+]:
        foreach: OBSERVATION
        reference: '"Observation/" + text(OBX[3][1])'
  - id: observation
    resource: Observation
    foreach: OBX
    set:
      status: '"final"'
      code: cwe(OBX[3])
      valueString: text(OBX[5])
      subject: ref(patient)
      derivedFrom[+]:
        reference: '"DiagnosticReport/" + text(OBR[3])'
      note[+]:
        foreach: NTE
        text: text(NTE[3])
`

func TestSegmentGroups(t *testing.T) {
	r, err := Compile("groups.yaml", []byte(groupRules))
	if err != nil {
		t.Fatal(err)
	}
	m, err := hl7.Parse([]byte(groupedORU))
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Convert(m)
	if err != nil {
		t.Fatal(err, res.Errors)
	}
	fhirvalidate.ForTest(t).AssertValid(t, res.Bundle)
	var b struct {
		Entry []struct {
			Resource map[string]any `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(res.Bundle, &b); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range b.Entry {
		r := e.Resource
		switch r["resourceType"] {
		case "DiagnosticReport":
			s := "report " + field(r, "identifier", "value") + ": conclusion " + str(r["conclusion"]) + "; performer " + field(r, "performer", "display") + "; results " + field(r, "result", "reference")
			got = append(got, s)
		case "Observation":
			got = append(got, "obs "+field(r, "code", "coding", "code")+" of "+field(r, "derivedFrom", "reference")+": notes "+field(r, "note", "text"))
		}
	}
	want := []string{
		"report F1: conclusion about the order; performer ; results Observation/HGB,Observation/WBC",
		"report F2: conclusion ; performer WELBY; results Observation/CHOL",
		"obs HGB of DiagnosticReport/F1: notes about HGB",
		"obs WBC of DiagnosticReport/F1: notes ",
		"obs CHOL of DiagnosticReport/F2: notes fasting,repeat in a year",
		"obs COND of DiagnosticReport/F2: notes ",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// Without the structure the nearest-before rule gives the first group
	// the second one's ORC and NTEs leak: the difference groups make.
	plainRules := strings.NewReplacer("structure: ORU_R01\n", "", "foreach: ORDER_OBSERVATION", "foreach: OBR", "foreach: OBSERVATION", "foreach: OBX").Replace(groupRules)
	plain, err := Compile("plain.yaml", []byte(plainRules))
	if err != nil {
		t.Fatal(err)
	}
	pres, err := plain.Convert(m)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(pres.Bundle), `"display":"WELBY"`) || strings.Count(string(pres.Bundle), "WELBY") != 2 {
		t.Errorf("without groups, expected the second ORC in both reports (the old rule): %s", pres.Bundle)
	}
}

// field joins the values at a path through objects and lists.
func field(v any, path ...string) string {
	var out []string
	var walk func(v any, p []string)
	walk = func(v any, p []string) {
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				walk(e, p)
			}
		case map[string]any:
			if len(p) > 0 {
				walk(x[p[0]], p[1:])
			}
		case string:
			if len(p) == 0 {
				out = append(out, x)
			}
		}
	}
	walk(v, path)
	return strings.Join(out, ",")
}

func str(v any) string { s, _ := v.(string); return s }

func TestSegmentGroupErrors(t *testing.T) {
	for name, c := range map[string]struct{ src, want string }{
		"no structure": {"name: x\nresources:\n  - id: r\n    resource: Basic\n    foreach: ORDER_OBSERVATION\n    set:\n      code.text: '\"x\"'\n",
			"x.yaml:5:14: foreach ORDER_OBSERVATION names a segment group: say which message structure the rules are for"},
		"unknown structure": {"name: x\nstructure: ORU_R1\nresources:\n  - id: r\n    resource: Basic\n    set:\n      code.text: '\"x\"'\n",
			`x.yaml:2:12: structure "ORU_R1" is not a message structure Plexus knows (did you mean "ORU_R01"?)`},
		"unknown group": {"name: x\nstructure: ORU_R01\nresources:\n  - id: r\n    resource: Basic\n    foreach: ORDER_OBSERVATON\n    set:\n      code.text: '\"x\"'\n",
			"x.yaml:6:14: ORU_R01 has no segment group ORDER_OBSERVATON (did you mean ORDER_OBSERVATION?)"},
		"block group": {"name: x\nstructure: ORU_R01\nresources:\n  - id: r\n    resource: DiagnosticReport\n    set:\n      status: '\"final\"'\n      code.text: '\"x\"'\n      result[+]:\n        foreach: OBSERVATON\n        reference: '\"x\"'\n",
			"x.yaml:10:18: ORU_R01 has no segment group OBSERVATON (did you mean OBSERVATION?)"},
	} {
		_, err := Compile("x.yaml", []byte(c.src))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v\nwant %s", name, err, c.want)
		}
	}
}

// before() and within() tell where a segment stands: a ROL after PID from
// one after PV1, a ROL of a PROCEDURE group from the others.
func TestBeforeWithin(t *testing.T) {
	rules := `name: where
bundle: collection
structure: ADT_A01
resources:
  - id: role
    resource: Basic
    foreach: ROL
    set:
      code.text: text(ROL[3][1])
      code.coding[0].code: 'within("PROCEDURE") ? "procedure" : (within("INSURANCE") ? "insurance" : (before("PV1") ? "visit" : "patient"))'
`
	r, err := Compile("where.yaml", []byte(rules))
	if err != nil {
		t.Fatal(err)
	}
	msg := "MSH|^~\\&|A|B|C|D|20240101||ADT^A01^ADT_A01|1|P|2.5.1\rEVN|A01\rPID|1||1^^^H^MR\rROL|1|AD|PP\r" +
		"PV1|1|I\rROL|2|AD|AT\rPR1|1||P1\rROL|3|AD|SURG\rIN1|1|PLAN\rROL|4|AD|INS\r"
	m, err := hl7.Parse([]byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Convert(m)
	if err != nil {
		t.Fatal(err, res.Errors)
	}
	var got []string
	var b struct {
		Entry []struct {
			Resource map[string]any `json:"resource"`
		} `json:"entry"`
	}
	json.Unmarshal(res.Bundle, &b)
	for _, e := range b.Entry {
		got = append(got, field(e.Resource, "code", "text")+":"+field(e.Resource, "code", "coding", "code"))
	}
	if want := "PP:patient AT:visit SURG:procedure INS:insurance"; strings.Join(got, " ") != want {
		t.Errorf("got %s, want %s", strings.Join(got, " "), want)
	}
	for _, c := range []struct{ src, want string }{
		{strings.Replace(rules, `within("PROCEDURE")`, `within("PROCEDUR")`, 1), "ADT_A01 has no segment group PROCEDUR (did you mean PROCEDURE?)"},
		{strings.Replace(rules, `before("PV1")`, `before(PV1)`, 1), `before() takes a segment ID in quotes`},
		{strings.Replace(rules, "structure: ADT_A01\n", "", 1), "say which message structure the rules are for"},
	} {
		if _, err := Compile("where.yaml", []byte(c.src)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v, want %q", err, c.want)
		}
	}
}

// $this in a block: the element is the converter's, then refined — PID-13
// "home" unless PID-13.2 says otherwise, per repetition.
func TestBlockThis(t *testing.T) {
	rules := `name: this
bundle: collection
resources:
  - id: patient
    resource: Patient
    set:
      telecom[+home]:
        foreach: PID[13]
        $this: xtn(PID[13])
        use: '!present(PID[13][2]) ? "home" : nil'
`
	r, err := Compile("this.yaml", []byte(rules))
	if err != nil {
		t.Fatal(err)
	}
	m, err := hl7.Parse([]byte("MSH|^~\\&|A|B|C|D|20240101||ADT^A01|1|P|2.5.1\rPID|1||1^^^H^MR||DOE^J||||||||^^PH^^^555^1234567~^WPN^PH^^^555^7654321\r"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Convert(m)
	if err != nil {
		t.Fatal(err, res.Errors)
	}
	fhirvalidate.ForTest(t).AssertValid(t, res.Bundle)
	var b struct {
		Entry []struct {
			Resource map[string]any `json:"resource"`
		} `json:"entry"`
	}
	json.Unmarshal(res.Bundle, &b)
	if got := field(b.Entry[0].Resource, "telecom", "use"); got != "home,work" {
		t.Errorf("telecom uses %q, want home,work: %s", got, res.Bundle)
	}
	for _, c := range []struct{ src, want string }{
		{strings.Replace(rules, "        $this: xtn(PID[13])\n        use:", "        use:", 1) + "        $this: xtn(PID[13])\n", "$this comes first in its block"},
		{strings.Replace(rules, "xtn(PID[13])", "xpn(PID[5])", 1), "Patient.telecom is ContactPoint, but xpn returns HumanName"},
	} {
		if _, err := Compile("this.yaml", []byte(c.src)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v, want %q", err, c.want)
		}
	}
}

// refs() lists every instance: a Provenance of an A17 targets both
// patients, where ref() gives one.
func TestRefs(t *testing.T) {
	r, err := Compile("refs.yaml", []byte(`name: refs
bundle: collection
resources:
  - id: patient
    resource: Patient
    foreach: PID
    set:
      identifier: cx(PID[3])
  - id: prov
    resource: Provenance
    set:
      recorded: '"2024-01-01T00:00:00Z"'
      agent[0].who.display: '"x"'
      target: refs(patient)
`))
	if err != nil {
		t.Fatal(err)
	}
	m, err := hl7.Parse([]byte("MSH|^~\\&|A|B|C|D|20240101||ADT^A17|1|P|2.5.1\rPID|1||1^^^H^MR\rPV1|1|I\rPID|2||2^^^H^MR\rPV1|1|I\r"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Convert(m)
	if err != nil {
		t.Fatal(err, res.Errors)
	}
	fhirvalidate.ForTest(t).AssertValid(t, res.Bundle)
	if n := strings.Count(string(res.Bundle), `"target":[{"reference":"urn:uuid:`); n != 1 || strings.Count(string(res.Bundle), `{"reference":"urn:uuid:`) != 2 {
		t.Errorf("Provenance targets: %s", res.Bundle)
	}
}

// foreach: GROUP.SEG takes the segments that are that group's own: an
// SIU's service notes, not the message's or a location's; a procedure's
// ROLs, not the patient's.
func TestForeachGroupSegment(t *testing.T) {
	r, err := Compile("slots.yaml", []byte(`name: slots
bundle: collection
structure: SIU_S12
resources:
  - id: appt
    resource: Basic
    set:
      code.text: '"appointment"'
      extension[+]:
        foreach: SERVICE.NTE
        url: '"http://example.org/note"'
        valueString: text(NTE[3])
  - id: service
    resource: Basic
    foreach: SERVICE.AIS
    set:
      code.text: text(AIS[3][1])
`))
	if err != nil {
		t.Fatal(err)
	}
	m, err := hl7.Parse([]byte("MSH|^~\\&|A|B|C|D|20240101||SIU^S12|1|P|2.5\rSCH|1\rNTE|1||message\rRGS|1\rAIS|1||ECG\rNTE|1||service\rAIL|1||ROOM\rNTE|1||location\r"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Convert(m)
	if err != nil {
		t.Fatal(err, res.Errors)
	}
	b := string(res.Bundle)
	if !strings.Contains(b, `"valueString":"service"`) || strings.Contains(b, `"valueString":"message"`) || strings.Contains(b, `"valueString":"location"`) || !strings.Contains(b, `"text":"ECG"`) {
		t.Errorf("SERVICE.NTE and SERVICE.AIS: %s", b)
	}
	for src, want := range map[string]string{
		"name: x\nstructure: SIU_S12\nresources:\n  - id: r\n    resource: Basic\n    foreach: SERVIC.NTE\n    set:\n      code.text: '\"x\"'\n":  "foreach SERVIC.NTE: SIU_S12 has no segment group SERVIC (did you mean SERVICE?)",
		"name: x\nstructure: SIU_S12\nresources:\n  - id: r\n    resource: Basic\n    foreach: SERVICE.AIL\n    set:\n      code.text: '\"x\"'\n": "foreach SERVICE.AIL: SERVICE has no segment AIL of its own",
	} {
		if _, err := Compile("x.yaml", []byte(src)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v, want %q", err, want)
		}
	}
}
