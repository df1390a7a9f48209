package fhir

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestWalkRefsKeepsTheRest(t *testing.T) {
	const in = `{"resourceType":"Observation","valueQuantity":{"value":1.50,"comparator":"<"},"note":[{"text":"a \"quoted\" \\ line\nnext\u0001 – é \u2028"}],` +
		`"subject":{"reference":"urn:uuid:p1","display":"urn:uuid:p1"},"hasMember":[{"reference":"urn:uuid:x"},{"reference":"Observation/2"}],"flag":true,"nothing":null,"n":-1e3}`
	var b bytes.Buffer
	var seen []string
	err := walkRefs([]byte(in), &b, func(ref string) (string, bool) {
		seen = append(seen, ref)
		if ref == "urn:uuid:p1" {
			return "Patient/9", true
		}
		return "", false
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(seen, " ") != "urn:uuid:p1 urn:uuid:x Observation/2" {
		t.Errorf("references visited: %q", seen)
	}
	want := strings.Replace(in, `"reference":"urn:uuid:p1"`, `"reference":"Patient/9"`, 1)
	got := b.String()
	// Same JSON, and the same text where nothing was replaced: decimals,
	// member order and <, > and & unescaped.
	var g, w any
	if json.Unmarshal([]byte(got), &g) != nil || json.Unmarshal([]byte(want), &w) != nil || !reflect.DeepEqual(g, w) {
		t.Errorf("rewritten\n%s\nwant\n%s", got, want)
	}
	for _, s := range []string{`"value":1.50`, `"comparator":"<"`, `"display":"urn:uuid:p1"`, `"n":-1e3`, `\u0001`, `{"resourceType":"Observation","valueQuantity"`} {
		if !strings.Contains(got, s) {
			t.Errorf("rewritten text lacks %s:\n%s", s, got)
		}
	}
	if err := walkRefs([]byte(`{"a":1} {}`), nil, nil); err == nil {
		t.Error("trailing data accepted")
	}
	if err := walkRefs([]byte(`{"a":`), nil, nil); err == nil {
		t.Error("truncated JSON accepted")
	}
}

func TestWalkRefsBuiltInBundle(t *testing.T) {
	bundle, err := os.ReadFile("../../transforms/maps/testdata/test-conversion-ADT_A01.bundle.json")
	if err != nil {
		t.Skipf("the transforms' sample Bundle: %v", err)
	}
	var b bytes.Buffer
	if err := walkRefs(bundle, &b, func(string) (string, bool) { return "", false }); err != nil {
		t.Fatal(err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, bundle); err != nil {
		t.Fatal(err)
	}
	if b.String() != compact.String() {
		t.Error("copying the Bundle without replacements changed more than whitespace")
	}
}

func TestMembersSet(t *testing.T) {
	ms, err := members([]byte(` {"resourceType":"Bundle", "entry":[ 1, 2 ],"id":"x"} `))
	if err != nil {
		t.Fatal(err)
	}
	ms = set(ms, "type", json.RawMessage(`"batch"`), "id")
	ms = set(ms, "entry", json.RawMessage(`[]`), "")
	ms = set(ms, "meta", json.RawMessage(`{}`), "absent")
	if got := string(encodeObject(ms)); got != `{"meta":{},"resourceType":"Bundle","entry":[],"id":"x","type":"batch"}` {
		t.Errorf("got %s", got)
	}
	if _, err := members([]byte(`[1]`)); err == nil {
		t.Error("an array accepted as an object")
	}
}
