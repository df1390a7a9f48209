package maps_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/plexus-hl7/plexus/hl7"
	"github.com/plexus-hl7/plexus/transforms"
	"github.com/plexus-hl7/plexus/transforms/maps"
)

// BenchmarkADTA01 converts the IG's test ADT_A01 with the built-in map
// (in partial mode: the message's own PV1-7 is defective), JSON included:
// the figure the transform issue's target (<= 50 us per ADT_A01) is about.
func BenchmarkADTA01(b *testing.B) {
	data, err := os.ReadFile("testdata/test-conversion-ADT_A01.hl7")
	if err != nil {
		b.Fatal(err)
	}
	m, err := hl7.Parse(data)
	if err != nil {
		b.Fatal(err)
	}
	over := filepath.Join(b.TempDir(), "partial.yaml")
	if err := os.WriteFile(over, []byte("name: adt-partial\nextends: adt_a01\non_error: partial\nresources: []\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	r, err := (&transforms.Loader{Builtins: maps.FS}).Load(over)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Convert(m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkADTA01Append is BenchmarkADTA01 with the Bundle's buffer given
// back for the next message (Rules.ConvertAppend), as a caller that
// recycles its buffers would.
func BenchmarkADTA01Append(b *testing.B) {
	data, err := os.ReadFile("testdata/test-conversion-ADT_A01.hl7")
	if err != nil {
		b.Fatal(err)
	}
	m, err := hl7.Parse(data)
	if err != nil {
		b.Fatal(err)
	}
	over := filepath.Join(b.TempDir(), "partial.yaml")
	if err := os.WriteFile(over, []byte("name: adt-partial\nextends: adt_a01\non_error: partial\nresources: []\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	r, err := (&transforms.Loader{Builtins: maps.FS}).Load(over)
	if err != nil {
		b.Fatal(err)
	}
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
