package transforms

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/plexus-hl7/plexus/hl7"
	"github.com/plexus-hl7/plexus/internal/fhirvalidate"
)

// mustLoad loads a rule file with what it extends.
func mustLoad(t testing.TB, name string) *Rules {
	t.Helper()
	r, err := (&Loader{}).Load(name)
	if err != nil {
		t.Fatalf("load %s:\n%v", name, err)
	}
	return r
}

func mustCompileFile(t testing.TB, name string) *Rules {
	t.Helper()
	if m, ok := strings.CutPrefix(name, "maps/"); ok {
		// a built-in map, with the parts it includes
		r, err := (&Loader{Builtins: os.DirFS("maps")}).Load(strings.TrimSuffix(m, ".yaml"))
		if err != nil {
			t.Fatalf("load %s:\n%v", name, err)
		}
		return r
	}
	src, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Compile(name, src)
	if err != nil {
		t.Fatalf("compile %s:\n%v", name, err)
	}
	return r
}

const oru = "MSH|^~\\&|LAB|HOSP|EHR|HOSP|20240506070809||ORU^R01^ORU_R01|MSG1|P|2.5.1\r" +
	"PID|1||12345^^^HOSP^MR||DOE^JANE^Q||19700101123000|F\r" +
	"OBR|1||ORD1|CBC^Blood count\r" +
	"OBX|1|ST|HGB^Hemoglobin||normal||||||F|||20240506070000\r" +
	"OBX|2|ST|WBC^White cells||high||||||P\r"

func TestConvertSmall(t *testing.T) {
	r := mustCompileFile(t, "testdata/patient.yaml")
	m, err := hl7.Parse([]byte(oru))
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Convert(m)
	if err != nil {
		t.Fatalf("%v\n%v", err, res.Errors)
	}
	var pretty map[string]any
	if err := json.Unmarshal(res.Bundle, &pretty); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, res.Bundle)
	}
	out, _ := json.MarshalIndent(pretty, "", "  ")
	t.Logf("%s\nwarnings: %v", out, res.Warnings)
	if !strings.Contains(string(res.Bundle), `"birthDate":"1970-01-01"`) {
		t.Errorf("no birthDate")
	}
	fhirvalidate.ForTest(t).AssertValid(t, res.Bundle)

	again, err := r.Convert(m)
	if err != nil || string(again.Bundle) != string(res.Bundle) {
		t.Errorf("a second conversion of the same message differs:\n%s\n%s", res.Bundle, again.Bundle)
	}
}

func TestConvertErrors(t *testing.T) {
	bad := strings.Replace(oru, "19700101123000|F", "19701301|X", 1)
	m, err := hl7.Parse([]byte(bad))
	if err != nil {
		t.Fatal(err)
	}
	r := mustCompileFile(t, "testdata/patient.yaml")
	res, err := r.Convert(m)
	if !errors.Is(err, ErrConversion) || res.Bundle != nil {
		t.Fatalf("err %v, bundle %s", err, res.Bundle)
	}
	var msgs []string
	for _, e := range res.Errors {
		msgs = append(msgs, e.Error())
	}
	all := strings.Join(msgs, "\n")
	for _, want := range []string{
		"Patient.birthDate from PID-7: dt: ",
		"(rule testdata/patient.yaml:10:7)",
		`code "X" is not in the required value set of Patient.gender (male, female, other, unknown)`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("errors lack %q:\n%s", want, all)
		}
	}

	res, err = mustLoad(t, "testdata/patient-partial.yaml").Convert(m)
	if err != nil || res.Bundle == nil || len(res.Errors) < 2 {
		t.Fatalf("partial: %v %d errors", err, len(res.Errors))
	}
	if strings.Contains(string(res.Bundle), "birthDate") || strings.Contains(string(res.Bundle), `"gender"`) {
		t.Errorf("invalid elements kept: %s", res.Bundle)
	}
	fhirvalidate.ForTest(t).AssertValid(t, res.Bundle)
}

func TestEmptyValuesMakeNoElement(t *testing.T) {
	m, err := hl7.Parse([]byte("MSH|^~\\&|LAB|HOSP|EHR|HOSP|20240506070809||ORU^R01^ORU_R01|MSG2|P|2.5.1\rPID|1||7^^^H||^^^\r"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := mustCompileFile(t, "testdata/patient.yaml").Convert(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{`""`, "{}", "[]", "null", "name", "birthDate"} {
		if strings.Contains(string(res.Bundle), bad) {
			t.Errorf("bundle has %s: %s", bad, res.Bundle)
		}
	}
}

// A converter that gives a resource (xcn: a Practitioner), used for a
// Reference, places the resource in the Bundle once and refers to it.
func TestResourcesPlacedForReferences(t *testing.T) {
	msg := oru + "PV1|1|I|WARD^101^A^HOSP||||1234^Smith^John^^^Dr^^^NPI&2.16.840.1.113883.4.6&ISO|1234^Smith^John^^^Dr^^^NPI&2.16.840.1.113883.4.6&ISO\r"
	m, err := hl7.Parse([]byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	res, err := mustCompileFile(t, "testdata/patient.yaml").Convert(m)
	if err != nil {
		t.Fatal(err, res.Errors)
	}
	b := string(res.Bundle)
	if n := strings.Count(b, `"resourceType":"Practitioner"`); n != 1 {
		t.Errorf("%d Practitioner entries, want 1 (the same doctor twice):\n%s", n, b)
	}
	if !strings.Contains(b, `"url":"Practitioner?identifier=`) || !strings.Contains(b, `"resourceType":"Location"`) {
		t.Errorf("practitioner or location not placed:\n%s", b)
	}
	fhirvalidate.ForTest(t).AssertValid(t, res.Bundle)
}

// With on_error: partial a converter's error keeps what it could build: the
// IG's own PV1-7 has "doctor" in XCN.19 (a date), and the Practitioner is
// still placed, without that period.
func TestPartialKeepsConverterValue(t *testing.T) {
	data, err := os.ReadFile("../hl7/testdata/adt_a01.hl7")
	if err != nil {
		t.Fatal(err)
	}
	m, err := hl7.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mustCompileFile(t, "testdata/patient.yaml").Convert(m); !errors.Is(err, ErrConversion) {
		t.Fatalf("reject mode: %v", err)
	}
	res, err := mustLoad(t, "testdata/patient-partial.yaml").Convert(m)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) == 0 || !strings.Contains(res.Errors[0].Error(), "XCN.19") || res.Errors[0].Field != "PV1-7" {
		t.Errorf("errors: %v", res.Errors)
	}
	if !strings.Contains(string(res.Bundle), `"resourceType":"Practitioner"`) {
		t.Errorf("practitioner dropped:\n%s", res.Bundle)
	}
	fhirvalidate.ForTest(t).AssertValid(t, res.Bundle)
}

// Rules are shared by the engine's workers: concurrent conversions give the
// same bytes as a lone one (run under -race in CI).
func TestConcurrentConvert(t *testing.T) {
	r := mustCompileFile(t, "testdata/patient.yaml")
	m, err := hl7.Parse([]byte(oru))
	if err != nil {
		t.Fatal(err)
	}
	want, err := r.Convert(m)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				got, err := r.Convert(m)
				if err != nil || string(got.Bundle) != string(want.Bundle) {
					t.Errorf("concurrent conversion differs: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestVocabularyFunctions(t *testing.T) {
	src := `name: vocab
resources:
  - id: p
    resource: Patient
    set:
      gender: code("AdministrativeSex", PID[8])
      maritalStatus: concept("MaritalStatus", PID[16])
  - id: e
    resource: Encounter
    set:
      status: '"finished"'
      class: coding("PatientClass[EncounterClass]", PV1[2])
`
	r, err := Compile("vocab.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	m, err := hl7.Parse([]byte("MSH|^~\\&|A|B|C|D|20240101||ADT^A01|V1|P|2.5\rPID|1||1||X||19700101|Z||||||||M\rPV1|1|I\r"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Convert(m)
	if err != nil {
		t.Fatal(err, res.Errors)
	}
	b := string(res.Bundle)
	if strings.Contains(b, `"gender"`) {
		t.Errorf("an untranslatable gender was kept: %s", b)
	}
	for _, want := range []string{`"code":"IMP"`, `"system":"http://terminology.hl7.org/CodeSystem/v3-MaritalStatus"`} {
		if !strings.Contains(b, want) {
			t.Errorf("bundle lacks %s: %s", want, b)
		}
	}
	fhirvalidate.ForTest(t).AssertValid(t, res.Bundle)
	if _, err := Compile("bad.yaml", []byte(strings.Replace(src, "MaritalStatus", "MaritalStatuz", 1))); err == nil || !strings.Contains(err.Error(), `concept("MaritalStatuz", …)`) {
		t.Errorf("unknown map: %v", err)
	}
}

func TestElementBlocks(t *testing.T) {
	r := mustCompileFile(t, "testdata/blocks.yaml")
	msg := "MSH|^~\\&|A|B|C|D|20240101||ADT^A01|B1|P|2.5\r" +
		"PID|1||1^^^H||DOE^JANE|SMITH^ANN\r" +
		"NK1|1|DOE^JOHN|SPO^Spouse^HL70063\r" +
		"NK1|2|DOE^JIM|CHD^Child^HL70063\r" +
		"PV1|1|I|||||11^Who^Doc^^^^^^NPI&2.16.840.1.113883.4.6&ISO~12^Two^Doc^^^^^^NPI&2.16.840.1.113883.4.6&ISO||22^Con^Sul^^^^^^NPI&2.16.840.1.113883.4.6&ISO\r" +
		"OBX|1|ST|A^First||x\rNTE|1||note one\rNTE|2||note two\r" +
		"OBX|2|ST|B^Second||y\r" +
		"OBX|3|ST|C^Third||z\rNTE|1||note three\r"
	m, err := hl7.Parse([]byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Convert(m)
	if err != nil {
		t.Fatal(err, res.Errors)
	}
	b := string(res.Bundle)
	for _, want := range []string{
		`"name":[{"family":"DOE","given":["JANE"],"use":"official"},{"family":"SMITH","use":"maiden"}]`,
		`"contact":[{"name":{"family":"DOE","given":["JOHN"]}`,
		`{"name":{"family":"DOE","given":["JIM"]}`,
		// the referrer (PV1-8) is absent: no empty participant between
		`"participant":[{"type":[{"coding":[{"code":"ATND","system":"http://terminology.hl7.org/CodeSystem/v3-ParticipationType"}]}],"individual":{"reference":"urn:uuid:`,
		`{"type":[{"text":"consultant"}],"individual":{"reference":"urn:uuid:`,
		`"code":{"text":"First"},"note":[{"text":"note one"},{"text":"note two"}]`,
		`"code":{"text":"Third"},"note":[{"text":"note three"}]`,
	} {
		if !strings.Contains(b, want) {
			t.Errorf("bundle lacks %s", want)
		}
	}
	if strings.Contains(b, `"text":"referrer"`) {
		t.Error("the referrer block was made though PV1-8 is empty (when: present(PV1[8]))")
	}
	if n := strings.Count(b, `"code":"ATND"`); n != 2 {
		t.Errorf("%d attenders, want 2 (one per PV1-7 repetition)", n)
	}
	if n := strings.Count(b, `"resourceType":"Practitioner"`); n != 3 {
		t.Errorf("%d practitioners, want 3", n)
	}
	if n := strings.Count(b, `"note"`); n != 2 {
		t.Errorf("%d Observations with notes, want 2 (the second OBX has none)", n)
	}
	fhirvalidate.ForTest(t).AssertValid(t, res.Bundle)

	for _, c := range []struct{ src, want string }{
		{"name: x\nresources:\n  - id: p\n    resource: Patient\n    set:\n      name:\n        family: text(PID[5])\n", "write name[+]"},
		{"name: x\nresources:\n  - id: p\n    resource: Patient\n    set:\n      gender[+]:\n        id: '\"x\"'\n", "[+] (a new element) goes on the last step, of an element that repeats"},
		{"name: x\nresources:\n  - id: p\n    resource: Patient\n    set:\n      name[+]:\n        famly: text(PID[5])\n", "Patient.name has no element 'famly'"},
		{"name: x\nresources:\n  - id: p\n    resource: Patient\n    set:\n      name[+x y]:\n        family: text(PID[5])\n", "[+label]"},
	} {
		if _, err := Compile("b.yaml", []byte(c.src)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v, want %q", err, c.want)
		}
	}
}
