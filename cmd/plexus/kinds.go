package main

// The kinds of destination this binary knows; each registers itself with
// the channels registry. A new kind is a new package and a line here.
import (
	_ "github.com/plexus-hl7/plexus/channels/fhir"
	_ "github.com/plexus-hl7/plexus/channels/file"
	_ "github.com/plexus-hl7/plexus/channels/kafka"
	_ "github.com/plexus-hl7/plexus/channels/mllp"
)
