package datatype

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/plexus-hl7/plexus/hl7"
	"github.com/plexus-hl7/plexus/internal/fhirvalidate"
	"github.com/plexus-hl7/plexus/transforms/fhir"
	"github.com/plexus-hl7/plexus/transforms/fhirjson"
)

// MSG[Coding] rows 0 (display MSG.1^MSG.2^MSG.3), 2 (code, system table
// 0003); MSG[code] row 2; MSG[MessageHeader] row 2 (eventCoding through
// EventType; row 3, definition, has no FHIR side in MessageStructure).
func TestMSG(t *testing.T) {
	exts := bRun(t, "coding", Registry["msg_coding"].Fn, []bCase{
		{"MSG[Coding]", "", "MSH-9", `{"system":"http://terminology.hl7.org/CodeSystem/v2-0003","code":"R01","display":"ORU^R01^ORU_R01"}`, ""},
		{"no MSG.3", "ZZZ|ADT^A01", "ZZZ-1", `{"system":"http://terminology.hl7.org/CodeSystem/v2-0003","code":"A01","display":"ADT^A01"}`, ""},
	})
	exts = append(exts, bRun(t, "code", Registry["msg_code"].Fn, []bCase{
		{"MSG[code]", "", "MSH-9", `"R01"`, ""},
	})...)
	bValidateBasic(t, exts)

	w := bContext(nil)
	mh, err := Registry["msg_messageheader"].Fn(&w.c, bValue(t, "", "MSH-9"))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"eventCoding":{"system":"http://terminology.hl7.org/CodeSystem/v2-0003","code":"R01","display":"ORU/ACK - Unsolicited transmission of an observation message"}}`
	if got := bJSON(mh); got != want {
		t.Errorf("MSG[MessageHeader]:\n got %s\nwant %s", got, want)
	}
	// A MessageHeader needs a source: add one and validate.
	r := mh.With("resourceType", fhirjson.Str("MessageHeader")).
		With("source", fhirjson.Obj(fhirjson.M("endpoint", fhirjson.Str("urn:plexus:test"))))
	fhirvalidate.ForTest(t).AssertValid(t, r.AppendJSON(nil))
}

// PT[Meta] rows 1 (tag[1] through ProcessingID, table 0103) and 2 (tag[2]
// through ProcessingMode, table 0207).
func TestPT(t *testing.T) {
	var metas []fhirjson.Value
	for _, tt := range []bCase{
		{"PT.1", "", "MSH-11", `{"tag":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0103","code":"P","display":"Production"}]}`, ""},
		{"PT.1 and PT.2", "ZZZ|T^A", "ZZZ-1", `{"tag":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0103","code":"T","display":"Training"},{"system":"http://terminology.hl7.org/CodeSystem/v2-0207","code":"A","display":"Archive"}]}`, ""},
		{"unknown PT.1", "ZZZ|Q", "ZZZ-1", `{"tag":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0103","code":"Q"}]}`, "not in vocabulary map ProcessingID"},
	} {
		w := bContext(nil)
		got, err := Registry["pt_meta"].Fn(&w.c, bValue(t, tt.seg, tt.path))
		if err != nil {
			t.Fatal(err)
		}
		if s := bJSON(got); s != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, s, tt.want)
		}
		if tt.warn != "" && !strings.Contains(strings.Join(w.msgs, ";"), tt.warn) {
			t.Errorf("%s: warnings %q", tt.name, w.msgs)
		}
		metas = append(metas, got)
	}
	v := fhirvalidate.ForTest(t)
	for _, m := range metas {
		r := fhirjson.Obj(fhirjson.M("resourceType", fhirjson.Str("Basic")), fhirjson.M("meta", m),
			fhirjson.M("code", fhirjson.Obj(fhirjson.M("text", fhirjson.Str("x")))))
		v.AssertValid(t, r.AppendJSON(nil))
	}
}

// DR[Period] rows 1, 2 (DTM[DateTime] each); DR[dateTime] row 1.
func TestDR(t *testing.T) {
	exts := bRun(t, "period", Registry["dr"].Fn, []bCase{
		{"both", "ZZZ|20240101^20241231", "ZZZ-1", `{"start":"2024-01-01","end":"2024-12-31"}`, ""},
		{"start with time", "ZZZ|202401011030-0500", "ZZZ-1", `{"start":"2024-01-01T10:30:00-05:00"}`, ""},
		{"end only", "ZZZ|^2024", "ZZZ-1", `{"end":"2024"}`, ""},
		{"empty", "ZZZ|", "ZZZ-1", `null`, ""},
	})
	exts = append(exts, bRun(t, "dateTime", Registry["dr_datetime"].Fn, []bCase{
		{"DR[dateTime]", "ZZZ|20240101^20241231", "ZZZ-1", `"2024-01-01"`, ""},
	})...)
	bValidateBasic(t, exts)
	for _, in := range []string{"20241231^20240101", "20241301^2025"} {
		if got, err := Registry["dr"].Fn(nil, bValue(t, "ZZZ|"+in, "ZZZ-1")); err == nil {
			t.Errorf("DR %q = %s, want an error", in, bJSON(got))
		}
	}
}

// DLN[Identifier] rows 1 (value; type DL in table 0203), 2 (system through
// CWE[uri]), 3 (period.end).
func TestDLN(t *testing.T) {
	const typ = `"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"DL"}]}`
	exts := bRun(t, "identifier", Registry["dln"].Fn, []bCase{
		{"all rows", bField("PID", 20, "S1234567^urn:oid:2.16.840.1.113883.4.3.25&Massachusetts^20300101"), "PID-20",
			`{` + typ + `,"system":"urn:oid:2.16.840.1.113883.4.3.25","value":"S1234567","period":{"end":"2030-01-01"}}`, ""},
		{"state name: no system", bField("PID", 20, "S1234567^MA^20300101"), "PID-20",
			`{` + typ + `,"value":"S1234567","period":{"end":"2030-01-01"}}`, `"MA" is not a URI`},
		{"no number", bField("PID", 20, "^MA"), "PID-20", `null`, ""},
	})
	bValidateBasic(t, exts)
}

// ED[Attachment] rows 2 (ED.2 → alternate-codes IF ED.3 NOT VALUED), 3
// (ED.3 → contentType), 5 (ED.5 → data, "convert from A or HEX to
// binary64"); rows 1 and 4 have no target.
func TestED(t *testing.T) {
	pdf := base64.StdEncoding.EncodeToString([]byte("%PDF-1.4 test"))
	hello := base64.StdEncoding.EncodeToString([]byte("Hello, world"))
	const alt = `"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/alternate-codes","valueCodeableConcept":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0191","code":"TEXT"}]}}]`
	exts := bRun(t, "attachment", Registry["ed"].Fn, []bCase{
		{"Base64 PDF", "OBX|1|ED|||^AP^PDF^Base64^" + pdf, "OBX-5", `{"contentType":"application/pdf","data":"` + pdf + `"}`, ""},
		{"Base64 with line breaks and no padding", "OBX|1|ED|||^AP^PDF^BASE64^" + pdf[:8] + `\.br\` + strings.TrimRight(pdf[8:], "="), "OBX-5", `{"contentType":"application/pdf","data":"` + pdf + `"}`, ""},
		{"ASCII", "OBX|1|ED|||^TEXT^plain^A^Hello, world", "OBX-5", `{"contentType":"text/plain","data":"` + hello + `"}`, ""},
		{"ASCII escapes decoded first", `OBX|1|ED|||^TEXT^plain^A^Hello\T\ world`, "OBX-5",
			`{"contentType":"text/plain","data":"` + base64.StdEncoding.EncodeToString([]byte("Hello& world")) + `"}`, ""},
		{"Hex", "OBX|1|ED|||^TEXT^plain^Hex^48656c6c6f2c20776f726c64", "OBX-5", `{"contentType":"text/plain","data":"` + hello + `"}`, ""},
		{"MIME type in ED.3", "OBX|1|ED|||^AP^application/dicom^Base64^AAAA", "OBX-5", `{"contentType":"application/dicom","data":"AAAA"}`, ""},
		{"ED.2 and subtype combined", "OBX|1|ED|||^IM^webp^Base64^AAAA", "OBX-5", `{"contentType":"image/webp","data":"AAAA"}`, ""},
		{"row 2: no ED.3 → alternate-codes; type sniffed", "OBX|1|ED|||^TEXT^^A^Hello, world", "OBX-5",
			`{` + alt + `,"contentType":"text/plain; charset=utf-8","data":"` + hello + `"}`, ""},
		{"ED.3 not a MIME type: sniffed", "OBX|1|ED|||^ZZ^WEIRD^Base64^" + pdf, "OBX-5",
			`{"contentType":"application/pdf","data":"` + pdf + `"}`, `ED.3 "WEIRD" is not a MIME type`},
		{"no encoding: text", "OBX|1|ED|||^TEXT^plain^^Hello, world", "OBX-5", `{"contentType":"text/plain","data":"` + hello + `"}`, "without encoding"},
		{"ED as a component (RP-like): subcomponents", "ZZZ|x^APP&AP&PDF&Base64&" + pdf, "ZZZ-1.2", `{"contentType":"application/pdf","data":"` + pdf + `"}`, ""},
		{"empty", "OBX|1|ED|||", "OBX-5", `null`, ""},
	})
	bValidateBasic(t, exts)

	for _, tt := range []struct{ in, reason string }{
		{"^AP^PDF^Base64^not base64!", "not base64"},
		{"^AP^PDF^Base64^AAAAA", "not base64"},
		{"^TEXT^plain^Hex^4G", "not hexadecimal"},
		{"^TEXT^plain^Hex^414", "not hexadecimal"},
		{"^TEXT^plain^UU^abc", "not Base64, A or Hex"},
	} {
		_, err := Registry["ed"].Fn(nil, bValue(t, "OBX|1|ED|||"+tt.in, "OBX-5"))
		var ve *ValueError
		if !errors.As(err, &ve) || !strings.Contains(ve.Reason, tt.reason) {
			t.Errorf("ed(%q): error %v, want %q", tt.in, err, tt.reason)
		}
	}
}

// bConverters are this file set's converters: name → IG map. Maps marked
// with * are not IG maps: the IG's segment maps send the type there with
// no data type map (PID-7 DTM → birthDate date, MSH-7 DTM → instant, NM →
// decimal, ...), and Plexus names the conversion in the IG's style.
var bConverters = map[string]string{
	"dtm": "DTM[dateTime]", "ts": "TS[dateTime]", "dtm_date": "*DTM[date]", "dt": "*DT[date]",
	"dtm_instant": "*DTM[instant]", "tm": "*TM[time]", "dtm_annotation_time": "DTM[Annotation-Time]", "cwe_annotation": "CWE[Annotation]",
	"cwe": "CWE[CodeableConcept]", "ce": "CE[CodeableConcept]", "cne": "CNE[CodeableConcept]", "cf": "CF[CodeableConcept]",
	"cwe_coding": "CWE[Coding]", "cwe_code": "CWE[code]", "cwe_string": "CWE[string]", "cwe_uri": "CWE[uri]",
	"cwe_quantity": "CWE[Quantity]",
	"id":           "ID[code]", "is": "IS[code]", "id_string": "ID[string]", "is_string": "IS[string]", "id_coding": "ID[Coding]",
	"id_codeableconcept": "ID[CodeableConcept]", "is_codeableconcept": "IS[CodeableConcept]",
	"id_codeableconcept_universalid": "ID[CodeableConcept-UniversalID]", "id_boolean": "ID[boolean]",
	"nm": "*NM[decimal]", "nm_quantity": "NM[Quantity]", "nm_integer": "*NM[integer]", "nm_positiveint": "NM[positiveInt]",
	"nm_unsignedint": "*NM[unsignedInt]", "nm_quantity_lengthofstay": "NM[Quantity-LengthOfStay]",
	"sn_quantity": "SN[Quantity]", "sn_range": "SN[Range]", "sn_ratio": "SN[Ratio]", "nr": "NR[Range]",
	"cq": "CQ[Quantity]", "cq_decimal": "CQ[decimal]", "cq_code": "CQ[code]", "cq_unsignedint": "CQ[unsignedInt]",
	"st": "*ST[string]", "tx": "*TX[string]", "ft": "*FT[string]", "ft_markdown": "*FT[markdown]",
	"ft_annotation_comment": "FT[Annotation-Comment]", "st_codeableconcept": "ST[CodeableConcept]",
	"st_identifier": "ST[Identifier]", "si": "*SI[unsignedInt]",
	"msg_coding": "MSG[Coding]", "msg_code": "MSG[code]", "msg_messageheader": "MSG[MessageHeader]", "pt_meta": "PT[Meta]",
	"dr": "DR[Period]", "dr_datetime": "DR[dateTime]", "dln": "DLN[Identifier]", "ed": "ED[Attachment]",
}

func TestBRegistry(t *testing.T) {
	for name, m := range bConverters {
		c := Registry[name]
		if c == nil {
			t.Errorf("%s not registered", name)
			continue
		}
		notIG := strings.HasPrefix(m, "*")
		m = strings.TrimPrefix(m, "*")
		if c.Map != m {
			t.Errorf("%s: Map %q, want %q", name, c.Map, m)
		}
		if c.Fn == nil || len(c.V2) == 0 {
			t.Errorf("%s: no Fn or no V2 types", name)
		}
		typ := c.FHIR
		if _, ok := fhir.Lookup(typ); !ok {
			t.Errorf("%s: FHIR type %q is not in the R4 model", name, typ)
		}
		_, err := os.Stat(aIGDatatypes + "/HL7 Data Type - FHIR R4_ " + m + " - Sheet1.csv")
		if _, dirErr := os.Stat(aIGDatatypes); dirErr == nil && (err == nil) == notIG {
			t.Errorf("%s: %s marked as an IG map: %v, the IG has it: %v", name, m, !notIG, err == nil)
		}
	}
}

// The validation harness must fail what is invalid, or the tests above
// prove nothing.
func TestBValidatorCatches(t *testing.T) {
	v := fhirvalidate.ForTest(t)
	for typ, bad := range map[string]fhirjson.Value{
		"dateTime":   fhirjson.Str("2024-05-06T10:00"),
		"attachment": fhirjson.Obj(fhirjson.M("data", fhirjson.Str("@@@@"))),
		"quantity":   fhirjson.Obj(fhirjson.M("value", fhirjson.Num("1")), fhirjson.M("comparator", fhirjson.Str("<>"))),
		"code":       fhirjson.Str("a  b"),
	} {
		r := fhirjson.Obj(
			fhirjson.M("resourceType", fhirjson.Str("Basic")),
			fhirjson.M("code", fhirjson.Obj(fhirjson.M("text", fhirjson.Str("x")))),
			fhirjson.M("extension", fhirjson.Arr(bExtension(0, typ, bad))),
		)
		issues, err := v.Validate(context.Background(), r.AppendJSON(nil))
		if err != nil {
			t.Fatal(err)
		}
		if len(fhirvalidate.Errors(issues)) == 0 {
			t.Errorf("%s %s: the validator found no error", typ, bJSON(bad))
		}
	}
}

// FuzzBConverters runs every converter of these files on fuzzed fields:
// none may panic, and a primitive result must be valid for its type.
func FuzzBConverters(f *testing.F) {
	for _, s := range []string{"8480-6^Systolic^LN^^^^2.68^^BP", ">^5", "^1^:^128", "10^mg&&UCUM", "^AP^PDF^Base64^AAAA",
		"20240101^20241231", "ADT^A01^ADT_A01", "P^T", "S1^MA^20300101", `\.br\x\T\`, "+007.50", `""`, "\f", "a\fb^c\fd"} {
		f.Add(s)
	}
	names := make([]string, 0, len(bConverters))
	for n := range bConverters {
		names = append(names, n)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.ContainsAny(s, "\r\n") {
			return
		}
		m, err := hl7.Parse([]byte(bMSH + "OBX|1|ST|||" + s))
		if err != nil {
			return
		}
		v := m.Get(hl7.MustPath("OBX-5"))
		c := &Context{Location: time.UTC}
		for _, n := range names {
			conv := Registry[n]
			got, err := conv.Fn(c, v)
			if err != nil || got.IsNull() {
				continue
			}
			if ty, ok := fhir.Lookup(conv.FHIR); ok && ty.Kind == fhir.KindPrimitive && got.Kind() != fhirjson.KindBool {
				if err := fhir.ValidatePrimitive(conv.FHIR, got.Text()); err != nil {
					t.Errorf("%s(%q) = %s: %v", n, s, bJSON(got), err)
				}
			}
		}
	})
}
