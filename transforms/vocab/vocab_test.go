package vocab_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/plexus-hl7/plexus/transforms/vocab"
)

const (
	v2   = "http://terminology.hl7.org/CodeSystem/v2-"
	sexS = "http://hl7.org/fhir/administrative-gender"
	actS = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
)

func mustMap(t testing.TB, name string) *vocab.Map {
	t.Helper()
	m, ok := vocab.Lookup(name)
	if !ok {
		t.Fatalf("Lookup(%q): not found", name)
	}
	return m
}

type tcase struct {
	code string
	want vocab.Coding
	res  vocab.Result
}

func check(t *testing.T, m *vocab.Map, cases []tcase) {
	t.Helper()
	for _, c := range cases {
		got, res := m.Translate(c.code)
		if got != c.want || res != c.res {
			t.Errorf("%s.Translate(%q) = %+v, %v; want %+v, %v", m.Name, c.code, got, res, c.want, c.res)
		}
	}
}

func TestAdministrativeSex(t *testing.T) {
	m := mustMap(t, "AdministrativeSex")
	if m.Table != "0001" || m.System() != v2+"0001" || m.Status != "Ready for Ballot" {
		t.Errorf("table %q system %q status %q", m.Table, m.System(), m.Status)
	}
	if got := m.TargetSystems(); !slices.Equal(got, []string{sexS}) {
		t.Errorf("TargetSystems = %q", got)
	}
	check(t, m, []tcase{
		{"F", vocab.Coding{System: sexS, Code: "female", Display: "Female"}, vocab.Mapped},
		{"M", vocab.Coding{System: sexS, Code: "male", Display: "Male"}, vocab.Mapped},
		{"U", vocab.Coding{System: sexS, Code: "unknown", Display: "Unknown"}, vocab.Mapped},
		{"O", vocab.Coding{System: sexS, Code: "other", Display: "Other"}, vocab.Mapped},
		{"A", vocab.Coding{System: sexS, Code: "other", Display: "Other"}, vocab.Mapped},
		{"N", vocab.Coding{System: sexS, Code: "other", Display: "Other"}, vocab.Mapped},
		// Not in the table: kept as sent, in the v2 table's system.
		{"X", vocab.Coding{System: v2 + "0001", Code: "X"}, vocab.Unmapped},
		{"female", vocab.Coding{System: v2 + "0001", Code: "female"}, vocab.Unmapped},
		{"FF", vocab.Coding{System: v2 + "0001", Code: "FF"}, vocab.Unmapped},
		// Trimmed; case-insensitive when there is no exact match.
		{" F ", vocab.Coding{System: sexS, Code: "female", Display: "Female"}, vocab.Mapped},
		{"f", vocab.Coding{System: sexS, Code: "female", Display: "Female"}, vocab.Mapped},
		{" x\t", vocab.Coding{System: v2 + "0001", Code: "x"}, vocab.Unmapped},
		// No code: no coding.
		{"", vocab.Coding{}, vocab.Empty},
		{"  ", vocab.Coding{}, vocab.Empty},
		{`""`, vocab.Coding{}, vocab.Empty},
	})
}

func TestPatientClass(t *testing.T) {
	m := mustMap(t, "PatientClass[EncounterClass]")
	check(t, m, []tcase{
		// This sheet keeps its displays in the unnamed column after Code.
		{"I", vocab.Coding{System: actS, Code: "IMP", Display: "inpatient encounter"}, vocab.Mapped},
		{"E", vocab.Coding{System: actS, Code: "EMER", Display: "emergency"}, vocab.Mapped},
		{"O", vocab.Coding{System: actS, Code: "AMB", Display: "ambulatory"}, vocab.Mapped},
		{"P", vocab.Coding{System: actS, Code: "PRENC", Display: "pre-admission"}, vocab.Mapped},
		{"R", vocab.Coding{System: v2 + "0004", Code: "R", Display: "Recurring patient"}, vocab.Mapped},
		{"Z", vocab.Coding{System: v2 + "0004", Code: "Z"}, vocab.Unmapped},
	})
	if got := m.TargetSystems(); !slices.Equal(got, []string{actS, v2 + "0004"}) {
		t.Errorf("TargetSystems = %q", got)
	}
	// The FHIR-only rows (FLD, HH, ...) are rows but not v2 codes.
	if n, c := len(m.Rows()), m.Codes(); n != 16 || c != 9 {
		t.Errorf("%d rows, %d codes; want 16, 9", n, c)
	}
	if _, res := m.Translate("FLD"); res != vocab.Unmapped {
		t.Errorf("FLD (a FHIR-only row) = %v", res)
	}
	st := mustMap(t, "PatientClass[EncounterStatus]")
	if c, res := st.Translate("I"); res != vocab.Mapped || c.System != "http://hl7.org/fhir/encounter-status" {
		t.Errorf("EncounterStatus I = %+v %v", c, res)
	}
}

// TestNoTarget: a v2 code that is in the map without a FHIR code keeps its
// v2 coding, with the v2 display, and says so.
func TestNoTarget(t *testing.T) {
	check(t, mustMap(t, "NameType"), []tcase{
		{"A", vocab.Coding{System: v2 + "0200", Code: "A", Display: "Assigned"}, vocab.NoTarget},
		{"a", vocab.Coding{System: v2 + "0200", Code: "a", Display: "Assigned"}, vocab.NoTarget},
		{"L", vocab.Coding{System: "http://hl7.org/fhir/name-use", Code: "official", Display: "Official"}, vocab.Mapped},
	})
	rs := mustMap(t, "ResultStatus[Non-Queries]")
	check(t, rs, []tcase{
		{"Y", vocab.Coding{System: v2 + "0123", Code: "Y", Display: "No order on record for this test"}, vocab.NoTarget},
	})
	rows, exact := rs.Find("Y")
	if len(rows) != 1 || !exact || rows[0].Condition.ANTLR != "IF NOT MAPPED ERROR" {
		t.Errorf("Find(Y) = %+v, %v", rows, exact)
	}
}

// TestSeveralRows: SegmentActionCode U has two rows (PUT, PATCH) with a
// narrative condition; Translate takes the first, Find gives both.
func TestSeveralRows(t *testing.T) {
	m := mustMap(t, "SegmentActionCode")
	check(t, m, []tcase{
		{"U", vocab.Coding{System: "http://hl7.org/fhir/http-verb", Code: "PUT", Display: "PUT"}, vocab.Mapped},
		{"X", vocab.Coding{System: v2 + "0206", Code: "X", Display: "No Change"}, vocab.NoTarget},
	})
	rows, exact := m.Find("U")
	if len(rows) != 2 || !exact || rows[0].FHIR.Code != "PUT" || rows[1].FHIR.Code != "PATCH" ||
		rows[0].Condition.Narrative != "local assessment" || rows[0].Comment == "" {
		t.Errorf("Find(U) = %+v, %v", rows, exact)
	}
	if rows, exact := m.Find("u"); len(rows) != 2 || exact {
		t.Errorf("Find(u) = %d rows, exact %v", len(rows), exact)
	}
	if rows, _ := m.Find("Q"); rows != nil {
		t.Errorf("Find(Q) = %+v", rows)
	}
}

// TestCellsTrimmed: the CSVs have a leading space before every SNOMED system
// URI in two sheets, tabs around two displays and no-break spaces after the
// InterpretationCodes "<" and ">"; cells are trimmed.
func TestCellsTrimmed(t *testing.T) {
	for _, m := range vocab.Maps() {
		for i, r := range m.Rows() {
			for _, s := range []string{r.V2.Code, r.V2.Display, r.V2.System, r.FHIR.Code, r.FHIR.Display,
				r.FHIR.System, r.FHIRText, r.Comment, r.Condition.ANTLR, r.Condition.FHIRPath, r.Condition.Narrative} {
				if s != strings.TrimSpace(s) {
					t.Errorf("%s row %d: %q is not trimmed", m.Name, i, s)
				}
			}
		}
	}
	check(t, mustMap(t, "InterpretationCodes"), []tcase{
		{"<", vocab.Coding{System: "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", Code: "<", Display: "Off scale low"}, vocab.Mapped},
		{"HH", vocab.Coding{System: "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", Code: "HH", Display: "Critical high"}, vocab.Mapped},
	})
	if got := mustMap(t, "ContainerType").TargetSystems(); !slices.Equal(got, []string{"http://snomed.info/sct"}) {
		t.Errorf("ContainerType TargetSystems = %q", got)
	}
}

// TestEveryCode: in every map, each v2 code translates (Mapped or NoTarget,
// never Unmapped), Mapped to the first of its rows that has a FHIR code, and
// a code that is in no map is Unmapped in the map's table system.
func TestEveryCode(t *testing.T) {
	for _, m := range vocab.Maps() {
		if len(m.Table) != 4 || m.System() != v2+m.Table {
			t.Errorf("%s: table %q, system %q", m.Name, m.Table, m.System())
		}
		for _, r := range m.Rows() {
			if r.V2.Code == "" {
				if r.V2.System != "" {
					t.Errorf("%s: row without v2 code has system %q", m.Name, r.V2.System)
				}
				continue
			}
			if r.V2.System != m.System() {
				t.Errorf("%s %s: v2 system %q, want %q", m.Name, r.V2.Code, r.V2.System, m.System())
			}
			got, res := m.Translate(r.V2.Code)
			rows, exact := m.Find(r.V2.Code)
			if !exact || !slices.ContainsFunc(rows, func(x *vocab.Row) bool { return *x == r }) {
				t.Errorf("%s: Find(%q) misses its row", m.Name, r.V2.Code)
			}
			var want vocab.Coding
			wantRes := vocab.NoTarget
			for _, x := range rows {
				if x.FHIR.Code != "" {
					want, wantRes = x.Target(), vocab.Mapped
					break
				}
			}
			if wantRes == vocab.NoTarget {
				want = vocab.Coding{System: m.System(), Code: r.V2.Code, Display: rows[0].V2.Display}
			}
			if got != want || res != wantRes {
				t.Errorf("%s.Translate(%q) = %+v %v, want %+v %v", m.Name, r.V2.Code, got, res, want, wantRes)
			}
		}
		if got, res := m.Translate("no such code"); res != vocab.Unmapped || got != (vocab.Coding{System: m.System(), Code: "no such code"}) {
			t.Errorf("%s: unknown code gave %+v %v", m.Name, got, res)
		}
	}
}

func TestLookup(t *testing.T) {
	for name, want := range map[string]string{
		"AdministrativeSex":                               "AdministrativeSex",
		"administrativesex":                               "AdministrativeSex",
		"Administrative Sex":                              "AdministrativeSex",
		"Yes/NoIndicator":                                 "YesNoIndicator",
		"YesNoIndicator":                                  "YesNoIndicator",
		"yes no indicator":                                "YesNoIndicator",
		"Yes/NoIndicator[AvailabilityStatus]":             "YesNoIndicator[AvailabilityStatus]",
		"Additive/Preservative":                           "AdditivePreservative",
		"Contact Role":                                    "ContactRole",
		"Test/ServiceDefaultDurationUnits":                "TestServiceDefaultDurationUnits",
		"PreferredMethodofContact":                        "PreferredMethodOfContact",
		"patientclass[encounterclass]":                    "PatientClass[EncounterClass]",
		"AllergySeverity[AllergyIntolerance.criticality]": "AllergySeverity[AllergyIntolerance.criticality]",
		// The inventory's name for the InterpretationCodes sheet.
		"InterpretationCode": "InterpretationCodes",
		// Tables with one map.
		"0001":      "AdministrativeSex",
		"1":         "AdministrativeSex",
		"HL70001":   "AdministrativeSex",
		"v2-0001":   "AdministrativeSex",
		v2 + "0001": "AdministrativeSex",
		"0207":      "ProcessingMode",
		"0354":      "MessageStructure",
	} {
		m, ok := vocab.Lookup(name)
		if !ok || m.Name != want {
			t.Errorf("Lookup(%q) = %v, %v; want %s", name, m, ok, want)
			continue
		}
		if r, err := vocab.Resolve(name); r != m || err != nil {
			t.Errorf("Resolve(%q) = %v, %v", name, r, err)
		}
	}
	for name, wantErr := range map[string]string{
		"0004":            "v2 table 0004 has 2 vocabulary maps, name one: PatientClass[EncounterClass], PatientClass[EncounterStatus]",
		"HL70127":         "v2 table 0127 has 3 vocabulary maps",
		"0066":            "v2 table 0066 has no vocabulary map in the IG yet; the inventory plans EmploymentStatus (Under Construction)",
		"9999":            "v2 table 9999 has no vocabulary map in the IG",
		"EthnicGroup":     `vocabulary map "EthnicGroup" is in the IG's inventory (Under Construction) but has no map yet`,
		"PatientClass":    "did you mean PatientClass[EncounterClass], PatientClass[EncounterStatus]?",
		"Nope":            `unknown vocabulary map "Nope"`,
		"":                `unknown vocabulary map ""`,
		"YesNo-Indicator": `unknown vocabulary map "YesNo-Indicator"`, // '-' counts
	} {
		if m, ok := vocab.Lookup(name); ok {
			t.Errorf("Lookup(%q) = %s", name, m.Name)
		}
		m, err := vocab.Resolve(name)
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("Resolve(%q) = %v, %v; want error containing %q", name, m, err, wantErr)
		}
	}
}

func TestByTable(t *testing.T) {
	names := func(ms []*vocab.Map) []string {
		var s []string
		for _, m := range ms {
			s = append(s, m.Name)
		}
		return s
	}
	for table, want := range map[string][]string{
		"0001":    {"AdministrativeSex"},
		"4":       {"PatientClass[EncounterClass]", "PatientClass[EncounterStatus]"},
		"HL70003": {"EventType", "Event[EncounterStatus]"},
		"0127":    {"AllergenType[AllergyIntoleranceCategory]", "AllergenType[AllergyIntoleranceOriginalCategory]", "AllergyType"},
		"0136":    {"YesNoIndicator", "YesNoIndicator[AvailabilityStatus]"},
		"0296":    {"PrimaryLanguage", "PrincipalLanguageOfMessage"},
		"9999":    nil,
		"x":       nil,
	} {
		got := names(vocab.ByTable(table))
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("ByTable(%q) = %q, want %q", table, got, want)
		}
	}
}

// TestMaps checks the whole set against the IG's README: 99 maps, 11 of them
// header-only, 5,268 rows, and the inventory.
func TestMaps(t *testing.T) {
	maps := vocab.Maps()
	rows := 0
	var empty []string
	for i, m := range maps {
		rows += len(m.Rows())
		if len(m.Rows()) == 0 {
			empty = append(empty, m.Name)
		}
		if m.Status != "Ready for Ballot" {
			t.Errorf("%s: status %q", m.Name, m.Status)
		}
		if !strings.HasPrefix(m.Source, "HL7 Concept Map_ "+m.Name+" - ") {
			t.Errorf("%s: source %q", m.Name, m.Source)
		}
		if i > 0 && maps[i-1].Source >= m.Source {
			t.Errorf("maps not in file order at %s", m.Name)
		}
	}
	wantEmpty := []string{"DischargedToLocation", "OperatorID", "PlanId", "RequestedDispenseUnits", "RequestedDosageForm",
		"RequestedDrugStrengthVolumeUnits", "RequestedGiveStrengthUnits", "RequestedGiveUnits", "RoutingInstruction",
		"SecurityLabelHandlingInstructions", "SpecimenSourceTypeModifier"}
	if len(maps) != 99 || rows != 5268 || !slices.Equal(empty, wantEmpty) {
		t.Errorf("%d maps, %d rows, header-only %q", len(maps), rows, empty)
	}
	for _, m := range maps {
		if m.InventoryName != "" {
			t.Logf("%s is %q in the inventory", m.Name, m.InventoryName)
		}
	}

	inv := vocab.Inventory()
	byMap := map[string]int{}
	planned := 0
	for _, e := range inv {
		if e.Map == "" {
			planned++
			continue
		}
		byMap[e.Map]++
		if _, ok := vocab.Lookup(e.Name); !ok {
			t.Errorf("inventory name %q does not find its map", e.Name)
		}
	}
	if len(inv) != 156 || len(byMap) != 99 || planned != 156-100 {
		t.Errorf("inventory: %d entries, %d maps named, %d planned", len(inv), len(byMap), planned)
	}
	if byMap["PublicityCode"] != 2 {
		t.Errorf("PublicityCode is listed %d times", byMap["PublicityCode"])
	}
	if vocab.SourceCommit == "" {
		t.Error("no SourceCommit")
	}
}

func TestResultString(t *testing.T) {
	for r, s := range map[vocab.Result]string{vocab.Empty: "empty", vocab.Mapped: "mapped",
		vocab.NoTarget: "no target", vocab.Unmapped: "unmapped", 9: "Result(9)"} {
		if r.String() != s {
			t.Errorf("%d: %q", r, r.String())
		}
	}
}

func TestTranslateAllocs(t *testing.T) {
	m := mustMap(t, "AdministrativeSex")
	for _, code := range []string{"F", "f", "X", " x ", ""} {
		if n := testing.AllocsPerRun(100, func() { m.Translate(code) }); n != 0 {
			t.Errorf("Translate(%q): %v allocations", code, n)
		}
	}
}

func benchTranslate(b *testing.B, name, code string, want vocab.Result) {
	m := mustMap(b, name)
	b.ReportAllocs()
	for b.Loop() {
		if _, res := m.Translate(code); res != want {
			b.Fatal(res)
		}
	}
}

func BenchmarkTranslate(b *testing.B) {
	benchTranslate(b, "AdministrativeSex", "F", vocab.Mapped)
}

func BenchmarkTranslateLargeMap(b *testing.B) {
	benchTranslate(b, "EventType", "A01", vocab.Mapped)
}

func BenchmarkTranslateFold(b *testing.B) {
	benchTranslate(b, "PatientClass[EncounterClass]", "i", vocab.Mapped)
}

func BenchmarkTranslateUnmapped(b *testing.B) {
	benchTranslate(b, "AdministrativeSex", "X", vocab.Unmapped)
}

func BenchmarkLookup(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := vocab.Lookup("PatientClass[EncounterClass]"); !ok {
			b.Fatal("not found")
		}
	}
}
