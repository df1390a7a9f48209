package maps_test

import (
	"strings"
	"testing"

	"github.com/plexus-hl7/plexus/hl7"
	"github.com/plexus-hl7/plexus/transforms/maps"
)

func TestNoResources(t *testing.T) {
	for _, c := range []struct {
		h    hl7.Header
		none bool
	}{
		{hl7.Header{Type: "ACK", Event: "A01", Structure: "ACK"}, true},
		{hl7.Header{Type: "ack"}, true},
		{hl7.Header{Type: "ADT", Event: "A01"}, false},
		{hl7.Header{Type: "ORU", Event: "R01", Structure: "ORU_R01"}, false},
	} {
		why := maps.NoResources(c.h)
		if (why != "") != c.none {
			t.Errorf("%+v: %q", c.h, why)
		}
		if c.none && !strings.Contains(why, "nothing to convert") {
			t.Errorf("%+v: %q does not say there is nothing to convert", c.h, why)
		}
	}
}
