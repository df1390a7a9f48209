package hl7_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"github.com/plexus-hl7/plexus/hl7"
)

// FuzzParse: Parse never panics; what it accepts encodes to bytes that parse
// again to the same encoding; every value reads as valid UTF-8; what it
// rejects still gets a NAK that parses. Seeds: testdata/fuzz/FuzzParse and,
// when present, the whole shared corpus.
func FuzzParse(f *testing.F) {
	if dir := findCorpus(); dir != "" {
		_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && filepath.Ext(p) == ".hl7" {
				if b, err := os.ReadFile(p); err == nil && len(b) < 64<<10 {
					f.Add(b)
				}
			}
			return nil
		})
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := hl7.Parse(data)
		if err != nil {
			if len(hl7.Errors(err)) == 0 {
				t.Fatalf("error %v is not located", err)
			}
			nak := hl7.RejectRaw(data, err, hl7.AckOptions{})
			if _, err := hl7.Parse(nak); err != nil {
				t.Fatalf("NAK %q does not parse: %v", nak, err)
			}
			return
		}
		walk(t, m)
		if h, err := hl7.ParseHeader(data); err == nil && h != m.Header() {
			t.Fatalf("ParseHeader %+v differs from Parse %+v", h, m.Header())
		}
		_, _ = hl7.SplitBatch(data)
		if _, err := hl7.Parse(hl7.Ack(m, hl7.AE, hl7.AckOptions{Text: "x"})); err != nil {
			t.Fatalf("ACK does not parse: %v", err)
		}
		enc, err := m.Encode()
		if err != nil {
			return // text not representable in the declared character set
		}
		m2, err := hl7.Parse(enc)
		if err != nil {
			t.Fatalf("encoded form %q does not parse: %v", enc, err)
		}
		enc2, err := m2.Encode()
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding not stable:\n%q\n%q (%v)", enc, enc2, err)
		}
		if m2.Len() != m.Len() {
			t.Fatalf("%d segments, %d after round trip", m.Len(), m2.Len())
		}
	})
}

// walk reads every value of m down to subcomponents.
func walk(t *testing.T, m *hl7.Message) {
	for i := 0; i < m.Len(); i++ {
		s := m.Segment(i)
		for f := 1; f <= s.Fields(); f++ {
			fv := s.Field(f)
			for r := 1; r <= fv.Reps(); r++ {
				rv := fv.Rep(r)
				for c := 1; c <= rv.Components(); c++ {
					cv := rv.Component(c)
					for sc := 1; sc <= cv.Subcomponents(); sc++ {
						if txt := cv.Sub(sc).String(); !utf8.ValidString(txt) {
							t.Fatalf("%s-%d[%d].%d.%d is not UTF-8: %q", s.ID(), f, r, c, sc, txt)
						}
					}
				}
			}
		}
	}
}

func findCorpus() string {
	for _, c := range []string{os.Getenv("PLEXUS_CORPUS"), "../../shared/corpus", "../../../shared/corpus"} {
		if c != "" {
			if _, err := os.Stat(filepath.Join(c, "INDEX.tsv")); err == nil {
				return c
			}
		}
	}
	return ""
}
