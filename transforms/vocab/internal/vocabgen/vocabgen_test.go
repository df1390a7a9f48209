package vocabgen

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	inventory = "Code System,v2 Table,Status,Owner,Comment,Link\r\n" +
		"AdministrativeSex,HL70001,Ready for Ballot,,,\r\n" +
		"Yes/NoIndicator,HL70136,Ready for Ballot,,,\r\n" +
		"InterpretationCode,HL70078,Ready for Ballot,,,\r\n" +
		"Race,,Under Construction,,,\r\n"
	head12 = "HL7 v2,,,Condition (IF True),,,HL7 FHIR,,,,,Comments\r\n" +
		"Code,Text,Code System,Computable ANTLR,Computable FHIRPath,Narrative,Code,,Display,Code System,,\r\n"
	head8 = "HL7 v2,,,Condition (IF TRUE),,HL7 FHIR,,\r\n" +
		"Code,Text,Code System,Computable,Narrative,Code,Display,Code System\r\n"
)

// ig writes a small IG folder: the inventory and the given vocabulary files.
func ig(t *testing.T, files map[string]string) string {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, VocabDir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, InventoryFile), []byte(inventory), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, body := range files {
		p := filepath.Join(dir, VocabDir, "HL7 Concept Map_ "+name+" - Sheet1.csv")
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestRead(t *testing.T) {
	dir := ig(t, map[string]string{
		"AdministrativeSex": head12 +
			"F,Female,HL70001,,,,female,,Female, http://hl7.org/fhir/administrative-gender,,\r\n" +
			"\"X\",\"two\nlines\",HL7-0001,,,,,,,,,\"a comment\"\r\n" +
			",,,,,,,,,,,\r\n",
		"YesNoIndicator":      head8 + "Y,Yes,HL0136,,,true,,\r\n",
		"InterpretationCodes": head12 + "<\u00a0,Off scale low,HL70078,,,,<,,Off scale low,http://x,,\r\n",
	})
	g, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Maps) != 3 {
		t.Fatalf("%d maps", len(g.Maps))
	}
	sex, yn, ic := g.Maps[0], g.Maps[2], g.Maps[1]
	if sex.Name != "AdministrativeSex" || sex.Table != "0001" || sex.Status != "Ready for Ballot" || len(sex.Rows) != 3 {
		t.Errorf("AdministrativeSex: %+v", sex)
	}
	if r := sex.Rows[0]; r[FHIRSystem] != "http://hl7.org/fhir/administrative-gender" ||
		r[V2System] != "http://terminology.hl7.org/CodeSystem/v2-0001" {
		t.Errorf("row 0: %q", r)
	}
	if r := sex.Rows[1]; r[V2Display] != "two\nlines" || r[Comment] != "a comment" || r[V2System] != "http://terminology.hl7.org/CodeSystem/v2-0001" {
		t.Errorf("row 1: %q", r)
	}
	if yn.Name != "YesNoIndicator" || yn.InventoryName != "Yes/NoIndicator" || yn.Table != "0136" ||
		yn.Rows[0][FHIRCode] != "true" || yn.Rows[0][V2System] != "http://terminology.hl7.org/CodeSystem/v2-0136" {
		t.Errorf("YesNoIndicator: %+v", yn)
	}
	if ic.InventoryName != "InterpretationCode" || ic.Table != "0078" || ic.Rows[0][V2Code] != "<" {
		t.Errorf("InterpretationCodes: %+v", ic)
	}
	planned := 0
	for _, e := range g.Inventory {
		if e.Map == "" {
			planned++
		}
	}
	if len(g.Inventory) != 4 || planned != 1 {
		t.Errorf("inventory %+v", g.Inventory)
	}

	a, _ := Encode(g)
	b, st := Encode(g)
	if string(a) != string(b) || st.Rows != 5 || st.Maps != 3 || !strings.HasPrefix(string(a), magic) {
		t.Errorf("encode: %d bytes, %+v", len(a), st)
	}
}

// TestReadErrors: what the generator does not understand stops it.
func TestReadErrors(t *testing.T) {
	for want, files := range map[string]map[string]string{
		`unknown column "Value"`: {"AdministrativeSex": "HL7 v2,,,HL7 FHIR,\r\nCode,Value,Code System,Code,Display\r\n"},
		`unknown group "Notes"`:  {"AdministrativeSex": "HL7 v2,Notes\r\nCode,\r\n"},
		`"oops" in a column without a name`: {"AdministrativeSex": head12 +
			"F,Female,HL70001,,,,female,,Female,http://x,oops,\r\n"},
		`v2 code system "0001x" is not a table number`: {"AdministrativeSex": head12 +
			"F,Female,0001x,,,,female,,Female,http://x,,\r\n"},
		`v2 code "F" without a code system`: {"AdministrativeSex": head12 +
			"F,Female,,,,,female,,Female,http://x,,\r\n"},
		"but the map's table is 0001": {"AdministrativeSex": head12 +
			"F,Female,HL70002,,,,female,,Female,http://x,,\r\n"},
		"wrong number of fields":            {"AdministrativeSex": head12 + "F,Female\r\n"},
		"have the same key":                 {"YesNoIndicator": head8, "Yes NoIndicator": head8},
		"no v2 Code or no FHIR Code column": {"AdministrativeSex": "HL7 v2,HL7 FHIR\r\nText,Display\r\n"},
		"fewer than two header rows":        {"AdministrativeSex": "HL7 v2,HL7 FHIR\r\n"},
	} {
		_, err := Read(ig(t, files))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want error %q, got %v", want, err)
		}
	}
	dir := ig(t, nil)
	if err := os.WriteFile(filepath.Join(dir, VocabDir, "notes.csv"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(dir); err == nil || !strings.Contains(err.Error(), "not a vocabulary map file name") {
		t.Errorf("notes.csv: %v", err)
	}
	if _, err := Read(ig(t, nil)); err == nil || !strings.Contains(err.Error(), "no vocabulary maps") {
		t.Errorf("no maps: %v", err)
	}
}
