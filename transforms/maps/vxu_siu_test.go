package maps_test

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// vxuSIUDefects are the messages of vxu_v04's and siu_s12's tests (by file
// name, #n for the n-th message of a batch) that do not convert with the
// map's default on_error: reject because the message itself is wrong, and
// their errors: exactly these. The IG's SIU_S12 test message is registered
// in corpusDefects too (init, below), for TestCorpusAll.
var vxuSIUDefects = map[string][]string{
	// The IG's SIU test message has the PV1 of its ADT_A01 test message:
	// PV1-7's and PV1-17's XCN have components 15-19 one place early, so
	// XCN.19 (Effective Date, DTM) is "doctor".
	"siu_test-conversion-SIU_S12.hl7": {
		`Encounter.participant[+attender].individual from PV1-7[1]: xcn: XCN.19: "doctor" is not a valid HL7 date/time`,
		`Encounter.participant[+admitter].individual from PV1-17[1]: xcn: XCN.19: "doctor" is not a valid HL7 date/time`,
	},
}

func init() {
	if corpusDefects["siu_s12"] == nil {
		corpusDefects["siu_s12"] = map[string][]string{}
	}
	// the same message, as the shared corpus names it
	corpusDefects["siu_s12"]["test-conversion-SIU_S12.hl7"] = vxuSIUDefects["siu_test-conversion-SIU_S12.hl7"]
}

// convertVXUSIU converts one message with the map maps.Select picks (it
// must be wantMap) and checks it: no error unless a known defect (then
// exactly its errors, and the Bundle of on_error: partial instead), a valid
// Bundle, the same Bundle on a second conversion. It returns the Bundle.
func convertVXUSIU(t *testing.T, wantMap, name string, raw []byte) []byte {
	t.Helper()
	return convertSelected(t, raw, wantMap, vxuSIUDefects[name], name)
}

// TestVXUSIUGolden converts the IG's VXU_V04 and SIU_S12 test messages and
// a message of each made for this test, and compares each Bundle with its
// golden file (testdata/NAME.bundle.json), which was read against the IG's
// rows by hand (testdata/SOURCES.md). Run with -update to rewrite them.
func TestVXUSIUGolden(t *testing.T) {
	for _, c := range []struct{ file, mapName string }{
		{"vxu_test-conversion-VXU_V04", "vxu_v04"},
		{"vxu_refusal", "vxu_v04"},
		{"siu_test-conversion-SIU_S12", "siu_s12"},
		{"siu_participants", "siu_s12"},
	} {
		t.Run(c.file, func(t *testing.T) {
			msg := filepath.Join("testdata", c.file+".hl7")
			golden := filepath.Join("testdata", c.file+".bundle.json")
			msgs := testMessages(t, msg)
			if len(msgs) != 1 {
				t.Fatalf("%d messages in %s, want 1", len(msgs), msg)
			}
			checkGolden(t, golden, convertVXUSIU(t, c.mapName, filepath.Base(msg), msgs[0]))
		})
	}
}

// vxuSIUEntry is what the tests below read of a Bundle entry.
type vxuSIUEntry struct {
	FullURL  string `json:"fullUrl"`
	Request  struct{ URL string }
	Resource map[string]any `json:"resource"`
}

// vxuSIUEntries are a Bundle's entries of one resource type, in order.
func vxuSIUEntries(t *testing.T, bundle []byte, typ string) []vxuSIUEntry {
	t.Helper()
	var b struct{ Entry []vxuSIUEntry }
	if err := json.Unmarshal(bundle, &b); err != nil {
		t.Fatal(err)
	}
	var out []vxuSIUEntry
	for _, e := range b.Entry {
		if e.Resource["resourceType"] == typ {
			out = append(out, e)
		}
	}
	return out
}

// jsonOf is v as compact JSON (object keys sorted), for comparisons by
// text.
func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestVXURefusalNotGiven checks the tricky rows of RXA[Immunization]:
// RXA-20 "RE" (refused) and "NA" (not administered) give status not-done,
// with RXA-18 as statusReason when sent; RXA-21 "D" gives
// entered-in-error whatever RXA-20 says; "PA" gives completed; RXA-6
// "999" (amount unknown) gives no dose.
func TestVXURefusalNotGiven(t *testing.T) {
	refusal := testMessages(t, "testdata/vxu_refusal.hl7")[0]
	imms := vxuSIUEntries(t, convertVXUSIU(t, "vxu_v04", "vxu_refusal.hl7", refusal), "Immunization")
	if len(imms) != 1 {
		t.Fatalf("%d Immunizations, want 1", len(imms))
	}
	r := imms[0].Resource
	if r["status"] != "not-done" {
		t.Errorf("refusal: status %v, want not-done", r["status"])
	}
	if got := jsonOf(t, r["statusReason"]); got != `{"coding":[{"code":"00","display":"Parental decision"}]}` {
		t.Errorf("refusal: statusReason %s", got)
	}
	if _, ok := r["doseQuantity"]; ok {
		t.Errorf("refusal: doseQuantity %v from RXA-6 999", r["doseQuantity"])
	}

	branches := testMessages(t, "testdata/vxu_branches.hl7")[0]
	imms = vxuSIUEntries(t, convertVXUSIU(t, "vxu_v04", "vxu_branches.hl7", branches), "Immunization")
	want := []struct {
		status  string
		reason  bool
		vaccine string
	}{
		{"not-done", false, "03"},         // RXA-20 NA, no RXA-18
		{"completed", false, "140"},       // CP
		{"entered-in-error", false, "21"}, // CP with RXA-21 D
		{"completed", false, "114"},       // PA
	}
	if len(imms) != len(want) {
		t.Fatalf("%d Immunizations, want %d", len(imms), len(want))
	}
	for i, w := range want {
		r := imms[i].Resource
		if !strings.Contains(jsonOf(t, r["vaccineCode"]), `"code":"`+w.vaccine+`"`) {
			t.Errorf("Immunization %d: vaccineCode %s, want CVX %s", i+1, jsonOf(t, r["vaccineCode"]), w.vaccine)
		}
		if r["status"] != w.status {
			t.Errorf("Immunization %d: status %v, want %s", i+1, r["status"], w.status)
		}
		if _, ok := r["statusReason"]; ok != w.reason {
			t.Errorf("Immunization %d: statusReason %v", i+1, r["statusReason"])
		}
	}
}

// TestVXUOrderGroups checks what the language's lack of segment groups
// could get wrong in VXU_V04 (testdata/vxu_branches.hl7): the RXR after an
// RXA gives route and site to that RXA's Immunization only (the first and
// third order groups have none, the fourth its own); ORC-12 reaches only
// its group's Immunization; an OBX is partOf its group's Immunization and
// keeps its NTE; the identifiers are the group's ORC's.
func TestVXUOrderGroups(t *testing.T) {
	raw := testMessages(t, "testdata/vxu_branches.hl7")[0]
	bundle := convertVXUSIU(t, "vxu_v04", "vxu_branches.hl7", raw)
	imms := vxuSIUEntries(t, bundle, "Immunization")
	if len(imms) != 4 {
		t.Fatalf("%d Immunizations, want 4", len(imms))
	}
	routes := []string{
		"",
		`{"coding":[{"code":"IM","display":"Injection, intramuscular","system":"http://terminology.hl7.org/CodeSystem/v3-RouteOfAdministration"}]}`,
		"",
		`{"coding":[{"code":"C38299","display":"Subcutaneous"}]}`,
	}
	sites := []string{"", `{"coding":[{"code":"LA","display":"Left Arm","system":"http://terminology.hl7.org/CodeSystem/v2-0163"}]}`, "", ""}
	fills := []string{"197024", "197025", "197026", "197027"}
	for i, e := range imms {
		r := e.Resource
		got := ""
		if v, ok := r["route"]; ok {
			got = jsonOf(t, v)
		}
		if got != routes[i] {
			t.Errorf("Immunization %d: route %s, want %s", i+1, got, routes[i])
		}
		got = ""
		if v, ok := r["site"]; ok {
			got = jsonOf(t, v)
		}
		if got != sites[i] {
			t.Errorf("Immunization %d: site %s, want %s", i+1, got, sites[i])
		}
		ids := jsonOf(t, r["identifier"])
		if !strings.Contains(ids, `"value":"`+fills[i]+`"`) || strings.Count(ids, `"value"`) != 1+btoi(i == 1) {
			t.Errorf("Immunization %d: identifier %s, want the FILL %s (and PLAC 88123 in the second)", i+1, ids, fills[i])
		}
		perf := jsonOf(t, r["performer"])
		if hasOP := strings.Contains(perf, `"code":"OP"`); hasOP != (i == 1) {
			t.Errorf("Immunization %d: performer %s: ORC-12 (OP) belongs to the second only", i+1, perf)
		}
	}
	obs := vxuSIUEntries(t, bundle, "Observation")
	if len(obs) != 2 {
		t.Fatalf("%d Observations, want 2", len(obs))
	}
	for i, o := range obs {
		want := `[{"reference":"` + imms[1].FullURL + `"}]`
		if got := jsonOf(t, o.Resource["partOf"]); got != want {
			t.Errorf("Observation %d: partOf %s, want %s", i+1, got, want)
		}
	}
	if got := jsonOf(t, obs[0].Resource["note"]); got != `[{"text":"Eligibility checked at check-in."}]` {
		t.Errorf("Observation 1: note %s", got)
	}
	if _, ok := obs[1].Resource["note"]; ok {
		t.Errorf("Observation 2: note %v, want none", obs[1].Resource["note"])
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestSIUParticipants checks the Appointment's participants
// (testdata/siu_participants.hl7): the patient, SCH-12/16/20, one per AIG,
// per AIL (two) and per AIP (two, the second "tentative" from AIP-12
// Pending), in that order.
func TestSIUParticipants(t *testing.T) {
	raw := testMessages(t, "testdata/siu_participants.hl7")[0]
	bundle := convertVXUSIU(t, "siu_s12", "siu_participants.hl7", raw)
	apps := vxuSIUEntries(t, bundle, "Appointment")
	if len(apps) != 1 {
		t.Fatalf("%d Appointments, want 1", len(apps))
	}
	if got := apps[0].Request.URL; got != "Appointment?identifier=FL5521" {
		t.Errorf("request URL %q, want a conditional update on SCH-2", got)
	}
	parts, _ := apps[0].Resource["participant"].([]any)
	byURL := map[string]string{}
	var b struct{ Entry []vxuSIUEntry }
	if err := json.Unmarshal(bundle, &b); err != nil {
		t.Fatal(err)
	}
	for _, e := range b.Entry {
		byURL[e.FullURL], _ = e.Resource["resourceType"].(string)
	}
	var got []string
	for _, p := range parts {
		p := p.(map[string]any)
		actor := "-"
		if a, ok := p["actor"].(map[string]any); ok {
			actor = byURL[a["reference"].(string)]
		}
		got = append(got, actor+"/"+p["status"].(string))
	}
	want := []string{
		"Patient/accepted",
		"Practitioner/accepted", "Practitioner/accepted", "Practitioner/accepted", // SCH-12, 16, 20
		"-/accepted",                             // AIG (AIG-3 is not mapped)
		"Location/accepted", "Location/accepted", // two AILs
		"Practitioner/accepted", "Practitioner/tentative", // two AIPs
	}
	if !slices.Equal(got, want) {
		t.Errorf("participants (actor/status):\n got %v\nwant %v", got, want)
	}
}

// TestSIUEvents checks what the events do (testdata/siu_events.hl7): S15
// without SCH-25 cancels (and updates the Appointment S12 made:
// siu_participants.hl7 has the same SCH-2), S26 without SCH-25 is a
// no-show (keyed by SCH-1, there being no SCH-2), S17 with SCH-25
// "Deleted" is entered-in-error, S23 (a blocked slot) makes no
// Appointment.
func TestSIUEvents(t *testing.T) {
	want := []struct{ status, url string }{
		{"cancelled", "Appointment?identifier=FL5521"},
		{"noshow", "Appointment?identifier=PL7790"},
		{"entered-in-error", "Appointment?identifier=FL5530"},
		{"", ""},
	}
	msgs := testMessages(t, "testdata/siu_events.hl7")
	if len(msgs) != len(want) {
		t.Fatalf("%d messages, want %d", len(msgs), len(want))
	}
	for i, raw := range msgs {
		t.Run(strconv.Itoa(i+1), func(t *testing.T) {
			apps := vxuSIUEntries(t, convertVXUSIU(t, "siu_s12", "siu_events.hl7#"+strconv.Itoa(i+1), raw), "Appointment")
			if want[i].status == "" {
				if len(apps) != 0 {
					t.Fatalf("%d Appointments, want none", len(apps))
				}
				return
			}
			if len(apps) != 1 {
				t.Fatalf("%d Appointments, want 1", len(apps))
			}
			if got := apps[0].Resource["status"]; got != want[i].status {
				t.Errorf("status %v, want %s", got, want[i].status)
			}
			if got := apps[0].Request.URL; got != want[i].url {
				t.Errorf("request URL %q, want %q", got, want[i].url)
			}
			if i == 0 {
				// AIP-12 "Cancelled": the practitioner declined
				if got := jsonOf(t, apps[0].Resource["participant"]); !strings.Contains(got, `"status":"declined"`) {
					t.Errorf("participants %s: AIP-12 Cancelled gives no declined", got)
				}
			}
		})
	}
}
