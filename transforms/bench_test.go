package transforms

import (
	"os"
	"strings"
	"testing"

	"github.com/plexus-hl7/plexus/hl7"
)

// BenchmarkConvert converts the IG's ADT_A01 with the test rule file
// (Patient, Encounter with placed Practitioners and Locations), in
// on_error: partial mode since the IG's PV1-7 carries "doctor" in a date
// component. The built-in maps' benchmark (every IG row) comes with them.
func BenchmarkConvert(b *testing.B) {
	data, err := os.ReadFile("../hl7/testdata/adt_a01.hl7")
	if err != nil {
		b.Fatal(err)
	}
	m, err := hl7.Parse(data)
	if err != nil {
		b.Fatal(err)
	}
	r := mustLoad(b, "testdata/patient-partial.yaml")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Convert(m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkConvertORU adds 20 Observations (foreach OBX, ref to the patient).
func BenchmarkConvertORU(b *testing.B) {
	msg := "MSH|^~\\&|LAB|HOSP|EHR|HOSP|20240506070809||ORU^R01^ORU_R01|MSG1|P|2.5.1\rPID|1||12345^^^HOSP^MR||DOE^JANE^Q||19700101123000-0500|F\rOBR|1||ORD1|CBC^Blood count\r" +
		strings.Repeat("OBX|1|ST|HGB^Hemoglobin||normal||||||F|||20240506070000-0500\r", 20)
	m, err := hl7.Parse([]byte(msg))
	if err != nil {
		b.Fatal(err)
	}
	r := mustCompileFile(b, "testdata/patient.yaml")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Convert(m); err != nil {
			b.Fatal(err)
		}
	}
}
