// Package transforms is Plexus's rule language: YAML rule files whose
// values are expr expressions, compiled once and checked against the
// complete FHIR R4 model, that turn an HL7 v2 message into a FHIR Bundle.
//
// A rule file names its Bundle type and lists resources; each has an id
// (for ref() and for files that extend it), a FHIR resource type, an
// optional `when` (bool), `foreach` (a segment: one resource per
// occurrence) and `key` (the business identifier: deterministic id and a
// conditional update), and `set:` from FHIR element paths (name[0].given,
// valueQuantity.unit, extension("url").valueString) to expressions.
//
// A path ending in [+] (or [+label], to keep YAML keys distinct) with a
// mapping instead of an expression is an element block: it builds one new
// element of a repeating element from paths relative to it, is dropped
// when it comes out empty or its `when` is false, and with `foreach: SEG`
// makes one element per occurrence of SEG (in a foreach resource, the
// occurrences between its segment and the next one: an OBX's NTEs); with
// `foreach: PV1[7]`, one per repetition of that field, in which PV1[7]
// means the repetition:
//
//	participant[+referrer]:
//	  when: present(PV1[8])
//	  type[0].text: '"referrer"'
//	  individual: xcn(PV1[8])
//	contact[+]:
//	  foreach: NK1
//	  name: xpn(NK1[2])
//	telecom[+home]:
//	  foreach: PID[13]
//	  $this: xtn(PID[13])
//	  use: '!present(PID[13][2]) ? "home" : nil'
//
// `$this:` (first in a block) makes the new element what its expression
// gives, and the block's other entries then set elements of it.
//
// In expressions HL7 reads like HL7 and costs nothing per message to look
// up: PID is the segment, PID[3] field 3, PID[3][4][2] component 4,
// subcomponent 2, and v("PID-3[2].4.1") any path, repetitions included.
// The compiler patches each into indexed access to a path parsed once.
// Inside a foreach, a segment other than the foreach one is the nearest
// occurrence before the current one (an OBX's OBR).
//
// A rule file that names its message structure (structure: ORU_R01; the
// structures of package hl7/structure) gets segment groups: the message's
// groups are found by the structure, `foreach` may name a group (foreach:
// ORDER_OBSERVATION, one resource or element per instance) or a group's
// own segment (foreach: SERVICE.NTE, PROCEDURE.ROL), and inside a
// foreach a segment is looked up in the group where the structure puts it:
// the ORC of an OBR's own order group (absent if that group has none, not
// an earlier group's), an OBX's own NTEs (not the next order's). Where a
// segment stands can be asked: within("PROCEDURE") (the current segment
// is in such a group) and before("PV1") (that segment stands before the
// current one: a ROL after PID or after PV1). msg is the header
// (msg.type, msg.event, msg.controlId, ...). Functions: the converters of
// package datatype by name (cx, xpn, dtm, cwe, ...; a field's repetitions
// are each converted), code/coding/concept/table("VocabularyMap", FIELD)
// with the IG's vocabulary maps, text, present, ref(id) (the instance that
// belongs with the current context) and refs(id) (all of them).
//
// Loading reports every mistake at once with file:line:column (LoadErrors);
// converting reports per-message failures (ConvError) naming the element,
// the HL7 path and the rule's line, and either fails the message or, with
// on_error: partial, keeps what is valid.
package transforms
