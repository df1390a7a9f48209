package maps_test

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"
	fhir "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/plexus-hl7/plexus/hl7"
	"github.com/plexus-hl7/plexus/transforms"
	"github.com/plexus-hl7/plexus/transforms/maps"
)

// The comparison the transform issue asks for: the same Bundle content
// built with samply's generated FHIR structs (github.com/samply/
// golang-fhir-models) and encoding/json, as a hand-written Go mapping
// would, from the same parsed ADT_A01 in the same run as BenchmarkADTA01.
//
// samplyBundle covers the Patient, the Encounter and the resources they
// refer to (the general practitioner's Organization and Practitioner, the
// attending and admitting Practitioners, the beds, rooms and ward of
// PV1-3 and PV1-6): 11 of the 30 entries of the map's Bundle, some 12 KB of
// its 23 KB, element for element what the map gives (TestSamplyBundle
// checks that), but _birthDate's birthTime extension, which samply's
// structs cannot express. Its field reading and conversions (dates, codes,
// names) are written for this message's values, not for any message: the
// cheapest that a hand-written mapping could be. Ids are made as the map
// makes them (a UUIDv5 of the business identifier, or of the resource's
// JSON), and each resource is encoded with json.Marshal (samply's
// BundleEntry.Resource is a json.RawMessage).
func samplyBundle(m *hl7.Message) ([]byte, error) { return samplyBuild(m, false) }

// samplyBuild is samplyBundle; with plainIDs, the resources without a
// business identifier get ids from a counter instead of from their JSON
// (one json.Marshal each instead of two): not the map's ids, but a lower
// bound for what samply's structs cost.
func samplyBuild(m *hl7.Message, plainIDs bool) ([]byte, error) {
	pid, _ := m.Find("PID", 1)
	pd1, _ := m.Find("PD1", 1)
	nk1, _ := m.Find("NK1", 1)
	pv1, _ := m.Find("PV1", 1)
	pv2, _ := m.Find("PV2", 1)
	b := &samplyBuilder{plainIDs: plainIDs}

	// referenced resources first: the references need their ids
	gpOrg := b.place("Organization", true, "urn:oid:"+txt(pd1.Field(3).Component(6).Sub(2)), txt(pd1.Field(3).Component(10)), &fhir.Organization{
		Identifier: []fhir.Identifier{{
			Type:     cc(coding(v20203, "XX", "Organization identifier")),
			System:   ptr("urn:oid:" + txt(pd1.Field(3).Component(6).Sub(2))),
			Value:    ptr(txt(pd1.Field(3).Component(10))),
			Assigner: &fhir.Reference{Display: ptr(txt(pd1.Field(3).Component(6).Sub(1)))},
		}},
		Name: ptr(txt(pd1.Field(3).Component(1))),
	})
	gp := pd1.Field(4)
	gpPract := b.place("Practitioner", false, "", "", &fhir.Practitioner{
		Identifier: []fhir.Identifier{{
			Extension: []fhir.Extension{
				{Url: "http://hl7.org/fhir/StructureDefinition/identifier-checkDigit", ValueString: ptr(txt(gp.Component(11)))},
				{Url: "http://hl7.org/fhir/StructureDefinition/namingsystem-checkDigit", ValueString: ptr(txt(gp.Component(12)))},
			},
			Type:     cc(coding(v20203, txt(gp.Component(13)), "")),
			Value:    ptr(txt(gp.Component(1))),
			Assigner: &fhir.Reference{Display: ptr(txt(gp.Component(9)))},
		}},
		Name: []fhir.HumanName{{
			Family: ptr(txt(gp.Component(2))),
			Given:  []string{txt(gp.Component(3)), txt(gp.Component(4))},
			Prefix: []string{txt(gp.Component(6))},
			Suffix: []string{txt(gp.Component(5))},
			Period: &fhir.Period{Start: ptr(dtm(txt(gp.Component(17))))},
		}},
	})
	doctor := func(f hl7.Value) string {
		sys := "urn:oid:" + txt(f.Component(9).Sub(2))
		return b.place("Practitioner", true, sys, txt(f.Component(1)), &fhir.Practitioner{
			Identifier: []fhir.Identifier{{
				Extension: []fhir.Extension{
					{Url: "http://hl7.org/fhir/StructureDefinition/identifier-checkDigit", ValueString: ptr(txt(f.Component(11)))},
					{Url: "http://hl7.org/fhir/StructureDefinition/namingsystem-checkDigit", ValueString: ptr(txt(f.Component(12)))},
				},
				Type:     cc(coding(v20203, txt(f.Component(13)), "National provider identifier")),
				System:   ptr(sys),
				Value:    ptr(txt(f.Component(1))),
				Assigner: &fhir.Reference{Display: ptr(txt(f.Component(9).Sub(1)))},
			}},
			Name: []fhir.HumanName{{
				Use:    nameUse(txt(f.Component(10))),
				Family: ptr(txt(f.Component(2))),
				Given:  []string{txt(f.Component(3)), txt(f.Component(4))},
				Prefix: []string{txt(f.Component(6))},
				Suffix: []string{txt(f.Component(5))},
			}},
			Qualification: []fhir.PractitionerQualification{{
				Code: *cc(coding("http://terminology.hl7.org/CodeSystem/v2-0360", txt(f.Component(7)), "Doctor of Medicine")),
			}},
		})
	}
	attender, admitter := doctor(pv1.Field(7)), doctor(pv1.Field(17))
	location := func(f hl7.Value) string {
		auth := txt(f.Component(11))
		loc := func(value, part, physical string) string {
			l := &fhir.Location{
				Identifier: []fhir.Identifier{{Value: ptr(value), Assigner: &fhir.Reference{Display: ptr(auth)}}},
				Mode:       ptr(fhir.LocationModeInstance),
			}
			if physical != "" {
				l.PhysicalType = cc(coding("http://terminology.hl7.org/CodeSystem/location-physical-type", physical, ""))
			}
			if part != "" {
				l.PartOf = &fhir.Reference{Identifier: &fhir.Identifier{Value: ptr(part), Assigner: &fhir.Reference{Display: ptr(auth)}}}
			}
			return b.place("Location", false, "", "", l)
		}
		ward, room, bed := txt(f.Component(1)), txt(f.Component(2)), txt(f.Component(3))
		first := loc(bed, room, "bd")
		loc(room, ward, "ro")
		loc(ward, "", "")
		return first
	}
	current, prior := location(pv1.Field(3)), location(pv1.Field(6))

	// the Patient
	pidID := func(rep hl7.Value, display string) fhir.Identifier {
		return fhir.Identifier{
			Type:     cc(coding(v20203, txt(rep.Component(5)), display)),
			System:   ptr("urn:oid:" + txt(rep.Component(4).Sub(2))),
			Value:    ptr(txt(rep.Component(1))),
			Period:   &fhir.Period{Start: ptr(date(txt(rep.Component(7)))), End: ptr(date(txt(rep.Component(8))))},
			Assigner: &fhir.Reference{Display: ptr(txt(rep.Component(4).Sub(1)))},
		}
	}
	name := func(x hl7.Value) fhir.HumanName {
		n := fhir.HumanName{
			Extension: []fhir.Extension{{Url: "http://hl7.org/fhir/StructureDefinition/humanname-assembly-order", ValueCode: ptr(txt(x.Component(11)))}},
			Use:       nameUse(txt(x.Component(7))),
			Family:    ptr(txt(x.Component(1))),
			Given:     []string{txt(x.Component(2)), txt(x.Component(3))},
			Suffix:    nonEmpty(txt(x.Component(4)), txt(x.Component(14))),
			Prefix:    nonEmpty(txt(x.Component(5))),
		}
		if s := txt(x.Component(12)); s != "" {
			n.Period = &fhir.Period{Start: ptr(date(s)), End: ptr(date(txt(x.Component(13))))}
		} else {
			n.Period = &fhir.Period{Start: ptr(date(txt(x.Component(10).Sub(1)))), End: ptr(date(txt(x.Component(10).Sub(2))))}
		}
		return n
	}
	addr := func(x hl7.Value) fhir.Address {
		a := fhir.Address{
			Line:       nonEmpty(txt(x.Component(1)), txt(x.Component(2))),
			City:       ptr(txt(x.Component(3))),
			State:      ptr(txt(x.Component(4))),
			PostalCode: ptr(txt(x.Component(5))),
			Country:    ptr(txt(x.Component(6))),
		}
		if txt(x.Component(7)) == "H" {
			a.Use = ptr(fhir.AddressUseHome)
		}
		if d := txt(x.Component(9)); d != "" {
			a.District = ptr(d)
		}
		if s := txt(x.Component(13)); s != "" {
			a.Period = &fhir.Period{Start: ptr(date(s)), End: ptr(date(txt(x.Component(14))))}
		}
		return a
	}
	phone := func(x hl7.Value, use fhir.ContactPointUse) fhir.ContactPoint {
		country, area, local, ext := txt(x.Component(5)), txt(x.Component(6)), txt(x.Component(7)), txt(x.Component(8))
		exts := []fhir.Extension{
			{Url: "http://hl7.org/fhir/StructureDefinition/contactpoint-country", ValueString: ptr(country)},
			{Url: "http://hl7.org/fhir/StructureDefinition/contactpoint-area", ValueString: ptr(area)},
			{Url: "http://hl7.org/fhir/StructureDefinition/contactpoint-local", ValueString: ptr(local)},
		}
		value := "+" + country + " " + area + " " + local
		if ext != "" {
			exts = append(exts, fhir.Extension{Url: "http://hl7.org/fhir/StructureDefinition/contactpoint-extension", ValueString: ptr(ext)})
			value += " X" + ext
		}
		return fhir.ContactPoint{Extension: exts, System: ptr(fhir.ContactPointSystemPhone), Value: ptr(value), Use: ptr(use)}
	}
	pid3 := pid.Field(3)
	patientSys, patientVal := "urn:oid:"+txt(pid3.Rep(1).Component(4).Sub(2)), txt(pid3.Rep(1).Component(1))
	multiple := 2
	if txt(pid.Field(25)) != "2" {
		return nil, os.ErrInvalid
	}
	dead := txt(pid.Field(30)) == "Y"
	gender := fhir.AdministrativeGenderUnknown
	if txt(pid.Field(8)) == "F" {
		gender = fhir.AdministrativeGenderFemale
	}
	nk := nk1.Field(2)
	patient := &fhir.Patient{
		Identifier: []fhir.Identifier{
			{Value: ptr(txt(pid.Field(19))), System: ptr("http://hl7.org/fhir/sid/us-ssn"), Type: cc(coding(v20203, "SS", ""))},
			pidID(pid3.Rep(1), "Medical record number"),
			pidID(pid3.Rep(2), "Driver\u2019s license number"),
			{Type: cc(coding(v20203, "DL", "")), Value: ptr(txt(pid.Field(20).Component(1)))},
		},
		Name: []fhir.HumanName{name(pid.Field(5).Rep(1)), name(pid.Field(5).Rep(2))},
		Extension: []fhir.Extension{
			{Url: "http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName", ValueString: ptr(txt(pid.Field(6).Component(1)))},
			{Url: "http://hl7.org/fhir/StructureDefinition/patient-religion", ValueCodeableConcept: cwe(pid.Field(17), "http://terminology.hl7.org/CodeSystem/v2-0006")},
			{Url: "http://hl7.org/fhir/StructureDefinition/patient-birthPlace", ValueAddress: &fhir.Address{Text: ptr(txt(pid.Field(23)))}},
			{Url: "http://hl7.org/fhir/StructureDefinition/patient-citizenship", Extension: []fhir.Extension{
				{Url: "code", ValueCodeableConcept: cwe(pid.Field(26), "http://terminology.hl7.org/CodeSystem/v2-0399")},
			}},
			{Url: "http://hl7.org/fhir/StructureDefinition/patient-disability", ValueCodeableConcept: cc(coding("", txt(pd1.Field(6)), ""))},
			{Url: "http://hl7.org/fhir/StructureDefinition/patient-congregation", ValueString: ptr(txt(pd1.Field(14).Component(1)))},
		},
		BirthDate: ptr(date(txt(pid.Field(7))[:8])),
		Gender:    &gender,
		Address:   []fhir.Address{addr(pid.Field(11).Rep(1)), addr(pid.Field(11).Rep(2))},
		Telecom: []fhir.ContactPoint{
			phone(pid.Field(13).Rep(1), fhir.ContactPointUseHome),
			{System: ptr(fhir.ContactPointSystemEmail), Value: ptr(txt(pid.Field(13).Rep(2).Component(4)))},
			phone(pid.Field(14), fhir.ContactPointUseWork),
		},
		Communication:        []fhir.PatientCommunication{{Language: *cwe(pid.Field(15), "http://terminology.hl7.org/CodeSystem/v2-0296")}},
		MaritalStatus:        cc(coding("http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", txt(pid.Field(16).Component(1)), txt(pid.Field(16).Component(2)))),
		MultipleBirthInteger: &multiple,
		DeceasedBoolean:      &dead,
		GeneralPractitioner:  []fhir.Reference{{Reference: ptr(gpOrg)}, {Reference: ptr(gpPract)}},
		Contact: []fhir.PatientContact{{
			Name: &fhir.HumanName{
				Family: ptr(txt(nk.Component(1))),
				Given:  []string{txt(nk.Component(2)), txt(nk.Component(3))},
				Prefix: []string{txt(nk.Component(5))},
				Suffix: []string{txt(nk.Component(4))},
			},
			Relationship: []fhir.CodeableConcept{{Coding: []fhir.Coding{
				{Code: ptr(txt(nk1.Field(3).Component(1)))},
				{System: ptr("http://terminology.hl7.org/CodeSystem/v2-0063"), Code: ptr(txt(nk1.Field(3).Component(4))), Display: ptr(txt(nk1.Field(3).Component(5)))},
			}}},
		}},
	}
	patientURN := b.add("Patient", true, patientSys, patientVal, patient)

	// the Encounter
	vn := pv1.Field(19)
	encSys, encVal := "urn:oid:"+txt(vn.Component(4).Sub(2)), txt(vn.Component(1))
	participant := func(code, display, text, ref string) fhir.EncounterParticipant {
		p := fhir.EncounterParticipant{
			Type:       []fhir.CodeableConcept{{Coding: []fhir.Coding{coding("http://terminology.hl7.org/CodeSystem/v3-ParticipationType", code, display)}}},
			Individual: &fhir.Reference{Reference: ptr(ref)},
		}
		if text != "" {
			p.Type[0].Text = ptr(text)
		}
		return p
	}
	enc := &fhir.Encounter{
		Identifier: []fhir.Identifier{{
			Type:     &fhir.CodeableConcept{Coding: []fhir.Coding{coding(v20203, txt(vn.Component(5)), "Visit number")}, Text: ptr("visit number")},
			System:   ptr(encSys),
			Value:    ptr(encVal),
			Assigner: &fhir.Reference{Display: ptr(txt(vn.Component(4).Sub(1)))},
		}},
		Status:      fhir.EncounterStatusInProgress,
		Class:       coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", "EMER", "emergency"),
		Type:        []fhir.CodeableConcept{*cwe(pv1.Field(4), "http://terminology.hl7.org/CodeSystem/v2-0007")},
		ServiceType: cwe(pv1.Field(10), "http://terminology.hl7.org/CodeSystem/v2-0069"),
		Priority:    cwe(pv2.Field(25), "http://terminology.hl7.org/CodeSystem/v2-2017"),
		Subject:     &fhir.Reference{Reference: ptr(patientURN)},
		Participant: []fhir.EncounterParticipant{
			participant("ATND", "attender", "", attender),
			participant("ADM", "", "admitter", admitter),
		},
		Period:          &fhir.Period{Start: ptr(dtm(txt(pv1.Field(44))))},
		ReasonCode:      []fhir.CodeableConcept{*cwe(pv2.Field(3), "urn:oid:2.16.840.1.113883.6.5")},
		Hospitalization: &fhir.EncounterHospitalization{SpecialCourtesy: []fhir.CodeableConcept{*cwe(pv1.Field(16), "http://terminology.hl7.org/CodeSystem/v2-0099")}},
		Location: []fhir.EncounterLocation{
			{Location: fhir.Reference{Reference: ptr(current)}, Status: ptr(fhir.EncounterLocationStatusActive)},
			{Location: fhir.Reference{Reference: ptr(prior)}, Status: ptr(fhir.EncounterLocationStatusCompleted)},
		},
		Extension: []fhir.Extension{
			{Url: "http://hl7.org/fhir/5.0/StructureDefinition/extension-Encounter.plannedEndDate", ValueDateTime: ptr(date(txt(pv2.Field(9))))},
			{Url: "http://hl7.org/fhir/StructureDefinition/encounter-modeOfArrival", ValueCoding: ptr(coding("http://terminology.hl7.org/CodeSystem/v2-0430", txt(pv2.Field(38).Component(1)), txt(pv2.Field(38).Component(2))))},
		},
	}
	b.add("Encounter", true, encSys, encVal, enc)

	bundleID := uuid.NewSHA1(samplyIDSpace, []byte("Bundle|"+m.Header().SendingApplication+"|"+m.Header().SendingFacility+"|"+m.Header().ControlID)).String()
	entries := append(b.entries, b.placed...)
	return json.Marshal(fhir.Bundle{Id: &bundleID, Type: fhir.BundleTypeTransaction, Entry: entries})
}

const v20203 = "http://terminology.hl7.org/CodeSystem/v2-0203"

var samplyIDSpace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://github.com/plexus-hl7/plexus/fhir-resource-id"))

type samplyBuilder struct {
	entries, placed []fhir.BundleEntry
	seen            map[uuid.UUID]string
	plainIDs        bool
	n               int
}

// add makes the entry of res: a conditional update on its identifier when
// keyed, an update of an id made from its JSON otherwise; it returns the
// entry's fullUrl.
func (b *samplyBuilder) add(typ string, keyed bool, sys, val string, res any) string {
	return b.entry(&b.entries, typ, keyed, sys, val, res)
}

// place is add for a referenced resource: one entry per distinct resource.
func (b *samplyBuilder) place(typ string, keyed bool, sys, val string, res any) string {
	return b.entry(&b.placed, typ, keyed, sys, val, res)
}

func (b *samplyBuilder) entry(to *[]fhir.BundleEntry, typ string, keyed bool, sys, val string, res any) string {
	var id uuid.UUID
	var body []byte
	var err error
	switch {
	case keyed:
		id = uuid.NewSHA1(samplyIDSpace, []byte(typ+"|"+sys+"|"+val))
	case b.plainIDs:
		b.n++
		id = uuid.NewSHA1(samplyIDSpace, []byte(typ+"|"+strconv.Itoa(b.n)))
	default:
		if body, err = json.Marshal(res); err != nil {
			panic(err)
		}
		id = uuid.NewSHA1(samplyIDSpace, append([]byte(typ+"|"), body...))
	}
	urn := "urn:uuid:" + id.String()
	if b.seen == nil {
		b.seen = map[uuid.UUID]string{}
	}
	if u, ok := b.seen[id]; ok {
		return u
	}
	b.seen[id] = urn
	req := &fhir.BundleEntryRequest{Method: fhir.HTTPVerbPUT}
	if keyed {
		req.Url = typ + "?identifier=" + url.QueryEscape(sys) + "|" + url.QueryEscape(val)
	} else {
		req.Url = typ + "/" + id.String()
		s := id.String()
		reflect.ValueOf(res).Elem().FieldByName("Id").Set(reflect.ValueOf(&s))
	}
	if body, err = json.Marshal(res); err != nil {
		panic(err)
	}
	*to = append(*to, fhir.BundleEntry{FullUrl: &urn, Resource: body, Request: req})
	return urn
}

func txt(v hl7.Value) string { return strings.TrimSpace(v.String()) }

func ptr[T any](v T) *T { return &v }

func nonEmpty(s ...string) []string {
	var out []string
	for _, x := range s {
		if x != "" {
			out = append(out, x)
		}
	}
	return out
}

func coding(system, code, display string) fhir.Coding {
	c := fhir.Coding{Code: ptr(code)}
	if system != "" {
		c.System = &system
	}
	if display != "" {
		c.Display = &display
	}
	return c
}

func cc(c fhir.Coding) *fhir.CodeableConcept {
	return &fhir.CodeableConcept{Coding: []fhir.Coding{c}}
}

// cwe is a CWE's first triplet as a CodeableConcept in system.
func cwe(v hl7.Value, system string) *fhir.CodeableConcept {
	return cc(coding(system, txt(v.Component(1)), txt(v.Component(2))))
}

func nameUse(code string) *fhir.NameUse {
	switch code {
	case "L":
		return ptr(fhir.NameUseOfficial)
	case "M":
		return ptr(fhir.NameUseMaiden)
	}
	return nil
}

// date is YYYYMMDD as YYYY-MM-DD.
func date(s string) string { return s[:4] + "-" + s[4:6] + "-" + s[6:8] }

// dtm is YYYYMMDDhhmm[ss] without an offset as a dateTime in UTC.
func dtm(s string) string {
	sec := "00"
	if len(s) >= 14 {
		sec = s[12:14]
	}
	return date(s) + "T" + s[8:10] + ":" + s[10:12] + ":" + sec + "+00:00"
}

// adtPartial is the built-in map in partial mode, as BenchmarkADTA01 uses it.
func adtPartial(tb testing.TB) *transforms.Rules {
	over := filepath.Join(tb.TempDir(), "partial.yaml")
	if err := os.WriteFile(over, []byte("name: adt-partial\nextends: adt_a01\non_error: partial\nresources: []\n"), 0o644); err != nil {
		tb.Fatal(err)
	}
	r, err := (&transforms.Loader{Builtins: maps.FS}).Load(over)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

func loadADT(tb testing.TB) *hl7.Message {
	data, err := os.ReadFile("testdata/test-conversion-ADT_A01.hl7")
	if err != nil {
		tb.Fatal(err)
	}
	m, err := hl7.Parse(data)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// TestSamplyBundle checks that samplyBundle makes what the map makes for
// the resources it covers: the same resources, elements and values (JSON
// compared as data: samply's structs order members their own way), ids and
// references aside (those of resources identified by content hash their
// JSON, whose order differs), and _birthDate.
func TestSamplyBundle(t *testing.T) {
	m := loadADT(t)
	got, err := samplyBundle(m)
	if err != nil {
		t.Fatal(err)
	}
	res, err := adtPartial(t).Convert(m)
	if err != nil {
		t.Fatal(err)
	}
	var ours, theirs struct {
		Entry []struct {
			Resource map[string]any
			Request  map[string]any
		}
	}
	if err := json.Unmarshal(res.Bundle, &ours); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(got, &theirs); err != nil {
		t.Fatal(err)
	}
	if len(theirs.Entry) != 11 {
		t.Fatalf("samply Bundle has %d entries, want 11", len(theirs.Entry))
	}
	for _, te := range theirs.Entry {
		tr := normalize(te.Resource).(map[string]any)
		found := false
		for _, oe := range ours.Entry {
			or := normalize(oe.Resource).(map[string]any)
			delete(or, "_birthDate")
			if reflect.DeepEqual(tr, or) {
				found = true
				break
			}
		}
		if !found {
			out, _ := json.Marshal(tr)
			t.Errorf("the map's Bundle has no resource like samply's %s", out)
		}
	}
}

// normalize drops ids and makes every urn:uuid reference the same.
func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			if k != "id" {
				out[k] = normalize(e)
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e)
		}
		return out
	case string:
		if strings.HasPrefix(x, "urn:uuid:") {
			return "urn:uuid:*"
		}
	}
	return v
}

// BenchmarkADTA01Samply builds samplyBundle's 11 resources from the parsed
// message with samply's structs and encoding/json: the hand-written
// alternative to the map, next to BenchmarkADTA01 (all 30 resources).
func BenchmarkADTA01Samply(b *testing.B) {
	m := loadADT(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := samplyBundle(m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkADTA01SamplyPlainIDs is BenchmarkADTA01Samply without ids made
// from content (see samplyBuild).
func BenchmarkADTA01SamplyPlainIDs(b *testing.B) {
	m := loadADT(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := samplyBuild(m, true); err != nil {
			b.Fatal(err)
		}
	}
}
