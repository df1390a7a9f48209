package maps_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/plexus-hl7/plexus/hl7"
	"github.com/plexus-hl7/plexus/transforms/maps"
)

// mmgArbo are the errors of the CDC's MMG 1.2 arboviral test messages
// (MMG_V1_2_*.hl7): OBR-7 and OBR-22 have 13 digits
// (YYYYMMDDHHMM plus one), and an OBX of type TS has 16.
var mmgArbo = []string{
	`DiagnosticReport.effectiveDateTime from OBR-7: dtm: repetition 1: "2014121914001" is not a valid HL7 date/time: 13 digits`,
	`DiagnosticReport.effectiveDateTime from OBR-7: dtm: repetition 1: "2014122114003" is not a valid HL7 date/time: 13 digits`,
	`DiagnosticReport.issued from OBR-22: dtm_instant: repetition 1: "2015122014002" is not a valid HL7 date/time: 13 digits`,
	`DiagnosticReport.issued from OBR-22: dtm_instant: repetition 1: "2015122214004" is not a valid HL7 date/time: 13 digits`,
	`Observation.valueDateTime from OBX-5: dtm: repetition 1: "2015122112301234" is not a valid HL7 date/time: 16 digits`,
	// the Specimen per OBR (OBR[Specimen]: their order groups have no SPM)
	// reads OBR-7 too
	`Specimen.collection.collectedDateTime from OBR-7: dtm: repetition 1: "2014121914001" is not a valid HL7 date/time: 13 digits`,
	`Specimen.collection.collectedDateTime from OBR-7: dtm: repetition 1: "2014122114003" is not a valid HL7 date/time: 13 digits`,
}

// oruKnownDefects lists, as knownDefects does for adt_a01, the ORU messages
// (by file name, with #n for the n-th message of a batch) that do not
// convert with oru_r01 because the message itself is wrong, and their
// errors: exactly these. Each also converts with on_error: partial to a
// valid Bundle.
var oruKnownDefects = map[string][]string{
	// The IG's own test message: OBX-3's SN is "<0.10" in SN.1 (the
	// comparator belongs in SN.1 and the number in SN.2: "<^0.10").
	"test-conversion-ORU_R01.hl7": {
		`Observation.valueQuantity from OBX-5: sn_quantity: repetition 1: "<0.10" is not a valid HL7 SN: SN.1 is not one of`,
	},
	// OBX-14 holds two date/times run together.
	"-moved__InterPartner_CELR_TX_AIMSPlatform_Prod_Prod_20210920104200_STOP_ATillGenVersion251.hl7": {
		`Observation.effectiveDateTime from OBX-14: dtm: repetition 1: "201904020721-0500201902281257-0500" is not a valid HL7 date/time`,
	},
	// An OBX of type DT (or TS) holding "1".
	"deprecated__fn-mmg-based-transformer__src__test__resources__CaseLab_002.hl7": {
		`Observation.valueDateTime from OBX-5: dtm: repetition 1: "1" is not a valid HL7 date/time`,
	},
	// "99999999" as an unknown date (PID-29, OBX-5 of type DT).
	"deprecated__fn-mmg-based-transformer__src__test__resources__MUMPS_V1-0-1_TM_TC01.hl7": {
		`Patient.deceasedDateTime from PID-29: dtm: repetition 1: "99999999" is not a valid HL7 date/time: month 99`,
	},
	"deprecated__fn-mmg-sql-transformer__src__test__resources__CRS_1-0_TC02.hl7": {
		`Observation.valueDateTime from OBX-5: dtm: repetition 1: "99999999" is not a valid HL7 date/time: month 99`,
	},
	"svc-hl7-validation__src__test__postman__case-batch-all-valid.batch.hl7#1": {
		`Observation.valueDateTime from OBX-5: dtm: repetition 1: "99999999" is not a valid HL7 date/time: month 99`,
	},
	// Made to fail date checks (29 February in a common year, 99999999).
	"deprecated__fn-mmg-validator__src__test__resources__Lyme_BadDate.hl7": {
		`Observation.valueDateTime from OBX-5: dtm: repetition 1: "20230229" is not a valid HL7 date/time: day 29 in February 2023`,
		`Observation.valueDateTime from OBX-5: dtm: repetition 1: "99999999" is not a valid HL7 date/time: month 99`,
	},
	"fns-hl7-pipeline__fn-structure-validator__src__test__resources__Lyme_HappyPath.hl7": {
		`Observation.valueDateTime from OBX-5: dtm: repetition 1: "20220229" is not a valid HL7 date/time: day 29 in February 2022`,
	},
	// An SN whose SN.2 is "test".
	"deprecated__fn-mmg-validator__src__test__resources__adb__MMG_V1_0_tularemiaER.hl7": {
		`Observation.valueQuantity from OBX-5: sn_quantity: repetition 1: "test" is not a valid HL7 SN.2 (NM)`,
	},
	// A template: the fields hold their names ("Date/TimeoftheObservation1";
	// OBX-11 "ResultStatus1" gives status "unknown").
	"fns-hl7-pipeline__fn-hl7-json-lake__src__test__resources__hl7Messages__hl7Message.hl7": {
		`Observation.effectiveDateTime from OBX-14: dtm: repetition 1: "Date/TimeoftheObservation1" is not a valid HL7 date/time`,
		`Observation.extension("http://hl7.org/fhir/StructureDefinition/observation-analysis-date-time").valueDateTime from OBX-19: dtm: repetition 1: "Date/TimeoftheAnalysis1" is not a valid HL7 date/time`,
	},
	// PID-7 is "63".
	"fns-hl7-pipeline__fn-structure-validator__src__test__resources__Lyme_WithWarnings3.hl7": {
		`Patient.birthDate from PID-7: dtm_date: repetition 1: "63" is not a valid HL7 date/time`,
	},
	// An SN with "+" in SN.1 ("+^2^-^4").
	"local_libs__lib-bumblebee__src__test__resources__COVID.hl7": {
		`Observation.valueRange from OBX-5: sn_range: repetition 1: "+" is not a valid HL7 SN: SN.1 is not one of`,
	},
	// OBR-22 at hour 26.
	"local_libs__lib-bumblebee__src__test__resources__exampleHL7Message.hl7": {
		`DiagnosticReport.issued from OBR-22: dtm_instant: repetition 1: "20170122265600.004-0600" is not a valid HL7 date/time: hour 26`,
	},
}

func init() {
	for _, name := range []string{"Dengue", "EEE", "JamestownCanyon", "LaCross", "Other_Alkhurma",
		"Other_Bourbon", "Other_Heartland", "Other_Kyasanur", "Other_Mayaro", "Other_MurrayValley",
		"Other_Onyong-nyong", "Other_Oropouche", "Other_RiftValley", "StLouis", "WestNile", "ZikaCong"} {
		oruKnownDefects["deprecated__fn-mmg-validator__src__test__resources__adb__MMG_V1_2_"+name+".hl7"] = mmgArbo
	}
}

// convertORU converts one ORU message with the map maps.Select picks (it
// must be oru_r01) and checks the result as convertChecked does for ADT:
// no error unless a known defect (then exactly its errors, and the partial
// Bundle), a valid Bundle, the same Bundle twice; then checkORU.
func convertORU(t *testing.T, name string, raw []byte) []byte {
	t.Helper()
	m, err := hl7.Parse(raw)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	mapName, err := maps.Select(m.Header())
	if err != nil || mapName != "oru_r01" {
		t.Fatalf("maps.Select: %q, %v; want oru_r01", mapName, err)
	}
	want, defect := oruKnownDefects[name]
	bundle := convertKnown(t, mapName, raw, want, name)
	if !defect {
		checkORU(t, m, bundle)
	}
	return bundle
}

type oruEntry struct {
	FullURL  string `json:"fullUrl"`
	Resource struct {
		ResourceType string                       `json:"resourceType"`
		Code         json.RawMessage              `json:"code"` // an array in PractitionerRole
		Result       []struct{ Reference string } `json:"result"`
	} `json:"resource"`
}

// checkORU checks the shape of an ORU Bundle against its message: one
// Observation per OBX with OBX-3 (plus PD1-7's living will), one
// DiagnosticReport per OBR with OBR-4, and each report's result the
// Observations of the OBXs of its order group (those after its OBR, before
// the next, but for OBX-29 "QST" and "SCI"), in order.
func checkORU(t *testing.T, m *hl7.Message, bundle []byte) {
	t.Helper()
	var b struct{ Entry []oruEntry }
	if err := json.Unmarshal(bundle, &b); err != nil {
		t.Fatal(err)
	}
	var obs, reports []oruEntry
	for _, e := range b.Entry {
		switch e.Resource.ResourceType {
		case "Observation":
			if strings.Contains(string(e.Resource.Code), `"75320-2"`) {
				continue // PD1-7, the living will
			}
			obs = append(obs, e)
		case "DiagnosticReport":
			reports = append(reports, e)
		}
	}
	// per OBX with OBX-3, in message order: its Observation's index and
	// the report (index of its OBR) whose result lists it, or -1
	var wantResults [][]int
	nObs, report := 0, -1
	for i := range m.Len() {
		s := m.Segment(i)
		switch s.ID() {
		case "OBR":
			report = -1
			if s.Field(4).HasValue() {
				wantResults = append(wantResults, nil)
				report = len(wantResults) - 1
			}
		case "OBX":
			if !s.Field(3).HasValue() {
				continue
			}
			if qst := s.Field(29).String(); report >= 0 && qst != "QST" && qst != "SCI" {
				wantResults[report] = append(wantResults[report], nObs)
			}
			nObs++
		}
	}
	if len(obs) != nObs {
		t.Fatalf("%d Observations for %d OBX with OBX-3", len(obs), nObs)
	}
	if len(reports) != len(wantResults) {
		t.Fatalf("%d DiagnosticReports for %d OBR with OBR-4", len(reports), len(wantResults))
	}
	for i, r := range reports {
		var got, want []string
		for _, ref := range r.Resource.Result {
			got = append(got, ref.Reference)
		}
		for _, o := range wantResults[i] {
			want = append(want, obs[o].FullURL)
		}
		if !slices.Equal(got, want) {
			t.Errorf("DiagnosticReport %d: result %v, want %v", i+1, got, want)
		}
	}
}

// TestORUIGTestMessage converts the IG's ORU_R01 test message
// (testdata/SOURCES.md), a known defect, and checks the partial Bundle's
// shape: its OBX with the bad SN still makes an Observation (without a
// value), and the report lists all three.
func TestORUIGTestMessage(t *testing.T) {
	const file = "testdata/test-conversion-ORU_R01.hl7"
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	bundle := convertORU(t, filepath.Base(file), raw)
	m, err := hl7.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	checkORU(t, m, bundle)
}

// TestORUBranches converts the ORU messages made for this test
// (testdata/SOURCES.md).
func TestORUBranches(t *testing.T) {
	const file = "testdata/oru_branches.hl7"
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	b, err := hl7.SplitBatch(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Messages()) != 2 {
		t.Fatalf("%d messages, want 2", len(b.Messages()))
	}
	for i, raw := range b.Messages() {
		t.Run(strconv.Itoa(i+1), func(t *testing.T) {
			bundle := string(convertORU(t, "oru_branches.hl7#"+strconv.Itoa(i+1), raw))
			if i > 0 {
				return
			}
			// a few of the branches, by their output
			for _, s := range []string{
				`"valueQuantity":{"unit":"mg/dL","system":"http://unitsofmeasure.org","code":"mg/dL","value":185}`,
				`"valueQuantity":{"value":10,"comparator":"<"}`,
				`"numerator":{"value":1},"denominator":{"value":64}`,
				`"low":{"value":10},"high":{"value":20}`,
				`"valueString":"Free text result"`,
				`"valueDateTime":"2024-02-29"`,
				`"valueDateTime":"2024-03-01T10:15:00-05:00"`,
				`"valueString":"Line one\nLine two"`,
				`"note":[{"text":"Fasting specimen."},{"text":"Reviewed.","authorReference":`,
				`"status":"unknown"`,
				`"effectivePeriod":{"start":"2024-03-01T08:00:00-05:00","end":"2024-03-01T08:30:00-05:00"}`,
				`"resourceType":"Specimen"`,
			} {
				if !strings.Contains(bundle, s) {
					t.Errorf("the Bundle has no %s", s)
				}
			}
			// the second order group has no ORC: the first one's ORC-16
			// must not reach its report
			if n := strings.Count(bundle, "event-statusReason"); n != 1 {
				t.Errorf("event-statusReason %d times, want 1 (the first report only)", n)
			}
		})
	}
}

// TestCorpusORU converts every ORU^R01 message of the shared corpus with the
// map maps.Select picks for it (oru_r01).
func TestCorpusORU(t *testing.T) {
	n := 0
	walkCorpus(t, func(name string, raw []byte, h hl7.Header) {
		if h.Type != "ORU" || h.Event != "R01" {
			return
		}
		n++
		t.Run(name, func(t *testing.T) { convertORU(t, filepath.Base(name), raw) })
	})
	if n == 0 {
		t.Fatal("no ORU^R01 message in the corpus")
	}
	t.Logf("%d messages", n)
}

// TestORUParentChild: a culture (parent OBR with the organism) and its
// susceptibility panel (child OBR whose OBR-26 names the parent's organism
// OBX and OBR-29 the parent order). Each OBR makes its own
// DiagnosticReport with its own results (checkORU); the IG's
// OBR[DiagnosticReport] map has no target for OBR-26 and OBR-29, so the
// reports are not linked (oru_r01.yaml says so).
func TestORUParentChild(t *testing.T) {
	msg := "MSH|^~\\&|LIS|LAB|EHR|HOSP|20240301120000-0500||ORU^R01^ORU_R01|PC-1|P|2.5.1\r" +
		"PID|1||P9^^^HOSP^MR||Culture^Carl||19700101|M\r" +
		"ORC|RE|PL7^EHR|FL7^LAB\r" +
		"OBR|1|PL7^EHR|FL7^LAB|600-7^Bacteria identified in Blood by Culture^LN|||20240301080000-0500|||||||||||||||20240301113000-0500||MB|F\r" +
		"OBX|1|CWE|600-7^Bacteria identified^LN|1|112283007^Escherichia coli^SCT||||||F\r" +
		"ORC|RE|PL8^EHR|FL8^LAB|PL7^EHR\r" +
		"OBR|2|PL8^EHR|FL8^LAB|29576-6^Bacterial susceptibility panel^LN|||20240301080000-0500|||||||||||||||20240301113000-0500||MB|F|600-7&Bacteria identified&LN^1^Escherichia coli||||PL7&EHR^FL7&LAB\r" +
		"OBX|1|SN|18864-9^Ampicillin [Susceptibility]^LN|1|<=^2|ug/mL||S|||F\r" +
		"OBX|2|SN|18993-6^Ciprofloxacin [Susceptibility]^LN|1|>^4|ug/mL||R|||F\r"
	b := convertORU(t, "parent-child", []byte(msg))
	var bundle struct{ Entry []oruEntry }
	if err := json.Unmarshal(b, &bundle); err != nil {
		t.Fatal(err)
	}
	var results []int
	for _, e := range bundle.Entry {
		if e.Resource.ResourceType == "DiagnosticReport" {
			results = append(results, len(e.Resource.Result))
		}
	}
	if len(results) != 2 || results[0] != 1 || results[1] != 2 {
		t.Errorf("reports' results %v, want [1 2]: the culture's organism, the panel's two", results)
	}
}

// TestORUResultInterpreterAndTechnicians: OBR-32 → resultsInterpreter,
// OBR-34 and OBR-35 → performers with their functions (NDL[PractitionerRole]).
func TestORUResultInterpreterAndTechnicians(t *testing.T) {
	msg := "MSH|^~\\&|LIS|LAB|EHR|HOSP|20240301120000-0500||ORU^R01^ORU_R01|NDL-1|P|2.5.1\r" +
		"PID|1||P9^^^HOSP^MR||Result^Rita||19700101|F\r" +
		"OBR|1|PL9^EHR|FL9^LAB|24331-1^Lipid panel^LN|||20240301080000-0500|||||||||||||||20240301113000-0500||CH|F|||||||" +
		"1111&Reader&Rob&&&Dr&&&HOSP&1.2.3&ISO||2222&Tech&Tia&&&&&&HOSP&1.2.3&ISO~2223&Tech&Tom|3333&Typist&Tess\r" +
		"OBX|1|NM|2093-3^Cholesterol^LN||190|mg/dL|||||F\r"
	b := convertORU(t, "ndl", []byte(msg))
	s := string(b)
	for _, want := range []string{`"resultsInterpreter":[{"reference":"urn:uuid:`, `"code":"SPRF"`, `"code":"TRANS"`, `"display":"Dr Rob Reader"`, `"display":"Tom Tech"`} {
		if !strings.Contains(s, want) {
			t.Errorf("Bundle lacks %s", want)
		}
	}
	if n := strings.Count(s, `event-performerFunction"`); n != 3 {
		t.Errorf("%d performer functions, want 3 (two technicians, a transcriptionist)", n)
	}
}
