package datatype

import (
	"os"
	"strings"
	"testing"

	"github.com/plexus-hl7/plexus/hl7"
)

// TestTextOf compares TextOf with hl7.Value.String for every repetition,
// component and subcomponent of the IG's ADT_A01 and of values with
// escapes, HL7 nulls and long texts.
func TestTextOf(t *testing.T) {
	data, err := os.ReadFile("testdata/a_ig_adt_a01.hl7")
	if err != nil {
		t.Fatal(err)
	}
	extra := "MSH|^~\\&|A|B\rZZZ|\"\"|a\\F\\b\\S\\c\\T\\d\\E\\e\\X41\\|" + strings.Repeat("long ", 200) + "|~^&|\r"
	var kept []string
	var want []string
	for _, raw := range []string{string(data), extra} {
		m, err := hl7.Parse([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < m.Len(); i++ {
			seg := m.Segment(i)
			for f := 1; f < 60; f++ {
				for r := seg.Field(f).RepParts(); r.Next(); {
					for c := r.Value().ComponentParts(); c.Next(); {
						for s := c.Value().SubParts(); s.Next(); {
							for _, v := range []hl7.Value{r.Value(), c.Value(), s.Value()} {
								got := TextOf(v)
								if got != v.String() {
									t.Errorf("TextOf(%q) = %q, want %q", v.Raw(), got, v.String())
								}
								kept, want = append(kept, got), append(want, v.String())
							}
						}
					}
				}
			}
		}
	}
	// what TextOf gave earlier is never written over
	for i := range kept {
		if kept[i] != want[i] {
			t.Fatalf("text %d changed to %q, was %q", i, kept[i], want[i])
		}
	}
	if got := TextFrom([]byte("urn:oid:1.2")); got != "urn:oid:1.2" {
		t.Errorf("TextFrom: %q", got)
	}
	if got := joinText("urn:oid:", strings.Repeat("1.", 300)); got != "urn:oid:"+strings.Repeat("1.", 300) {
		t.Errorf("joinText of a long text: %q", got)
	}
}
