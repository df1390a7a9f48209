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
		{hl7.Header{Type: "ZZZ", Event: "Z01", Structure: "ZZZ_Z01"}, "", "no built-in map for ZZZ^Z01 (structure ZZZ_Z01)"},
	} {
		got, err := maps.Select(c.h)
		if got != c.want || (c.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%+v: %q, %v", c.h, got, err)
		}
	}
}
