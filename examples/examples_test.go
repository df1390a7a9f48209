package examples_test

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	// The destination kinds, registered as cmd/plexus/kinds.go does.
	_ "github.com/plexus-hl7/plexus/channels/fhir"
	_ "github.com/plexus-hl7/plexus/channels/file"
	_ "github.com/plexus-hl7/plexus/channels/kafka"
	_ "github.com/plexus-hl7/plexus/channels/mllp"

	"github.com/plexus-hl7/plexus/engine/config"
	"github.com/plexus-hl7/plexus/hl7"
	"github.com/plexus-hl7/plexus/transforms"
	"github.com/plexus-hl7/plexus/transforms/maps"
)

// expectedWarnings lists, per routes file, the warnings it is meant to
// have (a substring of each). Any other warning fails the test, and so does
// an expected one that no longer occurs, so the list stays true.
var expectedWarnings = map[string][]string{
	// A bearer token to the local HAPI over http: the example says why.
	"fhir-server/routes.yaml": {"credentials would be sent over plain http"},
}

// routeFiles returns every routes file of every example directory: the
// routes.yaml and any other YAML next to it (variants, stand-ins).
func routeFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no examples/*/*.yaml found")
	}
	return files
}

func TestRouteFilesLoad(t *testing.T) {
	// the variables the examples' secrets name, as an operator would set
	// them (an unset one is a warning of its own)
	for _, v := range []string{"FHIR_TOKEN", "KAFKA_PASSWORD"} {
		t.Setenv(v, "test-value")
	}
	for _, f := range routeFiles(t) {
		name := filepath.ToSlash(f)
		t.Run(name, func(t *testing.T) {
			cfg, err := config.Load(f)
			if err != nil {
				t.Fatalf("config.Load:\n%v", err)
			}
			want := expectedWarnings[name]
			seen := make([]bool, len(want))
			for _, w := range cfg.Warnings {
				if strings.Contains(w.Msg, "secret written inline") {
					t.Errorf("inline secret: %v (use ${ENV_VAR} or the *_file key)", w)
					continue
				}
				i := slices.IndexFunc(want, func(s string) bool { return strings.Contains(w.Msg, s) })
				if i < 0 {
					t.Errorf("unexpected warning: %v", w)
					continue
				}
				seen[i] = true
			}
			for i, s := range want {
				if !seen[i] {
					t.Errorf("expected warning %q did not occur: update expectedWarnings", s)
				}
			}
		})
	}
}

// Every example directory is a route set: a routes.yaml to run and a
// README.md that says how.
func TestRouteSetsAreComplete(t *testing.T) {
	ents, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !e.IsDir() || e.Name() == "messages" {
			continue
		}
		for _, f := range []string{"routes.yaml", "README.md"} {
			if _, err := os.Stat(filepath.Join(e.Name(), f)); err != nil {
				t.Errorf("%s: %v", e.Name(), err)
			}
		}
	}
}

func TestMessages(t *testing.T) {
	files, err := filepath.Glob("messages/*.hl7")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no examples/messages/*.hl7 found")
	}
	controlIDs := map[string]string{}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			// As on the wire: segments end in CR. A file edited into LF
			// would still parse, but a raw route would forward the LFs.
			if bytes.ContainsRune(raw, '\n') {
				t.Errorf("has LF line ends; segments must end in CR only")
			}
			b, err := hl7.SplitBatch(raw)
			if err != nil {
				t.Fatal(err)
			}
			if n := len(b.Messages()); n != 1 {
				t.Fatalf("holds %d messages, want 1", n)
			}
			m, err := hl7.Parse(raw)
			if err != nil {
				t.Fatalf("hl7.Parse: %v", err)
			}
			h := m.Header()
			// The journal takes a repeated sender and MSH-10 for a resend
			// and does not route it: each sample needs its own.
			if prev, dup := controlIDs[h.ControlID]; dup {
				t.Errorf("MSH-10 %q is also %s's", h.ControlID, prev)
			}
			controlIDs[h.ControlID] = f
			// The route sets send them through `transform: builtin`: each
			// converts cleanly with the built-in map of its structure.
			name, err := maps.Select(h)
			if err != nil {
				t.Fatal(err)
			}
			rules, err := (&transforms.Loader{Builtins: maps.FS}).Load(name)
			if err != nil {
				t.Fatal(err)
			}
			res, err := rules.Convert(m)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if len(res.Errors) > 0 || len(res.Warnings) > 0 {
				t.Errorf("%s: errors %v, warnings %v", name, res.Errors, res.Warnings)
			}
		})
	}
}
