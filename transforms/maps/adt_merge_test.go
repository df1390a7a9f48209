package maps_test

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
)

// Tests of adt_a05.yaml (ADT_A05: A05, A14, A28, A31), adt_a17.yaml
// (ADT_A17: A17 swap patients) and the patient merges adt_a40.yaml
// (A40; adt_a39.yaml and adt_a30.yaml extend it for MSH-9.3 ADT_A39 and
// ADT_A30): a golden Bundle per structure (testdata/adt_a05.hl7, ...,
// read against the IG rows: testdata/SOURCES.md), the rows the issue
// names as tricky (repeated PID-3 with assigning authorities, PID-5 name
// types, PID-7 with a time, PID-29/30, NK1 relationships) for each map,
// since they come from the shared parts, and the per-group references of
// the maps of several patients.

// convertBuiltin converts one message with the map maps.Select picks (it
// must be want): see convertSelected.
func convertBuiltin(t *testing.T, want string, raw []byte) []byte {
	t.Helper()
	return convertSelected(t, raw, want, nil, "")
}

// fhirEntry is one Bundle entry, its resource kept as JSON for the checks.
type fhirEntry struct {
	FullURL  string         `json:"fullUrl"`
	Resource map[string]any `json:"resource"`
	Request  struct {
		Method string `json:"method"`
		URL    string `json:"url"`
	} `json:"request"`
}

type fhirBundle struct {
	Entry []fhirEntry `json:"entry"`
}

func parseBundle(t *testing.T, b []byte) fhirBundle {
	t.Helper()
	var out fhirBundle
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// of gives the entries of one resource type, in Bundle order.
func (b fhirBundle) of(typ string) []fhirEntry {
	var out []fhirEntry
	for _, e := range b.Entry {
		if e.Resource["resourceType"] == typ {
			out = append(out, e)
		}
	}
	return out
}

// js is the JSON of a value, for comparisons by text.
func js(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// refTo reads a Reference's reference.
func refTo(v any) string {
	m, _ := v.(map[string]any)
	s, _ := m["reference"].(string)
	return s
}

// readMessage reads an .hl7 test file.
func readMessage(t *testing.T, file string) []byte {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// segments joins test message segments with CR.
func segments(segs ...string) []byte {
	return []byte(strings.Join(segs, "\r") + "\r")
}

func TestADTA17Golden(t *testing.T) {
	b := convertBuiltin(t, "adt_a17", readMessage(t, "testdata/adt_a17.hl7"))
	checkGolden(t, "testdata/adt_a17.bundle.json", b)
}

func TestADTA40Golden(t *testing.T) {
	b := convertBuiltin(t, "adt_a39", readMessage(t, "testdata/adt_a40.hl7"))
	checkGolden(t, "testdata/adt_a40.bundle.json", b)
}

func TestADTA05Golden(t *testing.T) {
	b := convertBuiltin(t, "adt_a05", readMessage(t, "testdata/adt_a05.hl7"))
	checkGolden(t, "testdata/adt_a05.bundle.json", b)
}

// trickyPID is a PID with the rows the issue names: PID-3 repeated with
// three assigning authorities (an OID, another OID, a namespace only),
// PID-5 with four name types (L, M, N, and B, which NameType does not
// map), PID-7 with a time and an offset, PID-29 and PID-30.
const trickyPID = `PID|1||MRN1^^^HOSP&1.2.3.4.5&ISO^MR~998877^^^SSA&2.16.840.1.113883.4.1&ISO^SS~X55^^^CLINIC^PI||DOE^JANE^Q^^^^L~SMITH^JANE^^^^^M~DOE^JJ^^^^^N~DOE^JANE^^^^^B||19800214093000+0100|F|||1 MAIN ST^^SPRINGFIELD^IL^62701^USA^H|||||||ACCT1^^^HOSP&1.2.3.4.5&ISO^AN|||||||||||20240101120000+0100|Y`

// checkTrickyPatient checks the Patient made from trickyPID.
func checkTrickyPatient(t *testing.T, b fhirBundle) {
	t.Helper()
	var p *fhirEntry
	for i, e := range b.of("Patient") {
		if strings.Contains(js(e.Resource["identifier"]), `"value":"MRN1"`) && e.Resource["active"] == nil {
			p = &b.of("Patient")[i]
		}
	}
	if p == nil {
		t.Fatal("no Patient with MRN1")
	}
	r := p.Resource
	// PID-3: each repetition an Identifier, its system from CX.4 (an OID
	// as urn:oid, or the URI FHIR gives a known one: the SSA's is us-ssn;
	// a namespace alone gives no system but an assigner), its type from
	// CX.5; the conditional update on the first one
	if want := "Patient?identifier=urn%3Aoid%3A1.2.3.4.5|MRN1"; p.Request.URL != want {
		t.Errorf("request %q, want %q", p.Request.URL, want)
	}
	ids := r["identifier"].([]any)
	wantIDs := []string{
		`{"assigner":{"display":"HOSP"},"system":"urn:oid:1.2.3.4.5","type":{"coding":[{"code":"MR","display":"Medical record number","system":"http://terminology.hl7.org/CodeSystem/v2-0203"}]},"value":"MRN1"}`,
		`{"assigner":{"display":"SSA"},"system":"http://hl7.org/fhir/sid/us-ssn","type":{"coding":[{"code":"SS","display":"Social Security number","system":"http://terminology.hl7.org/CodeSystem/v2-0203"}]},"value":"998877"}`,
		`{"assigner":{"display":"CLINIC"},"type":{"coding":[{"code":"PI","display":"Patient internal identifier","system":"http://terminology.hl7.org/CodeSystem/v2-0203"}]},"value":"X55"}`,
	}
	if len(ids) != len(wantIDs) {
		t.Errorf("identifiers %s, want %d", js(ids), len(wantIDs))
	} else {
		for i, w := range wantIDs {
			if g := js(ids[i]); g != w {
				t.Errorf("identifier[%d] %s, want %s", i, g, w)
			}
		}
	}
	// PID-5: a HumanName per repetition, use through NameType (B has no
	// FHIR code: no use)
	var uses []string
	for _, n := range r["name"].([]any) {
		u, _ := n.(map[string]any)["use"].(string)
		uses = append(uses, u)
	}
	if want := []string{"official", "maiden", "nickname", ""}; !slices.Equal(uses, want) {
		t.Errorf("name uses %q, want %q (%s)", uses, want, js(r["name"]))
	}
	// PID-7 with a time: birthDate, and the time in patient-birthTime
	if r["birthDate"] != "1980-02-14" {
		t.Errorf("birthDate %v", r["birthDate"])
	}
	if g, w := js(r["_birthDate"]), `{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/patient-birthTime","valueDateTime":"1980-02-14T09:30:00+01:00"}]}`; g != w {
		t.Errorf("_birthDate %s, want %s", g, w)
	}
	// PID-29 valued: deceasedDateTime, and PID-30 is not used
	if r["deceasedDateTime"] != "2024-01-01T12:00:00+01:00" || r["deceasedBoolean"] != nil {
		t.Errorf("deceased %v / %v", r["deceasedDateTime"], r["deceasedBoolean"])
	}
}

// trickyMessages are messages of each structure with trickyPID, and the
// map maps.Select must pick for them.
var trickyMessages = []struct {
	want string
	msg  []byte
}{
	{"adt_a05", segments(
		`MSH|^~\&|SND|SNDFAC|RCV|RCVFAC|20240506070809+0200||ADT^A31^ADT_A05|TRICKY05|P|2.5.1`,
		`EVN|A31|20240506070809+0200`,
		trickyPID,
		`PV1|1|N`)},
	{"adt_a17", segments(
		`MSH|^~\&|SND|SNDFAC|RCV|RCVFAC|20240506070809+0200||ADT^A17^ADT_A17|TRICKY17|P|2.5.1`,
		`EVN|A17|20240506070809+0200`,
		`PID|1||OTHER1^^^HOSP&1.2.3.4.5&ISO^MR||ROE^RICHARD||19700101|M`,
		`PV1|1|I|W1^1^1^HOSP||||||||||||||||V1^^^HOSP&1.2.3.4.5&ISO^VN`,
		trickyPID,
		`PV1|1|I|W1^2^1^HOSP||||||||||||||||V2^^^HOSP&1.2.3.4.5&ISO^VN`)},
	{"adt_a39", segments(
		`MSH|^~\&|SND|SNDFAC|RCV|RCVFAC|20240506070809+0200||ADT^A40^ADT_A39|TRICKY40|P|2.5.1`,
		`EVN|A40|20240506070809+0200`,
		trickyPID,
		`MRG|OLD1^^^HOSP&1.2.3.4.5&ISO^MR`)},
}

// TestTrickyPatientRows converts trickyPID in a message of each structure:
// the rows come from the shared part pid, and must come out the same
// whatever the map (and, in adt_a17, for the second patient of the
// message).
func TestTrickyPatientRows(t *testing.T) {
	for _, tc := range trickyMessages {
		t.Run(tc.want, func(t *testing.T) {
			checkTrickyPatient(t, parseBundle(t, convertBuiltin(t, tc.want, tc.msg)))
		})
	}
}

// TestDeathIndicator: PID-30 "Y" without PID-29 gives deceasedBoolean
// (ID[Boolean] through Yes/NoIndicator); "N" gives false.
func TestDeathIndicator(t *testing.T) {
	for _, c := range []struct {
		pid30 string
		want  any
	}{{"Y", true}, {"N", false}} {
		msg := segments(
			`MSH|^~\&|SND|SNDFAC|RCV|RCVFAC|20240506070809+0200||ADT^A31^ADT_A05|DEATH`+c.pid30+`|P|2.5.1`,
			`EVN|A31|20240506070809+0200`,
			`PID|1||MRN2^^^HOSP&1.2.3.4.5&ISO^MR||DOE^JOHN||19500101|M||||||||||||||||||||||`+c.pid30,
			`PV1|1|N`)
		p := parseBundle(t, convertBuiltin(t, "adt_a05", msg)).of("Patient")
		if len(p) != 1 || p[0].Resource["deceasedBoolean"] != c.want || p[0].Resource["deceasedDateTime"] != nil {
			t.Errorf("PID-30 %s: Patients %s, want deceasedBoolean %v", c.pid30, js(p), c.want)
		}
	}
}

// TestA05NextOfKin checks NK1 relationships in adt_a05: NK1-3 through
// Relationship and NK1-7 through ContactRole, in a RelatedPerson (not for
// an employer: see the deviation in adt_a05.yaml) and in Patient.contact
// (for every NK1 that has a name, address, telecom or organization).
func TestA05NextOfKin(t *testing.T) {
	b := parseBundle(t, convertBuiltin(t, "adt_a05", readMessage(t, "testdata/adt_a05.hl7")))
	rel := func(v any) string {
		var out []string
		for _, cc := range v.([]any) {
			for _, c := range cc.(map[string]any)["coding"].([]any) {
				m := c.(map[string]any)
				out = append(out, m["system"].(string)+"|"+m["code"].(string))
			}
		}
		return strings.Join(out, " ")
	}
	const role, v2131 = "http://terminology.hl7.org/CodeSystem/v3-RoleCode|", "http://terminology.hl7.org/CodeSystem/v2-0131|"
	var got []string
	for _, e := range b.of("RelatedPerson") {
		got = append(got, rel(e.Resource["relationship"]))
		if refTo(e.Resource["patient"]) != b.of("Patient")[0].FullURL {
			t.Errorf("RelatedPerson.patient %v", e.Resource["patient"])
		}
	}
	if want := []string{role + "SPS " + v2131 + "C", role + "MTH " + v2131 + "N"}; !slices.Equal(got, want) {
		t.Errorf("RelatedPerson relationships %q, want %q", got, want)
	}
	got = nil
	for _, c := range b.of("Patient")[0].Resource["contact"].([]any) {
		got = append(got, rel(c.(map[string]any)["relationship"]))
	}
	// EMR (employer, table 0063) maps to E of table 0131
	if want := []string{role + "SPS " + v2131 + "C", role + "MTH " + v2131 + "N", v2131 + "E " + v2131 + "E"}; !slices.Equal(got, want) {
		t.Errorf("Patient.contact relationships %q, want %q", got, want)
	}
}

// TestA05PersonEvents: A28 and A31 carry PV1-2 "N" (not applicable): no
// Encounter, and the Provenances do not point at one.
func TestA05PersonEvents(t *testing.T) {
	for _, ev := range []string{"A28", "A31", "A14"} {
		pv1 := `PV1|1|N`
		if ev == "A14" {
			pv1 = `PV1|1|P|W1^1^1^HOSP||||||||||||||||V9^^^HOSP&1.2.3.4.5&ISO^VN`
		}
		msg := segments(
			`MSH|^~\&|SND|SNDFAC|RCV|RCVFAC|20240506070809+0200||ADT^`+ev+`|PERSON`+ev+`|P|2.5.1`,
			`EVN|`+ev+`|20240506070809+0200`,
			`PID|1||MRN3^^^HOSP&1.2.3.4.5&ISO^MR||DOE^JANE||19800101|F`,
			pv1)
		b := parseBundle(t, convertBuiltin(t, "adt_a05", msg))
		want := 0
		if ev == "A14" {
			want = 1
		}
		if n := len(b.of("Encounter")); n != want {
			t.Errorf("%s: %d Encounters, want %d", ev, n, want)
		}
		for _, p := range b.of("Provenance") {
			if n := strings.Count(js(p.Resource["target"]), "urn:uuid:"); n != 2+want {
				t.Errorf("%s: Provenance targets %s, want the MessageHeader, the Patient and %d Encounter", ev, js(p.Resource["target"]), want)
			}
		}
	}
}

// TestA17Groups checks that each PID/PV1 group of an A17 makes its own
// Patient, Account, Encounter and Observations, each referring to its own
// Patient, and that a group's PD1 and PV2 (which follow its PID and PV1)
// reach its own resources only: here only the second group has them.
func TestA17Groups(t *testing.T) {
	msg := segments(
		`MSH|^~\&|SND|SNDFAC|RCV|RCVFAC|20240506070809+0200||ADT^A17^ADT_A17|SWAP1|P|2.5.1`,
		`EVN|A17|20240506070809+0200`,
		`PID|1||P1^^^HOSP&1.2.3.4.5&ISO^MR||ONE^ANN||19700101|F|||||||||A1^^^HOSP&1.2.3.4.5&ISO^AN`,
		`PV1|1|I|W1^1^1^HOSP||||||||||||||||V1^^^HOSP&1.2.3.4.5&ISO^VN`,
		`OBX|1|NM|8302-2^Body Height^LN||160|cm^^UCUM|||||F`,
		`PID|2||P2^^^HOSP&1.2.3.4.5&ISO^MR||TWO^BEN||19710101|M|||||||||A2^^^HOSP&1.2.3.4.5&ISO^AN`,
		`PD1||||||W^Wheelchair^HL70295|Y^Yes^HL70315|||||||St Mary`,
		`PV1|1|I|W1^2^1^HOSP||||||||||||||||V2^^^HOSP&1.2.3.4.5&ISO^VN`,
		`PV2|||R1^Reason^L|||||20240510|20240512||||||||||||||||||A^Ambulance^HL70430`,
		`OBX|1|NM|29463-7^Body Weight^LN||80|kg^^UCUM|||||F`)
	b := parseBundle(t, convertBuiltin(t, "adt_a17", msg))
	pats := b.of("Patient")
	if len(pats) != 2 {
		t.Fatalf("%d Patients, want 2", len(pats))
	}
	byMRN := map[string]string{} // MRN → fullUrl
	for _, p := range pats {
		mrn := p.Resource["identifier"].([]any)[0].(map[string]any)["value"].(string)
		byMRN[mrn] = p.FullURL
		ext := js(p.Resource["extension"])
		if has := strings.Contains(ext, "patient-disability") && strings.Contains(ext, "St Mary"); has != (mrn == "P2") {
			t.Errorf("Patient %s: PD1 extensions %s (only P2's group has a PD1)", mrn, ext)
		}
	}
	encs := b.of("Encounter")
	if len(encs) != 2 {
		t.Fatalf("%d Encounters, want 2", len(encs))
	}
	for i, e := range encs {
		want := byMRN["P"+string(rune('1'+i))]
		if refTo(e.Resource["subject"]) != want {
			t.Errorf("Encounter %d subject %v, want %s", i+1, e.Resource["subject"], want)
		}
		pv2 := e.Resource["reasonCode"] != nil || strings.Contains(js(e.Resource["extension"]), "plannedStartDate")
		if pv2 != (i == 1) {
			t.Errorf("Encounter %d: PV2 elements %v %s (only the second group has a PV2)", i+1, e.Resource["reasonCode"], js(e.Resource["extension"]))
		}
	}
	for i, a := range b.of("Account") {
		if s := js(a.Resource["subject"]); !strings.Contains(s, byMRN["P"+string(rune('1'+i))]) {
			t.Errorf("Account %d subject %s", i+1, s)
		}
	}
	var subjects []string
	for _, o := range b.of("Observation") {
		subjects = append(subjects, refTo(o.Resource["subject"]))
	}
	// OBX of group 1, then the living will (PD1-7) and OBX of group 2, in
	// the order of the map's resources: living will, then observations
	if want := []string{byMRN["P2"], byMRN["P1"], byMRN["P2"]}; !slices.Equal(subjects, want) {
		t.Errorf("Observation subjects %q, want %q", subjects, want)
	}
	for _, p := range b.of("Provenance") {
		tg := js(p.Resource["target"])
		for _, u := range []string{byMRN["P1"], byMRN["P2"], encs[0].FullURL, encs[1].FullURL} {
			if !strings.Contains(tg, u) {
				t.Errorf("Provenance targets %s lack %s", tg, u)
			}
		}
	}
}

// mergeMessage is an A40 of one merge group: survivor PID-3 pid3, prior
// MRG-1 mrg1.
func mergeMessage(structure, event, pid3, mrg1 string) []byte {
	typ := "ADT^" + event
	if structure != "" {
		typ += "^" + structure
	}
	return segments(
		`MSH|^~\&|SND|SNDFAC|RCV|RCVFAC|20240506070809+0200||`+typ+`|MERGE`+event+structure+`|P|2.5.1`,
		`EVN|`+event+`|20240506070809+0200`,
		`PID|1||`+pid3+`||DOE^JANE||19800101|F`,
		`MRG|`+mrg1+`||||||DOE^JAYNE`,
		`PV1|1|N`)
}

// checkMerge checks the merge of one group: the survivor (PID-3 value
// survivor) replaces the prior Patient (MRG-1 value prior), which is
// inactive and replaced by the survivor, both updated by identifier.
func checkMerge(t *testing.T, b fhirBundle, survivor, prior string) {
	t.Helper()
	var s, p *fhirEntry
	pats := b.of("Patient")
	for i := range pats {
		switch {
		case strings.HasSuffix(pats[i].Request.URL, "|"+survivor):
			s = &pats[i]
		case strings.HasSuffix(pats[i].Request.URL, "|"+prior):
			p = &pats[i]
		}
	}
	if s == nil || p == nil {
		t.Fatalf("Patients %s: want survivor %s and prior %s, updated by identifier", js(pats), survivor, prior)
	}
	if s.Resource["active"] != nil {
		t.Errorf("survivor active %v, want none", s.Resource["active"])
	}
	if g, w := js(s.Resource["link"]), `[{"other":{"reference":"`+p.FullURL+`"},"type":"replaces"}]`; g != w {
		t.Errorf("survivor link %s, want %s", g, w)
	}
	if p.Resource["active"] != false {
		t.Errorf("prior active %v, want false", p.Resource["active"])
	}
	if g, w := js(p.Resource["link"]), `[{"other":{"reference":"`+s.FullURL+`"},"type":"replaced-by"}]`; g != w {
		t.Errorf("prior link %s, want %s", g, w)
	}
	for _, pr := range b.of("Provenance") {
		if tg := js(pr.Resource["target"]); !strings.Contains(tg, s.FullURL) || !strings.Contains(tg, p.FullURL) {
			t.Errorf("Provenance targets %s lack a Patient of the merge", tg)
		}
	}
}

// TestMergeEvents converts a merge of each event and structure Select
// knows, and the golden A40 (two merge groups).
func TestMergeEvents(t *testing.T) {
	for _, c := range []struct{ structure, event, want string }{
		{"ADT_A39", "A40", "adt_a39"},
		{"", "A40", "adt_a39"},
		{"ADT_A40", "A40", "adt_a40"},
		{"ADT_A39", "A39", "adt_a39"},
		{"ADT_A30", "A34", "adt_a30"},
		{"", "A34", "adt_a30"},
	} {
		t.Run(c.event+"_"+c.structure, func(t *testing.T) {
			b := parseBundle(t, convertBuiltin(t, c.want, mergeMessage(c.structure, c.event,
				"NEW1^^^HOSP&1.2.3.4.5&ISO^MR", "OLD1^^^HOSP&1.2.3.4.5&ISO^MR~OLD1B^^^CLINIC&1.2.3.4.6&ISO^PI")))
			checkMerge(t, b, "NEW1", "OLD1")
			prior := b.of("Patient")[1].Resource
			if g := js(prior["identifier"]); !strings.Contains(g, `"OLD1B"`) || !strings.Contains(js(prior["name"]), "JAYNE") {
				t.Errorf("prior identifiers %s, name %s: want both MRG-1 repetitions and MRG-7", g, js(prior["name"]))
			}
			if n := len(b.of("Encounter")); n != 0 {
				t.Errorf("%d Encounters from PV1-2 N", n)
			}
		})
	}
	t.Run("golden", func(t *testing.T) {
		b := parseBundle(t, convertBuiltin(t, "adt_a39", readMessage(t, "testdata/adt_a40.hl7")))
		checkMerge(t, b, "1032702", "1039911")
		checkMerge(t, b, "1032703", "1039912")
		e := b.of("Encounter")
		if len(e) != 1 || !strings.Contains(js(e[0].Resource["subject"]), b.of("Patient")[1].FullURL) {
			t.Errorf("Encounters %s: want one, the second group's, for its survivor", js(e))
		}
	})
}

// TestMergeSameIdentifier: an MRG-1 that names the survivor itself (the
// same PID-3) merges nothing: no prior Patient, no link.
func TestMergeSameIdentifier(t *testing.T) {
	b := parseBundle(t, convertBuiltin(t, "adt_a39", mergeMessage("ADT_A39", "A40",
		"SAME^^^HOSP&1.2.3.4.5&ISO^MR", "SAME^^^HOSP&1.2.3.4.5&ISO^MR")))
	p := b.of("Patient")
	if len(p) != 1 || p[0].Resource["link"] != nil {
		t.Errorf("Patients %s, want the survivor alone, without link", js(p))
	}
}
