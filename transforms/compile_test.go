package transforms

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/plexus-hl7/plexus/hl7"
)

func mustCompileFile(t *testing.T, name string) *Rules {
	t.Helper()
	src, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Compile(name, src)
	if err != nil {
		t.Fatalf("compile %s:\n%v", name, err)
	}
	return r
}

const oru = "MSH|^~\\&|LAB|HOSP|EHR|HOSP|20240506070809||ORU^R01^ORU_R01|MSG1|P|2.5.1\r" +
	"PID|1||12345^^^HOSP^MR||DOE^JANE^Q||19700101123000|F\r" +
	"OBR|1||ORD1|CBC^Blood count\r" +
	"OBX|1|ST|HGB^Hemoglobin||normal||||||F|||20240506070000\r" +
	"OBX|2|ST|WBC^White cells||high||||||P\r"

func TestConvertSmall(t *testing.T) {
	r := mustCompileFile(t, "testdata/patient.yaml")
	m, err := hl7.Parse([]byte(oru))
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Convert(m)
	if err != nil {
		t.Fatalf("%v\n%v", err, res.Errors)
	}
	var pretty map[string]any
	if err := json.Unmarshal(res.Bundle, &pretty); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, res.Bundle)
	}
	out, _ := json.MarshalIndent(pretty, "", "  ")
	t.Logf("%s\nwarnings: %v", out, res.Warnings)
	if !strings.Contains(string(res.Bundle), `"birthDate":"1970-01-01"`) {
		t.Errorf("no birthDate")
	}
}
