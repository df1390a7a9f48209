package fhirjson

import (
	"encoding/json"
	"testing"
)

func TestEmptyValuesVanish(t *testing.T) {
	v := Obj(
		M("resourceType", Str("Patient")),
		M("id", Str("")),
		M("name", Arr(Obj(M("family", Str(""))), Obj(M("given", Arr(Str("Eve"), Str("")))))),
		M("address", Arr()),
		M("active", Bool(false)),
		M("multipleBirthInteger", Int(2)),
		M("x", Num("1.50")),
		M("bad", Num("1.")),
	)
	got := string(v.AppendJSON(nil))
	want := `{"resourceType":"Patient","name":[{"given":["Eve"]}],"active":false,"multipleBirthInteger":2,"x":1.50}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if !Obj(M("a", Str(""))).IsNull() || !Arr(Value{}).IsNull() {
		t.Error("empty object or array is not Null")
	}
}

func TestStringsEscaped(t *testing.T) {
	for in, want := range map[string]string{
		"plain":          `"plain"`,
		"quote\" back\\": `"quote\" back\\"`,
		"line\nfeed\tx":  `"line\nfeed\tx"`,
		"\x01":           `"\u0001"`,
		"é€":             `"é€"`,
		"bad\xffutf":     `"bad` + "\ufffd" + `utf"`,
		"ls\u2028":       `"ls\u2028"`,
	} {
		got := string(AppendString(nil, in))
		if got != want {
			t.Errorf("%q: %s, want %s", in, got, want)
		}
		var back string
		if err := json.Unmarshal([]byte(got), &back); err != nil {
			t.Errorf("%q: not valid JSON: %v", in, err)
		}
	}
}

func TestWithAndAppend(t *testing.T) {
	base := Obj(M("a", Str("1")), M("b", Str("2")))
	changed := base.With("a", Str("x")).With("c", Str("3")).With("b", Value{})
	if got := string(changed.AppendJSON(nil)); got != `{"a":"x","c":"3"}` {
		t.Errorf("With: %s", got)
	}
	if got := string(base.AppendJSON(nil)); got != `{"a":"1","b":"2"}` {
		t.Errorf("base modified: %s", got)
	}
	arr := Str("one").Append(Str("two"), Value{})
	if got := string(arr.AppendJSON(nil)); got != `["one","two"]` {
		t.Errorf("Append: %s", got)
	}
	if base.Get("b").Text() != "2" || !base.Get("z").IsNull() {
		t.Error("Get")
	}
}

func TestIsNumber(t *testing.T) {
	for s, ok := range map[string]bool{"0": true, "-1.5": true, "1e10": true, "1.50": true, "01": false, "1.": false, ".5": false, "": false, "-": false, "1e": false, "+1": false, "NaN": false} {
		if IsNumber(s) != ok {
			t.Errorf("%q: %v", s, !ok)
		}
	}
}
