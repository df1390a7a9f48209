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
//
// # How the maps document their IG coverage
//
// COVERAGE.md (from ComputeCoverage; `plexus maps coverage`) is computed
// from the maps' rules and a few comments, which therefore follow this
// convention. A message map NAME.yaml follows the IG message map NAME in
// upper case (adt_a01 → ADT_A01) and must cover every row with a FHIR
// target of the segment maps that message map names; its resources are its
// own items and, in place, those of the parts it includes (parts/NAME.yaml,
// recursively); an item with an id seen before refines that resource, and
// `remove: true` drops it.
//
// A resource follows the segment maps named in its title: the comment block
// right above its `- id:` line (at the item's indentation; blank lines
// between allowed), in the first parenthesized group that holds a segment
// map key: "# NK1 → RelatedPerson[2] IF NK1-3.1 NOT IN ("EMR", ...)
// (NK1[RelatedPerson]), one per NK1". The comment right above an element
// block (a set key whose value is a mapping) adds the maps of its own first
// such group: "# NK1 → contact (NK1[Patient]): ...". A key is a segment map
// key when its segment has IG segment maps (PID[...]); XCN[Practitioner] is
// a data type map and is ignored; a key of such a segment that names no IG
// map (PID[Patent]) is an error.
//
// A row of a segment map is implemented when an expression of a resource
// that follows the map (set values at any depth, when:, key:, foreach:)
// reads its field: PID[5], PID[5][1], v("PID-5[2]"). A row without a v2
// field (the IG's "PID" or sort order 0: Account.status = "active") is
// implemented when such a resource sets its element.
//
// A row is explained by a "Not implemented" block in the comments of a
// resource item (after its rules, up to the next item). The block's head
// names the segment map first in parentheses:
//
//	# Not implemented (PID[Patient], 13 of 57 rows; ...):
//	#   PID-13 → telecom[1].use = "home" IF PID-13.2 IS NOT VALUED, PID-14 →
//	#     telecom[2].use = "work" (2 rows): language: why, on as many
//	#     lines as needed.
//	#   vocab: PID-15 PrimaryLanguage, NK1-20 PrimaryLanguage.
//	#   (A note in parentheses explains nothing.)
//	# Not implemented (DG1[Encounter], all 14 rows: ...): language: why.
//	# Not implemented: none (PID[Account], 2 rows).
//
// An entry starts with "#" and three spaces; lines with five or more go on
// with it, and so does a three-space line while the entry has no reason
// yet. An entry is FIELD → TARGET clauses separated by commas or
// semicolons (outside parentheses), then ": KIND: text" where KIND is
// language, converter, vocab or IG; "as for KEY" (the same rows of another
// segment map, explained there) or "as in FILE.yaml" (the other message
// map's explanation of this map) may stand for the reason. A clause names a
// field (PID-13, NK1-30/31/32, or the bare segment, MSH, for the rows
// without a field) and, after →, the FHIR target; a clause without a field
// adds targets to the previous one, and "A and B" names two. On a field
// that no rule reads, a clause explains all its rows. On a field that is
// read, it explains the rows whose element is the target or lies under it
// (the IG's [1] and the maps' [0] are the same instance; value[x] stands
// for any value; a slip of two letters still matches) and, after `=
// "value"`, whose assignment is that value; the other rows stay
// implemented. "vocab:" entries (FIELD Map, ...) mark implemented rows
// whose vocabulary map is not applied. A head followed by ": KIND: text"
// explains every row of its map.
//
// A message map may end with a block for the segment maps it does not
// implement at all, at column 0:
//
//	# Segment maps of the ADT_A01 message map that this file does not implement
//	# at all:
//	#   MSH[Bundle] (4 rows: ...): language: why.
//
// whose entries begin with the keys they explain. Comments that follow
// this only in part (an entry without a reason kind, a target that matches
// no row) are listed in COVERAGE.md; a row that no rule reads and no entry
// explains is "neither", which TestCoverage refuses for the IG's "Ready for
// Ballot" maps (testdata/coverage/known-gaps.txt lists the ones known when
// the check came).
//
// A data type map is implemented by the converter whose Map it is
// (transforms/datatype); its rows are read from the converter's doc comment
// and the comments of its file that name the map: a component named in a
// "Not mapped:" sentence is explained (by the parenthesized reason after
// it), any other mention (XPN.3, CWE.1/2/3, XAD.15-XAD.18) implements all
// rows of that component.
package maps

import (
	"embed"
	"strings"
)

// FS holds the built-in maps, NAME.yaml at its root, and the parts they
// include, parts/NAME.yaml.
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
