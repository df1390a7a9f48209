package maps

import (
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/plexus-hl7/plexus/hl7"
)

// eventStructure is the message structure of the trigger events the
// built-in maps cover, for senders that leave MSH-9.3 empty (it is optional
// before v2.5). The grouping is the IG's (its message maps name the events
// they serve), which follows HL7 table 0354; for the patient merges, which
// the IG does not map, it is table 0354's too (v2.5.1: A39 and A40 are
// ADT_A39, A34 is ADT_A30), and their map is adt_a40 (adt_a39 and adt_a30
// extend it).
var eventStructure = map[string]string{
	"ADT^A01": "ADT_A01", "ADT^A04": "ADT_A01", "ADT^A08": "ADT_A01", "ADT^A13": "ADT_A01",
	"ADT^A02": "ADT_A02",
	"ADT^A03": "ADT_A03",
	"ADT^A05": "ADT_A05", "ADT^A14": "ADT_A05", "ADT^A28": "ADT_A05", "ADT^A31": "ADT_A05",
	"ADT^A06": "ADT_A06", "ADT^A07": "ADT_A06",
	"ADT^A09": "ADT_A09", "ADT^A10": "ADT_A09", "ADT^A12": "ADT_A09",
	"ADT^A11": "ADT_A11",
	"ADT^A17": "ADT_A17",
	"ADT^A34": "ADT_A30",
	"ADT^A39": "ADT_A39", "ADT^A40": "ADT_A39",
	// the MDM events with document content (table 0354: T02, T04, T06,
	// T08, T10); the others (T01, T03, ...) are MDM_T01, without a map
	"MDM^T02": "MDM_T02", "MDM^T04": "MDM_T02", "MDM^T06": "MDM_T02", "MDM^T08": "MDM_T02", "MDM^T10": "MDM_T02",
	"OML^O21": "OML_O21",
	"ORM^O01": "ORM_O01",
	"ORU^R01": "ORU_R01",
	"VXU^V04": "VXU_V04",
	"SIU^S12": "SIU_S12", "SIU^S13": "SIU_S12", "SIU^S14": "SIU_S12", "SIU^S15": "SIU_S12",
	"SIU^S16": "SIU_S12", "SIU^S17": "SIU_S12", "SIU^S18": "SIU_S12", "SIU^S19": "SIU_S12",
	"SIU^S20": "SIU_S12", "SIU^S21": "SIU_S12", "SIU^S22": "SIU_S12", "SIU^S23": "SIU_S12",
	"SIU^S24": "SIU_S12", "SIU^S26": "SIU_S12",
}

// structureEvents limits the built-in map of a structure to some of the
// events table 0354 gives that structure, where the others mean something
// the map does not do: the merge maps merge Patients, and ADT_A39 also
// serves A41 and A42 (merge account, merge visit), ADT_A30 A35, A36
// (account merges) and A46-A49 (identifier changes).
var structureEvents = map[string][]string{
	"ADT_A39": {"A39", "A40"},
	"ADT_A40": {"A39", "A40"}, // not in table 0354, but some senders write it
	"ADT_A30": {"A34"},
}

// Select names the built-in map for a message: the one of its message
// structure (MSH-9.3, or the structure of its type and event when MSH-9.3
// is empty or names a structure with no map: senders write ADT_A04 or
// ADT_A12 there, which table 0354 folds into ADT_A01 and ADT_A09). An error
// says which message has no map ("no built-in map for ADT^A45 (structure
// ADT_A45)").
func Select(h hl7.Header) (string, error) {
	structure := strings.ToUpper(strings.TrimSpace(h.Structure))
	key := strings.ToUpper(h.Type + "^" + h.Event)
	if s, ok := eventStructure[key]; ok && (structure == "" || !hasMap(structure)) {
		structure = s
	}
	if structure == "" {
		return "", fmt.Errorf("no built-in map for %s: the message structure is not known (MSH-9.3 is empty)", key)
	}
	if events, ok := structureEvents[structure]; ok && !slices.Contains(events, strings.ToUpper(h.Event)) {
		return "", fmt.Errorf("no built-in map for %s (structure %s): its built-in map serves %s only", key, structure, strings.Join(events, ", "))
	}
	if !hasMap(structure) {
		return "", fmt.Errorf("no built-in map for %s (structure %s)", key, structure)
	}
	return strings.ToLower(structure), nil
}

func hasMap(structure string) bool {
	_, err := fs.Stat(FS, strings.ToLower(structure)+".yaml")
	return err == nil
}
