package maps

import (
	"strings"

	"github.com/plexus-hl7/plexus/hl7"
)

// NoResources says why a message holds nothing for the built-in maps to
// turn into FHIR resources, or "" when it does. An acknowledgment (ACK,
// any event) answers another message: the engine records it, and a route
// with `transform: builtin` leaves it out rather than failing it for want
// of a map.
func NoResources(h hl7.Header) string {
	if strings.EqualFold(strings.TrimSpace(h.Type), "ACK") {
		return "an acknowledgment carries no FHIR resources: nothing to convert"
	}
	return ""
}
