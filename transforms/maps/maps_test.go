package maps_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/plexus-hl7/plexus/hl7"
	"github.com/plexus-hl7/plexus/transforms"
	"github.com/plexus-hl7/plexus/transforms/maps"
)

var update = flag.Bool("update", false, "rewrite testdata/*.bundle.json from the current output (read the diff!)")

// knownDefects lists the messages, by file name, that do not convert with
// the maps as they are (on_error: reject) because the message itself is
// wrong, and the errors they must give: exactly these, no others. Each is
// also converted with on_error: partial, and that Bundle must be valid.
// When a converter learns to cope with one (a warning instead of an error),
// its entry here fails and must go.
var knownDefects = map[string][]string{
	// PV1-7's and PV1-17's XCN have components 15-19 one place early:
	// XCN.19 (Effective Date, DTM) is "doctor".
	"test-conversion-ADT_A01.hl7": {
		`Encounter.participant[+attender].individual from PV1-7[1]: xcn: XCN.19: "doctor" is not a valid HL7 date/time`,
		`Encounter.participant[+admitter].individual from PV1-17[1]: xcn: XCN.19: "doctor" is not a valid HL7 date/time`,
	},
	// IN1 lacks a field near its start: IN1-4 (company name) is an
	// address and IN1-12 (plan effective date) the insured's address.
	"qa__fixtures__adt-a01-full.hl7": {
		`Coverage.period.start from IN1-12: dtm: repetition 1: "456 OAK AVE" is not a valid HL7 date/time`,
	},
}

// mapFiles are the rule files of this folder.
func mapFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no *.yaml in transforms/maps")
	}
	return files
}

// TestCompile compiles every map of the folder (with the parts of the
// folder), and loads each one by name from the embedded FS, as the engine
// does.
func TestCompile(t *testing.T) {
	for _, f := range mapFiles(t) {
		r, err := (&transforms.Loader{Builtins: os.DirFS(".")}).Load(strings.TrimSuffix(f, ".yaml"))
		if err != nil {
			t.Errorf("%s:\n%v", f, err)
			continue
		}
		name := strings.TrimSuffix(f, ".yaml")
		if r.Name != name {
			t.Errorf("%s: name %q; a built-in's name is its file name, %q", f, r.Name, name)
		}
		l := transforms.Loader{Builtins: maps.FS}
		if _, err := l.Load(name); err != nil {
			t.Errorf("Loader.Load(%q) from maps.FS: %v", name, err)
		}
	}
	embedded, err := fs.Glob(maps.FS, "*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if files := mapFiles(t); !slices.Equal(embedded, files) {
		t.Errorf("maps.FS holds %v, the folder %v", embedded, files)
	}
	embedded, err = fs.Glob(maps.FS, "parts/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	parts, err := filepath.Glob("parts/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(embedded, parts) {
		t.Errorf("maps.FS holds %v, the folder %v", embedded, parts)
	}
}

// TestParts checks that every part is included by some map, and that a
// part compiles only as part of a map (it has no bundle of its own).
func TestParts(t *testing.T) {
	parts, err := filepath.Glob("parts/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for _, f := range mapFiles(t) {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(src), "\n") {
			if name, ok := strings.CutPrefix(strings.TrimSpace(line), "- include: "); ok {
				used[name] = true
			}
		}
	}
	for _, p := range parts {
		name := strings.TrimSuffix(filepath.Base(p), ".yaml")
		if !used[name] {
			t.Errorf("part %s is included by no map", name)
		}
		src, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(src), "\nname: "+name+"\n") {
			t.Errorf("%s: a part's name is its file name, %s", p, name)
		}
	}
}

// rules loads built-in map name; with partial, through a file that extends
// it with on_error: partial.
func rules(t testing.TB, name string, partial bool) *transforms.Rules {
	t.Helper()
	l := transforms.Loader{Builtins: maps.FS}
	load := name
	if partial {
		fsys := fstest.MapFS{}
		err := fs.WalkDir(maps.FS, ".", func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := fs.ReadFile(maps.FS, path)
			fsys[path] = &fstest.MapFile{Data: b}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		load = name + "_partial"
		fsys[load+".yaml"] = &fstest.MapFile{Data: []byte(
			"name: " + load + "\nextends: " + name + "\non_error: partial\nresources: []\n")}
		l.Builtins = fsys
	}
	r, err := l.Load(load)
	if err != nil {
		t.Fatalf("load %s: %v", load, err)
	}
	return r
}

// convertChecked converts one message with adt_a01 and checks the result:
// no conversion error, unless the file is a known defect (then exactly its
// errors, and the Bundle of a partial conversion instead); a valid Bundle;
// the same Bundle on a second conversion. It returns the Bundle.
func convertChecked(t *testing.T, file string, raw []byte) []byte {
	t.Helper()
	return convertKnown(t, "adt_a01", raw, knownDefects[filepath.Base(file)], filepath.Base(file))
}

// TestIGTestMessage converts the IG's own ADT_A01 test message and compares
// the Bundle with the golden file, which was read against the IG's rows by
// hand (testdata/SOURCES.md). Run with -update to rewrite it.
func TestIGTestMessage(t *testing.T) {
	const msg = "testdata/test-conversion-ADT_A01.hl7"
	const golden = "testdata/test-conversion-ADT_A01.bundle.json"
	raw, err := os.ReadFile(msg)
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, golden, convertChecked(t, msg, raw))
}

// checkGolden compares a Bundle with its golden file (rewritten with
// -update).
func checkGolden(t *testing.T, golden string, bundle []byte) {
	t.Helper()
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, bundle, "", "  "); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	pretty.WriteByte('\n')
	if *update {
		if err := os.WriteFile(golden, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(pretty.Bytes(), want) {
		t.Errorf("the Bundle differs from %s (if the change is right, run with -update and read the diff):\n%s",
			golden, firstDiff(string(want), pretty.String()))
	}
}

// TestBranches converts messages made to take the map's conditional
// branches (testdata/SOURCES.md).
func TestBranches(t *testing.T) {
	const file = "testdata/branches.hl7"
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	b, err := hl7.SplitBatch(data)
	if err != nil {
		t.Fatal(err)
	}
	for i, raw := range b.Messages() {
		t.Run(strconv.Itoa(i+1), func(t *testing.T) { convertChecked(t, file, raw) })
	}
}

// firstDiff shows the first line where two texts differ, with the lines
// before it.
func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	i := 0
	for i < len(w) && i < len(g) && w[i] == g[i] {
		i++
	}
	var b strings.Builder
	for j := max(0, i-3); j < i; j++ {
		b.WriteString("  " + w[j] + "\n")
	}
	if i < len(w) {
		b.WriteString("- " + w[i] + "\n")
	}
	if i < len(g) {
		b.WriteString("+ " + g[i] + "\n")
	}
	return fmt.Sprintf("line %d:\n%s", i+1, b.String())
}

// corpusDir finds the shared HL7 corpus beside the repository: required in
// CI, skipped without it elsewhere.
func corpusDir(t testing.TB) string {
	t.Helper()
	for _, c := range []string{os.Getenv("PLEXUS_CORPUS"), "../../../shared/corpus"} {
		if c == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(c, "INDEX.tsv")); err == nil {
			return c
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("the shared corpus (../shared/corpus) is missing; set PLEXUS_CORPUS")
	}
	t.Skip("shared corpus not found; set PLEXUS_CORPUS to run the corpus tests")
	return ""
}

// TestCorpusADT converts every ADT^A01, A04 and A08 message of the shared
// corpus with adt_a01.
func TestCorpusADT(t *testing.T) {
	n := 0
	walkCorpus(t, func(name string, raw []byte, h hl7.Header) {
		if h.Type != "ADT" || !slices.Contains([]string{"A01", "A04", "A08"}, h.Event) {
			return
		}
		n++
		t.Run(name, func(t *testing.T) { convertChecked(t, name, raw) })
	})
	if n == 0 {
		t.Fatal("no ADT^A01/A04/A08 message in the corpus")
	}
	t.Logf("%d messages", n)
}

// checkKnownErrors says which of a known defect's conversion errors were
// not expected, and which expected ones did not occur.
func checkKnownErrors(t *testing.T, res *transforms.Result, want []string) {
	t.Helper()
	var got []string
	for _, e := range res.Errors {
		got = append(got, e.Error())
	}
	for _, g := range got {
		if !slices.ContainsFunc(want, func(w string) bool { return strings.Contains(g, w) }) {
			t.Errorf("unexpected error: %s", g)
		}
	}
	for _, w := range want {
		if !slices.ContainsFunc(got, func(g string) bool { return strings.Contains(g, w) }) {
			t.Errorf("expected error did not occur: %s", w)
		}
	}
}

// TestDischargeDestination: PV1-37 (DLD) → Encounter.hospitalization.destination,
// a Location of that type.
func TestDischargeDestination(t *testing.T) {
	msg := "MSH|^~\\&|ADT|HOSP|EHR|HOSP|20240301120000-0500||ADT^A03^ADT_A03|DLD-1|P|2.5.1\r" +
		"EVN|A03|20240301120000-0500\r" +
		"PID|1||P7^^^HOSP^MR||Home^Harry||19500101|M\r" +
		"PV1|1|I|W1^101^1^HOSP|||||||||||||||V7^^^HOSP^VN||||||||||||||||||01|SNF&Skilled nursing facility&HL70113^20240301|||||||20240220080000-0500|20240301110000-0500\r"
	b := convertKnown(t, "adt_a03", []byte(msg), nil, "dld")
	s := string(b)
	if !strings.Contains(s, `"destination":{"reference":"urn:uuid:`) || !strings.Contains(s, `"code":"SNF"`) {
		t.Errorf("no discharge destination: %s", s)
	}
}
