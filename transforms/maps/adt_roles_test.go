package maps_test

import (
	"slices"
	"strconv"
	"testing"
)

// The ROL and PRT segments of the ADT maps (parts rol, prt_careteam and
// prt_gp_role, and the blocks of adt_a01/a02/a03/a05/a06 that reference
// them), which follow a segment map by where the segment stands: after
// PID, after PV1, or in OBSERVATION, PROCEDURE or INSURANCE (no target).
// The messages (testdata/adt_roles_*.hl7, see SOURCES.md) hold a ROL or PRT
// in each position, each with its own person (XCN-1) so that what it became
// can be found; and the PD1 of each patient group of an ADT_A17.

// rolesConvert converts testdata/adt_roles_NAME.hl7 with the map Plexus
// picks, which must be wantMap (valid, deterministic: adtMoreConvert).
func rolesConvert(t *testing.T, name, wantMap string) adtMoreBundle {
	t.Helper()
	msgs := testMessages(t, "testdata/adt_roles_"+name+".hl7")
	if len(msgs) != 1 {
		t.Fatalf("adt_roles_%s.hl7 holds %d messages, want 1", name, len(msgs))
	}
	return adtMoreConvert(t, msgs[0], wantMap)
}

// who names what a reference points to: "Practitioner:ID" (XCN-1),
// "Organization:NAME", "PractitionerRole:ROL-1/Practitioner:ID".
func (b adtMoreBundle) who(t *testing.T, r map[string]any, path string) string {
	t.Helper()
	x := b.resolve(t, r, path)
	switch typ := adtMoreGet(x, "resourceType"); typ {
	case "Practitioner":
		return "Practitioner:" + adtMoreGet(x, "identifier.0.value")
	case "Organization":
		return "Organization:" + adtMoreGet(x, "name")
	case "PractitionerRole":
		return "PractitionerRole:" + adtMoreGet(x, "identifier.0.value") + "/" + b.who(t, x, "practitioner")
	default:
		return typ
	}
}

// whoAll is who for each element of a list of references (path.0, path.1,
// ...; sub is the path of the reference inside an element, "" for the
// element itself).
func (b adtMoreBundle) whoAll(t *testing.T, r map[string]any, path, sub string) []string {
	t.Helper()
	var out []string
	for i := 0; adtMoreGet(r, path+"."+strconv.Itoa(i)) != ""; i++ {
		p := path + "." + strconv.Itoa(i)
		if sub != "" {
			p += "." + sub
		}
		out = append(out, b.who(t, r, p))
	}
	return out
}

// practitionerIDs lists the XCN-1 of every Practitioner of the Bundle,
// sorted.
func (b adtMoreBundle) practitionerIDs() []string {
	var out []string
	for _, p := range b.all("Practitioner") {
		out = append(out, adtMoreGet(p, "identifier.0.value"))
	}
	slices.Sort(out)
	return out
}

// careTeams gives each CareTeam as "role code: member [on behalf of]".
func (b adtMoreBundle) careTeams(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, c := range b.all("CareTeam") {
		if adtMoreGet(c, "participant.0.member") == "" {
			continue // IN3's case manager: no member
		}
		if got := b.resolve(t, c, "subject"); adtMoreGet(got, "resourceType") != "Patient" {
			t.Errorf("CareTeam.subject is a %s", adtMoreGet(got, "resourceType"))
		}
		s := adtMoreGet(c, "participant.0.role.0.coding.0.code") + ": " + b.who(t, c, "participant.0.member")
		if adtMoreGet(c, "participant.0.onBehalfOf") != "" {
			s += " for " + b.who(t, c, "participant.0.onBehalfOf")
		}
		out = append(out, s)
	}
	return out
}

func wantList(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got  %q\n want %q", what, got, want)
	}
}

// TestADTRolesA01: each ROL and PRT of an ADT_A01 by where it stands.
func TestADTRolesA01(t *testing.T) {
	b := rolesConvert(t, "a01", "adt_a01")
	patient := b.one(t, "Patient")
	// After PID: PD1-4 first (the part pid), then the ROL "PP" of HL70443
	// (a PractitionerRole, ROL[Patient-GeneralPractitioner]), then the PRT
	// "PP" (a Practitioner, PRT[Patient-GeneralPractitioner-Practitioner]).
	wantList(t, "Patient.generalPractitioner", b.whoAll(t, patient, "generalPractitioner", ""),
		[]string{"Practitioner:9000", "PractitionerRole:R1/Practitioner:1111", "Practitioner:3333"})
	gp := b.resolve(t, patient, "generalPractitioner.1")
	adtMoreWant(t, gp, "code.0.coding.0.code", "446050000") // ProviderRole PP
	adtMoreWant(t, gp, "period.start", "2020-01-01")
	adtMoreWant(t, gp, "telecom.0.value", "555 1111111")
	if got := b.who(t, gp, "organization"); got != "Organization:GP PRACTICE" {
		t.Errorf("ROL-14: organization %s", got)
	}
	if adtMoreGet(b.resolve(t, gp, "location.0"), "resourceType") != "Location" {
		t.Error("ROL-13: no location")
	}

	// After PID, other HL70443 roles and provider PRTs: a CareTeam each
	// (ROL[CareTeam], PRT[CareTeam]); the ROL of another table ("L") and
	// the PRT "SB" make nothing.
	wantList(t, "CareTeams", b.careTeams(t), []string{
		"CON: Practitioner:2222 for Organization:CONSULT GROUP", // ROL-4, ROL-14 on behalf
		"REF: Organization:REFERRING ORG",                       // no ROL-4: ROL-14 is the member
		"AT: PractitionerRole:/Practitioner:4444",               // PRT-6 valued: a PractitionerRole
		"OP: Practitioner:5555 for Organization:ORDERING ORG",   // PRT-5, PRT-8 on behalf
	})
	for _, c := range b.all("CareTeam") {
		switch adtMoreGet(c, "participant.0.role.0.coding.0.code") {
		case "CON":
			adtMoreWant(t, c, "participant.0.role.1.coding.0.code", "CARD") // ROL-9
			adtMoreWant(t, c, "reasonCode.0.coding.0.code", "FU")           // ROL-8
			adtMoreWant(t, c, "telecom.0.value", "555 2222222")             // ROL-12
			adtMoreWant(t, c, "participant.0.period.end", "2023-12-31")
		case "AT":
			adtMoreWant(t, c, "participant.0.period.start", "2024-01-01") // PRT-11
			role := b.resolve(t, c, "participant.0.member")
			adtMoreWant(t, role, "code.0.coding.0.code", "MD") // PRT-6
			adtMoreWant(t, role, "telecom.0.value", "555 4444444")
			if got := b.who(t, role, "organization"); got != "Organization:CITY HOSPITAL" {
				t.Errorf("PRT-8 with PRT-6: the role's organization is %s", got)
			}
		}
	}

	// After PV1: the PV1-7 attender, then the ROL (ROL[Encounter-PractitionerRole]).
	enc := b.one(t, "Encounter")
	wantList(t, "Encounter.participant", b.whoAll(t, enc, "participant", "individual"),
		[]string{"Practitioner:7777", "PractitionerRole:R3/Practitioner:6666"})
	adtMoreWant(t, enc, "participant.1.type.0.coding.0.code", "ATND")
	adtMoreWant(t, enc, "participant.1.period.end", "2024-01-02")
	role := b.resolve(t, enc, "participant.1.individual")
	adtMoreWant(t, role, "telecom.0.value", "555 6666666")
	if got := b.who(t, role, "organization"); got != "Organization:ENC ORG" {
		t.Errorf("ROL-14 after PV1: %s", got)
	}

	// PR1-8, PR1-11 (two repetitions) and PR1-12: one performer each, the
	// first two with their SNOMED function.
	proc := b.one(t, "Procedure")
	wantList(t, "Procedure.performer", b.whoAll(t, proc, "performer", "actor"),
		[]string{"Practitioner:7001", "Practitioner:7002", "Practitioner:7003", "Practitioner:7004"})
	var functions []string
	for i := range 4 {
		functions = append(functions, adtMoreGet(proc, "performer."+strconv.Itoa(i)+".function.coding.0.code"))
	}
	wantList(t, "Procedure.performer.function", functions, []string{"88189002", "304292004", "304292004", ""})

	// The PRT after PV1, the PRTs of OBSERVATION, PROCEDURE and INSURANCE
	// and the ROLs of PROCEDURE and INSURANCE have no target: their
	// persons (8888, 8889, 9991-9994) are nowhere.
	wantList(t, "Practitioners", b.practitionerIDs(),
		[]string{"1111", "2222", "3333", "4444", "5555", "6666", "7001", "7002", "7003", "7004", "7777", "9000"})
	if n := len(b.all("PractitionerRole")); n != 3 {
		t.Errorf("%d PractitionerRoles, want 3 (R1, R3, P2's)", n)
	}
}

// TestADTRolesOtherMaps: the same parts in adt_a02, adt_a03 (no structure:
// before() alone), adt_a06, and adt_a05 with its
// PRT[Patient-GeneralPractitioner-PractitionerRole].
func TestADTRolesOtherMaps(t *testing.T) {
	t.Run("adt_a02", func(t *testing.T) {
		b := rolesConvert(t, "a02", "adt_a02")
		wantList(t, "Patient.generalPractitioner", b.whoAll(t, b.one(t, "Patient"), "generalPractitioner", ""),
			[]string{"PractitionerRole:R1/Practitioner:1111", "Practitioner:3333"})
		wantList(t, "Encounter.participant", b.whoAll(t, b.one(t, "Encounter"), "participant", "individual"),
			[]string{"PractitionerRole:R3/Practitioner:6666"})
		wantList(t, "Practitioners (not the OBSERVATION PRT's)", b.practitionerIDs(), []string{"1111", "3333", "6666"})
	})
	t.Run("adt_a03", func(t *testing.T) {
		b := rolesConvert(t, "a03", "adt_a03")
		wantList(t, "Patient.generalPractitioner", b.whoAll(t, b.one(t, "Patient"), "generalPractitioner", ""),
			[]string{"PractitionerRole:R1/Practitioner:1111"})
		wantList(t, "CareTeams", b.careTeams(t), []string{"CON: Practitioner:2222"})
		wantList(t, "Encounter.participant", b.whoAll(t, b.one(t, "Encounter"), "participant", "individual"),
			[]string{"PractitionerRole:R3/Practitioner:6666"})
		wantList(t, "Practitioners (not PROCEDURE's or INSURANCE's)", b.practitionerIDs(), []string{"1111", "2222", "6666"})
	})
	t.Run("adt_a05", func(t *testing.T) {
		b := rolesConvert(t, "a05", "adt_a05")
		patient := b.one(t, "Patient")
		// The PRT "PP" is a PractitionerRole here, not a Practitioner.
		wantList(t, "Patient.generalPractitioner", b.whoAll(t, patient, "generalPractitioner", ""),
			[]string{"PractitionerRole:R1/Practitioner:1111", "PractitionerRole:/Practitioner:3333"})
		gp := b.resolve(t, patient, "generalPractitioner.1")
		adtMoreWant(t, gp, "code.0.coding.0.code", "PP")                       // PRT-4
		adtMoreWant(t, gp, "period.end", "2030-12-31")                         // PRT-12
		adtMoreWant(t, gp, "telecom.0.value", "555 3333333")                   // PRT-15
		if got := b.who(t, gp, "organization"); got != "Organization:GP ORG" { // PRT-8
			t.Errorf("PRT-8: %s", got)
		}
		if adtMoreGet(b.resolve(t, gp, "location.0"), "resourceType") != "Location" { // PRT-9
			t.Error("PRT-9: no location")
		}
		wantList(t, "CareTeams", b.careTeams(t), []string{"AT: Practitioner:4444"})
		wantList(t, "Encounter.participant", b.whoAll(t, b.one(t, "Encounter"), "participant", "individual"),
			[]string{"PractitionerRole:R3/Practitioner:6666"})
	})
	t.Run("adt_a05 A28", func(t *testing.T) {
		// PV1-2 "N": no Encounter, so the ROL after PV1 makes nothing.
		b := rolesConvert(t, "a28", "adt_a05")
		if n := len(b.all("Encounter")); n != 0 {
			t.Errorf("%d Encounters, want 0", n)
		}
		wantList(t, "Patient.generalPractitioner", b.whoAll(t, b.one(t, "Patient"), "generalPractitioner", ""),
			[]string{"PractitionerRole:R1/Practitioner:1111"})
		wantList(t, "Practitioners", b.practitionerIDs(), []string{"1111"})
	})
	t.Run("adt_a06", func(t *testing.T) {
		// ADT_A06: the ROL and PRT after PID stand before MRG.
		b := rolesConvert(t, "a06", "adt_a06")
		wantList(t, "Patient.generalPractitioner", b.whoAll(t, b.one(t, "Patient"), "generalPractitioner", ""),
			[]string{"Practitioner:3333"})
		wantList(t, "CareTeams", b.careTeams(t), []string{"CON: Practitioner:2222"})
		wantList(t, "Encounter.participant", b.whoAll(t, b.one(t, "Encounter"), "participant", "individual"),
			[]string{"PractitionerRole:R3/Practitioner:6666"})
	})
}

// TestADTRolesA17: each patient of an ADT_A17 gets the general
// practitioners of its own group's PD1 (PD1-3, PD1-4).
func TestADTRolesA17(t *testing.T) {
	b := rolesConvert(t, "a17", "adt_a17")
	got := map[string][]string{}
	for _, p := range b.all("Patient") {
		got[adtMoreGet(p, "name.0.family")] = b.whoAll(t, p, "generalPractitioner", "")
	}
	wantList(t, "ONE's generalPractitioner", got["ONE"], []string{"Organization:FIRST CLINIC", "Practitioner:1001"})
	wantList(t, "TWO's generalPractitioner", got["TWO"], []string{"Organization:SECOND CLINIC", "Practitioner:2001"})
	if len(got) != 2 {
		t.Errorf("%d patients (%v), want ONE and TWO", len(got), got)
	}
}
