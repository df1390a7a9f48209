// Package vocab holds the vocabulary maps of the HL7 v2-to-FHIR IG (HL7 table
// code → FHIR code or Coding) as embedded data, and the lookup that transform
// rules call as table(name, value).
//
// The data is generated from the IG's vocabulary/*.csv and its Code System
// inventory by ./internal/gen (go generate; see generate.go), and decoded on
// first use. Nothing in it is written by hand.
//
//	m, _ := vocab.Lookup("AdministrativeSex")    // or "0001", "HL70001"
//	c, res := m.Translate("F")                    // {http://hl7.org/fhir/administrative-gender female Female}, Mapped
//	c, res = m.Translate("X")                     // {http://terminology.hl7.org/CodeSystem/v2-0001 X }, Unmapped
//
// Codes that a map does not translate are never dropped: Translate returns
// the code as sent, in the v2 table's own code system, and says so in its
// Result, so that the caller keeps the original coding (and, where FHIR
// binds the element to a required value set, reports it).
package vocab

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/plexus-hl7/plexus/transforms/vocab/internal/names"
)

// Coding is a code in a code system.
type Coding struct {
	System  string // URI; for a v2 table http://terminology.hl7.org/CodeSystem/v2-NNNN
	Code    string
	Display string
}

// IsZero reports whether c is the zero Coding (no code).
func (c Coding) IsZero() bool { return c == Coding{} }

// Condition is the condition under which a row applies, in the IG's three
// forms. A row without one always applies.
type Condition struct {
	ANTLR     string // "IF NOT MAPPED ERROR"; the IG's small condition language
	FHIRPath  string
	Narrative string // free text for a human ("local assessment")
}

// IsZero reports whether there is no condition.
func (c Condition) IsZero() bool { return c == Condition{} }

// Row is one row of a vocabulary map, as the IG wrote it (cells trimmed of
// surrounding white space). Either side may be empty: a row with a v2 code
// and no FHIR code says the IG has no FHIR equivalent for that code, and a
// row with only a FHIR side lists a target code that no v2 code maps to.
type Row struct {
	V2        Coding // Code, Display (the v2 Text), System (the table's URI; "" when Code is)
	FHIR      Coding // Code (the value itself for code and boolean targets), Display, System
	FHIRText  string // the unnamed column after the FHIR code: a second text, or the display when Display is empty
	Condition Condition
	Comment   string
}

// Target is the row's FHIR coding, with FHIRText as the display when the
// Display column is empty (PatientClass[EncounterClass] keeps its displays
// there). It is the zero Coding when the row has no FHIR code.
func (r *Row) Target() Coding {
	if r.FHIR.Code == "" {
		return Coding{}
	}
	c := r.FHIR
	if c.Display == "" {
		c.Display = r.FHIRText
	}
	return c
}

// Map is one vocabulary map of the IG. Maps are shared and read-only; their
// methods are safe for concurrent use. A map's rows are decoded the first
// time any of its methods is called.
type Map struct {
	Name          string // the IG's key, from the file name: "AdministrativeSex", "PatientClass[EncounterClass]"
	Table         string // the v2 table, four digits ("0001"), from the inventory; "" if unknown
	Status        string // the inventory status: "Ready for Ballot"; "" if the map is not in the inventory
	InventoryName string // the inventory's spelling when it differs from Name ("Yes/NoIndicator")
	Source        string // the IG's CSV file name

	system string // v2 table URI

	once  sync.Once
	enc   string   // the encoded rows
	nrows int      // how many
	strs  []string // the string table they refer to

	rows    []Row
	exact   map[string]int32 // v2 code → groups index
	fold    map[string]int32 // lower-cased v2 code → groups index; -1 when several codes fold together
	groups  []group          // the rows of each distinct v2 code: a run of order
	order   []*Row           // the rows with a v2 code, by code, each code's in file order
	targets []string
}

// ready decodes the map's rows and builds its indexes, once.
func (m *Map) ready() *Map {
	m.once.Do(func() {
		if err := m.decodeRows(); err != nil {
			panic("vocab: the embedded data is broken (regenerate it with go generate): " + m.Name + ": " + err.Error())
		}
	})
	return m
}

// Rows are the map's rows in file order, including rows without a v2 code
// and blank rows, so that there are as many as the CSV has data rows. Do not
// modify the slice.
func (m *Map) Rows() []Row { return m.ready().rows }

// System is the URI of the map's v2 table
// (http://terminology.hl7.org/CodeSystem/v2-0001), the system that Translate
// gives the codes it does not map; "" when the map has no table.
func (m *Map) System() string { return m.system }

// TargetSystems are the FHIR code systems of the map's target side, in the
// order they first appear ([http://hl7.org/fhir/administrative-gender] for
// AdministrativeSex; [v3-ActCode, v2-0004] URIs for
// PatientClass[EncounterClass]). Cells that are not URIs are left out. Do not
// modify the slice.
func (m *Map) TargetSystems() []string { return m.ready().targets }

type group struct{ off, n int32 }

func (m *Map) run(g int32) []*Row {
	x := m.groups[g]
	return m.order[x.off : x.off+x.n : x.off+x.n]
}

// Codes is how many distinct v2 codes the map has rows for.
func (m *Map) Codes() int { return len(m.ready().groups) }

// Result says how Translate treated a code.
type Result uint8

// The results of Translate.
const (
	// Empty: no code ("" after trimming, or the v2 null `""`). The coding
	// is the zero Coding.
	Empty Result = iota
	// Mapped: the map gives a FHIR code; the coding is that code.
	Mapped
	// NoTarget: the code is in the map, but the IG gives no FHIR code for
	// it (NameType "A", ResultStatus "Y"). The coding is the code as sent,
	// in the v2 table's system, with the v2 display.
	NoTarget
	// Unmapped: the code is not in the map. The coding is the code as sent,
	// in the v2 table's system (Map.System), without a display.
	Unmapped
)

func (r Result) String() string {
	switch r {
	case Empty:
		return "empty"
	case Mapped:
		return "mapped"
	case NoTarget:
		return "no target"
	case Unmapped:
		return "unmapped"
	}
	return fmt.Sprintf("Result(%d)", uint8(r))
}

// Translate maps a v2 code to FHIR. The rules:
//
//   - The code is trimmed of surrounding white space. "" and the v2 null
//     `""` give the zero Coding and Empty.
//   - Matching: exact first. v2 codes are case-sensitive in principle, but
//     senders often change case, so when there is no exact match a
//     case-insensitive match is used, provided it identifies one code of the
//     map (none of the IG's maps has two codes that differ only in case).
//   - A code may have several rows (SegmentActionCode U → PUT and PATCH).
//     The first row in file order that has a FHIR code is used, whatever its
//     Condition: conditions are not evaluated here. Find returns all rows.
//   - Mapped: the row's Target. Its System is "" when the IG gives none
//     (code-only targets such as PrincipalLanguageOfMessage).
//   - NoTarget and Unmapped: never dropped. The coding is the code as sent in
//     the v2 table's system (http://terminology.hl7.org/CodeSystem/v2-NNNN,
//     the IG's convention, also used in its own tables for v2 codes passed
//     through), so the caller can keep the original coding and flag it when
//     the FHIR element has a required binding.
//
// Translate does not allocate for ASCII codes of up to 64 bytes.
func (m *Map) Translate(code string) (Coding, Result) {
	code = strings.TrimSpace(code)
	if code == "" || code == `""` {
		return Coding{}, Empty
	}
	rows, _ := m.ready().find(code)
	if rows == nil {
		return Coding{System: m.system, Code: code}, Unmapped
	}
	for _, r := range rows {
		if r.FHIR.Code != "" {
			return r.Target(), Mapped
		}
	}
	sys := rows[0].V2.System
	if sys == "" {
		sys = m.system
	}
	return Coding{System: sys, Code: code, Display: rows[0].V2.Display}, NoTarget
}

// Find returns the rows for a v2 code (trimmed, matched as Translate does),
// in file order, and whether the match was exact; nil when the map has no row
// for it. Do not modify the slice.
func (m *Map) Find(code string) (rows []*Row, exact bool) {
	code = strings.TrimSpace(code)
	if code == "" {
		return nil, false
	}
	return m.ready().find(code)
}

func (m *Map) find(code string) ([]*Row, bool) {
	if g, ok := m.exact[code]; ok {
		return m.run(g), true
	}
	var (
		g  int32
		ok bool
	)
	var buf [64]byte
	if n, ascii := lowerASCII(&buf, code); ascii {
		g, ok = m.fold[string(buf[:n])]
	} else {
		g, ok = m.fold[foldKey(code)]
	}
	if !ok || g < 0 {
		return nil, false
	}
	return m.run(g), false
}

// foldKey is the key of a code for case-insensitive matching: the code in
// lower case (strings.ToLower, which is plain ASCII lowering for ASCII).
func foldKey(s string) string { return strings.ToLower(s) }

// lowerASCII writes s lower-cased into buf when s is ASCII and fits; it
// gives the same key as foldKey then.
func lowerASCII(buf *[64]byte, s string) (int, bool) {
	if len(s) > len(buf) {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			return 0, false
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return len(s), true
}

// Entry is one line of the IG's Code System inventory: every vocabulary map
// the IG plans, with or without a CSV.
type Entry struct {
	Name   string // as the inventory spells it: "Yes/NoIndicator"
	Table  string // four digits; "" when the inventory gives none
	Status string // "Ready for Ballot", "Under Construction"
	Map    string // the Name of the Map it describes; "" when the IG has no map for it yet
}

type store struct {
	maps      []*Map
	inventory []Entry
	byKey     map[string]*Map
	byTable   map[string][]*Map
}

var load = sync.OnceValue(func() *store {
	d, err := decode(vocabData)
	if err != nil {
		panic("vocab: the embedded data is broken (regenerate it with go generate): " + err.Error())
	}
	return d
})

// Maps returns every map, in the order of their file names.
func Maps() []*Map { return slices.Clone(load().maps) }

// Inventory returns the IG's Code System inventory, in its order. Entries
// whose Map is "" are planned maps that the IG does not have yet.
func Inventory() []Entry { return slices.Clone(load().inventory) }

// Lookup finds a map by name or by v2 table.
//
// Names match by the IG's cross-reference rule: case-insensitively, ignoring
// every character other than letters, digits, '[', ']' and '-' (so
// "Yes/NoIndicator" finds YesNoIndicator). The inventory's spelling of a name
// is accepted too ("InterpretationCode" for InterpretationCodes).
//
// A table is accepted as "0001", "1", "HL70001", "v2-0001" or the table's
// URI, when exactly one map translates that table; use Resolve to learn why
// a name is not found, and ByTable for all maps of a table.
func Lookup(name string) (*Map, bool) {
	d := load()
	if m, ok := d.byKey[names.Key(name)]; ok {
		return m, true
	}
	if t, ok := names.Table(name); ok && len(d.byTable[t]) == 1 {
		return d.byTable[t][0], true
	}
	return nil, false
}

// Resolve is Lookup with an error that says why a name is not found: a table
// with several maps (name one), a map that the inventory plans but the IG
// does not have yet, or close names. The rule compiler reports it at load.
func Resolve(name string) (*Map, error) {
	if m, ok := Lookup(name); ok {
		return m, nil
	}
	d := load()
	if t, ok := names.Table(name); ok {
		switch ms := d.byTable[t]; len(ms) {
		case 0:
			var planned []string
			for _, e := range d.inventory {
				if e.Table == t {
					planned = append(planned, fmt.Sprintf("%s (%s)", e.Name, e.Status))
				}
			}
			if len(planned) > 0 {
				return nil, fmt.Errorf("v2 table %s has no vocabulary map in the IG yet; the inventory plans %s", t, strings.Join(planned, ", "))
			}
			return nil, fmt.Errorf("v2 table %s has no vocabulary map in the IG", t)
		default:
			return nil, fmt.Errorf("v2 table %s has %d vocabulary maps, name one: %s", t, len(ms), mapNames(ms))
		}
	}
	k := names.Key(name)
	for _, e := range d.inventory {
		if names.Key(e.Name) == k {
			return nil, fmt.Errorf("vocabulary map %q is in the IG's inventory (%s) but has no map yet", e.Name, e.Status)
		}
	}
	var near []*Map
	base, _, _ := strings.Cut(k, "[")
	for _, m := range d.maps {
		mk := names.Key(m.Name)
		mb, _, _ := strings.Cut(mk, "[")
		if base != "" && (mb == base || strings.Contains(mk, k)) {
			near = append(near, m)
		}
	}
	if len(near) > 0 {
		return nil, fmt.Errorf("unknown vocabulary map %q; did you mean %s?", name, mapNames(near))
	}
	return nil, fmt.Errorf("unknown vocabulary map %q", name)
}

func mapNames(ms []*Map) string {
	s := make([]string, len(ms))
	for i, m := range ms {
		s[i] = m.Name
	}
	return strings.Join(s, ", ")
}

// ByTable returns the maps whose v2 table is table ("0004", "4", "HL70004",
// "v2-0004", or the table's URI), in name order: one map per FHIR target
// (PatientClass[EncounterClass] and PatientClass[EncounterStatus] for 0004).
func ByTable(table string) []*Map {
	t, ok := names.Table(table)
	if !ok {
		return nil
	}
	return slices.Clone(load().byTable[t])
}
