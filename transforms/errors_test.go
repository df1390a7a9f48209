package transforms

import (
	"errors"
	"strings"
	"testing"
)

// Every mistake in a rule file is reported with file:line:column, all at
// once, in words that say what to do.
func TestLoadErrors(t *testing.T) {
	src := `name: broken
bundle: transaction
resources:
  - id: patient
    resource: Patient
    set:
      birthdate: dt(PID[7])
      gender: table("NoSuchTable", PID[8])
      name: dtx(PID[5])
      active: PID[30] +
      birthDate: dtm(PID[11])
  - id: patient
    resource: Patiant
  - id: obs
    resource: Observation
    foreach: OBX-5
    colour: red
    set:
      valueFoo: text(OBX[5])
      status: ref(nobody)
      code.text[0]: text(OBX[3])
`
	_, err := Compile("rules.yaml", []byte(src))
	if err == nil {
		t.Fatal("compiled")
	}
	var le LoadErrors
	if !errors.As(err, &le) {
		t.Fatalf("%T is not LoadErrors", err)
	}
	want := []string{
		`rules.yaml:7:7: Patient has no element 'birthdate' (did you mean 'birthDate'?)`,
		`rules.yaml:8:15: table("NoSuchTable", …): `,
		`rules.yaml:9:13: unknown name dtx (did you mean dt,`,
		`rules.yaml:10:23: unexpected token EOF`,
		`rules.yaml:11:18: Patient.birthDate is date, but dtm returns dateTime`,
		`rules.yaml:12:7: resource id "patient" is used twice`,
		`rules.yaml:13:15: "Patiant" is not a FHIR R4 resource type`,
		`rules.yaml:16:14: foreach "OBX-5" must name a segment`,
		`rules.yaml:17:5: unknown key "colour" in resource`,
		`rules.yaml:19:7: Observation has no element 'valueFoo': Observation.value[x] is one of valueQuantity,`,
		`rules.yaml:20:15: ref(nobody): no resource with that id in this file`,
		`rules.yaml:21:7: Observation.code.text does not repeat (0..1): remove [0]`,
	}
	got := err.Error()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("missing %q", w)
		}
	}
	if t.Failed() {
		t.Logf("all errors:\n%s", got)
	}
}

func TestYAMLSyntaxError(t *testing.T) {
	_, err := Compile("bad.yaml", []byte("name: x\nresources:\n  - id: a\n   resource: Patient\n"))
	if err == nil || !strings.Contains(err.Error(), "bad.yaml:4:") {
		t.Fatalf("%v", err)
	}
}
