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

// TestConvertAppend checks that ConvertAppend appends what Convert returns,
// into a recycled buffer as into one with a prefix, and that a failed
// conversion leaves no Bundle.
func TestConvertAppend(t *testing.T) {
	data, err := os.ReadFile("../hl7/testdata/adt_a01.hl7")
	if err != nil {
		t.Fatal(err)
	}
	m, err := hl7.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	r := mustLoad(t, "testdata/patient-partial.yaml")
	want, err := r.Convert(m)
	if err != nil {
		t.Fatal(err)
	}
	buf := []byte("prefix")
	for range 3 {
		res, err := r.ConvertAppend(buf, m)
		if err != nil {
			t.Fatal(err)
		}
		if string(res.Bundle) != "prefix"+string(want.Bundle) || res.Resources != want.Resources ||
			len(res.Warnings) != len(want.Warnings) || len(res.Errors) != len(want.Errors) {
			t.Fatalf("ConvertAppend gave %d resources, %q\nConvert gave %d, %q", res.Resources, res.Bundle, want.Resources, want.Bundle)
		}
		buf = res.Bundle[:len("prefix")]
	}
	strict := mustLoad(t, "testdata/patient.yaml") // on_error: reject; the IG's PV1-7 fails
	res, err := strict.ConvertAppend(buf, m)
	if err == nil || res.Bundle != nil {
		t.Fatalf("strict ConvertAppend: err %v, Bundle %q", err, res.Bundle)
	}
}

// BenchmarkConvertAppend is BenchmarkConvert with the Bundle's buffer
// given back for the next message.
func BenchmarkConvertAppend(b *testing.B) {
	data, err := os.ReadFile("../hl7/testdata/adt_a01.hl7")
	if err != nil {
		b.Fatal(err)
	}
	m, err := hl7.Parse(data)
	if err != nil {
		b.Fatal(err)
	}
	r := mustLoad(b, "testdata/patient-partial.yaml")
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		res, err := r.ConvertAppend(buf[:0], m)
		if err != nil {
			b.Fatal(err)
		}
		buf = res.Bundle
	}
}
