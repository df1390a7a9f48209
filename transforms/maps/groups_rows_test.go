package maps_test

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

// groupsBundle converts a testdata message with a built-in map (no error
// allowed), checks the Bundle with the independent validator and returns
// its resources by fullUrl, in order.
type groupsRes struct {
	url string
	r   map[string]any
}

func groupsConvert(t *testing.T, mapName, file string) (list []groupsRes, byURL map[string]map[string]any) {
	t.Helper()
	msgs := testMessages(t, "testdata/"+file)
	if len(msgs) != 1 {
		t.Fatalf("%s holds %d messages, want 1", file, len(msgs))
	}
	bundle := convertKnown(t, mapName, msgs[0], nil, file)
	var b struct {
		Entry []struct {
			FullURL  string         `json:"fullUrl"`
			Resource map[string]any `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(bundle, &b); err != nil {
		t.Fatal(err)
	}
	byURL = map[string]map[string]any{}
	for _, e := range b.Entry {
		list = append(list, groupsRes{e.FullURL, e.Resource})
		byURL[e.FullURL] = e.Resource
	}
	return list, byURL
}

// gField joins the strings at a path through objects and lists.
func gField(v any, path ...string) string {
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

// gOf names the resources a list of references points at: "Specimen
// collected 2024-05-06T06:00:00+00:00" for a Specimen, the practitioner's
// family name for a PractitionerRole, the code for the others.
func gOf(byURL map[string]map[string]any, refs string) string {
	if refs == "" {
		return "-"
	}
	var out []string
	for _, ref := range strings.Split(refs, ",") {
		r := byURL[ref]
		switch r["resourceType"] {
		case "Specimen":
			if id := gField(r, "identifier", "value"); id != "" {
				out = append(out, "Specimen "+id)
			} else {
				out = append(out, "Specimen collected "+gField(r, "collection", "collectedDateTime"))
			}
		case "PractitionerRole":
			p := byURL[gField(r, "practitioner", "reference")]
			out = append(out, gField(r, "code", "coding", "code")+":"+gField(p, "name", "family"))
		case "Immunization":
			out = append(out, "Immunization "+gField(r, "vaccineCode", "coding", "code"))
		default:
			out = append(out, ref)
		}
	}
	return strings.Join(out, "+")
}

func gCompare(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// oru_r01: a Specimen per OBR only for an order group without an SPM
// (OBR[Specimen]), referenced from its report and its observations (not
// from an OBX that names its own specimen in OBX-33); a SPECIMEN_OBSERVATION
// OBX's focus is its SPM's Specimen.
func TestGroupsRowsORUSpecimen(t *testing.T) {
	list, byURL := groupsConvert(t, "oru_r01", "groups_rows_oru.hl7")
	var got []string
	nSpecimen := 0
	for _, e := range list {
		r := e.r
		switch r["resourceType"] {
		case "DiagnosticReport":
			got = append(got, "report "+gField(r, "code", "coding", "code")+": specimen "+gOf(byURL, gField(r, "specimen", "reference")))
		case "Observation":
			got = append(got, "obs "+gField(r, "code", "coding", "code")+": specimen "+gOf(byURL, gField(r, "specimen", "reference"))+
				" (identifier "+gField(r, "specimen", "identifier", "value")+"); focus "+gOf(byURL, gField(r, "focus", "reference")))
		case "Specimen":
			nSpecimen++
		}
	}
	gCompare(t, got, []string{
		"report CBC: specimen Specimen collected 2024-05-06T06:00:00+00:00",
		"report LIPID: specimen Specimen S1",
		"obs HGB: specimen Specimen collected 2024-05-06T06:00:00+00:00 (identifier ); focus -",
		"obs WBC: specimen - (identifier S9); focus -",
		"obs CHOL: specimen - (identifier ); focus -",
		"obs COND: specimen - (identifier ); focus Specimen S1",
	})
	if nSpecimen != 2 {
		t.Errorf("%d Specimens, want 2 (the SPM's, and the first group's OBR's)", nSpecimen)
	}
}

// oru_r01: the PRTs by where they stand: an observation's (PRT-5 valued)
// are its performers (and PRT-9 its event-location), an order group's
// "TN" (and "ARI", "TR") the report's performers, "PRI" its
// resultsInterpreter; "OP" and "SC" of the order and the PRT of another
// order group make nothing here.
func TestGroupsRowsORUPRT(t *testing.T) {
	list, byURL := groupsConvert(t, "oru_r01", "groups_rows_oru_prt.hl7")
	var got []string
	roles := 0
	for _, e := range list {
		r := e.r
		switch r["resourceType"] {
		case "DiagnosticReport":
			got = append(got, "report "+gField(r, "code", "coding", "code")+": performer "+gOf(byURL, gField(r, "performer", "reference"))+
				"; interpreter "+gOf(byURL, gField(r, "resultsInterpreter", "reference")))
		case "Observation":
			loc := "-"
			if ext, ok := r["extension"].([]any); ok {
				for _, x := range ext {
					if x.(map[string]any)["url"] == "http://hl7.org/fhir/StructureDefinition/event-location" {
						loc = gField(byURL[gField(x, "valueReference", "reference")], "resourceType")
					}
				}
			}
			got = append(got, "obs "+gField(r, "code", "coding", "code")+": performer "+gOf(byURL, gField(r, "performer", "reference"))+"; location "+loc)
		case "PractitionerRole":
			roles++

		}
	}
	gCompare(t, got, []string{
		"report CBC: performer TN:TECH; interpreter PRI:READER",
		"report LIPID: performer -; interpreter -",
		"obs 8302-2: performer RO:NURSE; location -",
		"obs HGB: performer RO:LAB; location Location",
		"obs CHOL: performer -; location -",
	})
	if roles != 4 {
		t.Errorf("%d PractitionerRoles, want 4", roles)
	}
}

// vxu_v04: an OBX before the first ORC (PERSON_OBSERVATION) is partOf no
// Immunization; the ORDER group's PRTs "OP" and "AP" are its
// Immunization's performers (not the next group's), "RO" none; an
// observation's PRT its performer.
func TestGroupsRowsVXU(t *testing.T) {
	list, byURL := groupsConvert(t, "vxu_v04", "groups_rows_vxu.hl7")
	var got []string
	for _, e := range list {
		r := e.r
		switch r["resourceType"] {
		case "Immunization":
			var perf []string
			ps, _ := r["performer"].([]any)
			for _, p := range ps {
				perf = append(perf, gField(p, "function", "coding", "code")+"="+gOf(byURL, gField(p, "actor", "reference")))
			}
			got = append(got, "imm "+gField(r, "vaccineCode", "coding", "code")+": "+strings.Join(perf, " "))
		case "Observation":
			got = append(got, "obs "+gField(r, "code", "coding", "code")+": partOf "+gOf(byURL, gField(r, "partOf", "reference"))+
				"; performer "+gOf(byURL, gField(r, "performer", "reference")))
		}
	}
	gCompare(t, got, []string{
		"imm 08: OP=OP:ORDERER AP=AP:GIVER",
		"imm 20: ",
		"obs 30945-0: partOf -; performer RO:OBSERVER",
		"obs 64994-7: partOf Immunization 08; performer RO:CHECKER",
		"obs 64994-7: partOf Immunization 20; performer -",
	})
}

// orc_obr (oml_o21, mdm_t02): TQ1 is the order group's own, so a second
// group without TQ1 gets no priority or quantity from the first one's;
// orm_o01, whose structure has no TQ1, keeps it to a message with one ORC.
// mdm_t02: a COMMON_ORDER's NTEs are its ServiceRequest's notes, not
// content of the document (whose NTEs are those after the TXA).
func TestGroupsRowsOrders(t *testing.T) {
	for _, c := range []struct {
		mapName, file string
		want          []string
	}{
		{"oml_o21", "groups_rows_oml.hl7", []string{"CBC: priority routine, quantity 2, notes ", "LIPID: priority , quantity , notes "}},
		{"orm_o01", "groups_rows_orm.hl7", []string{"CBC: priority , quantity , notes ", "LIPID: priority , quantity , notes "}},
		{"mdm_t02", "groups_rows_mdm.hl7", []string{"CBC: priority routine, quantity 2, notes order note one", "LIPID: priority , quantity , notes order note two",
			"document: text of the document|document note"}},
	} {
		t.Run(c.mapName, func(t *testing.T) {
			list, _ := groupsConvert(t, c.mapName, c.file)
			var got []string
			for _, e := range list {
				r := e.r
				switch r["resourceType"] {
				case "ServiceRequest":
					q := ""
					if v, ok := r["quantityQuantity"].(map[string]any); ok {
						q = jsonString(v["value"])
					}
					got = append(got, gField(r, "code", "coding", "code")+": priority "+gField(r, "priority")+", quantity "+q+", notes "+gField(r, "note", "text"))
				case "DocumentReference":
					var texts []string
					for _, d := range strings.Split(gField(r, "content", "attachment", "data"), ",") {
						texts = append(texts, decode64(t, d))
					}
					got = append(got, "document: "+strings.Join(texts, "|"))
				}
			}
			gCompare(t, got, c.want)
		})
	}
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func decode64(t *testing.T, s string) string {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// oml_o21: an OBR's NTEs are its ServiceRequest's notes, an OBX's its
// Observation's; an OBX of SPECIMEN_OBSERVATION has no NTEs (not the
// OBR's) and is not the ServiceRequest's supportingInfo.
func TestGroupsRowsOMLNotes(t *testing.T) {
	list, byURL := groupsConvert(t, "oml_o21", "groups_rows_oml_notes.hl7")
	var got []string
	for _, e := range list {
		r := e.r
		switch r["resourceType"] {
		case "ServiceRequest":
			var info []string
			for _, ref := range strings.Split(gField(r, "supportingInfo", "reference"), ",") {
				info = append(info, gField(byURL[ref], "code", "coding", "code"))
			}
			got = append(got, "order "+gField(r, "code", "coding", "code")+": notes "+gField(r, "note", "text")+"; supportingInfo "+strings.Join(info, ","))
		case "Observation":
			got = append(got, "obs "+gField(r, "code", "coding", "code")+": notes "+gField(r, "note", "text"))
		}
	}
	gCompare(t, got, []string{
		"order CBC: notes order note; supportingInfo Q1",
		"obs Q1: notes obx note",
		"obs COND: notes ",
	})
}

// oru_r01: an OBX's notes are its own NTEs: not the patient's (for a
// PATIENT_OBSERVATION OBX) nor the OBR's (for a SPECIMEN_OBSERVATION OBX).
func TestGroupsRowsORUNotes(t *testing.T) {
	list, _ := groupsConvert(t, "oru_r01", "groups_rows_oru_notes.hl7")
	var got []string
	for _, e := range list {
		if e.r["resourceType"] == "Observation" {
			got = append(got, "obs "+gField(e.r, "code", "coding", "code")+": notes "+gField(e.r, "note", "text"))
		}
	}
	gCompare(t, got, []string{"obs 8302-2: notes ", "obs HGB: notes hgb note", "obs COND: notes "})
}
