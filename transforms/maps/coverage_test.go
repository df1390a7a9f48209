package maps

import (
	"bytes"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
)

// updating reports -update, which maps_test.go (the external test package,
// in the same test binary) defines; here it rewrites COVERAGE.md.
func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// igDir finds the IG's mapping tables: $PLEXUS_IG, else
// ../shared/v2-to-fhir beside the repository. Without them the tests that
// need them skip, except in CI (CI=true), where skipping would hide that
// they never ran.
func igDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("PLEXUS_IG")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "v2-to-fhir")
	}
	if _, err := os.Stat(filepath.Join(dir, "segments")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the IG's mapping tables are missing (%v); set PLEXUS_IG to the v2-to-fhir folder", err)
		}
		t.Skipf("IG mapping tables not found (%v); set PLEXUS_IG to run this test", err)
	}
	return dir
}

func builtinCoverage(t *testing.T) *Coverage {
	t.Helper()
	ig := igDir(t)
	convs, err := DatatypeConverters(os.DirFS(filepath.Join("..", "datatype")))
	if err != nil {
		t.Fatal(err)
	}
	cov, err := ComputeCoverage(CoverageOptions{IG: os.DirFS(ig), Converters: convs})
	if err != nil {
		t.Fatal(err)
	}
	return cov
}

// TestCoverage regenerates COVERAGE.md and compares it with the committed
// file, so that the report cannot go stale as maps change.
func TestCoverage(t *testing.T) {
	got := builtinCoverage(t).Markdown()
	if updating() {
		if err := os.WriteFile("COVERAGE.md", got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile("COVERAGE.md")
	if err != nil {
		t.Fatalf("%v; create it with: go test ./transforms/maps -run TestCoverage -update", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("COVERAGE.md is out of date (the maps, the converters' comments or the IG tables changed).\n"+
			"Regenerate it and review the diff:\n\tgo test ./transforms/maps -run TestCoverage -update\n%s", firstDiff(string(want), string(got)))
	}
}

// TestCoverageReadyRows holds the target: every row of the IG's
// "Ready for Ballot" maps is implemented or explained, except the gaps
// known when the check came, which may only go away.
func TestCoverageReadyRows(t *testing.T) {
	gaps := builtinCoverage(t).Gaps(true)
	src, err := os.ReadFile(filepath.Join("testdata", "coverage", "known-gaps.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var known []string
	for _, l := range strings.Split(string(src), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			known = append(known, l)
		}
	}
	for _, g := range gaps {
		if !slices.Contains(known, g) {
			t.Errorf("row neither implemented nor explained (implement it, or add a \"Not implemented\" entry; see `go doc ./transforms/maps`):\n\t%s", g)
		}
	}
	for _, k := range known {
		if !slices.Contains(gaps, k) {
			t.Errorf("known gap now implemented or explained: remove it from testdata/coverage/known-gaps.txt:\n\t%s", k)
		}
	}
}

func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			return "first difference at line " + strconv.Itoa(i+1) + ":\n- " + a + "\n+ " + b
		}
	}
	return ""
}

func fixtureCoverage(t *testing.T, maps fstest.MapFS) (*Coverage, error) {
	t.Helper()
	fix := os.DirFS(filepath.Join("testdata", "coverage", "maps"))
	if maps == nil {
		maps = fstest.MapFS{}
		for _, p := range []string{"tst_t01.yaml", "parts/pid.yaml"} {
			b, err := fs.ReadFile(fix, p)
			if err != nil {
				t.Fatal(err)
			}
			maps[p] = &fstest.MapFile{Data: b}
		}
	}
	return ComputeCoverage(CoverageOptions{
		Maps: maps,
		IG:   os.DirFS(filepath.Join("testdata", "coverage", "ig")),
		Converters: []Converter{
			{Name: "id_boolean", Map: "ID[boolean]", V2: []string{"ID"}, Doc: "Boolean converts an ID (Y/N)."},
			{Name: "cx", Map: "CX[Identifier]", V2: []string{"CX"}, Doc: "CX.1 → value. Not mapped: CX.6 (no such extension)."},
		},
	})
}

// TestCoverageFixture checks each way a row gets its status on a small IG
// and a map written for it.
func TestCoverageFixture(t *testing.T) {
	cov, err := fixtureCoverage(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(cov.Messages) != 1 {
		t.Fatalf("messages: %+v", cov.Messages)
	}
	m := cov.Messages[0]
	if m.Rows != 14 || m.Implemented != 7 || m.Explained != 6 || m.Neither != 1 {
		t.Errorf("summary: %+v, want 14 rows: 7 implemented, 6 explained, 1 neither", *m)
	}
	want := map[string]string{
		"MSH[Bundle] MSH type \"message\"":                             "explained language",
		"MSH[Bundle] MSH-7 timestamp":                                  "explained language",
		"PID[Patient] PID active \"true\"":                             "implemented ",
		"PID[Patient] PID-3 identifier[1]":                             "implemented ",
		"PID[Patient] PID-5 name[1]":                                   "neither ",
		"PID[Patient] PID-8 gender":                                    "implemented vocab",
		"PID[Patient] PID-13 telecom[1]":                               "implemented ",
		"PID[Patient] PID-13 telecom[1].use \"home\"":                  "explained language",
		"PID[Patient] PID-19 identifier[4].type.coding.code \"SS\"":    "implemented ",
		"PID[Patient] PID-19 identifier[4].type.coding.code \"SB\"":    "explained IG",
		"PID[Patient] PID-27 extension??-veteranMilitaryStatus":        "explained IG",
		"PID[Patient] PID-30 deceasedBoolean":                          "implemented ",
		"PV1[Encounter] PV1-2 class":                                   "implemented ",
		"PV1[Encounter] PV1-7 participant[1].individual(Practitioner)": "explained language",
	}
	for _, s := range cov.Segments {
		for _, r := range s.Rows {
			k := strings.TrimSpace(s.Key + " " + r.Field + " " + r.Target + " " + r.Assign)
			got := r.By[0].Status.String() + " " + r.By[0].Kind
			w, ok := want[k]
			if !ok {
				t.Errorf("unexpected row %q: %s", k, got)
				continue
			}
			if got != w {
				t.Errorf("%s: %s (%q at %s), want %s", k, got, r.By[0].Text, r.By[0].Where, w)
			}
			delete(want, k)
		}
	}
	for k := range want {
		t.Errorf("row %q missing", k)
	}
	if g := cov.Gaps(true); len(g) != 1 || !strings.HasPrefix(g[0], "tst_t01\tPID[Patient]\tPID-5\t") {
		t.Errorf("gaps: %q", g)
	}
	if len(cov.Datatypes) != 1 || cov.Datatypes[0].Key != "ID[boolean]" || cov.Datatypes[0].Rows[0].By[0].Status != Implemented {
		t.Errorf("data type maps: %+v", cov.Datatypes)
	}
	md := string(cov.Markdown())
	for _, s := range []string{"| tst_t01 | TST_T01 | Ready for Ballot | 3 | 14 | 7 | 6 | 1 |", "Not implemented, all 2 rows: explained — *language*: no rules for Bundle elements."} {
		if !strings.Contains(md, s) {
			t.Errorf("markdown lacks %q:\n%s", s, md)
		}
	}
}

// TestCoverageErrors: what breaks the convention is an error naming the
// file and line.
func TestCoverageErrors(t *testing.T) {
	base := func() fstest.MapFS {
		return fstest.MapFS{"tst_t01.yaml": {Data: []byte("name: tst_t01\nresources:\n  - include: pid\n")}}
	}
	for name, tc := range map[string]struct {
		file, src, want string
	}{
		"colon head that is no none": {"parts/pid.yaml", "name: pid\nresources:\n  - id: patient\n    resource: Patient\n    # Not implemented: PID-5.\n",
			`parts/pid.yaml:5: a "Not implemented:" head says "none"`},
		"head without its map": {"parts/pid.yaml", "name: pid\nresources:\n  - id: patient\n    resource: Patient\n    # Not implemented (13 of 57 rows):\n    #   PID-5 → name: language: why.\n",
			`parts/pid.yaml:5: a "Not implemented" head begins with its segment map's key`},
		"missing part": {"other.yaml", "", "tst_t01.yaml:3: include \"pid\": no part parts/pid.yaml"},
	} {
		t.Run(name, func(t *testing.T) {
			fsys := base()
			if tc.src != "" {
				fsys[tc.file] = &fstest.MapFile{Data: []byte(tc.src)}
			}
			_, err := fixtureCoverage(t, fsys)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// TestCoverageEntries checks how entries are read.
func TestCoverageEntries(t *testing.T) {
	ig, err := loadIG(os.DirFS(filepath.Join("testdata", "coverage", "ig")))
	if err != nil {
		t.Fatal(err)
	}
	r := &fileReader{f: &mapFile{path: "x.yaml"}, ig: ig}
	for src, want := range map[string][]clause{
		`PID-13 → telecom[1].use = "home" IF PID-13.2 IS NOT VALUED, PID-19 → identifier[4]: language: why`: {
			{field: "PID-13", target: "telecom[1].use", assign: "home", explicit: true},
			{field: "PID-19", target: "identifier[4]", explicit: true},
		},
		`PID-3/5 → (race): IG: local`: {{field: "PID-3", explicit: true}, {field: "PID-5", explicit: true}},
		`PID-13 → valueRange[1].low and valueRange[1].high, valueRatio[1] (SN ":"): language: x`: {
			{field: "PID-13", target: "valuerange[1].low", explicit: true},
			{field: "PID-13", target: "valuerange[1].high"},
			{field: "PID-13", target: "valueratio[1]"},
		},
		`PID-12 → address[2].district IF PID-11 LST.COUNT EQUALS 1, and IF PID-11 LST.COUNT GREATER THAN 1 (2 rows): language: x`: {
			{field: "PID-12", target: "address[2].district", explicit: true},
		},
	} {
		e := r.entry(1, src)
		if e == nil || e.kind == "" || !slices.Equal(e.clauses, want) {
			t.Errorf("%s:\n got %+v\nwant %+v", src, e, want)
		}
	}
	if e := r.entry(1, "vocab: PID-8 AdministrativeSex, PID-15 PrimaryLanguage (PID-16 uses concept())."); e == nil || len(e.clauses) != 2 || e.clauses[1].vocabMap != "PrimaryLanguage" {
		t.Errorf("vocab entry: %+v", e)
	}
	if e := r.entry(1, "OBX-4 (x), OBX-29 system: as for OBX[Observation]."); e == nil || e.ref != "OBX[Observation]" {
		t.Errorf("as-for entry: %+v", e)
	}
}

// TestCoverageUnknownKey: a key of a known segment that names no IG map (a
// typo, or a map of Plexus's own) is a note, and what it would follow
// stays "neither".
func TestCoverageUnknownKey(t *testing.T) {
	cov, err := fixtureCoverage(t, fstest.MapFS{
		"tst_t01.yaml":   {Data: []byte("name: tst_t01\nresources:\n  - include: pid\n")},
		"parts/pid.yaml": {Data: []byte("name: pid\nresources:\n  # PID → Patient (PID[Patent])\n  - id: patient\n    resource: Patient\n    set:\n      name: xpn(PID[5])\n")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(cov.Notes, "parts/pid.yaml:3: PID[Patent] names no segment map of the IG") {
		t.Errorf("notes: %q", cov.Notes)
	}
	if m := cov.Messages[0]; m.Implemented != 0 {
		t.Errorf("%+v: nothing follows PID[Patient]", *m)
	}
}
