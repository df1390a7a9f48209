package maps_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/plexus-hl7/plexus/hl7"
	"github.com/plexus-hl7/plexus/internal/fhirvalidate"
)

// adtFixes are small ADT messages, one per FHIR-validator failure found in
// rules that oru_r01.yaml copied from adt_a01.yaml (see the "Deviation"
// comments there and in adt_a01.yaml). Each gave an invalid Bundle before
// the fix; convertChecked now requires a valid one, and check looks at the
// element the fix is about.
var adtFixes = []struct {
	name  string
	msg   []string // segments
	check func(t *testing.T, b adtBundle)
}{
	{
		// MSH-7 empty: MSH[Provenance-Source] would have no recorded (1..1).
		// EVN-2 is valued, so EVN's Provenance is still made.
		name: "provenance-source without MSH-7",
		msg: []string{
			`MSH|^~\&|SND|SNDFAC|RCV|RCVFAC|||ADT^A01^ADT_A01|FIX1|P|2.5.1`,
			`EVN|A01|20240506070000+0200`,
			`PID|1||MRN1^^^HOSP^MR||DOE^JANE`,
			`PV1|1|I|W1^R2^B3^HOSP`,
		},
		check: func(t *testing.T, b adtBundle) {
			var acts []string
			for _, r := range b.all("Provenance") {
				acts = append(acts, r.Activity.Coding[0].Display)
			}
			if want := []string{"event - ADT^A01"}; !slices.Equal(acts, want) {
				t.Errorf("Provenance activities %q, want %q (EVN's only)", acts, want)
			}
		},
	},
	{
		// MSH-7 and EVN-2 empty: EVN[Provenance] would have no recorded
		// either (it falls back to MSH-7).
		name: "provenance-event without EVN-2 or MSH-7",
		msg: []string{
			`MSH|^~\&|SND|SNDFAC|RCV|RCVFAC|||ADT^A04^ADT_A01|FIX1E|P|2.5.1`,
			`EVN|A04`,
			`PID|1||MRN1^^^HOSP^MR||DOE^JANE`,
			`PV1|1|O|CLINIC^^^HOSP`,
		},
		check: func(t *testing.T, b adtBundle) {
			if n := len(b.all("Provenance")); n != 0 {
				t.Errorf("%d Provenances, want none", n)
			}
		},
	},
	{
		// An NK1 with only a relationship: a Patient.contact with neither
		// name, telecom, address nor organization breaks pat-1.
		name: "NK1 with only a relationship",
		msg: []string{
			`MSH|^~\&|SND|SNDFAC|RCV|RCVFAC|20240506070809+0200||ADT^A01^ADT_A01|FIX2|P|2.5.1`,
			`PID|1||MRN1^^^HOSP^MR||DOE^JANE`,
			`NK1|1||SPO^Spouse^HL70063`,
			`NK1|2|DOE^JOHN|BRO^Brother^HL70063`,
			`PV1|1|I|W1^R2^B3^HOSP`,
		},
		check: func(t *testing.T, b adtBundle) {
			p := b.all("Patient")
			if len(p) != 1 {
				t.Fatalf("%d Patients", len(p))
			}
			if c := p[0].Contact; len(c) != 1 || len(c[0].Name.Family) == 0 {
				t.Errorf("Patient.contact %+v, want one: the second NK1's (DOE)", c)
			}
			// NK1[RelatedPerson] is not affected: both NK1s make one.
			if n := len(b.all("RelatedPerson")); n != 2 {
				t.Errorf("%d RelatedPersons, want 2", n)
			}
		},
	},
	{
		// OBX-11 codes of table 0085 that ObservationResultStatusCodesInterpretation
		// does not map (B, I, N, O, R, S, U, V): status "unknown" instead of
		// the v2 code, which fails the required binding.
		name: "OBX-11 without an Observation.status",
		msg: []string{
			`MSH|^~\&|SND|SNDFAC|RCV|RCVFAC|20240506070809+0200||ADT^A08^ADT_A01|FIX3|P|2.5.1`,
			`PID|1||MRN1^^^HOSP^MR||DOE^JANE`,
			`PV1|1|I|W1^R2^B3^HOSP`,
			`OBX|1|NM|8302-2^Height^LN||170|cm^^UCUM|||||F`,
			`OBX|2|ST|1111-1^A^LN||a||||||B`,
			`OBX|3|ST|2222-2^B^LN||b||||||I`,
			`OBX|4|ST|3333-3^C^LN||||||||N`,
			`OBX|5|ST|4444-4^D^LN||d||||||O`,
			`OBX|6|ST|5555-5^E^LN||e||||||R`,
			`OBX|7|ST|6666-6^F^LN||f||||||S`,
			`OBX|8|ST|7777-7^G^LN||g||||||U`,
			`OBX|9|ST|8888-8^H^LN||h||||||V`,
		},
		check: func(t *testing.T, b adtBundle) {
			var got []string
			for _, r := range b.all("Observation") {
				got = append(got, r.Status)
			}
			want := []string{"final", "unknown", "unknown", "unknown", "unknown", "unknown", "unknown", "unknown", "unknown"}
			if !slices.Equal(got, want) {
				t.Errorf("Observation.status %q, want %q", got, want)
			}
			if !strings.Contains(string(b.raw), `"dataAbsentReason":{"coding":[{"code":"not-asked"`) {
				t.Error(`OBX-11 "N" gives no dataAbsentReason "not-asked"`)
			}
		},
	},
	{
		// PV1-2 outside table 0004: PatientClass[EncounterStatus] does not
		// map it; status "unknown" instead of the v2 code.
		name: "PV1-2 outside table 0004",
		msg: []string{
			`MSH|^~\&|SND|SNDFAC|RCV|RCVFAC|20240506070809+0200||ADT^A01^ADT_A01|FIX4|P|2.5.1`,
			`PID|1||MRN1^^^HOSP^MR||DOE^JANE`,
			`PV1|1|IP|W1^R2^B3^HOSP||||||||||||||||V1^^^HOSP^VN`,
		},
		check: func(t *testing.T, b adtBundle) {
			e := b.all("Encounter")
			if len(e) != 1 || e[0].Status != "unknown" {
				t.Errorf("Encounters %+v, want one with status unknown", e)
			}
		},
	},
}

// adtBundle is what the checks of adtFixes read of a Bundle.
type adtBundle struct {
	raw   []byte
	Entry []struct {
		Resource adtResource `json:"resource"`
	} `json:"entry"`
}

type adtResource struct {
	ResourceType string `json:"resourceType"`
	Status       string `json:"status"`
	Activity     struct {
		Coding []struct{ Display string } `json:"coding"`
	} `json:"activity"`
	Contact []struct {
		Name struct{ Family string } `json:"name"`
	} `json:"contact"`
}

func (b adtBundle) all(resourceType string) []adtResource {
	var out []adtResource
	for _, e := range b.Entry {
		if e.Resource.ResourceType == resourceType {
			out = append(out, e.Resource)
		}
	}
	return out
}

// TestADTValidatorFixes converts each message of adtFixes with adt_a01,
// with on_error: partial (no error, a valid Bundle), then as convertChecked
// does (no error, a valid Bundle), and checks the fixed element. Before the
// OBX-11 and PV1-2 fixes, on_error: reject refused the v2 code (not in the
// required value set) and on_error: partial dropped it, leaving status
// (1..1) empty: the validator's error.
func TestADTValidatorFixes(t *testing.T) {
	for _, tc := range adtFixes {
		t.Run(tc.name, func(t *testing.T) {
			raw := []byte(strings.Join(tc.msg, "\r") + "\r")
			m, err := hl7.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			res, err := rules(t, "adt_a01", true).Convert(m)
			if err != nil || res.Bundle == nil {
				t.Fatalf("on_error: partial: %v", err)
			}
			for _, e := range res.Errors {
				t.Errorf("on_error: partial: %v", e)
			}
			fhirvalidate.ForTest(t).AssertValid(t, res.Bundle)

			b := adtBundle{raw: convertChecked(t, "adt_fixes", raw)}
			if err := json.Unmarshal(b.raw, &b); err != nil {
				t.Fatal(err)
			}
			tc.check(t, b)
		})
	}
}
