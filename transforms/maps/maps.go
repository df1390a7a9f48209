// Package maps holds Plexus's built-in transform maps: ordinary rule files
// (see package transforms) that follow the HL7 v2-to-FHIR Implementation
// Guide's message maps, one file per message structure (adt_a01.yaml for
// ADT_A01: A01, A04, A08). Each file's header says which IG commit it
// follows and how to copy or extend it; each resource lists the IG rows it
// does not implement yet, and why.
//
// The engine and the CLI load them by name:
//
//	l := transforms.Loader{Builtins: maps.FS}
//	rules, err := l.Load("adt_a01")
package maps

import (
	"embed"
	"strings"
)

// FS holds the built-in maps, NAME.yaml at its root.
//
//go:embed *.yaml parts/*.yaml
var FS embed.FS

// Names lists the built-in maps, sorted.
func Names() ([]string, error) {
	ents, err := FS.ReadDir(".")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if n, ok := strings.CutSuffix(e.Name(), ".yaml"); ok {
			out = append(out, n)
		}
	}
	return out, nil
}
