package maps_test

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/plexus-hl7/plexus/hl7"
	"github.com/plexus-hl7/plexus/internal/fhirvalidate"
	"github.com/plexus-hl7/plexus/transforms/maps"
)

// walkCorpus calls fn for every message of the shared corpus (batch files
// split; malformed/ and messages whose header does not parse left out), named by its path under the corpus and, in
// a file of several, #n.
func walkCorpus(t testing.TB, fn func(name string, raw []byte, h hl7.Header)) {
	t.Helper()
	dir := corpusDir(t)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			if rel == "malformed" {
				return filepath.SkipDir // inputs that must not parse
			}
			return nil
		}
		if !strings.HasSuffix(p, ".hl7") {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		b, err := hl7.SplitBatch(data)
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			return nil
		}
		for i, raw := range b.Messages() {
			h, err := hl7.ParseHeader(raw)
			if err != nil {
				// Without MSH-9 or MSH-10 the engine rejects the message
				// at ingest (AR with ERR); the hl7 and engine tests check
				// that, there is nothing to convert.
				continue
			}
			name := rel
			if len(b.Messages()) > 1 {
				name += "#" + strconv.Itoa(i+1)
			}
			fn(name, raw, h)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// corpusDefects lists, by map and then by file name (base name, #n for a
// message of a batch file), the corpus messages that do not convert with
// the built-in maps because the message itself is wrong, and the errors
// they must give (as knownDefects does for adt_a01). Test files of the
// maps add their entries in init.
var corpusDefects = map[string]map[string][]string{}

// corpusCovered are the maps whose corpus messages their own tests convert
// with more checks (TestCorpusADT, TestCorpusORU).
var corpusCovered = map[string]bool{"adt_a01": true, "oru_r01": true}

// TestCorpusAll converts every message of the shared corpus with the map
// maps.Select picks for it, the way `transform: builtin` does: each Bundle
// must be valid FHIR R4 for the independent validator and the same on a
// second conversion; a message of a structure without a map must get the
// "no built-in map" answer.
func TestCorpusAll(t *testing.T) {
	converted := map[string]int{}
	var unmapped []string
	walkCorpus(t, func(name string, raw []byte, h hl7.Header) {
		mapName, err := maps.Select(h)
		if err != nil {
			if !strings.Contains(err.Error(), "no built-in map for "+strings.ToUpper(h.Type+"^"+h.Event)) {
				t.Errorf("%s: %v", name, err)
			}
			unmapped = append(unmapped, h.Type+"^"+h.Event)
			return
		}
		if corpusCovered[mapName] {
			return
		}
		converted[mapName]++
		t.Run(name, func(t *testing.T) { convertCorpus(t, mapName, filepath.Base(name), raw) })
	})
	t.Logf("converted per map: %v; without a map: %v", converted, unmapped)
}

// convertCorpus converts one corpus message with map mapName and checks
// it as TestCorpusAll says.
func convertCorpus(t *testing.T, mapName, file string, raw []byte) {
	t.Helper()
	convertKnown(t, mapName, raw, corpusDefects[mapName][file], file)
}

// convertKnown converts one message with map mapName and checks it: no
// conversion error, unless the message is a known defect (want holds its
// errors: then exactly those, and the Bundle of on_error: partial instead);
// a valid Bundle for the independent validator; the same Bundle on a
// second conversion. It returns the Bundle. name is the message's name for
// the defect lists.
func convertKnown(t *testing.T, mapName string, raw []byte, want []string, name string) []byte {
	t.Helper()
	m, err := hl7.Parse(raw)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	r := rules(t, mapName, false)
	res, err := r.Convert(m)
	defect := want != nil
	switch {
	case err == nil && defect:
		t.Fatalf("%s converts now; remove it from the known defects (%q)", name, want)
	case err != nil && !defect:
		t.Fatalf("%v\nall errors: %v", err, res.Errors)
	case err != nil:
		checkKnownErrors(t, res, want)
		r = rules(t, mapName, true)
		if res, err = r.Convert(m); err != nil || res.Bundle == nil {
			t.Fatalf("on_error: partial: %v", err)
		}
	}
	again, err := r.Convert(m)
	if err != nil || !bytes.Equal(again.Bundle, res.Bundle) {
		t.Errorf("a second conversion differs (%v):\n%s\n%s", err, res.Bundle, again.Bundle)
	}
	t.Logf("%d resources, %d warnings", res.Resources, len(res.Warnings))
	if os.Getenv("PLEXUS_DUMP") != "" {
		var pretty bytes.Buffer
		_ = json.Indent(&pretty, res.Bundle, "", "  ")
		t.Logf("warnings: %q\n%s", res.Warnings, pretty.Bytes())
	}
	fhirvalidate.ForTest(t).AssertValid(t, res.Bundle)
	return res.Bundle
}

// convertSelected converts one test message with the map maps.Select
// picks for it, which must be wantMap, checks it as convertKnown does
// (want: its known errors, nil for none), and converts it once more with
// the rules loaded afresh (a replay after a restart): the same bytes.
func convertSelected(t *testing.T, raw []byte, wantMap string, want []string, name string) []byte {
	t.Helper()
	h, err := hl7.ParseHeader(raw)
	if err != nil {
		t.Fatalf("header: %v", err)
	}
	mapName, err := maps.Select(h)
	if err != nil || mapName != wantMap {
		t.Fatalf("maps.Select(%s^%s^%s) = %q, %v; want %q", h.Type, h.Event, h.Structure, mapName, err, wantMap)
	}
	bundle := convertKnown(t, mapName, raw, want, name)
	if want == nil {
		m, err := hl7.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		fresh, err := rules(t, mapName, false).Convert(m)
		if err != nil || !bytes.Equal(fresh.Bundle, bundle) {
			t.Errorf("a conversion by rules loaded afresh differs (%v):\n%s\n%s", err, bundle, fresh.Bundle)
		}
	}
	return bundle
}

// testMessages reads a test file's messages (one, or a batch).
func testMessages(t *testing.T, file string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	b, err := hl7.SplitBatch(data)
	if err != nil {
		t.Fatal(err)
	}
	return b.Messages()
}
