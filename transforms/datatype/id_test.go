package datatype

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plexus-hl7/plexus/hl7"
	"github.com/plexus-hl7/plexus/internal/fhirvalidate"
	"github.com/plexus-hl7/plexus/transforms/fhirjson"
)

// The tests of id.go, name.go, address.go, telecom.go, org.go, person.go
// and location.go share this harness (names prefixed with "a").
//
// testdata/a_ig_adt_a01.hl7 is the IG's test message, copied byte for byte
// from the corpus (shared/corpus/hl7-v2-to-fhir-ig/test-conversion-ADT_A01.hl7,
// from github.com/HL7/v2-to-fhir input/pagecontent/test_conversions.md at
// 8c9b414b, CC0). Other cases build small messages inline.

// aMSH heads every inline message.
const aMSH = "MSH|^~\\&|SND|FAC|RCV|FAC|20240101120000+0000||ADT^A01^ADT_A01|1|P|2.5.1\r"

// aCase is one conversion: the converter (its Registry name), the
// segments after MSH (lines joined by CR; "" for the IG message), a path,
// the JSON it must give ("null" for Null), and substrings of the error and
// of the warnings it must report ("" for none).
type aCase struct {
	name, conv, segs, path string
	want                   string
	err, warn              string
}

var aIG = sync.OnceValue(func() []byte {
	b, err := os.ReadFile("testdata/a_ig_adt_a01.hl7")
	if err != nil {
		panic(err)
	}
	return b
})

// aValue parses the case's message and returns the value at path.
func aValue(t testing.TB, segs, path string) hl7.Value {
	t.Helper()
	data := aIG()
	if segs != "" {
		data = []byte(aMSH + strings.ReplaceAll(segs, "\n", "\r"))
	}
	m, err := hl7.Parse(data)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return m.Get(hl7.MustPath(path))
}

// aCompact is a JSON text in compact form, for comparing.
func aCompact(t testing.TB, s string) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		t.Fatalf("bad want JSON %s: %v", s, err)
	}
	return b.String()
}

// aConvert runs one converter with a Context whose zone is UTC, returning
// the value, the warnings and the error.
func aConvert(conv string, v hl7.Value) (fhirjson.Value, []string, error) {
	var warns []string
	c := &Context{Location: time.UTC, Warn: func(s string) { warns = append(warns, s) }}
	got, err := Registry[conv].Fn(c, v)
	return got, warns, err
}

// aRun checks the cases and validates every non-null result with the FHIR
// validator, wrapped in a minimal resource.
func aRun(t *testing.T, cases []aCase) {
	t.Helper()
	var toValidate []aWrapped
	for _, tt := range cases {
		if Registry[tt.conv] == nil {
			t.Fatalf("%s: no converter %q", tt.name, tt.conv)
		}
		got, warns, err := aConvert(tt.conv, aValue(t, tt.segs, tt.path))
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("%s: error %v", tt.name, err)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("%s: error %v, want one containing %q", tt.name, err, tt.err)
		}
		if s, want := string(got.AppendJSON(nil)), aCompact(t, tt.want); s != want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, s, want)
		}
		all := strings.Join(warns, "; ")
		if tt.warn == "" && len(warns) > 0 || tt.warn != "" && !strings.Contains(all, tt.warn) {
			t.Errorf("%s: warnings %q, want %q", tt.name, warns, tt.warn)
		}
		if !got.IsNull() {
			toValidate = append(toValidate, aWrap(tt.name, Registry[tt.conv], got)...)
		}
	}
	aValidate(t, toValidate)
}

// aWrapped is a resource to validate and the case it comes from.
type aWrapped struct {
	name     string
	resource fhirjson.Value
}

func aStr(s string) fhirjson.Value { return fhirjson.Str(s) }

// aWrap puts a converter's result into minimal resources, by the FHIR type
// the converter declares (by the IG map for BackboneElements).
func aWrap(name string, conv *Converter, v fhirjson.Value) []aWrapped {
	M, Obj, Arr := fhirjson.M, fhirjson.Obj, fhirjson.Arr
	patient := func(key string, val fhirjson.Value) []aWrapped {
		return []aWrapped{{name, Obj(M("resourceType", aStr("Patient")), M(key, val))}}
	}
	event := Obj(M("system", aStr("http://terminology.hl7.org/CodeSystem/v2-0003")), M("code", aStr("A01")))
	fhirType := conv.FHIR
	if fhirType == "BackboneElement" && strings.HasPrefix(conv.Map, "HD[MessageHeader.source") {
		fhirType = "MessageHeader.source"
	} else if fhirType == "BackboneElement" && strings.HasPrefix(conv.Map, "HD[MessageHeader.destination") {
		fhirType = "MessageHeader.destination"
	}
	switch fhirType {
	case "Identifier":
		return patient("identifier", Arr(v.Elems()...))
	case "HumanName":
		return patient("name", Arr(v.Elems()...))
	case "Address":
		return patient("address", Arr(v.Elems()...))
	case "ContactPoint":
		return patient("telecom", Arr(v.Elems()...))
	case "string":
		return patient("name", Arr(Obj(M("text", v))))
	case "uri":
		return patient("identifier", Arr(Obj(M("system", v), M("value", aStr("1")))))
	case "Reference":
		return []aWrapped{{name, Obj(M("resourceType", aStr("Observation")), M("status", aStr("final")),
			M("code", Obj(M("text", aStr("test")))),
			M("note", Arr(Obj(M("authorReference", v), M("text", aStr("note"))))))}}
	case "MessageHeader.source":
		if v.Get("endpoint").IsNull() && v.Get("_endpoint").IsNull() {
			v = v.With("endpoint", aStr("urn:test"))
		}
		return []aWrapped{{name, Obj(M("resourceType", aStr("MessageHeader")), M("eventCoding", event), M("source", v))}}
	case "MessageHeader.destination":
		if v.Get("endpoint").IsNull() && v.Get("_endpoint").IsNull() {
			v = v.With("endpoint", aStr("urn:test"))
		}
		return []aWrapped{{name, Obj(M("resourceType", aStr("MessageHeader")), M("eventCoding", event),
			M("source", Obj(M("endpoint", aStr("urn:test")))), M("destination", Arr(v)))}}
	}
	var out []aWrapped
	for _, r := range v.Elems() {
		if r.Get("resourceType").Text() == "RelatedPerson" {
			r = r.With("patient", Obj(M("reference", aStr("Patient/p1"))))
		}
		out = append(out, aWrapped{name, r})
	}
	return out
}

// aValidate validates the resources with the independent FHIR validator,
// concurrently.
func aValidate(t *testing.T, rs []aWrapped) {
	t.Helper()
	if len(rs) == 0 {
		return
	}
	v := fhirvalidate.ForTest(t)
	type result struct {
		issues []fhirvalidate.Issue
		err    error
	}
	results := make([]result, len(rs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i, r := range rs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			issues, err := v.Validate(ctx, r.resource.AppendJSON(nil))
			results[i] = result{issues, err}
		}()
	}
	wg.Wait()
	for i, r := range results {
		if r.err != nil {
			t.Errorf("%s: validate: %v", rs[i].name, r.err)
			continue
		}
		for _, is := range fhirvalidate.Errors(r.issues) {
			t.Errorf("%s: invalid FHIR: %s\n%s", rs[i].name, is, rs[i].resource.AppendJSON(nil))
		}
	}
}

// Shared expectations.
const (
	aTypeMR  = `{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"MR","display":"Medical record number"}]}`
	aTypeISO = `{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0301","code":"ISO","display":"ISO Object Identifier"}]}`
)

// CX[Identifier]: rows CX.1 value, CX.2/CX.3 check digit extensions, CX.4
// system (HD[uri]) and assigner (HD[Organization]), CX.5 type
// (IdentifierType), CX.7/CX.8 period.
func TestCXIdentifier(t *testing.T) {
	aRun(t, []aCase{
		{"IG message PID-3[1]: CX.1, CX.4 ISO, CX.5, CX.7, CX.8 (CX.6 not mapped)", "cx", "", "PID-3[1]",
			`{"type":` + aTypeMR + `,"system":"urn:oid:1.2.3.4.5","value":"1032702",
			 "period":{"start":"2019-01-01","end":"2029-01-01"},"assigner":{"display":"V2FHIR"}}`, "", ""},
		{"IG message PID-3[2]: driver's licence", "cx", "", "PID-3[2]",
			`{"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"DL","display":"Driver’s license number"}]},
			 "system":"urn:oid:1.3.4.7","value":"N09204074","period":{"start":"2018-06-01","end":"2028-05-31"},"assigner":{"display":"WADMV"}}`, "", ""},
		{"IG message PID-18: space before the namespace is trimmed", "cx", "", "PID-18",
			`{"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"AN","display":"Account number"}]},
			 "system":"urn:oid:1.2.3.4.5","value":"12345","assigner":{"display":"V2FHIR"}}`, "", ""},
		{"IG message PID-20: ISO universal ID that is no OID (trailing dot) stays in assigner", "cx", "", "PID-20",
			`{"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"DL","display":"Driver’s license number"}]},
			 "value":"J342342","assigner":{"identifier":{"type":` + aTypeISO + `,"value":"1.2.5.2."},"display":"MI"}}`, "", `"1.2.5.2." of type "ISO" is not a URI`},
		{"IG message PV1-19: visit number", "cx", "", "PV1-19",
			`{"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"VN","display":"Visit number"}]},
			 "system":"urn:oid:1.2.3.4.5.6","value":"81456267","assigner":{"display":"AssignAuth"}}`, "", ""},
		{"CX.2 and CX.3: check digit extensions", "cx", "PID|1||12345^5^M10^^MR", "PID-3",
			`{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/identifier-checkDigit","valueString":"5"},
			 {"url":"http://hl7.org/fhir/StructureDefinition/namingsystem-checkDigit","valueString":"M10"}],
			 "type":` + aTypeMR + `,"value":"12345"}`, "", ""},
		{"namespace only: no system, assigner display", "cx", "PID|1||12345^^^HOSP^MR", "PID-3",
			`{"type":` + aTypeMR + `,"value":"12345","assigner":{"display":"HOSP"}}`, "", ""},
		{"UUID universal ID, upper case: urn:uuid in lower case", "cx", "PID|1||12345^^^&6FA459EA-EE8A-3CA4-894E-DB77E160355E&UUID",
			"PID-3", `{"system":"urn:uuid:6fa459ea-ee8a-3ca4-894e-db77e160355e","value":"12345"}`, "", ""},
		{"URI universal ID: the URI", "cx", "PID|1||12345^^^Hosp&https://hosp.example.org/mrn&URI^MR", "PID-3",
			`{"type":` + aTypeMR + `,"system":"https://hosp.example.org/mrn","value":"12345","assigner":{"display":"Hosp"}}`, "", ""},
		{"URL type accepted as URI", "cx", "PID|1||12345^^^&http://x.example/ids&URL", "PID-3",
			`{"system":"http://x.example/ids","value":"12345"}`, "", ""},
		{"URI type with a value that is no URI: assigner identifier", "cx", "PID|1||12345^^^&not a uri&URI", "PID-3",
			`{"value":"12345","assigner":{"identifier":{"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0301","code":"URI","display":"Uniform Resource Identifier"}]},"value":"not a uri"}}}`,
			"", "is not a URI"},
		{"namespace that is a URI", "cx", "PID|1||12345^^^http://hl7.org/fhir/sid/us-mbi", "PID-3",
			`{"system":"http://hl7.org/fhir/sid/us-mbi","value":"12345","assigner":{"display":"http://hl7.org/fhir/sid/us-mbi"}}`, "", ""},
		{"namespace that is an OID", "cx", "PID|1||12345^^^2.16.840.1.113883.19.5", "PID-3",
			`{"system":"urn:oid:2.16.840.1.113883.19.5","value":"12345","assigner":{"display":"2.16.840.1.113883.19.5"}}`, "", ""},
		{"identifier registry: SSN OID gives us-ssn", "cx", "PID|1||123-45-6789^^^SSA&2.16.840.1.113883.4.1&ISO^SS", "PID-3",
			`{"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"SS","display":"Social Security number"}]},
			 "system":"http://hl7.org/fhir/sid/us-ssn","value":"123-45-6789","assigner":{"display":"SSA"}}`, "", ""},
		{"identifier registry: NPI OID gives us-npi", "cx", "PID|1||1234567893^^^&2.16.840.1.113883.4.6&ISO^NPI", "PID-3",
			`{"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"NPI","display":"National provider identifier"}]},
			 "system":"http://hl7.org/fhir/sid/us-npi","value":"1234567893"}`, "", ""},
		{"universal ID type missing, OID by its form: warning", "cx", "PID|1||12345^^^HOSP&1.2.3", "PID-3",
			`{"system":"urn:oid:1.2.3","value":"12345","assigner":{"display":"HOSP"}}`, "", "universal ID type missing"},
		{"urn:oid: already in HD.2", "cx", "PID|1||12345^^^&urn:oid:1.2.3&ISO", "PID-3",
			`{"system":"urn:oid:1.2.3","value":"12345"}`, "", ""},
		{"CLIA universal ID: no system, typed assigner identifier", "cx", "PID|1||12345^^^Lab&05D0000000&CLIA", "PID-3",
			`{"value":"12345","assigner":{"identifier":{"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0301","code":"CLIA","display":"Clinical Laboratory Improvement Amendments"}]},"value":"05D0000000"},"display":"Lab"}}`,
			"", `"05D0000000" of type "CLIA" is not a URI`},
		{"CX.5 not in IdentifierType: kept in table 0203, warning", "cx", "PID|1||12345^^^^ZZ", "PID-3",
			`{"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"ZZ"}]},"value":"12345"}`, "", `"ZZ" is not in the IG map IdentifierType`},
		{"CX.5 unmapped with inner white space: normalised", "cx", "PID|1||12345^^^^Z  Z", "PID-3",
			`{"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"Z Z"}]},"value":"12345"}`, "", `"Z Z" is not in the IG map IdentifierType`},
		{"CX.5 in lower case matches", "cx", "PID|1||12345^^^^mr", "PID-3", `{"type":` + aTypeMR + `,"value":"12345"}`, "", ""},
		{"no CX.1: no identifier", "cx", "PID|1||^^^HOSP&1.2.3&ISO^MR", "PID-3", `null`, "", ""},
		{"HL7 null field: no identifier", "cx", `PID|1||""`, "PID-3", `null`, "", ""},
		{"HL7 null in components: left out", "cx", `PID|1||12345^""^^""^""`, "PID-3", `{"value":"12345"}`, "", ""},
		{"empty field", "cx", "PID|1||", "PID-3", `null`, "", ""},
		{"escapes decoded in value", "cx", `PID|1||A\T\B\S\C^^^HOSP`, "PID-3", `{"value":"A&B^C","assigner":{"display":"HOSP"}}`, "", ""},
		{"CX.7 with a time: zone from Context", "cx", "PID|1||12345^^^^^^202401011230", "PID-3",
			`{"value":"12345","period":{"start":"2024-01-01T12:30:00+00:00"}}`, "", "assumed"},
		{"CX.7 not a date: error, rest kept", "cx", "PID|1||12345^^^^MR^^2024-01-01", "PID-3",
			`{"type":` + aTypeMR + `,"value":"12345"}`, `CX.7: "2024-01-01" is not a valid HL7 date/time`, ""},
		{"CX.7 after CX.8: period dropped, error", "cx", "PID|1||12345^^^^^^20250101^20240101", "PID-3",
			`{"value":"12345"}`, "CX.7 2025-01-01 is after CX.8 2024-01-01", ""},
		{"CX[string]: CX.1", "cx_string", "", "PID-3[1]", `"1032702"`, "", ""},
		{"CX[RelatedPerson-Mother]: identifier and MTH", "cx_relatedperson_mother", "PID|1" + strings.Repeat("|", 20) + "M123^^^HOSP&1.2.3&ISO^MR", "PID-21",
			`{"resourceType":"RelatedPerson","identifier":[{"type":` + aTypeMR + `,"system":"urn:oid:1.2.3","value":"M123","assigner":{"display":"HOSP"}}],
			 "relationship":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-RoleCode","code":"MTH"}]}]}`, "", ""},
		{"CX[RelatedPerson-Mother]: no CX.1, none", "cx_relatedperson_mother", "PID|1" + strings.Repeat("|", 20) + "^^^HOSP", "PID-21", `null`, "", ""},
	})
}

// EI maps: EI[Identifier-Extension] (ei), EI[Identifier-System],
// EI[Identifier-Organization], EI[Identifier-DefaultAssigner]; EIP maps.
func TestEIIdentifier(t *testing.T) {
	aRun(t, []aCase{
		{"ei: EI.1 value; EI.2-4 as an assigning authority (CLIA: no system)", "ei", "ORC|NW|PO123^LAB^05D0000000^CLIA", "ORC-2",
			`{"value":"PO123","assigner":{"identifier":{"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0301","code":"CLIA","display":"Clinical Laboratory Improvement Amendments"}]},"value":"05D0000000"},"display":"LAB"}}`, "", "is not a URI"},
		{"ei: OID universal ID → system", "ei", "ORC|NW|PO123^EPIC^1.2.840.114350^ISO", "ORC-2",
			`{"system":"urn:oid:1.2.840.114350","value":"PO123","assigner":{"display":"EPIC"}}`, "", ""},
		{"ei: value only", "ei", "ORC|NW|PO123", "ORC-2", `{"value":"PO123"}`, "", ""},
		{"ei: no EI.1", "ei", "ORC|NW|^EPIC", "ORC-2", `null`, "", ""},
		{"ei: as a component (PL.10)", "ei", "PV1|1|I|W^1^2^^^^^^^LOC1&FAC&1.2.3&ISO", "PV1-3.10",
			`{"system":"urn:oid:1.2.3","value":"LOC1","assigner":{"display":"FAC"}}`, "", ""},
		{"EI[Identifier-System]: EI.3 → system, EI.4 → type", "ei_identifier_system", "ORC|NW|PO123^EPIC^1.2.3^ISO", "ORC-2",
			`{"type":` + aTypeISO + `,"system":"urn:oid:1.2.3","value":"PO123"}`, "", ""},
		{"EI[Identifier-System]: EI.2 a URI → system", "ei_identifier_system", "ORC|NW|PO123^urn:oid:1.2.9", "ORC-2",
			`{"system":"urn:oid:1.2.9","value":"PO123"}`, "", ""},
		{"EI[Identifier-Organization]: assigner with EI.2-4", "ei_identifier_organization", "ORC|NW|PO123^EPIC^1.2.3^ISO", "ORC-2",
			`{"value":"PO123","assigner":{"identifier":{"type":` + aTypeISO + `,"system":"urn:ietf:rfc:3986","value":"urn:oid:1.2.3"},"display":"EPIC"}}`, "", ""},
		{"EI[Identifier-DefaultAssigner]: value only", "ei_identifier_defaultassigner", "ORC|NW|PO123^EPIC^1.2.3^ISO", "ORC-2",
			`{"value":"PO123"}`, "", ""},
		{"EIP[Identifier-PlacerAssignedIdentifier]: EIP.1, type PGN", "eip_placer", "ORC|NW|||G1&EPIC&1.2.3&ISO^G2&LAB", "ORC-4",
			`{"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"PGN"}]},"system":"urn:oid:1.2.3","value":"G1","assigner":{"display":"EPIC"}}`, "", ""},
		{"EIP[Identifier-FillerAssignedIdentifier]: EIP.2, type FGN", "eip_filler", "ORC|NW|||G1&EPIC&1.2.3&ISO^G2&LAB", "ORC-4",
			`{"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"FGN"}]},"value":"G2","assigner":{"display":"LAB"}}`, "", ""},
		{"EIP without filler part", "eip_filler", "ORC|NW|||G1", "ORC-4", `null`, "", ""},
	})
}

// HD maps: HD[uri], HD[Organization], HD[Device], HD[Location],
// HD[Identifier], HD[MessageHeader.*].
func TestHD(t *testing.T) {
	const orgIDs = `[{"value":"SndFac"},{"type":` + aTypeISO + `,"system":"urn:ietf:rfc:3986","value":"urn:oid:1.2.3.4.5.1"}]`
	aRun(t, []aCase{
		{"HD[uri] IG MSH-4: universal ID over namespace", "hd_uri", "", "MSH-4", `"urn:oid:1.2.3.4.5.1"`, "", ""},
		{"HD[uri] namespace only: none", "hd_uri", "PID|1||1^^^HOSP", "PID-3.4", `null`, "", ""},
		{"HD[uri] component with subcomponents", "hd_uri", "PID|1||1^^^HOSP&1.2.3&ISO", "PID-3.4", `"urn:oid:1.2.3"`, "", ""},
		{"HD[Organization] IG MSH-4: identifier[1] HD.1, identifier[2] HD.2/HD.3", "hd_organization", "", "MSH-4",
			`{"resourceType":"Organization","identifier":` + orgIDs + `}`, "", ""},
		{"HD[Organization] namespace only", "hd_organization", "PID|1||1^^^HOSP", "PID-3.4",
			`{"resourceType":"Organization","identifier":[{"value":"HOSP"}]}`, "", ""},
		{"HD[Organization] DNS universal ID: no system", "hd_organization", "EVN|A01||||||FAC^fac.example.org^DNS", "EVN-7",
			`{"resourceType":"Organization","identifier":[{"value":"FAC"},{"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0301","code":"DNS","display":"Domain Name System"}]},"value":"fac.example.org"}]}`, "", ""},
		{"HD[Organization] empty", "hd_organization", "EVN|A01", "EVN-7", `null`, "", ""},
		{"HD[Device] IG MSH-5", "hd_device", "", "MSH-5",
			`{"resourceType":"Device","identifier":[{"value":"RcvApp"},{"type":` + aTypeISO + `,"system":"urn:ietf:rfc:3986","value":"urn:oid:1.2.3.4.6.2"}]}`, "", ""},
		{"HD[Location] IG EVN-7: name, identifier, physicalType si", "hd_location", "", "EVN-7",
			`{"resourceType":"Location","identifier":[{"system":"urn:ietf:rfc:3986","value":"urn:oid:1.2.3.4.5.4"}],"name":"EventFac",
			 "physicalType":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/location-physical-type","code":"si"}]}}`, "", ""},
		{"HD[Location] namespace only", "hd_location", "EVN|A01||||||WARD", "EVN-7",
			`{"resourceType":"Location","name":"WARD","physicalType":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/location-physical-type","code":"si"}]}}`, "", ""},
		{"HD[Identifier] both: two identifiers", "hd_identifier", "", "MSH-4", orgIDs, "", ""},
		{"HD[Identifier] namespace only: one", "hd_identifier", "PV1|1|I|WARD", "PV1-3.1", `{"value":"WARD"}`, "", ""},
		{"HD[MessageHeader.source-name] IG MSH-3", "hd_messageheader_source_name", "", "MSH-3", `{"name":"SndApp","software":"1.2.3.4.5.2"}`, "", ""},
		{"HD[MessageHeader.source-endpoint] ISO", "hd_messageheader_source_endpoint", "", "MSH-3", `{"endpoint":"urn:oid:1.2.3.4.5.2"}`, "", ""},
		{"HD[MessageHeader.source-endpoint] IG MSH-24 URI", "hd_messageheader_source_endpoint", "", "MSH-24",
			`{"endpoint":"ftp://www.goodhealth.org/somearea/someapp"}`, "", ""},
		{"HD[MessageHeader.source-endpoint] DNS", "hd_messageheader_source_endpoint", "EVN|A01||||||APP^app.example.org^DNS", "EVN-7",
			`{"endpoint":"urn:dns:app.example.org"}`, "", ""},
		{"HD[MessageHeader.source-endpoint] namespace only: name, endpoint absent", "hd_messageheader_source_endpoint", "EVN|A01||||||APP", "EVN-7",
			`{"name":"APP","_endpoint":{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/data-absent-reason","valueCode":"unknown"}]}}`, "", ""},
		{"HD[MessageHeader.source-endpoint] other type: name HD.1 - HD.3:HD.2", "hd_messageheader_source_endpoint", "EVN|A01||||||APP^X1^L", "EVN-7",
			`{"name":"APP - L:X1","_endpoint":{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/data-absent-reason","valueCode":"unknown"}]}}`, "", ""},
		{"HD[MessageHeader.destination-name]: HD.2", "hd_messageheader_destination_name", "", "MSH-5", `{"name":"1.2.3.4.6.2"}`, "", ""},
		{"HD[MessageHeader.destination-endpoint] IG MSH-5", "hd_messageheader_destination_endpoint", "", "MSH-5",
			`{"name":"RcvApp","endpoint":"urn:oid:1.2.3.4.6.2"}`, "", ""},
		{"HD[MessageHeader.destination-endpoint] IG MSH-25", "hd_messageheader_destination_endpoint", "", "MSH-25",
			`{"endpoint":"ftp://www.goodlab.org/somearea/someapp"}`, "", ""},
		{"HD[MessageHeader.destination-endpoint] no HD.3: absent", "hd_messageheader_destination_endpoint", "EVN|A01||||||RCV", "EVN-7",
			`{"name":"RCV","_endpoint":{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/data-absent-reason","valueCode":"unknown"}]}}`, "", ""},
	})
}

func TestAURIForms(t *testing.T) {
	for _, tt := range []struct {
		s            string
		oid, uri     bool
		uuid, oidURN string
	}{
		{"1.2.3", true, false, "", "urn:oid:1.2.3"},
		{"2.16.840.1.113883.4.1", true, false, "", "urn:oid:2.16.840.1.113883.4.1"},
		{"1.2.5.2.", false, false, "", ""},
		{"1.02.3", false, false, "", ""},
		{"3.1", false, false, "", ""},
		{"1", false, false, "", ""},
		{"1.0.0", true, false, "", "urn:oid:1.0.0"},
		{"urn:oid:1.2", false, true, "", "urn:oid:1.2"},
		{"http://x", false, true, "", ""},
		{"C:\\x", false, false, "", ""},
		{"http://a b", false, false, "", ""},
		{"mailto:", false, false, "", ""},
		{"{6FA459EA-EE8A-3CA4-894E-DB77E160355E}", false, false, "urn:uuid:6fa459ea-ee8a-3ca4-894e-db77e160355e", ""},
		{"6fa459ea-ee8a-3ca4-894e-db77e160355g", false, false, "", ""},
	} {
		if got := isOID(tt.s); got != tt.oid {
			t.Errorf("isOID(%q) = %v", tt.s, got)
		}
		if got := isAbsoluteURI(tt.s); got != tt.uri {
			t.Errorf("isAbsoluteURI(%q) = %v", tt.s, got)
		}
		if got := uuidURI(tt.s); got != tt.uuid {
			t.Errorf("uuidURI(%q) = %q", tt.s, got)
		}
		if got := oidURI(tt.s); got != tt.oidURN {
			t.Errorf("oidURI(%q) = %q", tt.s, got)
		}
	}
}

// aIGDatatypes is the IG's data type maps, when the workspace has them.
const aIGDatatypes = "../../../shared/v2-to-fhir/datatypes"

// Every converter of these files is registered with the map it implements,
// by its IG key (checked against the IG's file names when they are there).
func TestARegistry(t *testing.T) {
	for name, m := range map[string]string{
		"cx": "CX[Identifier]", "cx_string": "CX[string]", "cx_relatedperson_mother": "CX[RelatedPerson-Mother]",
		"ei": "EI[Identifier-Extension]", "ei_identifier_system": "EI[Identifier-System]",
		"ei_identifier_organization": "EI[Identifier-Organization]", "ei_identifier_defaultassigner": "EI[Identifier-DefaultAssigner]",
		"eip_placer": "EIP[Identifier-PlacerAssignedIdentifier]", "eip_filler": "EIP[Identifier-FillerAssignedIdentifier]",
		"hd_uri": "HD[uri]", "hd_organization": "HD[Organization]", "hd_device": "HD[Device]", "hd_location": "HD[Location]",
		"hd_identifier":                         "HD[Identifier]",
		"hd_messageheader_source_name":          "HD[MessageHeader.source-name]",
		"hd_messageheader_source_endpoint":      "HD[MessageHeader.source-endpoint]",
		"hd_messageheader_destination_name":     "HD[MessageHeader.destination-name]",
		"hd_messageheader_destination_endpoint": "HD[MessageHeader.destination-endpoint]",
		"xpn":                                   "XPN[HumanName]", "xpn_string": "XPN[string]", "fn": "FN[HumanName]",
		"xad": "XAD[Address]", "sad": "SAD[Address]", "xtn": "XTN[ContactPoint]",
		"xon": "XON[Organization]", "xon_location": "XON[Location]", "xon_string": "XON[string]",
		"xcn": "XCN[Practitioner]", "xcn_practitionerrole": "XCN[PractitionerRole]", "xcn_relatedperson": "XCN[RelatedPerson]",
		"xcn_patient": "XCN[Patient]", "xcn_annotation_author": "XCN[Annotation-Author]", "cnn": "CNN[Practitioner]",
		"pl": "PL[Location]", "ndl": "NDL[PractitionerRole]", "dld": "DLD[Location-Discharge]", "cwe_organization": "CWE[Organization]",
	} {
		c := Registry[name]
		if c == nil {
			t.Errorf("%s not registered", name)
			continue
		}
		if c.Map != m {
			t.Errorf("%s: Map %q, want %q", name, c.Map, m)
		}
		if _, err := os.Stat(aIGDatatypes); err == nil {
			if _, err := os.Stat(aIGDatatypes + "/HL7 Data Type - FHIR R4_ " + m + " - Sheet1.csv"); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
	}
}

// The IG message's PID as one Patient: every identifier, name, address
// and telecom repetition converted and validated together.
func TestAIGPatient(t *testing.T) {
	m, err := hl7.Parse(aIG())
	if err != nil {
		t.Fatal(err)
	}
	c := &Context{Location: time.UTC}
	pid, _ := m.Find("PID", 1)
	var members []fhirjson.Member
	for _, f := range []struct {
		key   string
		conv  string
		field int
		reps  int
	}{
		{"identifier", "cx", 3, 2}, {"name", "xpn", 5, 2}, {"telecom", "xtn", 13, 2}, {"telecom", "xtn", 14, 1}, {"address", "xad", 11, 2},
	} {
		field := pid.Field(f.field)
		if got := field.Reps(); got != f.reps {
			t.Errorf("PID-%d: %d repetitions, want %d", f.field, got, f.reps)
		}
		var vals []fhirjson.Value
		for p := field.RepParts(); p.Next(); {
			v, err := Registry[f.conv].Fn(c, p.Value())
			if err != nil {
				t.Errorf("PID-%d[%d]: %v", f.field, p.Index(), err)
			}
			vals = append(vals, v.Elems()...)
		}
		if len(members) > 0 && members[len(members)-1].Key == f.key {
			members[len(members)-1].Value = members[len(members)-1].Value.Append(vals...)
			continue
		}
		members = append(members, fhirjson.M(f.key, fhirjson.Arr(vals...)))
	}
	patient := fhirjson.Obj(append([]fhirjson.Member{fhirjson.M("resourceType", aStr("Patient"))}, members...)...)
	for key, n := range map[string]int{"identifier": 2, "name": 2, "telecom": 3, "address": 2} {
		if got := len(patient.Get(key).Elems()); got != n {
			t.Errorf("%s: %d elements, want %d", key, got, n)
		}
	}
	aValidate(t, []aWrapped{{"IG PID as a Patient", patient}})
}

// aFuzzConverters are the converters of these files, with what they read.
var aFuzzConverters = []string{
	"cx", "cx_string", "cx_relatedperson_mother", "ei", "ei_identifier_system", "ei_identifier_organization",
	"ei_identifier_defaultassigner", "eip_placer", "eip_filler", "hd_uri", "hd_organization", "hd_device",
	"hd_location", "hd_identifier", "hd_messageheader_source_name", "hd_messageheader_source_endpoint",
	"hd_messageheader_destination_name", "hd_messageheader_destination_endpoint",
	"xpn", "xpn_string", "fn", "xad", "sad", "xtn", "xon", "xon_location", "xon_string",
	"xcn", "xcn_practitionerrole", "xcn_relatedperson", "xcn_patient", "xcn_annotation_author", "cnn", "pl",
}

// aCheckJSON fails when v has an empty string, object or array anywhere
// (FHIR forbids them; fhirjson should never make one) or is not valid
// JSON.
func aCheckJSON(t *testing.T, what string, v fhirjson.Value) {
	b := v.AppendJSON(nil)
	if !json.Valid(b) {
		t.Fatalf("%s: invalid JSON %s", what, b)
	}
	var walk func(x any) bool
	walk = func(x any) bool {
		switch x := x.(type) {
		case string:
			return x != ""
		case map[string]any:
			if len(x) == 0 {
				return false
			}
			for _, e := range x {
				if !walk(e) {
					return false
				}
			}
		case []any:
			if len(x) == 0 {
				return false
			}
			for _, e := range x {
				if !walk(e) {
					return false
				}
			}
		}
		return true
	}
	var x any
	if err := json.Unmarshal(b, &x); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if x != nil && !walk(x) {
		t.Fatalf("%s: empty value in %s", what, b)
	}
}

// FuzzCXXPN feeds random field contents to every converter of these files
// (CX and XPN above all): no panic, JSON always valid, never an empty
// element, the same output twice.
func FuzzCXXPN(f *testing.F) {
	for _, s := range []string{
		"1032702^^^V2FHIR&1.2.3.4.5&ISO^MR^AssignFac&1.2.3.4.5.6.3&ISO^20190101^20290101",
		"Everywoman^Eve^L^Jr^Dr^^L^^^^G^20000909^20301231^PhD~Original^Eve^L^Jr^^^M^^^19700601&20000908^G",
		`O\T\Brien^""^""^\S\^\E\^\X41\^\.br\`, `""`, "^^^^^^^^^^^^^^^^^^^^^^^^", "&&&&&~~~^&^&", "\\", "\\T",
		"1^^^&urn:uuid:6FA459EA-EE8A-3CA4-894E-DB77E160355E&UUID", "x^y^z&20240101&20230101^20249999",
		"^PRN^PH^^1^555^555-8473^12^^^^^2024^2023^^^^-1", "EMERG^101^01^F&1.2&ISO^^^B^4^d^E&N&1.2&ISO^A&2.3&ISO",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		if strings.ContainsAny(data, "\r\n|") {
			data = strings.NewReplacer("\r", "", "\n", "", "|", "").Replace(data)
		}
		msg := aMSH + "PID|1||" + data + "||" + data + "||||||" + data + "||" + data + "\rPV1|1|I|" + data + "||||" + data
		m, err := hl7.Parse([]byte(msg))
		if err != nil {
			return
		}
		var vals []hl7.Value
		for _, path := range []string{"PID-3", "PID-5", "PID-11", "PID-13", "PV1-3", "PV1-7"} {
			field := m.Get(hl7.MustPath(path))
			for p := field.RepParts(); p.Next(); {
				rep := p.Value()
				vals = append(vals, rep, rep.Component(1), rep.Component(4))
			}
		}
		c := &Context{Location: time.UTC, Warn: func(string) {}}
		for _, name := range aFuzzConverters {
			conv := Registry[name]
			for i, v := range vals {
				got, _ := conv.Fn(c, v)
				again, _ := conv.Fn(c, v)
				what := name + " #" + string(rune('0'+i%10))
				if a, b := string(got.AppendJSON(nil)), string(again.AppendJSON(nil)); a != b {
					t.Fatalf("%s: not deterministic: %s vs %s", what, a, b)
				}
				aCheckJSON(t, what, got)
				for _, r := range got.Elems() {
					if rt := r.Get("resourceType"); !rt.IsNull() && rt.Text() != conv.FHIR {
						t.Fatalf("%s: resourceType %s, converter says %s", what, rt.Text(), conv.FHIR)
					}
				}
			}
		}
	})
}

// BenchmarkCX: the IG's PID-3[1] (value, authority with OID, type, two
// dates) and a plain medical record number (value, namespace, type).
func BenchmarkCX(b *testing.B) {
	for _, bb := range []struct{ name, segs, path string }{
		{"ig-pid3", "", "PID-3[1]"},
		{"mrn", "PID|1||12345^^^HOSP^MR", "PID-3"},
	} {
		b.Run(bb.name, func(b *testing.B) {
			v := aValue(b, bb.segs, bb.path)
			c := &Context{Location: time.UTC}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := CXIdentifier(c, v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Converters share cached vocabulary values; they may run on many
// goroutines at once (go test -race).
func TestAConcurrent(t *testing.T) {
	m, err := hl7.Parse(aIG())
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ conv, path string }{{"cx", "PID-3[1]"}, {"xpn", "PID-5[2]"}, {"xcn", "PD1-4"}, {"xtn", "PID-14"}, {"xad", "PID-11[1]"}}
	want := make([]string, len(cases))
	c := &Context{Location: time.UTC}
	for i, cc := range cases {
		v, _ := Registry[cc.conv].Fn(c, m.Get(hl7.MustPath(cc.path)))
		want[i] = string(v.AppendJSON(nil))
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &Context{Location: time.UTC}
			for n := 0; n < 50; n++ {
				for i, cc := range cases {
					v, _ := Registry[cc.conv].Fn(c, m.Get(hl7.MustPath(cc.path)))
					if got := string(v.AppendJSON(nil)); got != want[i] {
						t.Errorf("%s: %s, want %s", cc.conv, got, want[i])
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}
