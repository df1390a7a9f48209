package fhir_test

import (
	"testing"

	"github.com/plexus-hl7/plexus/transforms/fhir"
)

func BenchmarkLookup(b *testing.B) {
	fhir.Lookup("Patient")
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := fhir.Lookup("Observation"); !ok {
			b.Fatal("no Observation")
		}
	}
}

func benchResolve(b *testing.B, root string, path ...string) {
	fhir.Lookup("Patient")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := fhir.ResolvePath(root, path); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkResolvePath(b *testing.B) { benchResolve(b, "Patient", "contact", "name", "given") }

func BenchmarkResolveChoice(b *testing.B) {
	benchResolve(b, "Observation", "component", "valueQuantity", "unit")
}

func BenchmarkResolvePrimitiveExtension(b *testing.B) {
	benchResolve(b, "Patient", "_birthDate", "extension", "valueDateTime")
}

func BenchmarkResolveError(b *testing.B) {
	fhir.Lookup("Patient")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := fhir.ResolvePath("Patient", []string{"birthdate"}); err == nil {
			b.Fatal("resolved")
		}
	}
}

func BenchmarkValidatePrimitive(b *testing.B) {
	fhir.ValidatePrimitive("date", "2020-01-01")
	b.ReportAllocs()
	for b.Loop() {
		if err := fhir.ValidatePrimitive("dateTime", "2020-01-01T10:00:00+01:00"); err != nil {
			b.Fatal(err)
		}
	}
}
