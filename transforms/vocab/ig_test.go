package vocab_test

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plexus-hl7/plexus/transforms/vocab"
	"github.com/plexus-hl7/plexus/transforms/vocab/internal/vocabgen"
)

// igDir finds the IG's mapping tables (the folder holding vocabulary/):
// $PLEXUS_IG, else ../shared/v2-to-fhir beside the repository. Without them
// the tests that compare the embedded data with the CSVs skip, except in CI
// (CI=true), where skipping would hide that they never ran.
func igDir(t *testing.T) string {
	dir := os.Getenv("PLEXUS_IG")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "v2-to-fhir")
	}
	if _, err := os.Stat(filepath.Join(dir, vocabgen.VocabDir)); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the IG's mapping tables are missing (%v); set PLEXUS_IG to the v2-to-fhir folder", err)
		}
		t.Skipf("IG mapping tables not found (%v); set PLEXUS_IG to run this test", err)
	}
	return dir
}

// TestCSVs reads every vocabulary CSV again, independently of the
// generator, and checks that the embedded data has each file as a map with
// the same number of data rows (records after the two header rows) and the
// same v2 and FHIR codes in each row.
func TestCSVs(t *testing.T) {
	dir := filepath.Join(igDir(t), vocabgen.VocabDir)
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files, rows := 0, 0
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".csv") {
			continue
		}
		files++
		name, ok := strings.CutPrefix(e.Name(), "HL7 Concept Map_ ")
		if i := strings.LastIndex(name, " - "); ok && i > 0 {
			name = name[:i]
		} else {
			t.Errorf("%s: unexpected file name", e.Name())
			continue
		}
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(f).ReadAll()
		f.Close()
		if err != nil || len(recs) < 2 {
			t.Errorf("%s: %v (%d records)", e.Name(), err, len(recs))
			continue
		}
		m, ok := vocab.Lookup(name)
		if !ok || m.Name != name || m.Source != e.Name() {
			t.Errorf("%s: not embedded as map %q (%v)", e.Name(), name, m)
			continue
		}
		data := recs[2:]
		rows += len(data)
		if got := len(m.Rows()); got != len(data) {
			t.Errorf("%s: %d rows embedded, the CSV has %d", name, got, len(data))
			continue
		}
		// Column 0 is the v2 code in every layout; the FHIR code is the
		// second column named Code.
		fhirCode := -1
		for i, h := range recs[1] {
			if h == "Code" && i > 0 {
				fhirCode = i
				break
			}
		}
		if recs[1][0] != "Code" || fhirCode < 0 {
			t.Errorf("%s: header %q", name, recs[1])
			continue
		}
		for i, r := range data {
			got := m.Rows()[i]
			if want := strings.TrimSpace(r[0]); got.V2.Code != want {
				t.Errorf("%s row %d: v2 code %q, CSV %q", name, i+3, got.V2.Code, want)
			}
			if want := strings.TrimSpace(r[fhirCode]); got.FHIR.Code != want {
				t.Errorf("%s row %d: FHIR code %q, CSV %q", name, i+3, got.FHIR.Code, want)
			}
		}
	}
	if files != len(vocab.Maps()) {
		t.Errorf("%d CSV files, %d maps embedded", files, len(vocab.Maps()))
	}
	t.Logf("%d files, %d rows", files, rows)
}

// TestGenerated regenerates the data from the IG into a temporary folder and
// compares it byte for byte with the files in the package: the committed data
// is what the generator makes of the IG, and the generator is reproducible.
func TestGenerated(t *testing.T) {
	dir := igDir(t)
	out := t.TempDir()
	files, _, _, err := vocabgen.Generate(dir)
	if err != nil {
		t.Fatal(err)
	}
	again, _, _, err := vocabgen.Generate(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{vocabgen.DataFile, vocabgen.GoFile} {
		if !bytes.Equal(files[name], again[name]) {
			t.Errorf("%s: two runs of the generator differ", name)
		}
		if err := os.WriteFile(filepath.Join(out, name), files[name], 0o644); err != nil {
			t.Fatal(err)
		}
		fresh, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		committed, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(fresh, committed) {
			t.Errorf("%s is stale (%d bytes, regenerated %d): run go generate ./transforms/vocab", name, len(committed), len(fresh))
		}
	}
	if len(files) != 2 {
		t.Errorf("the generator wrote %d files", len(files))
	}
}
