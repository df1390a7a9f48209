package maps

// Coverage: which rows of the IG's segment and data type maps the built-in
// maps implement, and why the others are not. The facts come from the
// maps themselves, read as the package documentation says (resource
// titles, the fields set entries read, "Not implemented" blocks), from the
// IG's CSV tables, and from the doc comments of the data type converters.

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	goast "go/ast"
	goparser "go/parser"
	gotoken "go/token"
	"io/fs"
	"path"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"

	"github.com/plexus-hl7/plexus/internal/yamlnode"
	"github.com/plexus-hl7/plexus/transforms/datatype"
)

// Status is what the built-in maps do with one IG row.
type Status int

const (
	// Neither: no rule reads the row's field and no comment explains it.
	Neither Status = iota
	// Explained: a "Not implemented" entry gives the reason.
	Explained
	// Implemented: a rule of a resource that follows the map reads the
	// row's field (or, for a row without a field, sets its element).
	Implemented
)

func (s Status) String() string {
	switch s {
	case Implemented:
		return "implemented"
	case Explained:
		return "explained"
	}
	return "neither"
}

// Row is one IG row with a FHIR target.
type Row struct {
	Line      int    // record number in the CSV, from 1 (the first data row is 3)
	Field     string // "PID-5", "XPN.1"; for a row without a v2 field, the segment ("MSH") or ""
	Target    string // the FHIR attribute, else the proposed extension
	Condition string // computable, else narrative
	DataType  string // data type map key, if any
	Vocab     string // vocabulary map key, if any
	Assign    string // assignment, if any
}

// RowStatus is a row's status in one message map (segment maps) or for
// one converter (data type maps).
type RowStatus struct {
	Status Status
	// Kind is the reason's kind for Explained (language, converter, vocab,
	// IG; "note" for a converter's "Not mapped"), and "vocab" for an
	// Implemented row whose vocabulary map is not applied.
	Kind  string
	Text  string // the reason, or the vocabulary note
	Where string // file:line of the comment, or of the rule for Implemented
}

// MapCoverage is one IG segment or data type map and its rows.
type MapCoverage struct {
	Key    string // as the IG file names it: "PID[Patient]"
	Status string // from the IG inventory
	// By lists who uses the map: message maps (adt_a01) for segment maps,
	// converters (cx) for data type maps; Rows[i].By[j] is the status of
	// row i for By[j].
	By   []string
	Rows []*CoveredRow
}

// CoveredRow is a row and its status for each user of its map.
type CoveredRow struct {
	Row
	By []RowStatus
}

// MessageCoverage sums up one built-in message map.
type MessageCoverage struct {
	Map         string   // adt_a01
	Message     string   // the IG message map: ADT_A01
	Status      string   // from the IG inventory
	SegmentMaps []string // in the message map's order
	Rows        int      // rows with a FHIR target in those segment maps
	Implemented int
	Explained   int
	Neither     int
}

// Coverage is the whole report.
type Coverage struct {
	Messages  []*MessageCoverage
	Segments  []*MapCoverage // sorted by key
	Datatypes []*MapCoverage // sorted by key; nil without the converters' source
	// Skipped lists built-in maps that are no IG message map, with why.
	Skipped []string
	// Notes are comments that follow the convention only in part (an entry
	// without a reason kind, a target that matches no row): file:line:
	// what. They explain nothing.
	Notes []string
}

// CoverageOptions says where the inputs are.
type CoverageOptions struct {
	// Maps holds NAME.yaml (message maps) and parts/NAME.yaml; nil means FS.
	Maps fs.FS
	// IG is the v2-to-fhir folder (segments/, datatypes/, messages/ and the
	// inventory CSVs).
	IG fs.FS
	// Converters lists the data type converters (name → implementation);
	// nil leaves data type maps out.
	Converters []Converter
}

// Converter is what coverage needs of a data type converter: which IG map
// it follows and the documentation of its implementation (the doc comment
// of its function and the comments of its source file that name the map).
type Converter struct {
	Name string   // cx
	Map  string   // CX[Identifier]
	V2   []string // the v2 types it reads
	Doc  string
	// Shared names the converters with the same implementation: their v2
	// types' components count for this one's (CE.1 reads as CWE.1).
	Shared []string
}

// ComputeCoverage reads the maps and the IG and decides every row's status.
// An error means the maps break the comment convention (file:line) or the
// IG tables cannot be read.
func ComputeCoverage(opt CoverageOptions) (*Coverage, error) {
	mapsFS := opt.Maps
	if mapsFS == nil {
		mapsFS = FS
	}
	ig, err := loadIG(opt.IG)
	if err != nil {
		return nil, err
	}
	files, err := readMapFiles(mapsFS, ig)
	if err != nil {
		return nil, err
	}
	c := &coverageRun{ig: ig, files: files, cov: &Coverage{}, segments: map[string]*MapCoverage{}}
	for _, f := range files {
		c.cov.Notes = append(c.cov.Notes, f.notes...)
	}
	names := make([]string, 0, len(files))
	for n, f := range files {
		if !f.part {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var errs []error
	for _, n := range names {
		if err := c.message(files[n]); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for _, m := range c.segments {
		c.cov.Segments = append(c.cov.Segments, m)
	}
	sortMaps(c.cov.Segments)
	if opt.Converters != nil {
		c.datatypes(opt.Converters)
	}
	sort.Strings(c.cov.Notes)
	c.cov.Notes = slices.Compact(c.cov.Notes)
	return c.cov, nil
}

func sortMaps(ms []*MapCoverage) {
	sort.Slice(ms, func(i, j int) bool { return ms[i].Key < ms[j].Key })
}

// ---------------------------------------------------------------------------
// The IG tables

type igMap struct {
	key    string // as in the file name
	status string
	rows   []Row // with a FHIR target
}

type igMessage struct {
	key      string
	status   string
	segments []string // normalized keys, in order, without repeats
}

type igTables struct {
	segments  map[string]*igMap // by normKey
	datatypes map[string]*igMap
	messages  map[string]*igMessage
	segNames  map[string]bool // segment IDs that have a map: "PID"
}

// normKey is the README's rule for cross-references: case-insensitive,
// only letters, digits, brackets and hyphens count.
func normKey(k string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(k) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '[' || r == ']' || r == '-' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func loadIG(fsys fs.FS) (*igTables, error) {
	if fsys == nil {
		return nil, errors.New("coverage: no IG tables given")
	}
	ig := &igTables{segments: map[string]*igMap{}, datatypes: map[string]*igMap{}, messages: map[string]*igMessage{}, segNames: map[string]bool{}}
	for _, d := range []struct {
		dir, prefix string
		into        map[string]*igMap
	}{
		{"segments", "HL7 Segment - FHIR R4_ ", ig.segments},
		{"datatypes", "HL7 Data Type - FHIR R4_ ", ig.datatypes},
	} {
		err := eachCSV(fsys, d.dir, d.prefix, func(key string, recs [][]string) {
			m := &igMap{key: key}
			for i, r := range recs {
				if i < 2 {
					continue
				}
				row := Row{
					Line:      i + 1,
					Field:     strings.TrimSpace(cell(r, 1)),
					Target:    strings.TrimSpace(cell(r, 9)),
					Condition: strings.TrimSpace(cell(r, 6)),
					DataType:  strings.TrimSpace(cell(r, 14)),
					Vocab:     strings.TrimSpace(cell(r, 15)),
					Assign:    strings.TrimSpace(cell(r, 16)),
				}
				if row.Target == "" {
					row.Target = strings.TrimSpace(cell(r, 10))
				}
				if row.Condition == "" {
					row.Condition = strings.TrimSpace(cell(r, 8))
				}
				if row.Target != "" {
					m.rows = append(m.rows, row)
				}
			}
			d.into[normKey(key)] = m
			if d.dir == "segments" {
				if seg, _, ok := strings.Cut(key, "["); ok {
					ig.segNames[seg] = true
				}
			}
		})
		if err != nil {
			return nil, err
		}
	}
	err := eachCSV(fsys, "messages", "HL7 Message - FHIR R4_ ", func(key string, recs [][]string) {
		m := &igMessage{key: key}
		for i, r := range recs {
			if k := normKey(cell(r, 10)); i >= 2 && k != "" && !slices.Contains(m.segments, k) {
				m.segments = append(m.segments, k)
			}
		}
		ig.messages[normKey(key)] = m
	})
	if err != nil {
		return nil, err
	}
	for _, inv := range []struct {
		file string
		set  func(key, status string)
	}{
		{"v2-to-FHIR Map Inventory - Segment.csv", func(k, s string) {
			if m := ig.segments[normKey(k)]; m != nil {
				m.status = s
			}
		}},
		{"v2-to-FHIR Map Inventory - Data Type.csv", func(k, s string) {
			if m := ig.datatypes[normKey(k)]; m != nil {
				m.status = s
			}
		}},
		{"v2-to-FHIR Map Inventory - Message.csv", func(k, s string) {
			if m := ig.messages[normKey(k)]; m != nil {
				m.status = s
			}
		}},
	} {
		recs, err := readCSV(fsys, inv.file)
		if err != nil {
			return nil, err
		}
		for _, r := range recs[min(1, len(recs)):] {
			if _, k, ok := strings.Cut(cell(r, 0), ": "); ok {
				inv.set(k, strings.TrimSpace(cell(r, 1)))
			}
		}
	}
	if len(ig.segments) == 0 || len(ig.messages) == 0 {
		return nil, errors.New("coverage: the IG folder has no segment or message maps (is it the v2-to-fhir folder?)")
	}
	return ig, nil
}

func cell(r []string, i int) string {
	if i < len(r) {
		return r[i]
	}
	return ""
}

// eachCSV calls fn with the map key of each CSV in dir ("PID[Patient]"
// from "HL7 Segment - FHIR R4_ PID[Patient] - PID.csv") and its records.
func eachCSV(fsys fs.FS, dir, prefix string, fn func(key string, recs [][]string)) error {
	ents, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return fmt.Errorf("coverage: IG tables: %w", err)
	}
	for _, e := range ents {
		name, ok := strings.CutPrefix(e.Name(), prefix)
		i := strings.LastIndex(name, " - ")
		if !ok || i < 0 || !strings.HasSuffix(name, ".csv") {
			continue
		}
		recs, err := readCSV(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return err
		}
		fn(name[:i], recs)
	}
	return nil
}

func readCSV(fsys fs.FS, name string) ([][]string, error) {
	src, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("coverage: IG tables: %w", err)
	}
	r := csv.NewReader(bytes.NewReader(src))
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	recs, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("coverage: IG tables: %s: %w", name, err)
	}
	return recs, nil
}

// ---------------------------------------------------------------------------
// The map files and their comments

// mapFile is one rule file as coverage reads it.
type mapFile struct {
	name  string // adt_a01, pid
	path  string // adt_a01.yaml, parts/pid.yaml
	part  bool
	items []*mapItem
	// atAll holds the entries of the file's "Segment maps ... not
	// implement at all" block.
	atAll []*niEntry
	notes []string
}

// mapItem is one item of resources: an include or a resource (or a
// refinement of an included one).
type mapItem struct {
	line    int
	include string
	id      string
	remove  bool
	follows []string // normalized segment map keys from the title and element block comments
	reads   []fieldRead
	sets    []setTarget
	calls   []string // function names called in expressions
	blocks  []*niBlock
}

type fieldRead struct {
	field string // PID-5
	where string // file:line
}

type setTarget struct {
	path  string // normalized element path
	where string
}

// niBlock is one "Not implemented" block.
type niBlock struct {
	where   string
	mapKey  string // normalized
	none    bool   // "Not implemented: none ..."
	whole   *niEntry
	entries []*niEntry
}

// niEntry is one entry of a block (or of the at-all block): which fields
// and targets it names, and the reason.
type niEntry struct {
	where   string
	file    *mapFile
	kind    string // language, converter, vocab, IG; "" when none was found
	reason  string // the text after the kind
	ref     string // "as for MAP" (normalized key) or "as in FILE" (a map name)
	clauses []clause
	maps    []string // at-all entries: the segment maps they explain, normalized
	text    string
}

// clause is "FIELD [IF ...] → TARGET", or a TARGET continuing the
// previous clause's field.
type clause struct {
	field  string // PID-13, or the bare segment (MSH)
	target string // normalized leading path of the target; "" for the whole field
	assign string // `= "SB"` after the target, unquoted
	vocab  string // vocab entries: the item's text
	// vocabMap is the vocabulary map a vocab entry names, if any.
	vocabMap string
	// explicit is set for the target right after "FIELD →", which must
	// match a row; the targets of continuations may be loose words.
	explicit bool
}

var (
	reSegMapKey = regexp.MustCompile(`\b([A-Z][A-Z0-9]{2})\[([A-Za-z0-9.\-]+)\]`)
	reFieldRead = regexp.MustCompile(`\b([A-Z][A-Z0-9]{2})\[(\d+)\]`)
	reVRead     = regexp.MustCompile(`\bv\("([A-Z][A-Z0-9]{2})-(\d+)`)
	reCall      = regexp.MustCompile(`\b([a-z][a-z0-9_]*)\(`)
	reFieldHead = regexp.MustCompile(`^([A-Z][A-Z0-9]{2})(?:-(\d+(?:/\d+)*))?(?:\s|$)`)
	reKind      = regexp.MustCompile(`(?:^|:\s+)(language|converter|vocab|IG):\s`)
	reAsFor     = regexp.MustCompile(`(?:^|:\s+)as (?:for|in) ([A-Za-z0-9_.\[\]\-]+)`)
	reIndex     = regexp.MustCompile(`\[[^\]]*\]`)
)

func readMapFiles(fsys fs.FS, ig *igTables) (map[string]*mapFile, error) {
	files := map[string]*mapFile{}
	var errs []error
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != "." && p != "parts" {
				return fs.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".yaml") {
			return nil
		}
		src, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		f, err := parseMapFile(p, src, ig)
		if err != nil {
			errs = append(errs, err)
			return nil
		}
		key := f.name
		if f.part {
			key = "parts/" + f.name
		}
		files[key] = f
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("coverage: reading the maps: %w", err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return files, nil
}

// fileReader holds one file's lines while its comments are read.
type fileReader struct {
	f     *mapFile
	lines []string
	ig    *igTables
	errs  []error
	notes []string
}

func (r *fileReader) where(line int) string { return fmt.Sprintf("%s:%d", r.f.path, line) }

func (r *fileReader) errorf(line int, format string, args ...any) {
	r.errs = append(r.errs, fmt.Errorf("%s: %s", r.where(line), fmt.Sprintf(format, args...)))
}

// comment splits line i (from 1) into the column of its '#' and the text
// after it; ok is false for a line that is not only a comment.
func (r *fileReader) comment(i int) (col int, text string, ok bool) {
	if i < 1 || i > len(r.lines) {
		return 0, "", false
	}
	l := r.lines[i-1]
	t := strings.TrimLeft(l, " ")
	if !strings.HasPrefix(t, "#") {
		return 0, "", false
	}
	return len(l) - len(t), strings.TrimRight(t[1:], " \r"), true
}

func (r *fileReader) blank(i int) bool {
	return i >= 1 && i <= len(r.lines) && strings.TrimSpace(r.lines[i-1]) == ""
}

func parseMapFile(p string, src []byte, ig *igTables) (*mapFile, error) {
	f := &mapFile{path: p, part: strings.HasPrefix(p, "parts/")}
	f.name = strings.TrimSuffix(path.Base(p), ".yaml")
	r := &fileReader{f: f, lines: strings.Split(string(src), "\n"), ig: ig}
	doc, err := parser.ParseBytes(src, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	if len(doc.Docs) == 0 {
		return nil, fmt.Errorf("%s: empty file", p)
	}
	top, ok := yamlnode.Unwrap(doc.Docs[0].Body).(*ast.MappingNode)
	if !ok {
		return nil, fmt.Errorf("%s: not a mapping", p)
	}
	var seq *ast.SequenceNode
	for _, kv := range top.Values {
		if kv.Key.String() == "resources" {
			seq, _ = yamlnode.Unwrap(kv.Value).(*ast.SequenceNode)
		}
	}
	if seq == nil {
		return nil, fmt.Errorf("%s: no resources", p)
	}
	// An item's comments run to the line before the next item; the last
	// one's to the at-all block or the end of the file.
	starts := make([]int, 0, len(seq.Values)+1)
	for _, v := range seq.Values {
		starts = append(starts, firstKeyPos(v).Line)
	}
	end := len(r.lines)
	atAll := r.findAtAll()
	if atAll > 0 {
		end = atAll - 1
	}
	for i, v := range seq.Values {
		stop := end
		if i+1 < len(starts) {
			stop = starts[i+1] - 1
		}
		it := r.item(v, starts[i], stop)
		if it != nil {
			f.items = append(f.items, it)
		}
	}
	if atAll > 0 {
		f.atAll = r.atAllEntries(atAll)
	}
	if len(r.errs) > 0 {
		return nil, errors.Join(r.errs...)
	}
	f.notes = r.notes
	return f, nil
}

// item reads one resources item whose comments end at line stop.
func (r *fileReader) item(n ast.Node, line, stop int) *mapItem {
	m, ok := yamlnode.Unwrap(n).(*ast.MappingNode)
	if !ok {
		r.errorf(line, "a resources item is not a mapping")
		return nil
	}
	it := &mapItem{line: line}
	for _, kv := range m.Values {
		k := kv.Key.String()
		switch k {
		case "include":
			it.include = strings.TrimSpace(kv.Value.String())
		case "id":
			it.id = strings.TrimSpace(kv.Value.String())
		case "remove":
			it.remove = strings.TrimSpace(kv.Value.String()) == "true"
		case "resource", "name":
		case "set":
			if sm, ok := yamlnode.Unwrap(kv.Value).(*ast.MappingNode); ok {
				r.setEntries(it, sm, "")
			}
		default:
			r.expr(it, kv.Value)
		}
	}
	if it.include != "" {
		return it
	}
	col := firstKeyPos(m).Column - 1 // the item's keys; its "- " is two to the left
	it.follows = append(it.follows, r.titleKeys(line, col-2)...)
	it.blocks = r.niBlocks(line, stop)
	return it
}

func (r *fileReader) setEntries(it *mapItem, m *ast.MappingNode, prefix string) {
	for _, kv := range m.Values {
		k := kv.Key.String()
		line := kv.Key.GetToken().Position.Line
		if sub, ok := yamlnode.Unwrap(kv.Value).(*ast.MappingNode); ok {
			// An element block: its comment may name the segment map it
			// follows (NK1 → contact (NK1[Patient])).
			it.follows = append(it.follows, r.titleKeys(line, kv.Key.GetToken().Position.Column-1)...)
			r.setEntries(it, sub, prefix+k+".")
			continue
		}
		if prefix != "" && (k == "when" || k == "foreach") {
			r.expr(it, kv.Value)
			continue
		}
		it.sets = append(it.sets, setTarget{path: normPath(prefix + k), where: r.where(line)})
		r.expr(it, kv.Value)
	}
}

// expr records the fields an expression reads and the functions it calls.
func (r *fileReader) expr(it *mapItem, n ast.Node) {
	src := n.String()
	line := r.where(n.GetToken().Position.Line)
	for _, m := range reFieldRead.FindAllStringSubmatch(src, -1) {
		it.reads = append(it.reads, fieldRead{field: m[1] + "-" + m[2], where: line})
	}
	for _, m := range reVRead.FindAllStringSubmatch(src, -1) {
		it.reads = append(it.reads, fieldRead{field: m[1] + "-" + m[2], where: line})
	}
	for _, m := range reCall.FindAllStringSubmatch(src, -1) {
		it.calls = append(it.calls, m[1])
	}
}

// firstKeyPos is where an item's first key is: the item's own token is
// not (goccy gives the mapping the position of its last value).
func firstKeyPos(n ast.Node) *token.Position {
	if m, ok := yamlnode.Unwrap(n).(*ast.MappingNode); ok && len(m.Values) > 0 {
		return m.Values[0].Key.GetToken().Position
	}
	return n.GetToken().Position
}

// titleKeys reads the comment block directly above line (blank lines
// between allowed) whose '#' is in column col, and returns the segment map
// keys of its first parenthesized group that holds one.
func (r *fileReader) titleKeys(line, col int) []string {
	var text []string
	first := line
	for i := line - 1; i >= 1; i-- {
		if r.blank(i) && len(text) == 0 {
			continue
		}
		c, t, ok := r.comment(i)
		if !ok || c != col {
			break
		}
		text = append([]string{t}, text...)
		first = i
	}
	s := strings.Join(text, " ")
	for _, g := range parenGroups(s) {
		var keys []string
		for _, m := range reSegMapKey.FindAllStringSubmatch(g, -1) {
			if k, ok := r.segMapKey(first, m[0], m[1]); ok {
				keys = append(keys, k)
			}
		}
		if len(keys) > 0 {
			return keys
		}
	}
	return nil
}

// segMapKey resolves a key seen in a comment: ok is false for a key that
// is no segment map (a data type map such as XCN[Practitioner]); a key of
// a known segment that names no IG map gets a note.
func (r *fileReader) segMapKey(line int, key, seg string) (string, bool) {
	if !r.ig.segNames[seg] {
		return "", false
	}
	k := normKey(key)
	if r.ig.segments[k] == nil {
		// A typo, or a map of Plexus's own (MRG[Patient]): its rows are
		// none of the IG's, and a typo shows as rows left "neither".
		r.notes = append(r.notes, fmt.Sprintf("%s: %s names no segment map of the IG", r.where(line), key))
		return "", false
	}
	return k, true
}

// parenGroups lists the top-level parenthesized groups of s, without
// their parentheses.
func parenGroups(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, c := range s {
		switch c {
		case '(':
			if depth == 0 {
				start = i + 1
			}
			depth++
		case ')':
			if depth > 0 {
				depth--
				if depth == 0 {
					out = append(out, s[start:i])
				}
			}
		}
	}
	return out
}

// niBlocks reads the "Not implemented" blocks between line and stop.
func (r *fileReader) niBlocks(line, stop int) []*niBlock {
	var out []*niBlock
	for i := line + 1; i <= stop; i++ {
		col, t, ok := r.comment(i)
		if !ok || !strings.HasPrefix(strings.TrimSpace(t), "Not implemented") {
			continue
		}
		b, next := r.niBlock(i, col, stop)
		if b != nil {
			out = append(out, b)
		}
		i = next - 1
	}
	return out
}

// niBlock reads the block whose head is on line at and returns the line
// after it.
func (r *fileReader) niBlock(at, col, stop int) (*niBlock, int) {
	b := &niBlock{where: r.where(at)}
	var head []string
	i := at
	var entryText []string
	var entryLine int
	var curHasKind bool
	flush := func() {
		if len(entryText) > 0 {
			if e := r.entry(entryLine, strings.Join(entryText, " ")); e != nil {
				b.entries = append(b.entries, e)
			}
		}
		entryText = nil
	}
	for ; i <= stop; i++ {
		c, t, ok := r.comment(i)
		if !ok || c != col {
			break
		}
		if i > at && strings.HasPrefix(strings.TrimSpace(t), "Not implemented") {
			break
		}
		ind := len(t) - len(strings.TrimLeft(t, " "))
		body := strings.TrimSpace(t)
		switch {
		case entryLine == 0 && ind <= 1:
			head = append(head, body)
		case ind <= 1:
			// Prose after the entries ends the block.
			flush()
			return r.finishBlock(b, at, head), i
		case ind <= 3 && (curHasKind || len(entryText) == 0 || startsEntry(body)):
			flush()
			entryLine, entryText = i, []string{body}
			curHasKind = hasKind(body)
		default:
			if entryLine == 0 {
				head = append(head, body)
				continue
			}
			entryText = append(entryText, body)
			curHasKind = curHasKind || hasKind(strings.Join(entryText, " "))
		}
	}
	flush()
	return r.finishBlock(b, at, head), i
}

// startsEntry tells a line that begins a new entry from one that goes on
// with the previous entry when that one has no reason kind yet.
func startsEntry(s string) bool {
	return strings.HasPrefix(s, "(") || strings.HasPrefix(s, "vocab:") || reFieldHead.MatchString(s) && strings.Contains(s, "→")
}

func hasKind(s string) bool { return reKind.MatchString(s) || reAsFor.MatchString(s) }

func (r *fileReader) finishBlock(b *niBlock, at int, head []string) *niBlock {
	h := strings.TrimSpace(strings.TrimPrefix(strings.Join(head, " "), "Not implemented"))
	if strings.HasPrefix(h, ":") {
		// "Not implemented: none (KEY, n rows)." or "none of KEY ...":
		// nothing to explain; the keys are checked all the same.
		b.none = true
		for _, m := range reSegMapKey.FindAllStringSubmatch(h, -1) {
			r.segMapKey(at, m[0], m[1])
		}
		if !strings.HasPrefix(strings.TrimSpace(h[1:]), "none") {
			r.errorf(at, `a "Not implemented:" head says "none"; one with entries names its map: "Not implemented (KEY, n of m rows):"`)
		}
		return b
	}
	groups := parenGroups(h)
	if len(groups) == 0 {
		r.errorf(at, `a "Not implemented" head names its segment map in parentheses: "Not implemented (KEY, n of m rows):"`)
		return nil
	}
	m := reSegMapKey.FindStringSubmatch(groups[0])
	if m == nil || !r.ig.segNames[m[1]] || !strings.HasPrefix(strings.TrimSpace(groups[0]), m[0]) {
		r.errorf(at, `a "Not implemented" head begins with its segment map's key in parentheses, found %q`, groups[0])
		return nil
	}
	k, ok := r.segMapKey(at, m[0], m[1])
	if !ok {
		return nil
	}
	b.mapKey = k
	// What follows the group: ":" alone (entries follow), or ": KIND: why"
	// for the whole map.
	closing := strings.Index(h, groups[0]) + len(groups[0]) + 1
	rest := strings.TrimSpace(h[min(closing, len(h)):])
	rest = strings.TrimSpace(strings.TrimPrefix(rest, ":"))
	if rest != "" {
		e := r.entry(at, rest)
		if e == nil || e.kind == "" && e.ref == "" {
			r.errorf(at, `after "Not implemented (%s ...):" comes the reason for the whole map ("language: ...") or nothing (entries follow)`, m[0])
			return nil
		}
		e.maps = []string{k}
		e.clauses = nil
		b.whole = e
	}
	return b
}

// entry reads one entry of a block: "FIELD → TARGET, ...: KIND: why",
// "vocab: FIELD Map, ...", "(a note)"; nil for a note.
func (r *fileReader) entry(line int, s string) *niEntry {
	e := &niEntry{where: r.where(line), file: r.f, text: s}
	if strings.HasPrefix(s, "(") {
		return nil
	}
	if rest, ok := strings.CutPrefix(s, "vocab:"); ok {
		e.kind, e.reason = "vocab", strings.TrimSpace(rest)
		for _, item := range splitTop(rest, ",;") {
			item = strings.TrimSpace(item)
			fm := reFieldHead.FindStringSubmatch(item)
			if fm == nil || fm[2] == "" {
				continue
			}
			// "PV1-13 ReadmissionIndicator" or "AL1-2 → category.extension:
			// AllergenType[...]": the map's name picks the rows when the
			// field has several vocabulary maps.
			cl := clause{vocab: strings.TrimSuffix(item, ".")}
			rest := strings.TrimSpace(item[len(fm[0]):])
			if after, ok := strings.CutPrefix(rest, "→"); ok {
				cl.target, _ = targetOf(after)
				_, rest, _ = strings.Cut(after, ":")
			}
			if w := strings.Fields(rest); len(w) > 0 {
				cl.vocabMap = strings.TrimSuffix(w[0], ".")
			}
			for _, f := range expandFields(fm[1], fm[2]) {
				cl.field = f
				e.clauses = append(e.clauses, cl)
			}
		}
		return e
	}
	head := s
	if loc := topIndex(s, reKind); loc != nil {
		head = s[:loc[0]]
		m := reKind.FindStringSubmatch(s[loc[0]:])
		e.kind = m[1]
		e.reason = strings.TrimSpace(s[loc[0]+len(m[0]):])
	} else if loc := topIndex(s, reAsFor); loc != nil {
		head = s[:loc[0]]
		m := reAsFor.FindStringSubmatch(s[loc[0]:])
		e.ref = strings.TrimSuffix(m[1], ".")
		e.reason = strings.TrimSpace(strings.TrimPrefix(s[loc[0]:], ":"))
	}
	var cur []string
	for _, c := range splitTop(head, ",;") {
		c = strings.TrimSpace(c)
		c = strings.TrimPrefix(strings.TrimPrefix(c, "and "), "or ")
		if m := reSegMapKey.FindStringSubmatch(c); m != nil && strings.HasPrefix(c, m[0]) {
			if k, ok := r.segMapKey(line, m[0], m[1]); ok {
				e.maps = append(e.maps, k)
			}
			continue
		}
		explicit := false
		if fm := reFieldHead.FindStringSubmatch(c); fm != nil && r.ig.segNames[fm[1]] && (fm[2] != "" || strings.Contains(c, "→")) {
			if fm[2] == "" {
				cur = []string{fm[1]}
			} else {
				cur = expandFields(fm[1], fm[2])
			}
			explicit = true
		} else if cur == nil {
			continue
		}
		// The targets: after the arrow in a clause that names its field,
		// the whole clause in one that goes on with the previous field's
		// targets; "A and B" names two.
		text := c
		if explicit {
			text = ""
			if _, after, ok := strings.Cut(c, "→"); ok {
				text = after
			}
		}
		var targets [][2]string
		for i, part := range strings.Split(text, " and ") {
			if t, a := targetOf(part); t != "" {
				targets = append(targets, [2]string{t, a})
			} else if i == 0 && explicit {
				targets = append(targets, [2]string{})
			}
		}
		for _, f := range cur {
			for i, t := range targets {
				e.clauses = append(e.clauses, clause{field: f, target: t[0], assign: t[1], explicit: explicit && i == 0})
			}
		}
	}
	return e
}

func expandFields(seg, nums string) []string {
	var out []string
	for _, n := range strings.Split(nums, "/") {
		out = append(out, seg+"-"+n)
	}
	return out
}

// targetOf reads the leading element path of a clause's target and an
// `= "value"` right after it.
func targetOf(s string) (target, assign string) {
	s = strings.TrimSpace(s)
	if s == "" || !(s[0] >= 'a' && s[0] <= 'z' || s[0] == '$') {
		return "", ""
	}
	end, depth := 0, 0
	for end < len(s) {
		c := s[end]
		if c == '(' || c == '[' {
			depth++
		} else if c == ')' || c == ']' {
			if depth == 0 {
				break
			}
			depth--
		} else if depth == 0 && (c == ' ' || c == ',' || c == ';' || c == ':') {
			break
		}
		end++
	}
	target = normPath(s[:end])
	rest := strings.TrimSpace(s[end:])
	if v, ok := strings.CutPrefix(rest, "= \""); ok {
		if i := strings.IndexByte(v, '"'); i >= 0 {
			assign = v[:i]
		}
	}
	return target, assign
}

// normPath makes element paths of the maps and of the IG comparable:
// lower case, no spaces, no leading underscore, extension("url") as
// extension.
func normPath(p string) string {
	p = strings.ToLower(strings.ReplaceAll(p, " ", ""))
	p = strings.TrimPrefix(p, "_")
	for {
		i := strings.Index(p, `extension("`)
		if i < 0 {
			break
		}
		j := strings.Index(p[i:], `")`)
		if j < 0 {
			break
		}
		p = p[:i] + "extension" + p[i+j+2:]
	}
	return strings.ReplaceAll(p, "._", ".")
}

// splitTop splits s at the separators that are outside parentheses and
// brackets.
func splitTop(s, seps string) []string {
	var out []string
	depth, start := 0, 0
	for i, c := range s {
		switch {
		case c == '(' || c == '[':
			depth++
		case (c == ')' || c == ']') && depth > 0:
			depth--
		case depth == 0 && strings.ContainsRune(seps, c):
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// topIndex finds re's first match outside parentheses.
func topIndex(s string, re *regexp.Regexp) []int {
	for _, loc := range re.FindAllStringIndex(s, -1) {
		depth := 0
		for _, c := range s[:loc[0]] {
			if c == '(' {
				depth++
			} else if c == ')' && depth > 0 {
				depth--
			}
		}
		if depth == 0 {
			return loc
		}
	}
	return nil
}

// findAtAll returns the line of the file's "Segment maps ... at all"
// block head, or 0.
func (r *fileReader) findAtAll() int {
	for i := range r.lines {
		col, t, ok := r.comment(i + 1)
		if !ok || col != 0 || !strings.HasPrefix(strings.TrimSpace(t), "Segment maps of ") {
			continue
		}
		head := t
		if _, next, ok := r.comment(i + 2); ok {
			head += " " + next
		}
		if strings.Contains(head, "at all") {
			return i + 1
		}
	}
	return 0
}

func (r *fileReader) atAllEntries(at int) []*niEntry {
	var out []*niEntry
	var text []string
	var line int
	hasK := false
	flush := func() {
		if len(text) > 0 {
			if e := r.entry(line, strings.Join(text, " ")); e != nil {
				e.clauses = nil // an at-all entry explains whole maps
				out = append(out, e)
			}
		}
		text = nil
	}
	started := false
	for i := at; i <= len(r.lines); i++ {
		col, t, ok := r.comment(i)
		if !ok {
			if r.blank(i) {
				continue
			}
			break
		}
		if col != 0 {
			continue
		}
		ind := len(t) - len(strings.TrimLeft(t, " "))
		body := strings.TrimSpace(t)
		if ind <= 1 {
			// The head's lines, then prose after the entries.
			if started {
				break
			}
			continue
		}
		started = true
		if ind <= 3 && (hasK || len(text) == 0) {
			flush()
			line, text, hasK = i, []string{body}, hasKind(body)
			continue
		}
		text = append(text, body)
		hasK = hasK || hasKind(strings.Join(text, " "))
	}
	flush()
	return out
}

// ---------------------------------------------------------------------------
// Computing

type coverageRun struct {
	ig       *igTables
	files    map[string]*mapFile
	cov      *Coverage
	segments map[string]*MapCoverage
	// calls collects, per message map, the functions its rules call.
	calls map[string]bool
}

// resource is a resource of a message map after includes and refinements.
type resource struct {
	id     string
	follow map[string]bool
	reads  map[string]string // field → first file:line reading it
	sets   []setTarget
	blocks []*niBlock
}

// resolve expands a message map's items: includes (recursively) in place,
// items with a known id refine that resource.
func (c *coverageRun) resolve(f *mapFile, seen []string) ([]*resource, error) {
	var out []*resource
	byID := map[string]*resource{}
	var walk func(f *mapFile, stack []string) error
	walk = func(f *mapFile, stack []string) error {
		for _, it := range f.items {
			if it.include != "" {
				p := c.files["parts/"+it.include]
				if p == nil {
					return fmt.Errorf("%s:%d: include %q: no part parts/%s.yaml", f.path, it.line, it.include, it.include)
				}
				if slices.Contains(stack, p.path) {
					return fmt.Errorf("%s:%d: include %q: a cycle (%s)", f.path, it.line, it.include, strings.Join(stack, " → "))
				}
				if err := walk(p, append(stack, p.path)); err != nil {
					return err
				}
				continue
			}
			res := byID[it.id]
			if res == nil {
				res = &resource{id: it.id, follow: map[string]bool{}, reads: map[string]string{}}
				byID[it.id] = res
				out = append(out, res)
			}
			if it.remove {
				delete(byID, it.id)
				out = slices.DeleteFunc(out, func(r *resource) bool { return r == res })
				continue
			}
			for _, k := range it.follows {
				res.follow[k] = true
			}
			for _, rd := range it.reads {
				if _, ok := res.reads[rd.field]; !ok {
					res.reads[rd.field] = rd.where
				}
			}
			res.sets = append(res.sets, it.sets...)
			res.blocks = append(res.blocks, it.blocks...)
			for _, fn := range it.calls {
				c.calls[fn] = true
			}
		}
		return nil
	}
	return out, walk(f, append(seen, f.path))
}

// msgRun is one message map being checked.
type msgRun struct {
	f      *mapFile
	res    []*resource
	blocks []*niBlock
}

func (c *coverageRun) message(f *mapFile) error {
	msg := c.ig.messages[normKey(f.name)]
	if msg == nil {
		c.cov.Skipped = append(c.cov.Skipped, fmt.Sprintf("%s: no IG message map %s", f.path, strings.ToUpper(f.name)))
		return nil
	}
	if c.calls == nil {
		c.calls = map[string]bool{}
	}
	res, err := c.resolve(f, nil)
	if err != nil {
		return err
	}
	x := &msgRun{f: f, res: res}
	for _, r := range res {
		x.blocks = append(x.blocks, r.blocks...)
	}
	mc := &MessageCoverage{Map: f.name, Message: msg.key, Status: msg.status}
	for _, k := range msg.segments {
		ig := c.ig.segments[k]
		if ig == nil {
			c.cov.Notes = append(c.cov.Notes, fmt.Sprintf("IG message map %s names %s, which has no segment map file", msg.key, k))
			continue
		}
		mc.SegmentMaps = append(mc.SegmentMaps, ig.key)
		mcov := c.segments[k]
		if mcov == nil {
			mcov = &MapCoverage{Key: ig.key, Status: ig.status}
			for _, row := range ig.rows {
				mcov.Rows = append(mcov.Rows, &CoveredRow{Row: row})
			}
			c.segments[k] = mcov
		}
		mcov.By = append(mcov.By, f.name)
		for _, row := range mcov.Rows {
			st := c.rowStatus(x, k, row.Row, 0)
			row.By = append(row.By, st)
			mc.Rows++
			switch st.Status {
			case Implemented:
				mc.Implemented++
			case Explained:
				mc.Explained++
			default:
				mc.Neither++
			}
		}
	}
	c.cov.Messages = append(c.cov.Messages, mc)
	return nil
}

func (c *coverageRun) note(format string, args ...any) {
	c.cov.Notes = append(c.cov.Notes, fmt.Sprintf(format, args...))
}

// hasField tells a row of a v2 field (PID-5) from one without (MSH, or
// sort order 0).
func hasField(row Row) bool { return strings.Contains(row.Field, "-") }

// rowStatus decides one row of segment map k in a message map.
func (c *coverageRun) rowStatus(x *msgRun, k string, row Row, depth int) RowStatus {
	read := ""
	for _, r := range x.res {
		if !r.follow[k] {
			continue
		}
		if hasField(row) {
			if w, ok := r.reads[row.Field]; ok && read == "" {
				read = w
			}
			continue
		}
		// A row without a v2 field is done when a following resource sets
		// its element.
		t := normTarget(stripTypes(row.Target))
		for _, s := range r.sets {
			if read == "" && normTarget(s.path) == t {
				read = s.where
			}
		}
	}
	var vocab *niEntry
	vocabText := ""
	for _, b := range x.blocks {
		if b.mapKey != k {
			continue
		}
		if b.whole != nil {
			if st, ok := c.explained(x, b.whole, k, row, depth); ok {
				return st
			}
			continue
		}
		for _, e := range b.entries {
			for _, cl := range e.clauses {
				if cl.field != row.Field {
					continue
				}
				if e.kind == "vocab" {
					if vocab == nil && vocabApplies(cl, row) {
						vocab, vocabText = e, cl.vocab
					}
					continue
				}
				if e.kind == "" && e.ref == "" {
					c.note("%s: no reason kind (language:, converter:, vocab:, IG:) in %q", e.where, e.text)
					continue
				}
				// A clause on a field no rule reads explains all its rows
				// (and "MSH → ..." all rows without a field); on a field
				// that is read, the rows its target picks out.
				if read != "" && hasField(row) && !c.claims(x, e, cl, k, row, depth) {
					continue
				}
				if st, ok := c.explained(x, e, k, row, depth); ok {
					return st
				}
			}
		}
	}
	if read != "" {
		st := RowStatus{Status: Implemented, Where: read}
		if vocab != nil {
			st.Kind, st.Text = "vocab", vocabText
		}
		return st
	}
	if vocab != nil {
		return RowStatus{Status: Explained, Kind: "vocab", Text: vocabText, Where: vocab.where}
	}
	for _, e := range x.f.atAll {
		if slices.Contains(e.maps, k) {
			if st, ok := c.explained(x, e, k, row, depth); ok {
				return st
			}
		}
	}
	return RowStatus{}
}

// vocabApplies says whether a vocab entry's item is about this row: one
// that has a vocabulary map, the one named if the item names one (a name
// is the word after the field; it may be prose), at the target if given.
func vocabApplies(cl clause, row Row) bool {
	if row.Vocab == "" {
		return false
	}
	if cl.target != "" && !targetMatch(cl.target, row.Target) {
		return false
	}
	if cl.vocabMap != "" && normKey(cl.vocabMap) != normKey(row.Vocab) && strings.ContainsAny(cl.vocabMap, "[") {
		return false
	}
	return true
}

// stripTypes drops the resource types of IG paths: "agent[1].who(Organization)".
func stripTypes(p string) string {
	for {
		i := strings.IndexByte(p, '(')
		j := strings.LastIndexByte(p, ')')
		if i < 0 || j < i {
			return p
		}
		p = p[:i] + p[j+1:]
	}
}

// normTarget compares paths of the maps and of the IG: the IG's [1] is
// the first instance, which the maps write [0] or not at all.
func normTarget(p string) string {
	p = normPath(p)
	for _, ix := range []string{"[0]", "[1]", "[+]"} {
		p = strings.ReplaceAll(p, ix, "")
	}
	return p
}

// targetMatch says whether a clause's target names the row's element or
// an ancestor of it; "value[x]" stands for any value; a slip of one or
// two letters (the IG's "valueSampedData") still matches.
func targetMatch(target, rowTarget string) bool {
	t, r := normTarget(target), normTarget(rowTarget)
	if r == t || strings.HasPrefix(r, t) && strings.ContainsAny(r[len(t):len(t)+1], ".[(") {
		return true
	}
	if w, ok := strings.CutSuffix(t, "value[x]"); ok && strings.HasPrefix(r, w+"value") {
		return true
	}
	if strings.Contains(t, "value[x]") && strings.HasPrefix(r, strings.ReplaceAll(t, "value[x]", "value")) {
		return true
	}
	return len(t) >= 8 && editDistance(t, r) <= 2
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// claims says whether a clause that names a field some rule reads picks
// out this row: by its target and its `= "value"`, or, for "as for MAP",
// by the same row of MAP being explained.
func (c *coverageRun) claims(x *msgRun, e *niEntry, cl clause, k string, row Row, depth int) bool {
	if cl.target == "" {
		if e.ref != "" && reSegMapKey.MatchString(e.ref) {
			_, ok := c.sameRowExplained(x, e, row, depth)
			return ok
		}
		c.note("%s: %s is read by a rule, so the entry must say which of its rows it explains (FIELD → TARGET)", e.where, cl.field)
		return false
	}
	if targetMatch(cl.target, row.Target) && (cl.assign == "" || strings.Trim(row.Assign, `"`) == cl.assign) {
		return true
	}
	if cl.explicit {
		for _, r := range c.ig.segments[k].rows {
			if r.Field == cl.field && targetMatch(cl.target, r.Target) {
				return false
			}
		}
		c.note("%s: %s → %s matches no row of %s", e.where, cl.field, cl.target, c.ig.segments[k].key)
	}
	return false
}

// sameRowExplained looks up, for "as for MAP", the row of MAP with the
// same field, element and assignment, and its status when explained.
func (c *coverageRun) sameRowExplained(x *msgRun, e *niEntry, row Row, depth int) (RowStatus, bool) {
	mk := normKey(reSegMapKey.FindString(e.ref))
	other := c.ig.segments[mk]
	if other == nil || depth > 3 {
		return RowStatus{}, false
	}
	for _, r := range other.rows {
		if r.Field == row.Field && normTarget(r.Target) == normTarget(row.Target) && r.Assign == row.Assign {
			st := c.rowStatus(x, mk, r, depth+1)
			return st, st.Status == Explained
		}
	}
	return RowStatus{}, false
}

// explained makes the status of a row an entry explains, following "as
// for MAP" and "as in FILE" to what they point at.
func (c *coverageRun) explained(x *msgRun, e *niEntry, k string, row Row, depth int) (RowStatus, bool) {
	if e.kind != "" {
		return RowStatus{Status: Explained, Kind: e.kind, Text: e.reason, Where: e.where}, true
	}
	if e.ref == "" {
		c.note("%s: no reason kind (language:, converter:, vocab:, IG:) in %q", e.where, e.text)
		return RowStatus{}, false
	}
	if st, ok := c.sameRowExplained(x, e, row, depth); ok {
		return st, true
	}
	if to := c.follow(e, k, row); to != nil && to.kind != "" {
		return RowStatus{Status: Explained, Kind: to.kind, Text: to.reason, Where: to.where}, true
	}
	c.note("%s: %q: nothing found there that explains %s %s", e.where, e.ref, c.ig.segments[k].key, row.Field)
	return RowStatus{}, false
}

// follow finds the entry a reference points at: "as for MAP" the first
// entry of MAP's block naming the same field; "as in FILE(.yaml)" the
// entry of FILE that explains the whole map.
func (c *coverageRun) follow(e *niEntry, k string, row Row) *niEntry {
	if m := reSegMapKey.FindString(e.ref); m != "" {
		mk := normKey(m)
		for _, f := range c.files {
			for _, it := range f.items {
				for _, b := range it.blocks {
					if b.mapKey != mk {
						continue
					}
					for _, x := range b.entries {
						for _, cl := range x.clauses {
							if cl.field == row.Field && x.kind != "vocab" && x.kind != "" {
								return x
							}
						}
					}
				}
			}
		}
		return nil
	}
	if other := c.files[strings.TrimSuffix(e.ref, ".yaml")]; other != nil {
		for _, x := range other.atAll {
			if slices.Contains(x.maps, k) {
				return x
			}
		}
		for _, it := range other.items {
			for _, b := range it.blocks {
				if b.mapKey == k && b.whole != nil {
					return b.whole
				}
			}
		}
	}
	return nil
}

// ---------------------------------------------------------------------------
// Data type maps

var reComp = regexp.MustCompile(`\b([A-Z][A-Z0-9]{1,2})\.(\d+)((?:/\d+)*)(?:\s*[-–]\s*(?:[A-Z][A-Z0-9]{1,2}\.)?(\d+))?`)

// datatypes reports the data type maps of the converters the message maps
// call, and of the data type maps their rows name, recursively.
func (c *coverageRun) datatypes(convs []Converter) {
	byMap := map[string][]*Converter{}
	byName := map[string]*Converter{}
	for i := range convs {
		cv := &convs[i]
		byMap[normKey(cv.Map)] = append(byMap[normKey(cv.Map)], cv)
		byName[cv.Name] = cv
	}
	used := map[string]bool{}
	var queue []string
	add := func(k string) {
		if k != "" && !used[k] && c.ig.datatypes[k] != nil {
			used[k] = true
			queue = append(queue, k)
		}
	}
	for fn := range c.calls {
		if cv := byName[fn]; cv != nil {
			add(normKey(cv.Map))
		}
	}
	c.cov.Datatypes = []*MapCoverage{}
	for len(queue) > 0 {
		k := queue[0]
		queue = queue[1:]
		ig := c.ig.datatypes[k]
		m := &MapCoverage{Key: ig.key, Status: ig.status}
		cvs := byMap[k]
		for _, cv := range cvs {
			m.By = append(m.By, cv.Name)
		}
		for _, row := range ig.rows {
			cr := &CoveredRow{Row: row}
			for _, cv := range cvs {
				cr.By = append(cr.By, componentStatus(cv, ig, row, byName))
			}
			m.Rows = append(m.Rows, cr)
			if len(cvs) > 0 {
				add(normKey(row.DataType))
			}
		}
		c.cov.Datatypes = append(c.cov.Datatypes, m)
	}
	sortMaps(c.cov.Datatypes)
}

// componentStatus reads a converter's documentation for one row: a "Not
// mapped:" list explains its component, any other mention implements it.
// A map of one component (ID[code]: ID.1 → $value) is the converter
// itself; a row without a component (SN's originalText extension) is
// implemented when the documentation names its element or its URL.
func componentStatus(cv *Converter, m *igMap, row Row, byName map[string]*Converter) RowStatus {
	types := map[string]bool{}
	for _, t := range append([]string{strings.Split(m.key, "[")[0]}, cv.V2...) {
		types[t] = true
	}
	for _, s := range cv.Shared {
		if o := byName[s]; o != nil {
			for _, t := range o.V2 {
				types[t] = true
			}
		}
	}
	doc := cv.Doc
	_, num, ok := strings.Cut(row.Field, ".")
	n, err := strconv.Atoi(num)
	if !ok || err != nil {
		for _, w := range rowWords(m, row) {
			if strings.Contains(strings.ToLower(doc), strings.ToLower(w)) {
				return RowStatus{Status: Implemented, Where: cv.Name}
			}
		}
		return RowStatus{}
	}
	for _, list := range notMappedLists(doc) {
		items := splitTop(list, ",")
		for i, item := range items {
			if !mentions(item, types, n) {
				continue
			}
			// "XAD.8, XAD.11 (no FHIR target)": a reason covers the
			// items before it.
			reason := ""
			for _, later := range items[i:] {
				if g := parenGroups(later); len(g) > 0 {
					reason = g[len(g)-1]
					break
				}
			}
			return RowStatus{Status: Explained, Kind: "note", Text: strings.Join(strings.Fields(reason), " "), Where: cv.Name}
		}
		doc = strings.Replace(doc, list, "", 1)
	}
	if mentions(doc, types, n) {
		return RowStatus{Status: Implemented, Where: cv.Name}
	}
	single := true
	for _, r := range m.rows {
		if _, num, ok := strings.Cut(r.Field, "."); ok && num != "1" {
			single = false
		}
	}
	if single && n == 1 {
		return RowStatus{Status: Implemented, Where: cv.Name}
	}
	return RowStatus{}
}

// notMappedLists finds the text of each "Not mapped: ..." sentence.
func notMappedLists(doc string) []string {
	var out []string
	for {
		i := strings.Index(doc, "Not mapped:")
		if i < 0 {
			return out
		}
		doc = doc[i+len("Not mapped:"):]
		depth, end := 0, len(doc)
		for j := 0; j < len(doc); j++ {
			switch c := doc[j]; {
			case c == '(':
				depth++
			case c == ')' && depth > 0:
				depth--
			case c == '.' && depth == 0 && (j+1 == len(doc) || doc[j+1] == ' ' || doc[j+1] == '\n'):
				end = j
			}
			if end != len(doc) {
				break
			}
		}
		out = append(out, doc[:end])
		doc = doc[end:]
	}
}

// rowWords are the words that show a converter implements a row without a
// component: its element's name and the last part of the URL assigned to
// it or to a sibling (an extension's url row).
func rowWords(m *igMap, row Row) []string {
	t := reIndex.ReplaceAllString(row.Target, "")
	words := []string{t[strings.LastIndex(t, ".")+1:]}
	parent := row.Target[:max(0, strings.LastIndex(row.Target, "."))]
	for _, r := range m.rows {
		if r.Field == row.Field && strings.HasPrefix(r.Target, parent) && strings.Contains(r.Assign, "/") {
			u := strings.Trim(r.Assign, `"`)
			words = append(words, u[strings.LastIndex(u, "/")+1:])
		}
	}
	return slices.DeleteFunc(words, func(w string) bool { return len(w) < 4 })
}

// mentions says whether s names component n of one of types: "XPN.3",
// "CWE.1/2/3", "XAD.15-XAD.18", "CWE.14–22".
func mentions(s string, types map[string]bool, n int) bool {
	for _, m := range reComp.FindAllStringSubmatch(s, -1) {
		if !types[m[1]] {
			continue
		}
		first, _ := strconv.Atoi(m[2])
		if first == n {
			return true
		}
		for _, o := range strings.Split(strings.TrimPrefix(m[3], "/"), "/") {
			if v, err := strconv.Atoi(o); err == nil && v == n {
				return true
			}
		}
		if m[4] != "" {
			if last, err := strconv.Atoi(m[4]); err == nil && n >= first && n <= last {
				return true
			}
		}
	}
	return false
}

// DatatypeConverters describes the converters of package datatype for
// coverage, reading their documentation from src, that package's source
// folder (transforms/datatype).
func DatatypeConverters(src fs.FS) ([]Converter, error) {
	files := map[string]*goast.File{}
	parse := func(name string) (*goast.File, error) {
		if f, ok := files[name]; ok {
			return f, nil
		}
		b, err := fs.ReadFile(src, name)
		if err != nil {
			return nil, fmt.Errorf("coverage: the converters' source: %w", err)
		}
		f, err := goparser.ParseFile(gotoken.NewFileSet(), name, b, goparser.ParseComments)
		if err != nil {
			return nil, fmt.Errorf("coverage: the converters' source: %w", err)
		}
		files[name] = f
		return f, nil
	}
	byFn := map[uintptr][]string{}
	for name, cv := range datatype.Registry {
		p := reflect.ValueOf(cv.Fn).Pointer()
		byFn[p] = append(byFn[p], name)
	}
	var out []Converter
	for name, cv := range datatype.Registry {
		p := reflect.ValueOf(cv.Fn).Pointer()
		fn := runtime.FuncForPC(p)
		if fn == nil {
			return nil, fmt.Errorf("coverage: converter %s: no function", name)
		}
		file, _ := fn.FileLine(fn.Entry())
		f, err := parse(path.Base(file))
		if err != nil {
			return nil, err
		}
		short := fn.Name()[strings.LastIndex(fn.Name(), ".")+1:]
		var doc []string
		for _, d := range f.Decls {
			if fd, ok := d.(*goast.FuncDecl); ok && fd.Recv == nil && fd.Name.Name == short && fd.Doc != nil {
				doc = append(doc, fd.Doc.Text())
			}
		}
		key := strings.ToLower(cv.Map)
		for _, g := range f.Comments {
			if t := g.Text(); strings.Contains(strings.ToLower(t), key) && !slices.Contains(doc, t) {
				doc = append(doc, t)
			}
		}
		shared := slices.DeleteFunc(slices.Clone(byFn[p]), func(s string) bool { return s == name })
		sort.Strings(shared)
		out = append(out, Converter{Name: name, Map: cv.Map, V2: cv.V2, Doc: strings.Join(doc, "\n"), Shared: shared})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	// Converters that share their implementation share its documentation:
	// coded.go's table of CWE rows is CE's and CNE's too.
	docs := map[string]string{}
	for _, cv := range out {
		docs[cv.Name] = cv.Doc
	}
	for i := range out {
		for _, o := range out[i].Shared {
			if d := docs[o]; !strings.Contains(out[i].Doc, d) {
				out[i].Doc += "\n" + d
			}
		}
	}
	return out, nil
}

// ---------------------------------------------------------------------------
// Output

// Markdown writes the report as transforms/maps/COVERAGE.md holds it.
func (c *Coverage) Markdown() []byte {
	var b bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# IG coverage of the built-in maps\n\n")
	p("<!-- Generated; do not edit. Regenerate with\n     go test ./transforms/maps -run TestCoverage -update\n     (or: go run ./cmd/plexus maps coverage --markdown > transforms/maps/COVERAGE.md) -->\n\n")
	p("Which rows of the HL7 v2-to-FHIR IG's segment and data type maps (the rows with a FHIR\n")
	p("target) the built-in maps implement, and why they do not implement the others. How a\n")
	p("row's status is decided from the maps' comments and rules is in the documentation of\n")
	p("package transforms/maps (`go doc ./transforms/maps`).\n\n")
	p("* **implemented**: a rule of a resource that follows the segment map reads the row's field\n")
	p("  (for a row without a field: sets its element). *vocab* adds that the IG's vocabulary map\n")
	p("  is not applied yet. For a data type map: the converter's documentation names the\n")
	p("  component.\n")
	p("* **explained**: a \"Not implemented\" entry gives the reason: *language* (the rule language\n")
	p("  cannot say it yet), *converter* (no converter for the data type map), *vocab*, *IG* (the\n")
	p("  row cannot be followed as written); *note* for a converter's \"Not mapped\".\n")
	p("* **neither**: to be implemented or explained.\n\n")
	p("〃 repeats the status of the row above.\n\n")

	p("## Message maps\n\n")
	p("| map | IG message map | IG status | segment maps | rows | implemented | explained | neither |\n")
	p("|---|---|---|---:|---:|---:|---:|---:|\n")
	for _, m := range c.Messages {
		p("| %s | %s | %s | %d | %d | %d | %d | %d |\n", m.Map, m.Message, m.Status, len(m.SegmentMaps), m.Rows, m.Implemented, m.Explained, m.Neither)
	}
	if len(c.Skipped) > 0 {
		p("\nNot checked, since the IG has no such message map:\n\n")
		for _, s := range c.Skipped {
			p("* %s\n", cellText(s))
		}
	}

	p("\n## Segment maps\n\n")
	mapSummary(&b, c.Segments, "used by")
	for _, m := range c.Segments {
		mapSection(&b, m, "Used by", "field")
	}
	if c.Datatypes != nil {
		p("\n## Data type maps\n\n")
		p("The data type maps of the converters the maps call, and of the data type maps their rows\n")
		p("name. A converter's rows are read from its documentation, component by component: a\n")
		p("component named in a \"Not mapped:\" sentence is explained, any other mention implements\n")
		p("all rows of that component.\n\n")
		mapSummary(&b, c.Datatypes, "converters")
		for _, m := range c.Datatypes {
			mapSection(&b, m, "Converters", "component")
		}
	}
	if len(c.Notes) > 0 {
		p("\n## Comments not understood\n\n")
		p("These comments follow the convention only in part and explain nothing:\n\n")
		for _, n := range c.Notes {
			p("* %s\n", cellText(n))
		}
	}
	return b.Bytes()
}

// mapSummary counts each row once, by its status in the map that does
// least with it: implemented means implemented by every user.
func mapSummary(b *bytes.Buffer, ms []*MapCoverage, by string) {
	fmt.Fprintf(b, "| map | IG status | %s | rows | implemented | explained | neither |\n|---|---|---|---:|---:|---:|---:|\n", by)
	for _, m := range ms {
		var n [3]int
		for _, r := range m.Rows {
			least := Implemented
			for _, st := range r.By {
				least = min(least, st.Status)
			}
			if len(r.By) == 0 {
				least = Neither
			}
			n[least]++
		}
		fmt.Fprintf(b, "| [%s](#%s) | %s | %s | %d | %d | %d | %d |\n", m.Key, anchor(m.Key), m.Status, strings.Join(m.By, ", "), len(m.Rows), n[Implemented], n[Explained], n[Neither])
	}
}

// anchor is the id GitHub gives a heading.
func anchor(h string) string {
	var out strings.Builder
	for _, r := range strings.ToLower(h) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			out.WriteRune(r)
		} else if r == ' ' {
			out.WriteRune('-')
		}
	}
	return out.String()
}

func mapSection(b *bytes.Buffer, m *MapCoverage, byLabel, fieldLabel string) {
	fmt.Fprintf(b, "\n### %s\n\n", m.Key)
	by := strings.Join(m.By, ", ")
	if by == "" {
		by = "none"
	}
	fmt.Fprintf(b, "IG status: %s. %s: %s.\n\n", orDash(m.Status), byLabel, by)
	if len(m.Rows) == 0 {
		b.WriteString("No row with a FHIR target.\n")
		return
	}
	// A map explained as a whole gets one line, not a table.
	if whole := statusText(m.Rows[0], m.By); len(m.By) > 0 && m.Rows[0].By[0].Status == Explained {
		same := true
		for _, r := range m.Rows {
			if statusText(r, m.By) != whole || r.By[0].Where != m.Rows[0].By[0].Where {
				same = false
			}
		}
		if same {
			fmt.Fprintf(b, "Not implemented, all %d rows: %s\n", len(m.Rows), whole)
			return
		}
	}
	fmt.Fprintf(b, "| %s | condition | FHIR target | status |\n|---|---|---|---|\n", fieldLabel)
	prev := ""
	for _, r := range m.Rows {
		st := statusText(r, m.By)
		if st == prev && len(st) > 40 {
			st = "〃"
		} else {
			prev = st
		}
		target := "`" + strings.ReplaceAll(r.Target, "`", "'") + "`"
		if a := r.Assign; a != "" && len(a) <= 60 {
			target += " = `" + strings.ReplaceAll(a, "`", "'") + "`"
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s |\n", orDash(r.Field), cellText(short(r.Condition, 60)), cellText(target), st)
	}
}

// statusText is a row's status; when the users of the map differ, each
// group of users with the same status is named.
func statusText(r *CoveredRow, by []string) string {
	if len(r.By) == 0 {
		return "neither (no converter)"
	}
	var order []string
	groups := map[string][]string{}
	for i, st := range r.By {
		t := st.Status.String()
		switch {
		case st.Status == Explained:
			t = "explained — *" + st.Kind + "*: " + st.Text
		case st.Status == Implemented && st.Kind != "":
			t = "implemented (*" + st.Kind + "*: " + st.Text + ")"
		case st.Status == Neither:
			t = "**neither**"
		}
		if _, ok := groups[t]; !ok {
			order = append(order, t)
		}
		groups[t] = append(groups[t], by[i])
	}
	if len(order) == 1 {
		return cellText(order[0])
	}
	var parts []string
	for _, t := range order {
		parts = append(parts, strings.Join(groups[t], ", ")+": "+t)
	}
	return cellText(strings.Join(parts, "<br>"))
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

func short(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// cellText keeps a table cell on one line and its pipes literal.
func cellText(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return strings.ReplaceAll(s, "|", `\|`)
}

// Gaps lists the rows that are neither implemented nor explained, one a
// line: "user<TAB>map<TAB>field<TAB>target<TAB>assignment"; ready limits
// them to the maps the IG inventory marks "Ready for Ballot" (and, for
// segment maps, to ready message maps).
func (c *Coverage) Gaps(ready bool) []string {
	readyMsg := map[string]bool{}
	for _, m := range c.Messages {
		readyMsg[m.Map] = m.Status == "Ready for Ballot"
	}
	var out []string
	add := func(ms []*MapCoverage, segments bool) {
		for _, m := range ms {
			if ready && m.Status != "Ready for Ballot" {
				continue
			}
			for _, r := range m.Rows {
				for i, st := range r.By {
					if st.Status != Neither || ready && segments && !readyMsg[m.By[i]] {
						continue
					}
					out = append(out, strings.TrimRight(strings.Join([]string{m.By[i], m.Key, orDash(r.Field), r.Target, r.Assign}, "\t"), "\t"))
				}
			}
		}
	}
	add(c.Segments, true)
	add(c.Datatypes, false)
	return out
}
