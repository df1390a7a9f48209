package datatype

// Person locations: PL[Location].
//
// A PL names up to six places, and the IG makes one Location of each,
// numbered from the most specific: [1] bed (PL.3), [2] room (PL.2), [3]
// floor (PL.8), [4] point of care (PL.1), [5] building (PL.7), [6] facility
// (PL.4). pl returns them in that order, the ones present only: one
// Location, or an array when there are several. The first is the one the
// referring resource (Encounter.location, ...) points to, as the IG's note
// asks ("reference the most granular Location available").
//
// Decisions:
//
//   - Each Location has identifier[1] from its HD (HD[Identifier]: HD.1 as
//     value, and HD.2 typed by HD.3 as a second identifier when valued),
//     mode "instance", and physicalType from the IG's Assignment column (bd,
//     ro, lvl, bu, si in location-physical-type). The point of care has no
//     physicalType: the IG assigns only a proposed extension "poc", and the
//     code system has no such code.
//   - partOf, by the IG's rows: bed → room, room → floor, floor → point of
//     care, point of care → facility, building → facility (the IG writes
//     Location[5], the building itself, a slip). A missing level is
//     skipped: a room with no floor given is partOf the point of care, the
//     next level present up the chain. The reference is logical: the
//     parent's first identifier. The rule engine, which gives the
//     Locations their ids, can make it literal.
//   - PL.11 (assigning authority for location) → assigner of every
//     identifier of every Location, as a logical Reference (display HD.1,
//     identifier HD.2).
//   - PL.10 (comprehensive location identifier, EI) → a further identifier
//     of the most specific Location present: EI[Identifier-DefaultAssigner]
//     with PL.11 as assigner when PL.11 is valued, else
//     EI[Identifier-Organization]. The IG's conditions name the levels in
//     the order bed, room, point of care, floor, building, facility (and
//     write [5] for the point of care, a slip); here the floor, being [3],
//     comes before the point of care, consistent with partOf.
//   - PL.9 (description) → description of the same, most specific Location
//     (the IG writes [1], the bed, which may be absent).
//   - A PL with only PL.9 or PL.10 gives one Location with those.
//   - Not mapped: PL.5 (location status) and PL.6 (person location type),
//     which have no target in the IG.

import (
	"github.com/plexus-hl7/plexus/hl7"
	"github.com/plexus-hl7/plexus/transforms/fhirjson"
)

func init() {
	register(&Converter{Name: "pl", Map: "PL[Location]", V2: []string{"PL"}, FHIR: "Location", Fn: PLLocation})
}

const sysLocationPhysicalType = "http://terminology.hl7.org/CodeSystem/location-physical-type"

// plLevels are the places of a PL in the IG's instance order [1]..[6]: the
// component and the physicalType code.
var plLevels = [6]struct {
	comp          int
	label, typLab string // for warnings
	physicalType  fhirjson.Value
	parent        []int // indexes of plLevels to try, in order, for partOf
}{
	{3, "PL.3", "PL.3.3", fixedCC(nil, sysLocationPhysicalType, "bd"), []int{1, 2, 3, 5}},
	{2, "PL.2", "PL.2.3", fixedCC(nil, sysLocationPhysicalType, "ro"), []int{2, 3, 5}},
	{8, "PL.8", "PL.8.3", fixedCC(nil, sysLocationPhysicalType, "lvl"), []int{3, 5}},
	{1, "PL.1", "PL.1.3", fhirjson.Value{}, []int{5}},
	{7, "PL.7", "PL.7.3", fixedCC(nil, sysLocationPhysicalType, "bu"), []int{5}},
	{4, "PL.4", "PL.4.3", ccSite, nil},
}

// levelIdentifiers is HD[Identifier] of a level's HD, each identifier with
// assigner (PL.11) when not Null.
func levelIdentifiers(c *Context, h hdValue, assigner fhirjson.Value) fhirjson.Value {
	var first, second fhirjson.Value
	if h.ns != "" {
		first = c.obj(fhirjson.M("value", fhirjson.Str(h.ns)), fhirjson.M("assigner", assigner))
	}
	if u := h.universalIdentifier(c); !u.IsNull() {
		second = u.With("assigner", assigner)
	}
	return c.arr(first, second)
}

// PLLocation converts a PL to its Locations (IG PL[Location]; see the file
// comment): PL.1 point of care, PL.2 room, PL.3 bed, PL.4 facility, PL.7
// building, PL.8 floor → a Location each (identifier, mode instance,
// physicalType, partOf); PL.9 → description; PL.10 → identifier; PL.11 →
// identifier.assigner.
func PLLocation(c *Context, v hl7.Value) (fhirjson.Value, error) {
	var buf [11]hl7.Value
	p := splitField(v, buf[:])
	var assigner fhirjson.Value
	if h := readHD(p.at(11), "PL.11", "PL.11.3"); !h.isZero() {
		assigner = h.assigner(c, "")
	}
	var ids [6]fhirjson.Value
	primary := -1
	for i, l := range plLevels {
		if h := readHD(p.at(l.comp), l.label, l.typLab); !h.isZero() {
			ids[i] = levelIdentifiers(c, h, assigner)
			if primary < 0 && !ids[i].IsNull() {
				primary = i
			}
		}
	}

	var compID fhirjson.Value
	if p.has(10) {
		var eiBuf [4]hl7.Value
		ei := splitNested(p.at(10), eiBuf[:])
		if assigner.IsNull() {
			compID = eiOrganization(c, ei)
		} else if value := ei.text(1); value != "" {
			compID = c.obj(fhirjson.M("value", fhirjson.Str(value)), fhirjson.M("assigner", assigner))
		}
	}
	description := fhirjson.Str(p.text(9))
	instance := fhirjson.Str("instance")

	if primary < 0 {
		if compID.IsNull() && description.IsNull() {
			return fhirjson.Value{}, nil
		}
		return c.obj(
			fhirjson.M("resourceType", fhirjson.Str("Location")),
			fhirjson.M("identifier", c.arr(compID)),
			fhirjson.M("description", description),
			fhirjson.M("mode", instance),
		), nil
	}

	locs := make([]fhirjson.Value, 0, 6)
	for i, l := range plLevels {
		if ids[i].IsNull() {
			continue
		}
		identifier, desc := ids[i], fhirjson.Value{}
		if i == primary {
			identifier, desc = identifier.Append(compID), description
		}
		var partOf fhirjson.Value
		for _, j := range l.parent {
			if !ids[j].IsNull() {
				partOf = c.obj(fhirjson.M("identifier", ids[j].Elems()[0]))
				break
			}
		}
		locs = append(locs, c.obj(
			fhirjson.M("resourceType", fhirjson.Str("Location")),
			fhirjson.M("identifier", identifier),
			fhirjson.M("description", desc),
			fhirjson.M("mode", instance),
			fhirjson.M("physicalType", l.physicalType),
			fhirjson.M("partOf", partOf),
		))
	}
	if len(locs) == 1 {
		return locs[0], nil
	}
	return c.arr(locs...), nil
}
