package fhir

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/plexus-hl7/plexus/internal/npmtest"
)

func TestDecodeRejectsDamage(t *testing.T) {
	if _, err := decode(modelData); err != nil {
		t.Fatal(err)
	}
	try := func(what string, data string) {
		t.Helper()
		defer func() {
			if p := recover(); p != nil {
				t.Errorf("%s: panic %v", what, p)
			}
		}()
		if _, err := decode(data); err == nil && what != "flipped" {
			t.Errorf("%s: no error", what)
		}
	}
	for n := 0; n < len(modelData); n += 1 + n/8 {
		try("truncated", modelData[:n])
	}
	try("extended", modelData+"\x00")
	b := []byte(modelData)
	for i := 8; i < len(b); i += 997 {
		c := bytes.Clone(b)
		c[i] ^= 0xff
		try("flipped", string(c))
	}
}

// TestGeneratedUpToDate regenerates the model into a temporary directory and
// compares it with the committed files. It needs the pinned definitions
// (cd internal/gen && npm ci); without them it is skipped.
func TestGeneratedUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	if err := npmtest.Install(filepath.Join("internal", "gen")); err != nil {
		t.Skipf("cannot install the pinned definitions: %v", err)
	}
	defs := filepath.Join("internal", "gen", "node_modules", "@medplum", "definitions", "dist", "fhir", "r4")
	if _, err := os.Stat(defs); err != nil {
		t.Skip("no node_modules: run npm ci in transforms/fhir/internal/gen to check the generated model")
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	out := t.TempDir()
	cmd := exec.Command(goCmd, "run", "./internal/gen", "-defs", defs, "-out", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("generator: %v\n%s", err, b)
	}
	for _, name := range []string{"zz_generated_model.bin", "zz_generated_model.go"} {
		want, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is out of date: run go generate ./transforms/fhir", name)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decode(modelData); err != nil {
			b.Fatal(err)
		}
	}
}
