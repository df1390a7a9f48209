package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runMaps runs `plexus maps ...`, adding the command to the root when
// main.go does not list it yet.
func runMaps(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	root := newRootCmd()
	if c, _, err := root.Find([]string{"maps"}); err != nil || c == root {
		root.AddCommand(newMapsCmd())
	}
	var out, errb bytes.Buffer
	root.SetArgs(append([]string{"maps"}, args...))
	root.SetOut(&out)
	root.SetErr(&errb)
	err := root.Execute()
	return out.String(), errb.String(), err
}

func igForTest(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("PLEXUS_IG")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "v2-to-fhir")
	}
	if _, err := os.Stat(filepath.Join(dir, "segments")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the IG's mapping tables are missing (%v); set PLEXUS_IG", err)
		}
		t.Skipf("IG mapping tables not found (%v); set PLEXUS_IG to run this test", err)
	}
	return dir
}

func TestMapsCoverageSummary(t *testing.T) {
	ig := igForTest(t)
	out, errs, err := runMaps(t, "coverage", "--ig", ig, "--src", filepath.Join("..", "..", "transforms", "datatype"))
	if err != nil {
		t.Fatalf("%v\n%s", err, errs)
	}
	for _, want := range []string{"MAP", "IMPLEMENTED", "adt_a01  ADT_A01", "oru_r01  ORU_R01", "data type maps: "} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestMapsCoverageMarkdown: the command prints what the test in
// transforms/maps checks COVERAGE.md against.
func TestMapsCoverageMarkdown(t *testing.T) {
	ig := igForTest(t)
	out, errs, err := runMaps(t, "coverage", "--markdown", "--ig", ig, "--src", filepath.Join("..", "..", "transforms", "datatype"))
	if err != nil {
		t.Fatalf("%v\n%s", err, errs)
	}
	want, err := os.ReadFile(filepath.Join("..", "..", "transforms", "maps", "COVERAGE.md"))
	if err != nil {
		t.Fatal(err)
	}
	if out != string(want) {
		t.Errorf("the output differs from transforms/maps/COVERAGE.md (regenerate it: go test ./transforms/maps -run TestCoverage -update)")
	}
}

func TestMapsCoverageNoIG(t *testing.T) {
	_, _, err := runMaps(t, "coverage", "--ig", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "pass --ig DIR") {
		t.Errorf("error %v, want one saying to pass --ig", err)
	}
}
