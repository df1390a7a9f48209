package transforms

import (
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/plexus-hl7/plexus/hl7"
	"github.com/plexus-hl7/plexus/internal/fhirvalidate"
)

func TestExtends(t *testing.T) {
	r, err := (&Loader{}).Load("testdata/extends/local.yaml")
	if err != nil {
		t.Fatal(err)
	}
	msg := strings.Replace(oru, "DOE^JANE^Q||", "DOE^JANE^Q|SMITH^ANN|", 1)
	m, err := hl7.Parse([]byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Convert(m)
	if err != nil {
		t.Fatal(err, res.Errors)
	}
	b := string(res.Bundle)
	for _, want := range []string{`"family":"SMITH"`, `"given":["JANE"]`, `"birthDate":"1970-01-01"`, `"resourceType":"Basic"`} {
		if !strings.Contains(b, want) {
			t.Errorf("bundle lacks %s", want)
		}
	}
	if strings.Contains(b, "Observation") {
		t.Error("removed resource still there")
	}
	fhirvalidate.ForTest(t).AssertValid(t, res.Bundle)
}

func TestExtendsBuiltinAndErrors(t *testing.T) {
	base := `name: base
resources:
  - id: p
    resource: Patient
    set:
      gender: table("0001", PID[8])
`
	fsys := fstest.MapFS{"base.yaml": {Data: []byte(base)}}
	l := &Loader{Builtins: fsys}
	if _, err := l.Load("base"); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct{ src, want string }{
		"missing builtin": {"name: x\nextends: nothere\nresources: []\n", `builtin:nothere: no built-in map "nothere"`},
		"changed type":    {"name: x\nextends: base\nresources:\n  - id: p\n    resource: Person\n", `an extension cannot change it to Person`},
		"bad remove":      {"name: x\nextends: base\nresources:\n  - id: q\n    remove: true\n", `remove: the base has no resource "q"`},
		"error in over":   {"name: x\nextends: base\nresources:\n  - id: p\n    set:\n      gendr: text(PID[8])\n", `over.yaml:6:7: Patient has no element 'gendr'`},
	} {
		dir := t.TempDir()
		path := dir + "/over.yaml"
		if err := writeFile(path, c.src); err != nil {
			t.Fatal(err)
		}
		_, err := l.Load(path)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
}

func writeFile(path, content string) error { return os.WriteFile(path, []byte(content), 0o644) }
