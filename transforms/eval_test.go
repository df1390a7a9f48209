package transforms

import (
	"fmt"
	"os"
	"reflect"
	"slices"
	"testing"

	"github.com/plexus-hl7/plexus/hl7"
	"github.com/plexus-hl7/plexus/transforms/fhirjson"
)

// fastRules is a rule file of the expression shapes evalNode runs, and of
// some it leaves to the VM, beside the repository's own rule files.
const fastRules = `name: fast
timezone: America/New_York
on_error: partial
resources:
  - id: p
    resource: Patient
    when: 'present(PID) && (msg.event == "A01" || msg.type != "ADT")'
    key: cx(PID[3])
    set:
      gender: 'PID[8] == "F" ? "female" : ("M" == PID[8] ? "male" : (present(PID[8]) ? "unknown" : nil))'
      active: 'PID[30] != "Y" && !(text(PID[5][1]) in ["X", "Y"])'
      name[0].text: 'text(PID[5][2]) + " " + text(PID[5][1]) + "/" + msg.controlId'
      name[0].given: PID[5][2]
      name[0].prefix: '[text(PID[5][5]), "x", PID[5][6], nil]'
      name[0].suffix: 'trim(" " + text(PID[5][4]) + " ")'
      multipleBirthInteger: 'len(text(PID[7])) >= 8 ? len(text(PID[7])) + 1 : nil'
      deceasedBoolean: 'present(PID[29]) or PID[30] == "Y"'
      maritalStatus: '{"text": text(PID[16][2])}'
      telecom: '[xtn(PID[13]), xtn(PID[14])]'
      communication[0].language: 'concept("PrimaryLanguage", PID[15])'
      extension("http://example.org/a").valueCode: 'table("AdministrativeSex", PID[8])'
      extension("http://example.org/b").valueCode: 'table("AdministrativeSex", text(PID[8]))'
      extension("http://example.org/c").valueCoding: 'coding("AdministrativeSex", PID[8])'
      extension("http://example.org/d").valueCode: 'code("AdministrativeSex", PID[8])'
      extension("http://example.org/e").valueDecimal: '1.5'
      extension("http://example.org/f").valueInteger: '1 + 2 * 3'
      extension("http://example.org/g").valueString: 'present(ref(p)) ? text(v("PID-11[2].3")) : "none"'
      generalPractitioner: '[xcn(PD1[4]), xon(PD1[3])]'
`

// TestFastMatchesVM evaluates every expression that evalNode runs both
// ways, at every segment of some messages, and compares the values and the
// warnings and errors they give.
func TestFastMatchesVM(t *testing.T) {
	var all []*Rules
	for _, f := range []string{"testdata/patient.yaml", "testdata/blocks.yaml", "maps/adt_a01.yaml", "maps/oru_r01.yaml"} {
		all = append(all, mustCompileFile(t, f))
	}
	fr, err := Compile("fast.yaml", []byte(fastRules))
	if err != nil {
		t.Fatal(err)
	}
	all = append(all, fr)
	var msgs []*hl7.Message
	for _, f := range []string{"../hl7/testdata/adt_a01.hl7", "maps/testdata/test-conversion-ADT_A01.hl7", "maps/testdata/branches.hl7"} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		b, err := hl7.SplitBatch(data)
		if err != nil {
			t.Fatal(err)
		}
		for _, raw := range b.Messages() {
			m, err := hl7.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			msgs = append(msgs, m)
		}
	}
	m, err := hl7.Parse([]byte(oru))
	if err != nil {
		t.Fatal(err)
	}
	msgs = append(msgs, m)

	fast, total, withErr, withWarn := 0, 0, 0, 0
	for _, r := range all {
		progs := r.programs()
		total += len(progs)
		for _, p := range progs {
			if p.fast != nil {
				fast++
			}
		}
		for _, m := range msgs {
			e := &Env{}
			e.start(r, m)
			for ri, rr := range r.resources {
				e.instances(ri, rr) // for ref()
			}
			for seg := -1; seg < m.Len(); seg++ {
				for _, p := range progs {
					if p.fast == nil {
						continue
					}
					e.at(seg)
					w, n := len(e.warns), len(e.errs)
					want, werr := e.vm.Run(p.p, e)
					wantText, wantOut := show(want), slices.Clone(e.warns[w:])
					wantErrs := showErrs(e.errs[n:])
					w, n = len(e.warns), len(e.errs)
					got, gerr := e.evalNode(p.fast)
					if g := show(got.any()); g != wantText || fmt.Sprint(gerr) != errText(werr) {
						t.Errorf("%s at segment %d: %s\n fast %s %v\n VM   %s %v", p.pos, seg, p.src, g, gerr, wantText, werr)
					}
					if werr != nil || wantErrs != "" {
						withErr++
					}
					if len(wantOut) > 0 {
						withWarn++
					}
					if !slices.Equal(e.warns[w:], wantOut) || showErrs(e.errs[n:]) != wantErrs {
						t.Errorf("%s at segment %d: %s: warnings or errors differ:\n fast %q %s\n VM   %q %s",
							p.pos, seg, p.src, e.warns[w:], showErrs(e.errs[n:]), wantOut, wantErrs)
					}
				}
			}
		}
	}
	if fast < 300 || withErr < 10 || withWarn < 100 {
		t.Errorf("%d expressions run without the VM, %d evaluations with errors, %d with warnings: the test tests little", fast, withErr, withWarn)
	}
	t.Logf("%d of %d expressions run without the VM; %d evaluations with errors, %d with warnings", fast, total, withErr, withWarn)
}

// programs are every expression of the rules.
func (r *Rules) programs() []*program {
	var out []*program
	add := func(p *program) {
		if p != nil {
			out = append(out, p)
		}
	}
	var set func(sr *setRule)
	set = func(sr *setRule) {
		add(sr.prog)
		add(sr.when)
		for _, b := range sr.block {
			set(b)
		}
	}
	for _, rr := range r.resources {
		add(rr.when)
		add(rr.key)
		for _, sr := range rr.sets {
			set(sr)
		}
	}
	return out
}

// show is a value as text: JSON for fhirjson values (whose pointers differ
// between two evaluations), the text of a field.
func show(v any) string {
	switch x := v.(type) {
	case fhirjson.Value:
		return "json " + string(x.AppendJSON(nil))
	case *Field:
		return "field " + x.path.String() + " " + x.String()
	case []any:
		s := "["
		for _, el := range x {
			s += show(el) + ", "
		}
		return s + "]"
	}
	return fmt.Sprintf("%T %v", v, v)
}

func showErrs(errs []*ConvError) string {
	s := ""
	for _, e := range errs {
		s += fmt.Sprintf("%+v; ", *e)
	}
	return s
}

// errText is the error the VM gives, as evalNode gives it: the VM wraps a
// function's error in one that names the place in the expression.
func errText(err error) string {
	if err == nil {
		return "<nil>"
	}
	type wrapped interface{ Unwrap() error }
	if w, ok := err.(wrapped); ok && w.Unwrap() != nil {
		return w.Unwrap().Error()
	}
	return err.Error()
}

// TestHeaderFields checks that evalNode knows every member of msg.
func TestHeaderFields(t *testing.T) {
	var h Header
	v := reflect.ValueOf(&h).Elem()
	for i := range v.NumField() {
		v.Field(i).SetString(fmt.Sprint("value ", i))
	}
	for i := range v.NumField() {
		name := v.Type().Field(i).Tag.Get("expr")
		get, ok := headerFields[name]
		if !ok {
			t.Errorf("msg.%s is missing from headerFields", name)
			continue
		}
		if got := get(&h); got != v.Field(i).String() {
			t.Errorf("msg.%s gives %q, want %q", name, got, v.Field(i).String())
		}
	}
	if len(headerFields) != v.NumField() {
		t.Errorf("headerFields has %d members, Header %d", len(headerFields), v.NumField())
	}
}

// FuzzFastMatchesVM compiles an expression and, when evalNode runs it,
// compares it with the VM at every segment of the IG's ADT_A01.
func FuzzFastMatchesVM(f *testing.F) {
	for _, file := range []string{"testdata/patient.yaml", "testdata/blocks.yaml", "maps/adt_a01.yaml", "maps/oru_r01.yaml"} {
		for _, p := range mustCompileFile(f, file).programs() {
			f.Add(p.src)
		}
	}
	fr, err := Compile("fast.yaml", []byte(fastRules))
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range fr.programs() {
		f.Add(p.src)
	}
	data, err := os.ReadFile("maps/testdata/test-conversion-ADT_A01.hl7")
	if err != nil {
		f.Fatal(err)
	}
	m, err := hl7.Parse(data)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, src string) {
		c := &compiler{r: &Rules{Name: "fuzz", partial: len(src)%2 == 0}, sids: map[string]int{},
			resourceIDs: map[string]bool{"p": true}, order: map[string]int{"p": 0}}
		p := c.expr(&scalar{text: src, pos: Pos{File: "fuzz"}}, nil, nil)
		if p == nil || p.fast == nil {
			return
		}
		c.r.segIDs = make([]string, len(c.sids))
		for id, n := range c.sids {
			c.r.segIDs[n] = id
		}
		c.r.assignSlots()
		c.r.resources = []*resourceRule{{id: "p", typ: "Patient", foreach: -1}}
		e := &Env{}
		e.start(c.r, m)
		e.instances(0, c.r.resources[0])
		for seg := -1; seg < m.Len(); seg++ {
			e.at(seg)
			w, n := len(e.warns), len(e.errs)
			want, werr := e.vm.Run(p.p, e)
			wantText, wantOut, wantErrs := show(want), slices.Clone(e.warns[w:]), showErrs(e.errs[n:])
			w, n = len(e.warns), len(e.errs)
			got, gerr := e.evalNode(p.fast)
			if g := show(got.any()); g != wantText || fmt.Sprint(gerr) != errText(werr) {
				t.Fatalf("%s at segment %d:\n fast %s %v\n VM   %s %v", src, seg, g, gerr, wantText, werr)
			}
			if !slices.Equal(e.warns[w:], wantOut) || showErrs(e.errs[n:]) != wantErrs {
				t.Fatalf("%s at segment %d: warnings or errors differ:\n fast %q %s\n VM   %q %s", src, seg, e.warns[w:], showErrs(e.errs[n:]), wantOut, wantErrs)
			}
		}
	})
}
