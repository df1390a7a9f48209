package maps_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
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

// BenchmarkCorpusMix converts the messages of the shared corpus that the
// built-in maps convert (partial mode, as the known defects need), each
// with the map maps.Select picks, JSON included: "mix" takes them in turn
// (a message per op: its ns/op is the mean over the corpus, its msgs/s one
// core's rate; resources/s counts the Bundle entries), and one
// sub-benchmark per map takes that map's messages.
//
//	go test -run XXX -bench CorpusMix -benchmem ./transforms/maps
func BenchmarkCorpusMix(b *testing.B) {
	type msg struct {
		m     *hl7.Message
		rules *transforms.Rules
	}
	byMap := map[string][]msg{}
	var all []msg
	walkCorpus(b, func(name string, raw []byte, h hl7.Header) {
		mapName, err := maps.Select(h)
		if err != nil {
			return
		}
		m, err := hl7.Parse(raw)
		if err != nil {
			return
		}
		r := rules(b, mapName, true)
		if res, err := r.Convert(m); err != nil || res.Bundle == nil {
			return
		}
		byMap[mapName] = append(byMap[mapName], msg{m, r})
		all = append(all, msg{m, r})
	})
	run := func(b *testing.B, msgs []msg) {
		b.ReportAllocs()
		i, resources := 0, 0
		for b.Loop() {
			x := msgs[i%len(msgs)]
			res, err := x.rules.Convert(x.m)
			if err != nil {
				b.Fatal(err)
			}
			resources += res.Resources
			i++
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		b.ReportMetric(float64(resources)/b.Elapsed().Seconds(), "resources/s")
	}
	b.Run("mix", func(b *testing.B) { run(b, all) })
	names := make([]string, 0, len(byMap))
	for n := range byMap {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		b.Run(fmt.Sprintf("%s-%dmsgs", n, len(byMap[n])), func(b *testing.B) { run(b, byMap[n]) })
	}
}
