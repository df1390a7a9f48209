// Package vocabgen reads the vocabulary (code system) maps of the HL7 v2-to-FHIR
// IG and encodes them into the data file that the vocab package embeds. It is
// run by ../gen and by the vocab package's regeneration test.
package vocabgen

import (
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/plexus-hl7/plexus/transforms/vocab/internal/names"
)

// The fields of a row, in the order they are encoded.
const (
	V2Code = iota
	V2Display
	V2System // canonical URI, from "HL70001"
	CondANTLR
	CondFHIRPath
	CondNarrative
	FHIRCode
	FHIRText // the unnamed column after the FHIR Code
	FHIRDisplay
	FHIRSystem
	Comment
	NFields
)

// Row is one data row of a vocabulary CSV, cells trimmed.
type Row [NFields]string

// Map is one vocabulary CSV with what the inventory says about it.
type Map struct {
	Name          string // file key: "AdministrativeSex", "PatientClass[EncounterClass]"
	Table         string // "0001"; "" when neither the inventory nor the rows give one
	Status        string // inventory status ("Ready for Ballot"); "" when not in the inventory
	InventoryName string // the inventory's spelling of the name ("Yes/NoIndicator")
	Source        string // the CSV file name
	Layout        string // the column roles found, for the generator's report
	Rows          []Row
}

// Entry is one row of the Code System inventory.
type Entry struct {
	Name, Table, Status string
	Map                 string // the Map.Name it describes; "" when the IG has no CSV for it
}

// IG is what the generator reads.
type IG struct {
	Maps      []*Map // sorted by file name
	Inventory []Entry
	Commit    string // snapshot commit of the IG source, from its README; may be ""
}

// VocabDir and InventoryFile are where the maps are, relative to the IG folder.
const (
	VocabDir      = "vocabulary"
	InventoryFile = "v2-to-FHIR Map Inventory - Code System.csv"
)

// FileRE matches a vocabulary CSV file name; group 1 is the map key.
var FileRE = regexp.MustCompile(`^HL7 Concept Map_ (.+) - [^ ]+\.csv$`)

// Read reads the inventory and every vocabulary CSV under dir.
func Read(dir string) (*IG, error) {
	ig := &IG{}
	inv, err := readInventory(filepath.Join(dir, InventoryFile))
	if err != nil {
		return nil, err
	}
	ig.Inventory = inv
	if b, err := os.ReadFile(filepath.Join(dir, "README.md")); err == nil {
		if m := regexp.MustCompile("snapshot commit \\| `([0-9a-f]{40})`").FindSubmatch(b); m != nil {
			ig.Commit = string(m[1])
		}
	}

	ents, err := os.ReadDir(filepath.Join(dir, VocabDir))
	if err != nil {
		return nil, err
	}
	keys := map[string]string{}
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".csv") {
			continue
		}
		fm := FileRE.FindStringSubmatch(e.Name())
		if fm == nil {
			return nil, fmt.Errorf("%s: not a vocabulary map file name (HL7 Concept Map_ <Name> - <tab>.csv)", e.Name())
		}
		m, err := readMap(filepath.Join(dir, VocabDir, e.Name()))
		if err != nil {
			return nil, err
		}
		m.Name, m.Source = fm[1], e.Name()
		k := names.Key(m.Name)
		if other, dup := keys[k]; dup {
			return nil, fmt.Errorf("%s and %s have the same key %q", other, m.Source, k)
		}
		keys[k] = m.Source
		ig.Maps = append(ig.Maps, m)
	}
	if len(ig.Maps) == 0 {
		return nil, fmt.Errorf("%s: no vocabulary maps", filepath.Join(dir, VocabDir))
	}
	slices.SortFunc(ig.Maps, func(a, b *Map) int { return strings.Compare(a.Source, b.Source) })
	if err := ig.matchInventory(); err != nil {
		return nil, err
	}
	return ig, nil
}

func readCSV(path string) ([][]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return recs, nil
}

func readInventory(path string) ([]Entry, error) {
	recs, err := readCSV(path)
	if err != nil {
		return nil, err
	}
	if len(recs) < 1 {
		return nil, fmt.Errorf("%s: empty", filepath.Base(path))
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	cn, ok1 := col["code system"]
	ct, ok2 := col["v2 table"]
	cs, ok3 := col["status"]
	if !ok1 || !ok2 || !ok3 {
		return nil, fmt.Errorf("%s: header %q lacks Code System, v2 Table or Status", filepath.Base(path), recs[0])
	}
	var inv []Entry
	for i, r := range recs[1:] {
		e := Entry{Name: strings.TrimSpace(r[cn]), Status: strings.TrimSpace(r[cs])}
		if e.Name == "" {
			continue
		}
		if t := strings.TrimSpace(r[ct]); t != "" {
			if e.Table, ok1 = names.Table(t); !ok1 {
				return nil, fmt.Errorf("%s row %d: v2 Table %q is not a table number", filepath.Base(path), i+2, t)
			}
		}
		inv = append(inv, e)
	}
	return inv, nil
}

// matchInventory gives each map the table and status of its inventory entry:
// the first entry whose key matches (PublicityCode is listed twice, and both
// entries are marked as describing the map); failing
// that, the one entry not claimed by another map whose table is the table of
// the map's rows (the inventory says InterpretationCode for the file
// InterpretationCodes). The map's rows must agree with the table.
func (ig *IG) matchInventory() error {
	byKey := map[string][]int{}
	for i, e := range ig.Inventory {
		k := names.Key(e.Name)
		byKey[k] = append(byKey[k], i)
	}
	var unmatched []*Map
	for _, m := range ig.Maps {
		is := byKey[names.Key(m.Name)]
		if len(is) == 0 {
			unmatched = append(unmatched, m)
		}
		for _, i := range is {
			ig.Inventory[i].Map = m.Name
		}
	}
	for _, m := range unmatched {
		t := rowTable(m)
		found := -1
		for i, e := range ig.Inventory {
			if e.Map == "" && t != "" && e.Table == t {
				if found >= 0 {
					found = -2
					break
				}
				found = i
			}
		}
		if found >= 0 {
			ig.Inventory[found].Map = m.Name
		}
	}
	for _, m := range ig.Maps {
		for _, e := range ig.Inventory {
			if e.Map == m.Name {
				m.Table, m.Status = e.Table, e.Status
				if e.Name != m.Name {
					m.InventoryName = e.Name
				}
				break
			}
		}
		if m.Table == "" {
			m.Table = rowTable(m)
		}
		if m.Table != "" {
			want := names.V2SystemPrefix + m.Table
			for i, r := range m.Rows {
				if r[V2System] != "" && r[V2System] != want {
					return fmt.Errorf("%s row %d: v2 code system %s, but the map's table is %s", m.Source, i+3, r[V2System], m.Table)
				}
			}
		}
	}
	return nil
}

// rowTable is the table that the map's rows name, if they name exactly one.
func rowTable(m *Map) string {
	t := ""
	for _, r := range m.Rows {
		if s := r[V2System]; s != "" {
			if t != "" && s != t {
				return ""
			}
			t = s
		}
	}
	return strings.TrimPrefix(t, names.V2SystemPrefix)
}

// Column roles that are not fields.
const (
	unused  = -1 // a column without a name in the FHIR group: its cells must be empty
	unknown = -2
)

// layout finds the role of each column from the two header rows: row 1
// names the groups (HL7 v2, Condition, HL7 FHIR, Comments), row 2 the
// columns within each group. Any header it does not know is an error, so
// that a new variation of the sheets is looked at rather than dropped.
func layout(h1, h2 []string) ([]int, string, error) {
	roles := make([]int, len(h1))
	seen := [NFields]bool{}
	group := ""
	var desc []string
	for i := range h1 {
		g := strings.ToLower(strings.TrimSpace(h1[i]))
		if g != "" {
			switch {
			case g == "hl7 v2":
				group = "v2"
			case strings.HasPrefix(g, "condition"):
				group = "cond"
			case g == "hl7 fhir":
				group = "fhir"
			case g == "comments" || g == "comment":
				group = "comments"
			default:
				return nil, "", fmt.Errorf("column %d: unknown group %q in row 1", i+1, h1[i])
			}
		}
		name := strings.ToLower(strings.TrimSpace(h2[i]))
		role := unknown
		switch group {
		case "v2":
			switch name {
			case "code":
				role = V2Code
			case "text":
				role = V2Display
			case "code system":
				role = V2System
			}
		case "cond":
			switch name {
			case "computable antlr", "computable":
				role = CondANTLR
			case "computable fhirpath":
				role = CondFHIRPath
			case "narrative":
				role = CondNarrative
			}
		case "fhir":
			switch name {
			case "code":
				role = FHIRCode
			case "display":
				role = FHIRDisplay
			case "code system":
				role = FHIRSystem
			case "":
				role = unused
				if i > 0 && roles[i-1] == FHIRCode {
					role = FHIRText
				}
			}
		case "comments":
			if name == "" && !seen[Comment] {
				role = Comment
			}
		}
		if role == unknown {
			return nil, "", fmt.Errorf("column %d: unknown column %q (group %q)", i+1, h2[i], group)
		}
		if role >= 0 {
			if seen[role] {
				return nil, "", fmt.Errorf("column %d: second %q column in group %q", i+1, h2[i], group)
			}
			seen[role] = true
			desc = append(desc, fieldNames[role])
		} else {
			desc = append(desc, "-")
		}
		roles[i] = role
	}
	if !seen[V2Code] || !seen[FHIRCode] {
		return nil, "", errors.New("no v2 Code or no FHIR Code column")
	}
	return roles, strings.Join(desc, ","), nil
}

var fieldNames = [NFields]string{"v2code", "v2text", "v2system", "antlr", "fhirpath", "narrative",
	"code", "text", "display", "system", "comment"}

func readMap(path string) (*Map, error) {
	base := filepath.Base(path)
	recs, err := readCSV(path)
	if err != nil {
		return nil, err
	}
	if len(recs) < 2 {
		return nil, fmt.Errorf("%s: fewer than two header rows", base)
	}
	roles, desc, err := layout(recs[0], recs[1])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", base, err)
	}
	m := &Map{Layout: fmt.Sprintf("%d: %s", len(roles), desc), Rows: make([]Row, 0, len(recs)-2)}
	for n, rec := range recs[2:] {
		var r Row
		for i, cell := range rec {
			cell = strings.TrimSpace(cell)
			switch role := roles[i]; {
			case role >= 0:
				r[role] = cell
			case cell != "":
				return nil, fmt.Errorf("%s row %d column %d: %q in a column without a name", base, n+3, i+1, cell)
			}
		}
		if s := r[V2System]; s != "" {
			t, ok := names.Table(s)
			if !ok {
				return nil, fmt.Errorf("%s row %d: v2 code system %q is not a table number", base, n+3, s)
			}
			r[V2System] = names.V2SystemPrefix + t
		}
		if r[V2Code] != "" && r[V2System] == "" {
			return nil, fmt.Errorf("%s row %d: v2 code %q without a code system", base, n+3, r[V2Code])
		}
		m.Rows = append(m.Rows, r)
	}
	return m, nil
}
