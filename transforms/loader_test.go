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

func TestInclude(t *testing.T) {
	fsys := fstest.MapFS{
		"parts/pat.yaml": {Data: []byte(`name: pat
resources:
  - id: p
    resource: Patient
    set:
      gender: table("0001", PID[8])
  - id: o
    resource: Organization
    set:
      name: '"x"'
`)},
		"parts/enc.yaml": {Data: []byte(`name: enc
resources:
  - include: pat
  - id: e
    resource: Encounter
    set:
      status: '"finished"'
      class.code: '"AMB"'
      subject: ref(p)
`)},
		"m.yaml": {Data: []byte(`name: m
bundle: collection
resources:
  - include: enc
  - id: p
    set:
      birthDate: dtm_date(PID[7])
  - id: o
    remove: true
`)},
	}
	r, err := (&Loader{Builtins: fsys}).Load("m")
	if err != nil {
		t.Fatal(err)
	}
	m, err := hl7.Parse([]byte("MSH|^~\\&|A|B|C|D|20240101||ADT^A01|1|P|2.5\rPID|1||1^^^X||DOE^J||19700101|F\r"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Convert(m)
	if err != nil {
		t.Fatal(err, res.Errors)
	}
	b := string(res.Bundle)
	for _, want := range []string{`"gender":"female"`, `"birthDate":"1970-01-01"`, `"resourceType":"Encounter"`} {
		if !strings.Contains(b, want) {
			t.Errorf("bundle lacks %s: %s", want, b)
		}
	}
	if strings.Contains(b, "Organization") {
		t.Error("removed resource still there")
	}

	for name, c := range map[string]struct {
		files map[string]string
		want  string
	}{
		"missing part": {map[string]string{"m.yaml": "name: m\nbundle: batch\nresources:\n  - include: nothere\n"},
			`m:4:14: cannot load the part "nothere" it includes`},
		"part with bundle": {map[string]string{"m.yaml": "name: m\nbundle: batch\nresources:\n  - include: a\n", "parts/a.yaml": "name: a\nbundle: batch\nresources: []\n"},
			`a part holds only name, description and resources`},
		"cycle": {map[string]string{"m.yaml": "name: m\nbundle: batch\nresources:\n  - include: a\n", "parts/a.yaml": "name: a\nresources:\n  - include: b\n", "parts/b.yaml": "name: b\nresources:\n  - include: a\n"},
			`a cycle of extends or includes`},
		"twice": {map[string]string{"m.yaml": "name: m\nbundle: batch\nresources:\n  - include: a\n  - include: a\n", "parts/a.yaml": "name: a\nresources:\n  - id: p\n    resource: Patient\n"},
			`include a: resource "p" is already included`},
		"extra key": {map[string]string{"m.yaml": "name: m\nbundle: batch\nresources:\n  - include: a\n    when: true\n", "parts/a.yaml": "name: a\nresources: []\n"},
			`m:5:5: an include item holds only include: NAME`},
		"error in part": {map[string]string{"m.yaml": "name: m\nbundle: batch\nresources:\n  - include: a\n", "parts/a.yaml": "name: a\nresources:\n  - id: p\n    resource: Patient\n    set:\n      gendr: text(PID[8])\n"},
			`builtin:parts/a:6:7: Patient has no element 'gendr'`},
	} {
		fsys := fstest.MapFS{}
		for n, src := range c.files {
			fsys[n] = &fstest.MapFile{Data: []byte(src)}
		}
		_, err := (&Loader{Builtins: fsys}).Load("m")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
	// Compile alone cannot follow an include.
	if _, err := Compile("x.yaml", []byte("name: x\nbundle: batch\nresources:\n  - include: a\n")); err == nil || !strings.Contains(err.Error(), "include needs a Loader") {
		t.Errorf("Compile with include: %v", err)
	}
}

// TestIncludeByPath includes a part by a path relative to the map.
func TestIncludeByPath(t *testing.T) {
	dir := t.TempDir()
	if err := writeFile(dir+"/p.yaml", "name: p\nresources:\n  - id: p\n    resource: Patient\n    set:\n      gender: table(\"0001\", PID[8])\n"); err != nil {
		t.Fatal(err)
	}
	if err := writeFile(dir+"/m.yaml", "name: m\nbundle: batch\nresources:\n  - include: ./p.yaml\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := (&Loader{}).Load(dir + "/m.yaml"); err != nil {
		t.Fatal(err)
	}
}
