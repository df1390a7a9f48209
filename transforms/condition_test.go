package transforms

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/plexus-hl7/plexus/hl7"
)

// compileWhen compiles the value of the first key of a one-line YAML map.
func compileWhen(t *testing.T, src string) (*Condition, error) {
	t.Helper()
	f, err := parser.ParseBytes([]byte(src), 0)
	if err != nil {
		t.Fatal(err)
	}
	mv := f.Docs[0].Body.(*ast.MappingNode).Values[0]
	return CompileCondition("routes.yaml", mv.Value)
}

func TestCondition(t *testing.T) {
	m, err := hl7.Parse([]byte("MSH|^~\\&|EPIC|HOSP|||20240101||ADT^A01^ADT_A01|1|P|2.5\rPID|1||123^^^MRN||DOE^JANE\rPV1|1|I\r"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		src  string
		want bool
	}{
		{`when: msg.type == "ADT" && msg.event in ["A01", "A04"]`, true},
		{`when: msg.event == "A03"`, false},
		{`when: PV1[2] == "I"`, true},
		{`when: PV1[2] == "O"`, false},
		{`when: present(PID) && !present(OBX)`, true},
		{`when: v("PID-3.4") == "MRN"`, true},
		{`when: msg.sendingApp startsWith "EP"`, true},
	} {
		c, err := compileWhen(t, tc.src)
		if err != nil {
			t.Fatalf("%s: %v", tc.src, err)
		}
		got, err := c.Eval(m)
		if err != nil || got != tc.want {
			t.Errorf("%s = %v, %v; want %v", tc.src, got, err, tc.want)
		}
	}
}

func TestConditionErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{`when: msg.typ == "ADT"`, "routes.yaml:1:"},
		{`when: PID[3]`, "routes.yaml:1:7"},
		{`when: "msg.type +"`, "routes.yaml:1:"},
		{`when: ref(patient)`, "no resource"},
		{`when: cx(PID[3]) == 1`, "routes.yaml:1:"},
	} {
		_, err := compileWhen(t, tc.src)
		var le LoadErrors
		if !errors.As(err, &le) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want LoadErrors containing %q", tc.src, err, tc.want)
		}
	}
}

// TestConditionEvalError checks that a condition that fails on a message
// says so as the expression machine does, naming the place in the
// expression, also when it runs without it.
func TestConditionEvalError(t *testing.T) {
	m, err := hl7.Parse([]byte("MSH|^~\\&|EPIC|HOSP|||20240101||ADT^A01^ADT_A01|1|P|2.5\rEVN|A01|not a date\r"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := compileWhen(t, `when: present(dtm(EVN[2])) && msg.type == "ADT"`)
	if err != nil {
		t.Fatal(err)
	}
	if c.p.fast == nil {
		t.Fatal("the condition does not run without the VM: the test tests nothing")
	}
	_, err = c.Eval(m)
	e := &Env{}
	e.start(c.r, m)
	_, vmErr := e.vm.Run(c.p.p, e)
	if err == nil || vmErr == nil {
		t.Fatalf("no error: %v, %v", err, vmErr)
	}
	if want := fmt.Sprintf("when %s: %v", c.p.src, vmErr); err.Error() != want || !strings.Contains(want, "(1:") {
		t.Errorf("error\n%v\nwant\n%s", err, want)
	}
}

func TestText(t *testing.T) {
	m, err := hl7.Parse([]byte("MSH|^~\\&|EPIC|HOSP|||20240101||ADT^A01^ADT_A01|1|P|2.5\rPID|1||123^^^MRN~456^^^SSN||DOE^JANE|||||||||||||ACC9\rPV1|1|I\r"))
	if err != nil {
		t.Fatal(err)
	}
	for src, want := range map[string]string{
		`key: PID[18]`:         "ACC9",
		`key: v("PID-3[2].1")`: "456",
		`key: msg.sendingFacility + "/" + text(PV1[2])`: "HOSP/I",
		`key: len(text(v("PID-3[1].1")))`:               "3",
		`key: v("PID-19")`:                              "",
	} {
		f, err := parser.ParseBytes([]byte(src), 0)
		if err != nil {
			t.Fatal(err)
		}
		x, err := CompileText("routes.yaml", f.Docs[0].Body.(*ast.MappingNode).Values[0].Value, "key")
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		got, err := x.Eval(m)
		if err != nil || got != want {
			t.Errorf("%s = %q, %v; want %q", src, got, err, want)
		}
	}
}
