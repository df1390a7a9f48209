package hl7_test

import (
	"bytes"
	"os"
	"strings"
	"testing"

	lenaten "github.com/lenaten/hl7"

	"github.com/plexus-hl7/plexus/hl7"
)

func readTestdata(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

var benchMessages = []struct{ name, file string }{
	{"ADT_A01", "adt_a01.hl7"},
	{"ORU_R01_839obx", "oru_r01_large.hl7"},
}

// BenchmarkParse compares this package with lenaten/hl7 on the same bytes
// in the same run. "index" is Parse alone (what ingest pays); "walk" also
// reads every field, repetition and component, which is closer to what
// lenaten/hl7 does eagerly; "text" reads every component as text.
func BenchmarkParse(b *testing.B) {
	for _, bm := range benchMessages {
		data := readTestdata(b, bm.file)
		b.Run(bm.name+"/plexus-index", func(b *testing.B) {
			var m hl7.Message
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if err := hl7.ParseInto(&m, data, hl7.ParseOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(bm.name+"/plexus-new", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := hl7.Parse(data); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(bm.name+"/plexus-walk", func(b *testing.B) {
			var m hl7.Message
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if err := hl7.ParseInto(&m, data, hl7.ParseOptions{}); err != nil {
					b.Fatal(err)
				}
				n := 0
				for i := 0; i < m.Len(); i++ {
					s := m.Segment(i)
					for f := 1; f <= s.Fields(); f++ {
						for r := s.Field(f).RepParts(); r.Next(); {
							for c := r.Value().ComponentParts(); c.Next(); {
								n += len(c.Value().Raw())
							}
						}
					}
				}
				if n == 0 {
					b.Fatal("nothing read")
				}
			}
		})
		b.Run(bm.name+"/plexus-text", func(b *testing.B) {
			var m hl7.Message
			var buf []byte
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if err := hl7.ParseInto(&m, data, hl7.ParseOptions{}); err != nil {
					b.Fatal(err)
				}
				for i := 0; i < m.Len(); i++ {
					s := m.Segment(i)
					for f := 1; f <= s.Fields(); f++ {
						for r := s.Field(f).RepParts(); r.Next(); {
							for c := r.Value().ComponentParts(); c.Next(); {
								buf = c.Value().AppendText(buf[:0])
							}
						}
					}
				}
			}
		})
		b.Run(bm.name+"/lenaten", func(b *testing.B) {
			data := lenatenInput(data)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				m := lenaten.NewMessage(data)
				if err := m.Parse(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParseHeader(b *testing.B) {
	data := readTestdata(b, "oru_r01_large.hl7")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := hl7.ParseHeader(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAck(b *testing.B) {
	m, err := hl7.Parse(readTestdata(b, "adt_a01.hl7"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = hl7.Ack(m, hl7.AA, hl7.AckOptions{})
	}
}

// lenatenInput drops the final CR, which lenaten/hl7 reports as an
// "unknown value" at the end of the message.
func lenatenInput(data []byte) []byte { return bytes.TrimRight(data, "\r") }

// TestDifferentialLenaten: on a message lenaten/hl7 reads right (CR
// terminators, no escapes), both parsers see the same fields and
// components.
func TestDifferentialLenaten(t *testing.T) {
	for _, bm := range benchMessages {
		data := readTestdata(t, bm.file)
		if bytes.Contains(data, []byte(`\`+`F\`)) {
			t.Fatalf("%s has escapes", bm.file)
		}
		ours, err := hl7.Parse(data)
		if err != nil {
			t.Fatal(err)
		}
		theirs := lenaten.NewMessage(lenatenInput(data))
		if err := theirs.Parse(); err != nil {
			t.Fatal(err)
		}
		if len(theirs.Segments) != ours.Len() {
			t.Fatalf("%s: %d segments vs lenaten %d", bm.file, ours.Len(), len(theirs.Segments))
		}
		compared := 0
		for i, seg := range theirs.Segments {
			s := ours.Segment(i)
			if s.Is("MSH") {
				continue // lenaten numbers MSH fields its own way
			}
			// lenaten/hl7 lists each repetition as a field of its own with
			// the same SeqNum, and leaves the CR on a segment's last field.
			reps := map[int][]string{}
			for _, f := range seg.Fields {
				if f.SeqNum > 0 {
					reps[f.SeqNum] = append(reps[f.SeqNum], strings.TrimSuffix(string(f.Value), "\r"))
				}
			}
			for n, r := range reps {
				if got, want := string(s.Field(n).Raw()), strings.Join(r, "~"); got != want {
					t.Errorf("%s %s-%d: %q vs lenaten %q", bm.file, s.ID(), n, got, want)
				}
				compared++
			}
		}
		if compared < 50 {
			t.Fatalf("%s: only %d fields compared", bm.file, compared)
		}
	}
}
