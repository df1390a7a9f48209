package maps_test

import (
	"strings"
	"testing"

	"github.com/plexus-hl7/plexus/hl7"
	"github.com/plexus-hl7/plexus/transforms/maps"
)

func TestSelect(t *testing.T) {
	for _, c := range []struct {
		h    hl7.Header
		want string
		err  string
	}{
		{hl7.Header{Type: "ADT", Event: "A01", Structure: "ADT_A01"}, "adt_a01", ""},
		{hl7.Header{Type: "ADT", Event: "A08"}, "adt_a01", ""},
		{hl7.Header{Type: "ADT", Event: "A04", Structure: "adt_a01"}, "adt_a01", ""},
		{hl7.Header{Type: "ADT", Event: "A45"}, "", "no built-in map for ADT^A45: the message structure is not known"},
		// MSH-9.3 naming a structure table 0354 does not have: the event's
		{hl7.Header{Type: "ADT", Event: "A04", Structure: "ADT_A04"}, "adt_a01", ""},
		{hl7.Header{Type: "ADT", Event: "A12", Structure: "ADT_A12"}, "adt_a09", ""},
		{hl7.Header{Type: "ADT", Event: "A05", Structure: "ADT_A05"}, "adt_a05", ""},
		{hl7.Header{Type: "ADT", Event: "A28"}, "adt_a05", ""},
		{hl7.Header{Type: "ADT", Event: "A31"}, "adt_a05", ""},
		{hl7.Header{Type: "ADT", Event: "A17"}, "adt_a17", ""},
		{hl7.Header{Type: "MDM", Event: "T08"}, "mdm_t02", ""},
		{hl7.Header{Type: "MDM", Event: "T01"}, "", "no built-in map for MDM^T01"},
		// patient merges: A39 and A40 are ADT_A39, A34 ADT_A30 (table 0354);
		// both extend adt_a40, which serves MSH-9.3 "ADT_A40" too
		{hl7.Header{Type: "ADT", Event: "A40"}, "adt_a39", ""},
		{hl7.Header{Type: "ADT", Event: "A40", Structure: "ADT_A39"}, "adt_a39", ""},
		{hl7.Header{Type: "ADT", Event: "A40", Structure: "ADT_A40"}, "adt_a40", ""},
		{hl7.Header{Type: "ADT", Event: "A39"}, "adt_a39", ""},
		{hl7.Header{Type: "ADT", Event: "A34"}, "adt_a30", ""},
		{hl7.Header{Type: "ADT", Event: "A34", Structure: "ADT_A30"}, "adt_a30", ""},
		// the other events of those structures are no patient merges
		{hl7.Header{Type: "ADT", Event: "A41", Structure: "ADT_A39"}, "", "no built-in map for ADT^A41 (structure ADT_A39): its built-in map serves A39, A40 only"},
		{hl7.Header{Type: "ADT", Event: "A42"}, "", "no built-in map for ADT^A42: the message structure is not known"},
		{hl7.Header{Type: "ADT", Event: "A47", Structure: "ADT_A30"}, "", "no built-in map for ADT^A47 (structure ADT_A30)"},
		{hl7.Header{Type: "ZZZ", Event: "Z01", Structure: "ZZZ_Z01"}, "", "no built-in map for ZZZ^Z01 (structure ZZZ_Z01)"},
	} {
		got, err := maps.Select(c.h)
		if got != c.want || (c.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%+v: %q, %v", c.h, got, err)
		}
	}
}
