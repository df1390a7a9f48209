package maps_test

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/plexus-hl7/plexus/hl7"
)

// The IG's own test messages for ORM_O01 and OML_O21 share a defect: ORC-10's
// XCN has its components after XCN.8 one place off, so that XCN.19
// (Effective Date, DTM) holds "FHL7". The MDM_T02 sample and test message
// carry a placeholder where OBX-5's base64 data belongs ("<Base64
// encoded>", with ED.4 "Base64"), which is not base64.
var (
	igORCEnteredBy = []string{
		`Provenance.agent[+enterer].who from ORC-10[1]: xcn: XCN.19: "FHL7" is not a valid HL7 date/time`,
	}
	igMDMPlaceholder = []string{
		`DocumentReference.content[+ed].attachment from OBX-5[1]: ed: "(ED.5)" is not a valid HL7 ED: ED.5 is not base64 as ED.4 says`,
	}
)

func init() {
	corpusDefects["orm_o01"] = map[string][]string{"test-conversion-ORM_O01.hl7": igORCEnteredBy}
	corpusDefects["oml_o21"] = map[string][]string{"test-conversion-OML_O21.hl7": igORCEnteredBy}
	corpusDefects["mdm_t02"] = map[string][]string{
		"MDM_T02.hl7":                 igMDMPlaceholder,
		"test-conversion-MDM_T02.hl7": igMDMPlaceholder,
	}
}

// orderBundle is what the tests read of a Bundle: each entry's resource as
// a generic map, and its fullUrl and request.
type orderBundle struct {
	Entry []struct {
		FullURL  string         `json:"fullUrl"`
		Resource map[string]any `json:"resource"`
		Request  struct {
			Method string `json:"method"`
			URL    string `json:"url"`
		} `json:"request"`
	} `json:"entry"`
}

// all lists the resources of one type, in Bundle order, with their fullUrls.
func (b orderBundle) all(typ string) (res []map[string]any, urls []string) {
	for _, e := range b.Entry {
		if e.Resource["resourceType"] == typ {
			res = append(res, e.Resource)
			urls = append(urls, e.FullURL)
		}
	}
	return res, urls
}

// orderRefs gives the references of a list of Reference objects (or of one).
func orderRefs(v any) []string {
	var out []string
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			out = append(out, orderRefs(e)...)
		}
	case map[string]any:
		if r, ok := x["reference"].(string); ok {
			out = append(out, r)
		}
	}
	return out
}

// orderJSON is v as compact JSON, for comparisons by text.
func orderJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// convertOrder converts one message with the map maps.Select picks (it must
// be want), requires no error and no warning about a value dropped, a
// Bundle valid for the independent validator and the same Bundle on a
// second conversion; it compares the Bundle with golden (rewritten with
// -update) when golden is not empty.
func convertOrder(t *testing.T, raw []byte, want, golden string) orderBundle {
	t.Helper()
	bundle := convertSelected(t, raw, want, nil, "")
	if golden != "" {
		checkGolden(t, golden, bundle)
	}
	var b orderBundle
	if err := json.Unmarshal(bundle, &b); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestORMGolden converts testdata/orm_o01.hl7 (testdata/SOURCES.md): two
// ORC/OBR order groups and an ORC/RXO one. Each ServiceRequest must hold
// the notes, reasons (DG1) and supporting Observations (OBX) of its own
// group only; the RXO makes a MedicationRequest and no ServiceRequest.
func TestORMGolden(t *testing.T) {
	b := convertOrder(t, readMessage(t, "testdata/orm_o01.hl7"), "orm_o01", "testdata/orm_o01.bundle.json")
	srs, _ := b.all("ServiceRequest")
	if len(srs) != 2 {
		t.Fatalf("%d ServiceRequests, want 2 (one per OBR; the RXO group makes none)", len(srs))
	}
	_, conds := b.all("Condition")
	_, obs := b.all("Observation")
	if got := orderRefs(srs[0]["reasonReference"]); !slices.Equal(got, conds) || len(got) != 1 {
		t.Errorf("first ServiceRequest reasonReference %v, want the one Condition %v", got, conds)
	}
	if got := orderRefs(srs[0]["supportingInfo"]); !slices.Equal(got, obs) || len(got) != 1 {
		t.Errorf("first ServiceRequest supportingInfo %v, want the one Observation %v", got, obs)
	}
	if n := orderJSON(t, srs[0]["note"]); n != `[{"text":"Patient fasting since midnight."}]` {
		t.Errorf("first ServiceRequest note %s", n)
	}
	for _, k := range []string{"note", "reasonReference", "supportingInfo"} {
		if v, ok := srs[1][k]; ok {
			t.Errorf("second ServiceRequest has %s %s: another group's", k, orderJSON(t, v))
		}
	}
	// status by ORC-5 (CA → revoked) before ORC-1; intent by OBR-11 (G)
	for i, want := range [][2]string{{"active", "order"}, {"revoked", "reflex-order"}} {
		if srs[i]["status"] != want[0] || srs[i]["intent"] != want[1] {
			t.Errorf("ServiceRequest %d: status %v, intent %v; want %v", i+1, srs[i]["status"], srs[i]["intent"], want)
		}
	}
	// conditional PUT on the placer order number
	var urls []string
	for _, e := range b.Entry {
		if e.Resource["resourceType"] == "ServiceRequest" {
			urls = append(urls, e.Request.URL)
		}
	}
	if want := []string{"ServiceRequest?identifier=urn%3Aoid%3A2.16.840.1.113883.19.1|PLC1001", "ServiceRequest?identifier=PLC1002"}; !slices.Equal(urls, want) {
		t.Errorf("ServiceRequest request URLs %q, want %q", urls, want)
	}
	mrs, _ := b.all("MedicationRequest")
	if len(mrs) != 1 {
		t.Fatalf("%d MedicationRequests, want 1", len(mrs))
	}
	if got := orderJSON(t, mrs[0]["dosageInstruction"]); !strings.Contains(got, `"low":{"code":"mg","system":"http://unitsofmeasure.org","unit":"milligram","value":250}`) {
		t.Errorf("MedicationRequest dosage %s", got)
	}
}

// TestOMLGolden converts testdata/oml_o21.hl7: one order group with TQ1,
// NTEs, a DG1, an OBX with its NTE and two SPMs.
func TestOMLGolden(t *testing.T) {
	b := convertOrder(t, readMessage(t, "testdata/oml_o21.hl7"), "oml_o21", "testdata/oml_o21.bundle.json")
	srs, _ := b.all("ServiceRequest")
	if len(srs) != 1 {
		t.Fatalf("%d ServiceRequests, want 1", len(srs))
	}
	_, specs := b.all("Specimen")
	if got := orderRefs(srs[0]["specimen"]); len(specs) != 2 || !slices.Equal(got, specs) {
		t.Errorf("ServiceRequest specimen %v, want the two SPM Specimens %v", got, specs)
	}
	// TQ1 (one order group): priority S → stat, the timing's bounds
	if srs[0]["priority"] != "stat" {
		t.Errorf("priority %v, want stat (TQ1-9 S)", srs[0]["priority"])
	}
	if got := orderJSON(t, srs[0]["occurrenceTiming"]); got != `{"repeat":{"boundsPeriod":{"end":"2024-03-12T12:00:00-05:00","start":"2024-03-12T11:00:00-05:00"}}}` {
		t.Errorf("occurrenceTiming %s", got)
	}
	o, _ := b.all("Observation")
	if len(o) != 1 || orderJSON(t, o[0]["note"]) != `[{"text":"Patient reports fasting."}]` {
		t.Errorf("Observations %s, want one with the OBX's NTE as note", orderJSON(t, o))
	}
}

// TestMDMGolden converts testdata/mdm_t02.hl7 and checks the tricky rows of
// OBX[DocumentReference]: the ED's base64 data reaches the attachment as
// sent, with the content type its ED.2/ED.3 give (AP^PDF); a TX's
// repetitions are lines of one text; NTE after the OBXs is content too;
// the COMMON_ORDER's ServiceRequest is the document's context.related.
func TestMDMGolden(t *testing.T) {
	raw := readMessage(t, "testdata/mdm_t02.hl7")
	b := convertOrder(t, raw, "mdm_t02", "testdata/mdm_t02.bundle.json")
	docs, docURLs := b.all("DocumentReference")
	if len(docs) != 1 {
		t.Fatalf("%d DocumentReferences, want 1", len(docs))
	}
	if n, _ := b.all("Observation"); len(n) != 0 {
		t.Errorf("%d Observations: MDM_T02's OBXs are document content only", len(n))
	}
	d := docs[0]
	var content []struct {
		Attachment struct{ ContentType, Data, URL string }
	}
	if err := json.Unmarshal([]byte(orderJSON(t, d["content"])), &content); err != nil {
		t.Fatal(err)
	}
	text := func(i int) string {
		s, err := base64.StdEncoding.DecodeString(content[i].Attachment.Data)
		if err != nil {
			t.Fatalf("content %d: %v", i, err)
		}
		return string(s)
	}
	if len(content) != 4 {
		t.Fatalf("%d contents, want 4 (ED, FT, TX, NTE): %s", len(content), orderJSON(t, d["content"]))
	}
	// blocks are made in the order written: ED, FT, TX, then the NTE
	m, err := hl7.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	obx, _ := m.Find("OBX", 3)
	wantB64 := obx.Field(5).Component(5).String()
	if a := content[0].Attachment; a.ContentType != "application/pdf" || a.Data != wantB64 || !strings.HasPrefix(text(0), "%PDF-") {
		t.Errorf("ED content: %s %.20s…, want application/pdf and OBX-5.5 as sent", a.ContentType, a.Data)
	}
	if a := content[1].Attachment; a.ContentType != "text/hl7v2" || text(1) != "Medications:\naspirin 81 mg daily" {
		t.Errorf("FT content: %s %q", a.ContentType, text(1))
	}
	if a := content[2].Attachment; a.ContentType != "application/text" || text(2) != "Admitted for chest pain.\nDischarged in good condition." {
		t.Errorf("TX content: %s %q (the repetitions must be lines)", a.ContentType, text(2))
	}
	if text(3) != "Reviewed by attending." {
		t.Errorf("NTE content %q", text(3))
	}
	_, srURLs := b.all("ServiceRequest")
	if got := orderRefs(orderField(d["context"], "related")); len(srURLs) != 1 || !slices.Equal(got, srURLs) {
		t.Errorf("context.related %v, want the ServiceRequest %v", got, srURLs)
	}
	for k, want := range map[string]string{"status": "current", "docStatus": "final"} {
		if d[k] != want {
			t.Errorf("%s %v, want %s", k, d[k], want)
		}
	}
	// TXA[Provenance]: the edit (TXA-8), targeting the document
	var edits []string
	provs, _ := b.all("Provenance")
	for _, p := range provs {
		if got := orderRefs(p["target"]); slices.Equal(got, docURLs) {
			edits = append(edits, orderJSON(t, p["recorded"]))
		}
	}
	if !slices.Equal(edits, []string{`"2024-03-13T13:50:00-05:00"`}) {
		t.Errorf("Provenances of the document %v, want TXA-8's", edits)
	}
	// the ServiceRequest: ORC-5 CM → completed
	srs, _ := b.all("ServiceRequest")
	if srs[0]["status"] != "completed" {
		t.Errorf("ServiceRequest status %v, want completed (ORC-5 CM)", srs[0]["status"])
	}
}

// orderField is m[k] of a JSON object held as any (nil when it is none).
func orderField(v any, k string) any {
	m, _ := v.(map[string]any)
	return m[k]
}

// TestOrderEnteringOrganization: ORC-17 (CWE[Organization]) → the order
// Provenance's enterer agent onBehalfOf, an Organization entry.
func TestOrderEnteringOrganization(t *testing.T) {
	raw := []byte("MSH|^~\\&|CPOE|HOSP|LIS|LAB|20240312082500-0500||ORM^O01^ORM_O01|EO-1|P|2.5.1\r" +
		"PID|1||P8^^^HOSP^MR||Enter^Erin||19800101|F\r" +
		"ORC|NW|PLC9^CPOE|||||||20240312082500-0500|2222^ENTER^EMMA||3333^ORDER^OLIVER|||||MAINLAB^Main Lab^HL70362\r" +
		"OBR|1|PLC9^CPOE||2345-7^Glucose^LN\r")
	b := string(convertSelected(t, raw, "orm_o01", nil, "eo"))
	for _, want := range []string{`"onBehalfOf":{"reference":"urn:uuid:`, `"resourceType":"Organization","identifier":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0362","value":"MAINLAB"}],"name":"Main Lab"`} {
		if !strings.Contains(b, want) {
			t.Errorf("Bundle lacks %s", want)
		}
	}
}
