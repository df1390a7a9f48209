package datatype

import (
	"strings"
	"testing"

	"github.com/plexus-hl7/plexus/hl7"
	"github.com/plexus-hl7/plexus/transforms/fhir"
	"github.com/plexus-hl7/plexus/transforms/fhirjson"
)

// bField is a segment with only field n valued.
func bField(id string, n int, val string) string {
	return id + strings.Repeat("|", n) + val
}

// bCase is one conversion: a segment, a path, what the converter gives.
type bCase struct {
	name, seg, path string
	want            string // JSON, "null" for none
	warn            string // a substring of a warning; "" for none
}

// bRun runs fn on each case, checks output and warnings, and returns the
// non-null results wrapped in extensions of type typ for validation.
func bRun(t *testing.T, typ string, fn Func, cases []bCase) []fhirjson.Value {
	t.Helper()
	var exts []fhirjson.Value
	for i, tt := range cases {
		w := bContext(nil)
		got, err := fn(&w.c, bValue(t, tt.seg, tt.path))
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if s := bJSON(got); s != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, s, tt.want)
		}
		all := strings.Join(w.msgs, "; ")
		if tt.warn == "" && len(w.msgs) > 0 || tt.warn != "" && !strings.Contains(all, tt.warn) {
			t.Errorf("%s: warnings %q, want %q", tt.name, w.msgs, tt.warn)
		}
		if !got.IsNull() {
			exts = append(exts, bExtension(i, typ, got))
		}
	}
	return exts
}

// CWE[CodeableConcept] rows 1–13 (coding[1..3] code/display/system/version,
// CWE.9 → text); rows 14–22 have no target.
func TestCWECodeableConcept(t *testing.T) {
	cases := []bCase{
		{"rows 1-3, 9: LOINC with original text",
			"OBX|1|NM|8480-6^Systolic blood pressure^LN^^^^^^BP sys", "OBX-3",
			`{"coding":[{"system":"http://loinc.org","code":"8480-6","display":"Systolic blood pressure"}],"text":"BP sys"}`, ""},
		{"rows 1-13: three triplets with versions",
			"OBX|1|NM|8480-6^Systolic BP^LN^SYS^Systolic^HL70396^2.68^v1^Systolic blood pressure^271649006^Systolic BP^SCT^20230131", "OBX-3",
			`{"coding":[{"system":"http://loinc.org","version":"2.68","code":"8480-6","display":"Systolic BP"},` +
				`{"system":"http://terminology.hl7.org/CodeSystem/v2-0396","version":"v1","code":"SYS","display":"Systolic"},` +
				`{"system":"http://snomed.info/sct","version":"20230131","code":"271649006","display":"Systolic BP"}],"text":"Systolic blood pressure"}`, ""},
		{"HL7 table name", bField("PID", 8, "F^Female^HL70001"), "PID-8",
			`{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0001","code":"F","display":"Female"}]}`, ""},
		{"coding system names are case-insensitive", "OBX|1|NM|8480-6^Systolic^ln", "OBX-3",
			`{"coding":[{"system":"http://loinc.org","code":"8480-6","display":"Systolic"}]}`, ""},
		{"CWE.3 is already a URI", "OBX|1|NM|8480-6^Systolic^http://loinc.org", "OBX-3",
			`{"coding":[{"system":"http://loinc.org","code":"8480-6","display":"Systolic"}]}`, ""},
		{"CWE.3 is an OID", "OBX|1|NM|8480-6^Systolic^2.16.840.1.113883.6.1", "OBX-3",
			`{"coding":[{"system":"urn:oid:2.16.840.1.113883.6.1","code":"8480-6","display":"Systolic"}]}`, ""},
		{"unknown coding system: no system, warning", "OBX|1|NM|GLU^Glucose^99LAB", "OBX-3",
			`{"coding":[{"code":"GLU","display":"Glucose"}]}`, `coding system "99LAB" has no known URI`},
		{"unknown coding system with CWE.14 OID", "OBX|1|NM|GLU^Glucose^99LAB^^^^^^^^^^^1.2.840.114350.1", "OBX-3",
			`{"coding":[{"system":"urn:oid:1.2.840.114350.1","code":"GLU","display":"Glucose"}]}`, ""},
		{"no coding system: coding without system, no warning", "OBX|1|NM|GLU^Glucose", "OBX-3",
			`{"coding":[{"code":"GLU","display":"Glucose"}]}`, ""},
		{"text only: CWE.2 becomes text", "OBX|1|NM|^Fever", "OBX-3", `{"text":"Fever"}`, ""},
		{"text only, CWE.9 wins", "OBX|1|NM|^Fever^^^^^^^Feverish", "OBX-3", `{"text":"Feverish"}`, ""},
		{"alternate only", "OBX|1|NM|^^^GLU^Glucose^L", "OBX-3",
			`{"coding":[{"code":"GLU","display":"Glucose"}]}`, `coding system "L"`},
		{"escapes decoded, code white space normalised", `OBX|1|NM| A  B ^Salt \T\ pepper^LN`, "OBX-3",
			`{"coding":[{"system":"http://loinc.org","code":"A B","display":"Salt & pepper"}]}`, ""},
		{"second repetition", "OBX|1|NM|X^x^LN~Y^y^SCT", "OBX-3[2]",
			`{"coding":[{"system":"http://snomed.info/sct","code":"Y","display":"y"}]}`, ""},
		{"CWE inside a component (CQ.2): subcomponents", "TQ1|1|10^mg&milligram&UCUM", "TQ1-2.2",
			`{"coding":[{"system":"http://unitsofmeasure.org","code":"mg","display":"milligram"}]}`, ""},
		{"empty", "OBX|1|NM|", "OBX-3", `null`, ""},
		{"HL7 null", `OBX|1|NM|""`, "OBX-3", `null`, ""},
	}
	exts := bRun(t, "codeableConcept", Registry["cwe"].Fn, cases)
	// CE, CNE, CF have the same rows (CE.1–6, CNE/CF .1–13 and .9).
	for _, n := range []string{"ce", "cne", "cf"} {
		exts = append(exts, bRun(t, "codeableConcept", Registry[n].Fn, cases[:3])...)
	}
	bValidateBasic(t, exts)
}

// The IG's CWE.1 narrative: "If mapped to FHIR, use Code System and
// Display"; PID-8 uses CWE[code] with AdministrativeSex, and segment rows
// with a Vocabulary Mapping next to CWE[CodeableConcept] translate the code.
func TestCodeableConceptFrom(t *testing.T) {
	fn := func(c *Context, v hl7.Value) (fhirjson.Value, error) {
		return CodeableConceptFrom(c, v, "AdministrativeSex")
	}
	cases := []bCase{
		{"mapped", bField("PID", 8, "F"), "PID-8",
			`{"coding":[{"system":"http://hl7.org/fhir/administrative-gender","code":"female","display":"Female"}]}`, ""},
		{"mapped, table named", bField("PID", 8, "M^Male^HL70001"), "PID-8",
			`{"coding":[{"system":"http://hl7.org/fhir/administrative-gender","code":"male","display":"Male"}]}`, ""},
		{"unmapped: kept in the v2 table", bField("PID", 8, "X^Unknown sex"), "PID-8",
			`{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0001","code":"X","display":"Unknown sex"}]}`, `code "X" has no FHIR code in vocabulary map AdministrativeSex`},
		{"other coding system: not translated", bField("PID", 8, "248152002^Female^SCT"), "PID-8",
			`{"coding":[{"system":"http://snomed.info/sct","code":"248152002","display":"Female"}]}`, ""},
	}
	exts := bRun(t, "codeableConcept", fn, cases)
	fnc := func(c *Context, v hl7.Value) (fhirjson.Value, error) { return CodingFrom(c, v, "AdministrativeSex") }
	exts = append(exts, bRun(t, "coding", fnc, []bCase{
		{"coding mapped", bField("PID", 8, "F"), "PID-8", `{"system":"http://hl7.org/fhir/administrative-gender","code":"female","display":"Female"}`, ""},
	})...)
	bValidateBasic(t, exts)
	if _, err := CodeableConceptFrom(nil, bValue(t, bField("PID", 8, "F"), "PID-8"), "NoSuchMap"); err == nil {
		t.Error("unknown map: no error")
	}
}

// CWE[code]: row 1 CWE.1 → $value; row 4 CWE.4 → $value IF CWE.1 NOT
// VALUED. ID[code] and IS[code]: ID.1/IS.1 → $value.
func TestCode(t *testing.T) {
	sex := func(c *Context, v hl7.Value) (fhirjson.Value, error) { return Code(c, v, "AdministrativeSex") }
	event := func(c *Context, v hl7.Value) (fhirjson.Value, error) { return Code(c, v, "EventType") }
	var exts []fhirjson.Value
	exts = append(exts, bRun(t, "code", Registry["cwe_code"].Fn, []bCase{
		{"CWE.1", bField("PID", 8, "F^Female^HL70001"), "PID-8", `"F"`, ""},
		{"CWE.4 when CWE.1 is not valued", bField("PID", 8, "^^^F^Female^HL70001"), "PID-8", `"F"`, ""},
		{"nothing", bField("PID", 8, "^Female"), "PID-8", `null`, ""},
	})...)
	exts = append(exts, bRun(t, "code", sex, []bCase{
		{"AdministrativeSex F", bField("PID", 8, "F"), "PID-8", `"female"`, ""},
		{"AdministrativeSex via CWE.4", bField("PID", 8, "^^^M"), "PID-8", `"male"`, ""},
		{"AdministrativeSex, sender's case", bField("PID", 8, "f"), "PID-8", `"female"`, ""},
		{"unmapped: dropped (gender is bound to its own codes)", bField("PID", 8, "X"), "PID-8", `null`, `code "X" has no FHIR code in vocabulary map AdministrativeSex: dropped`},
	})...)
	exts = append(exts, bRun(t, "code", event, []bCase{
		{"EventType A01", "EVN|A01", "EVN-1", `"A01"`, ""},
		{"EventType unknown: kept (targets are table 0003)", "EVN|Z99", "EVN-1", `"Z99"`, "kept as sent"},
	})...)
	exts = append(exts, bRun(t, "code", Registry["id"].Fn, []bCase{
		{"ID field", "PV1|1|I", "PV1-2", `"I"`, ""},
	})...)
	exts = append(exts, bRun(t, "code", Registry["is"].Fn, []bCase{
		{"IS", bField("PV1", 18, "VIP"), "PV1-18", `"VIP"`, ""},
	})...)
	bValidateBasic(t, exts)
}

// ID[boolean] with YesNoIndicator (table 0136): Y → true, N → false.
func TestBoolean(t *testing.T) {
	exts := bRun(t, "boolean", Registry["id_boolean"].Fn, []bCase{
		{"Y", bField("PID", 24, "Y"), "PID-24", `true`, ""},
		{"N", bField("PID", 24, "N"), "PID-24", `false`, ""},
		{"empty", "PID|1", "PID-24", `null`, ""},
		{"X", bField("PID", 24, "X"), "PID-24", `null`, `code "X" is not a boolean`},
	})
	bValidateBasic(t, exts)
}

// CWE[Coding] rows 1, 2, 3, 7; ID[Coding] row 1; CWE[string] rows 2 and
// 9; CWE[uri] rows 1 and 4; ID[CodeableConcept], IS[CodeableConcept] row
// 1; ID[CodeableConcept-UniversalID] row 1 (two cells: code and the fixed
// system).
func TestCodedOthers(t *testing.T) {
	var exts []fhirjson.Value
	exts = append(exts, bRun(t, "coding", Registry["cwe_coding"].Fn, []bCase{
		{"rows 1,2,3,7", "OBX|1|NM|8480-6^Systolic^LN^SYS^Sys^99X^2.68", "OBX-3",
			`{"system":"http://loinc.org","version":"2.68","code":"8480-6","display":"Systolic"}`, ""},
		{"no CWE.1", "OBX|1|NM|^Systolic^LN", "OBX-3", `null`, ""},
	})...)
	// CWE[Annotation] row 0: the full field, delimiters included; DTM[Annotation-Time] row 1.
	// (Annotation.text is required: the time alone is tested with a text added.)
	exts = append(exts, bRun(t, "annotation", Registry["cwe_annotation"].Fn, []bCase{
		{"CWE[Annotation]", "OBX|1|CWE|||GLU^Glucose^L", "OBX-5", `{"text":"GLU^Glucose^L"}`, ""},
	})...)
	if a, err := Registry["dtm_annotation_time"].Fn(nil, bValue(t, "NTE|1||x|||20240506", "NTE-6")); err != nil || bJSON(a) != `{"time":"2024-05-06"}` {
		t.Errorf("DTM[Annotation-Time] = %s, %v", bJSON(a), err)
	} else {
		exts = append(exts, bExtension(99, "annotation", a.With("text", fhirjson.Str("x"))))
	}
	exts = append(exts, bRun(t, "coding", Registry["id_coding"].Fn, []bCase{
		{"ID[Coding]", "PV1|1|I", "PV1-2", `{"code":"I"}`, ""},
	})...)
	exts = append(exts, bRun(t, "string", Registry["cwe_string"].Fn, []bCase{
		{"CWE.9", "OBX|1|NM|8480-6^Systolic^LN^^^^^^Systolic BP", "OBX-3", `"Systolic BP"`, ""},
		{"CWE.2 if CWE.9 not valued", "OBX|1|NM|8480-6^Systolic^LN", "OBX-3", `"Systolic"`, ""},
		{"neither", "OBX|1|NM|8480-6", "OBX-3", `null`, ""},
	})...)
	exts = append(exts, bRun(t, "uri", Registry["cwe_uri"].Fn, []bCase{
		{"CWE.1 name", "OBX|1|NM|LN", "OBX-3", `"http://loinc.org"`, ""},
		{"CWE.4 if CWE.1 not valued", "OBX|1|NM|^^^urn:oid:2.16.840.1.113883.4.3.25", "OBX-3", `"urn:oid:2.16.840.1.113883.4.3.25"`, ""},
		{"not a URI", "OBX|1|NM|MA^Massachusetts", "OBX-3", `null`, `"MA" is not a URI`},
	})...)
	exts = append(exts, bRun(t, "codeableConcept", Registry["id_codeableconcept"].Fn, []bCase{
		{"ID[CodeableConcept]", "PV1|1|I", "PV1-2", `{"coding":[{"code":"I"}]}`, ""},
	})...)
	exts = append(exts, bRun(t, "codeableConcept", Registry["is_codeableconcept"].Fn, []bCase{
		{"IS[CodeableConcept]", bField("PV1", 18, "VIP"), "PV1-18", `{"coding":[{"code":"VIP"}]}`, ""},
	})...)
	exts = append(exts, bRun(t, "codeableConcept", Registry["id_codeableconcept_universalid"].Fn, []bCase{
		{"ID[CodeableConcept-UniversalID]", "PID|1||123^^^&1.2.3&ISO", "PID-3.4.3",
			`{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0301","code":"ISO"}]}`, ""},
	})...)
	bValidateBasic(t, exts)
}

func TestSystemURI(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"LN", "http://loinc.org", true},
		{" sct ", "http://snomed.info/sct", true},
		{"I10", "http://hl7.org/fhir/sid/icd-10", true},
		{"I9CDX", "http://hl7.org/fhir/sid/icd-9-cm", true},
		{"UCUM", "http://unitsofmeasure.org", true},
		{"CVX", "http://hl7.org/fhir/sid/cvx", true},
		{"NDC", "http://hl7.org/fhir/sid/ndc", true},
		{"RXNORM", "http://www.nlm.nih.gov/research/umls/rxnorm", true},
		{"HL70001", "http://terminology.hl7.org/CodeSystem/v2-0001", true},
		{"hl70396", "http://terminology.hl7.org/CodeSystem/v2-0396", true},
		{"HL7078", "http://terminology.hl7.org/CodeSystem/v2-0078", true},
		{"urn:oid:2.16.840.1.113883.6.1", "urn:oid:2.16.840.1.113883.6.1", true},
		{"2.16.840.1.113883.6.1", "urn:oid:2.16.840.1.113883.6.1", true},
		{"", "", true},
		{"99ZZZ", "", false},
		{"L", "", false},
		{"HL7", "", false},
		{"HL7ABCD", "", false},
		{"2.16.840.01", "", false},
		{"http://has space", "", false},
	}
	for _, tt := range tests {
		got, ok := SystemURI(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("SystemURI(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
		if got != "" {
			if err := fhir.ValidatePrimitive("uri", got); err != nil {
				t.Error(err)
			}
		}
	}
	for name, uri := range codingSystems {
		if name != strings.ToUpper(name) || len(name) > 12 {
			t.Errorf("codingSystems key %q must be upper case, at most 12 bytes", name)
		}
		if !isSystemURI(uri) {
			t.Errorf("codingSystems[%q] = %q is not a URI", name, uri)
		}
	}
}

func BenchmarkCWE(b *testing.B) {
	m, err := hl7.Parse([]byte(bMSH + "OBX|1|NM|8480-6^Systolic blood pressure^LN\r"))
	if err != nil {
		b.Fatal(err)
	}
	v := m.Get(hl7.MustPath("OBX-3"))
	c := &Context{}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := CodeableConcept(c, v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCWECode(b *testing.B) {
	m, err := hl7.Parse([]byte(bMSH + bField("PID", 8, "F^Female^HL70001\r")))
	if err != nil {
		b.Fatal(err)
	}
	v := m.Get(hl7.MustPath("PID-8"))
	c := &Context{}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Code(c, v, "AdministrativeSex"); err != nil {
			b.Fatal(err)
		}
	}
}
