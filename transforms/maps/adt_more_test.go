package maps_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The maps adt_a02, adt_a03, adt_a06, adt_a09 and adt_a11: goldens of one
// message per structure, the rows the issue names as tricky for ADT (PV1-2,
// PV1-4, PV1-10 and PV1-36 codes, the PV1-44/45 period, the event's
// Encounter status, MRG-3's Account), and which map Plexus picks for each
// event (testdata/SOURCES.md says where the messages come from).

// adtMoreGoldens are the golden Bundles, one per structure: the message,
// the map maps.Select must pick for it, and the Bundle read against the
// IG's rows (testdata/SOURCES.md). Run with -update to rewrite them.
var adtMoreGoldens = []struct{ msg, mapName, golden string }{
	{"testdata/adt_a02.hl7", "adt_a02", "testdata/adt_a02.bundle.json"},
	{"testdata/adt_a03.hl7", "adt_a03", "testdata/adt_a03.bundle.json"},
	{"testdata/adt_a06.hl7", "adt_a06", "testdata/adt_a06.bundle.json"},
	{"testdata/adt_a09.hl7", "adt_a09", "testdata/adt_a09.bundle.json"},
	{"testdata/adt_a11.hl7", "adt_a11", "testdata/adt_a11.bundle.json"},
}

// adtMoreConvert converts one message with the map maps.Select picks for
// it, which must be wantMap, and checks what every Bundle of these maps
// must be: no conversion error, valid for the independent FHIR validator,
// and byte-identical when the same message is converted again, by the same
// rules and by rules loaded anew (a replay after a restart).
func adtMoreConvert(t *testing.T, raw []byte, wantMap string) adtMoreBundle {
	t.Helper()
	bundle := convertSelected(t, raw, wantMap, nil, "")
	b := adtMoreBundle{raw: bundle}
	if err := json.Unmarshal(bundle, &b.doc); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	return b
}

// TestADTMoreGoldens converts the message of each structure and compares
// its Bundle with the golden file.
func TestADTMoreGoldens(t *testing.T) {
	for _, g := range adtMoreGoldens {
		t.Run(g.mapName, func(t *testing.T) {
			msgs := testMessages(t, g.msg)
			if len(msgs) != 1 {
				t.Fatalf("%s holds %d messages, want 1", g.msg, len(msgs))
			}
			checkGolden(t, g.golden, adtMoreConvert(t, msgs[0], g.mapName).raw)
		})
	}
}

// TestADTMoreTransfer: A02 moves the Encounter's location; PV1-2, PV1-4 and
// PV1-10 go through their vocabulary maps.
func TestADTMoreTransfer(t *testing.T) {
	b := adtMoreConvert(t, testMessages(t, "testdata/adt_a02.hl7")[0], "adt_a02")
	e := b.one(t, "Encounter")
	adtMoreWant(t, e, "status", "in-progress")
	// PV1-2 I → class IMP (PatientClass[EncounterClass])
	adtMoreWant(t, e, "class.code", "IMP")
	adtMoreWant(t, e, "class.system", "http://terminology.hl7.org/CodeSystem/v3-ActCode")
	// PV1-4 E → type E of v2-0007 (AdmissionType)
	adtMoreWant(t, e, "type.0.coding.0.code", "E")
	adtMoreWant(t, e, "type.0.coding.0.system", "http://terminology.hl7.org/CodeSystem/v2-0007")
	// PV1-10 MED → service-type 382 (HospitalService)
	adtMoreWant(t, e, "serviceType.coding.0.code", "382")
	adtMoreWant(t, e, "serviceType.coding.0.system", "http://terminology.hl7.org/CodeSystem/service-type")
	// PV1-3 the new location, active; PV1-6 the prior one, completed
	adtMoreWant(t, e, "location.0.status", "active")
	adtMoreWant(t, e, "location.1.status", "completed")
	// (PL[Location]: the bed is the Location referred to, PL.9 its
	// description)
	adtMoreWant(t, b.resolve(t, e, "location.0.location"), "description", "4 West Medical")
	adtMoreWant(t, b.resolve(t, e, "location.0.location"), "identifier.0.value", "A")
	adtMoreWant(t, b.resolve(t, e, "location.1.location"), "identifier.0.value", "01")
	// PV1-44 → period.start, no PV1-45: no end
	adtMoreWant(t, e, "period.start", "2015-06-01T13:58:00+01:00")
	adtMoreWant(t, e, "period.end", "")
	// the Encounter the A01 made, updated by its visit number
	if u := b.request(t, "Encounter"); u != "Encounter?identifier=urn%3Aoid%3A1.2.3.4.5.6|81456267" {
		t.Errorf("Encounter request %q", u)
	}
}

// TestADTMoreDischarge: A03 finishes the Encounter, with PV1-45 as its end
// and PV1-36 as its discharge disposition; without PV1-45 it is finished
// all the same.
func TestADTMoreDischarge(t *testing.T) {
	b := adtMoreConvert(t, testMessages(t, "testdata/adt_a03.hl7")[0], "adt_a03")
	e := b.one(t, "Encounter")
	adtMoreWant(t, e, "status", "finished")
	adtMoreWant(t, e, "period.start", "2015-06-01T13:58:00+01:00")
	adtMoreWant(t, e, "period.end", "2015-06-05T10:30:00+01:00")
	// PV1-36: the v2 code kept (DischargeDisposition has no v2 codes)
	adtMoreWant(t, e, "hospitalization.dischargeDisposition.coding.0.code", "01")
	adtMoreWant(t, e, "hospitalization.dischargeDisposition.coding.0.system", "http://terminology.hl7.org/CodeSystem/v2-0112")
	adtMoreWant(t, e, "class.code", "IMP")
	// the patient has left PV1-3
	adtMoreWant(t, e, "location.0.status", "completed")
	for _, rt := range []string{"Condition", "Procedure", "AllergyIntolerance", "RelatedPerson", "Account"} {
		b.one(t, rt)
	}

	// An inpatient discharged without PV1-45: the part alone would say
	// in-progress (PV1-2 I through PatientClass[EncounterStatus]).
	raw := []byte(strings.Join([]string{
		`MSH|^~\&|SND|SNDFAC|RCV|RCVFAC|20240506070809+0200||ADT^A03|A03NOEND|P|2.3`,
		`EVN|A03|20240506070809+0200`,
		`PID|1||MRN1^^^HOSP^MR||DOE^JANE`,
		`PV1|1|I|W1^R2^B3^HOSP||||||||||||||||V1^^^HOSP^VN|||||||||||||||||01^Home^HL70112||||||||20240501080000+0200`,
	}, "\r") + "\r")
	b = adtMoreConvert(t, raw, "adt_a03")
	e = b.one(t, "Encounter")
	adtMoreWant(t, e, "status", "finished")
	adtMoreWant(t, e, "period.start", "2024-05-01T08:00:00+02:00")
	adtMoreWant(t, e, "period.end", "")
}

// TestADTMoreCorpusA03 converts the corpus's ADT^A03 (HAPI's test message)
// with adt_a03: PV1-45 is its end, the status finished.
func TestADTMoreCorpusA03(t *testing.T) {
	dir := corpusDir(t)
	raw, err := os.ReadFile(filepath.Join(dir, "hapi-hl7v2/hapi-osgi-test__src__test__resources__ca__uhn__hl7v2__parser__adt_a03.hl7"))
	if err != nil {
		t.Fatal(err)
	}
	b := adtMoreConvert(t, raw, "adt_a03")
	e := b.one(t, "Encounter")
	adtMoreWant(t, e, "status", "finished")
	adtMoreWant(t, e, "period.end", "2008-03-03T15:08:00+00:00")
	adtMoreWant(t, e, "identifier.0.value", "2008003369")
	// PV1-6 holds only an assigning authority (PL.11): no prior location
	// (the part alone made one without its Location, which is invalid)
	adtMoreWant(t, e, "location.0.status", "completed")
	adtMoreWant(t, e, "location.1.status", "")
	b.one(t, "Procedure")
}

// TestADTMoreChangeClass: A06 (outpatient to inpatient) with a new account
// and the prior one in MRG-3; A07 (back to outpatient) with MRG-3 equal to
// PID-18, which must not make a second Account.
func TestADTMoreChangeClass(t *testing.T) {
	b := adtMoreConvert(t, testMessages(t, "testdata/adt_a06.hl7")[0], "adt_a06")
	e := b.one(t, "Encounter")
	adtMoreWant(t, e, "class.code", "IMP")
	adtMoreWant(t, e, "type.0.coding.0.code", "U")
	accounts := b.all("Account")
	if len(accounts) != 2 {
		t.Fatalf("%d Accounts, want 2 (PID-18 and MRG-3)", len(accounts))
	}
	adtMoreWant(t, accounts[0], "identifier.0.value", "12346")
	adtMoreWant(t, accounts[0], "status", "active")
	// MRG[Account]: status "unknown", identifier MRG-3, subject Patient[1]
	adtMoreWant(t, accounts[1], "identifier.0.value", "12345")
	adtMoreWant(t, accounts[1], "status", "unknown")
	adtMoreWant(t, b.resolve(t, accounts[1], "subject.0"), "resourceType", "Patient")
	var urls []string
	for _, en := range b.entries() {
		if adtMoreGet(en, "resource.resourceType") == "Account" {
			urls = append(urls, adtMoreGet(en, "request.url"))
		}
	}
	if want := []string{"Account?identifier=urn%3Aoid%3A1.2.3.4.5|12346", "Account?identifier=urn%3Aoid%3A1.2.3.4.5|12345"}; !slices.Equal(urls, want) {
		t.Errorf("Account requests %q, want %q", urls, want)
	}

	b = adtMoreConvert(t, testMessages(t, "testdata/adt_a07.hl7")[0], "adt_a06")
	e = b.one(t, "Encounter")
	// PV1-2 O → AMB; PV1-10 PUL → PUL of v2-0069 (HospitalService)
	adtMoreWant(t, e, "class.code", "AMB")
	adtMoreWant(t, e, "status", "in-progress")
	adtMoreWant(t, e, "serviceType.coding.0.code", "PUL")
	adtMoreWant(t, e, "serviceType.coding.0.system", "http://terminology.hl7.org/CodeSystem/v2-0069")
	adtMoreWant(t, b.one(t, "Account"), "status", "active")
}

// TestADTMoreTracking: A09 and A10 give the Encounter the temporary
// location PV1-11; an A12 of v2.4 (structure ADT_A09) is converted by
// adt_a09, its DG1 not read; an A11 of v2.5.1 (structure ADT_A09) is
// converted by adt_a09 and cancels the Encounter, as adt_a11 does.
func TestADTMoreTracking(t *testing.T) {
	b := adtMoreConvert(t, testMessages(t, "testdata/adt_a09.hl7")[0], "adt_a09")
	e := b.one(t, "Encounter")
	adtMoreWant(t, e, "status", "in-progress")
	adtMoreWant(t, e, "location.1.status", "active")
	adtMoreWant(t, b.resolve(t, e, "location.1.location"), "description", "Radiology X-ray 2")

	msgs := testMessages(t, "testdata/adt_a09_events.hl7")
	if len(msgs) != 3 {
		t.Fatalf("%d messages, want 3", len(msgs))
	}
	t.Run("A10", func(t *testing.T) {
		e := adtMoreConvert(t, msgs[0], "adt_a09").one(t, "Encounter")
		adtMoreWant(t, e, "status", "in-progress")
		adtMoreWant(t, e, "location.1.status", "active")
	})
	t.Run("A12", func(t *testing.T) {
		b := adtMoreConvert(t, msgs[1], "adt_a09")
		e := b.one(t, "Encounter")
		adtMoreWant(t, e, "status", "in-progress")
		adtMoreWant(t, e, "class.code", "EMER")
		adtMoreWant(t, b.resolve(t, e, "location.0.location"), "identifier.0.value", "01")
		adtMoreWant(t, b.resolve(t, e, "location.1.location"), "description", "4 West Medical")
		adtMoreWant(t, e, "location.1.status", "completed")
		if n := len(b.all("Condition")); n != 0 {
			t.Errorf("%d Conditions, want none (the ADT_A09 map has no DG1)", n)
		}
	})
	t.Run("A11 as ADT_A09", func(t *testing.T) {
		b := adtMoreConvert(t, msgs[2], "adt_a09")
		adtMoreWant(t, b.one(t, "Encounter"), "status", "cancelled")
		b.one(t, "Condition")
	})
}

// TestADTMoreCancelAdmit: A11 without MSH-9.3 is picked as ADT_A11; the
// MSH[Encounter] row makes the Encounter cancelled, whatever PV1-2 says.
func TestADTMoreCancelAdmit(t *testing.T) {
	b := adtMoreConvert(t, testMessages(t, "testdata/adt_a11.hl7")[0], "adt_a11")
	e := b.one(t, "Encounter")
	adtMoreWant(t, e, "status", "cancelled")
	adtMoreWant(t, e, "class.code", "EMER")
	if u := b.request(t, "Encounter"); u != "Encounter?identifier=urn%3Aoid%3A1.2.3.4.5.6|81456267" {
		t.Errorf("Encounter request %q", u)
	}
	c := b.one(t, "Condition")
	adtMoreWant(t, c, "code.coding.0.code", "J45.909")
	// PV1-45 valued: the event still decides (PV1-45 alone would say
	// finished).
	raw := []byte(strings.Join([]string{
		`MSH|^~\&|SND|SNDFAC|RCV|RCVFAC|20240506070809+0200||ADT^A11^ADT_A11|A11END|P|2.5.1`,
		`EVN|A11|20240506070809+0200`,
		`PID|1||MRN1^^^HOSP^MR||DOE^JANE`,
		`PV1|1|O|CLINIC^^^HOSP||||||||||||||||V2^^^HOSP^VN||||||||||||||||||||||||||20240506080000+0200`,
	}, "\r") + "\r")
	adtMoreWant(t, adtMoreConvert(t, raw, "adt_a11").one(t, "Encounter"), "status", "cancelled")
}

// adtMoreBundle is a converted Bundle, read as JSON.
type adtMoreBundle struct {
	raw []byte
	doc map[string]any
}

func (b adtMoreBundle) entries() []map[string]any {
	var out []map[string]any
	es, _ := b.doc["entry"].([]any)
	for _, e := range es {
		if m, ok := e.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// all returns the resources of one type, in Bundle order.
func (b adtMoreBundle) all(resourceType string) []map[string]any {
	var out []map[string]any
	for _, e := range b.entries() {
		if r, ok := e["resource"].(map[string]any); ok && r["resourceType"] == resourceType {
			out = append(out, r)
		}
	}
	return out
}

// one returns the only resource of a type, failing the test otherwise.
func (b adtMoreBundle) one(t *testing.T, resourceType string) map[string]any {
	t.Helper()
	rs := b.all(resourceType)
	if len(rs) != 1 {
		t.Fatalf("%d %s resources, want 1", len(rs), resourceType)
	}
	return rs[0]
}

// request is the request URL of the only resource of a type.
func (b adtMoreBundle) request(t *testing.T, resourceType string) string {
	t.Helper()
	b.one(t, resourceType)
	for _, e := range b.entries() {
		if adtMoreGet(e, "resource.resourceType") == resourceType {
			return adtMoreGet(e, "request.url")
		}
	}
	return ""
}

// resolve follows the reference at path (a urn:uuid of this Bundle) to
// its resource.
func (b adtMoreBundle) resolve(t *testing.T, r map[string]any, path string) map[string]any {
	t.Helper()
	ref := adtMoreGet(r, path+".reference")
	for _, e := range b.entries() {
		if e["fullUrl"] == ref && ref != "" {
			return e["resource"].(map[string]any)
		}
	}
	t.Fatalf("%s.reference %q is no entry of the Bundle", path, ref)
	return nil
}

// adtMoreGet reads a dotted path (numbers index arrays) as text; "" when
// it is absent.
func adtMoreGet(v any, path string) string {
	for _, k := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[k]
		case []any:
			i := 0
			for _, c := range k {
				if c < '0' || c > '9' {
					return ""
				}
				i = i*10 + int(c-'0')
			}
			if i >= len(x) {
				return ""
			}
			v = x[i]
		default:
			return ""
		}
	}
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

func adtMoreWant(t *testing.T, r map[string]any, path, want string) {
	t.Helper()
	if got := adtMoreGet(r, path); got != want {
		t.Errorf("%s.%s = %q, want %q", adtMoreGet(r, "resourceType"), path, got, want)
	}
}
