package maps_test

import (
	"strings"
	"testing"
)

// TestOMLPriorResults: an OML_O21 with a PRIOR_RESULT group (an earlier
// patient record, allergy, order and observation sent for context) makes
// resources for the order only: the message map gives prior results no
// target.
func TestOMLPriorResults(t *testing.T) {
	msg := "MSH|^~\\&|CPOE|HOSP|LIS|LAB|20240301120000-0500||OML^O21^OML_O21|PRIOR-1|P|2.5.1\r" +
		"PID|1||P5^^^HOSP^MR||Order^Olga||19700101|F\r" +
		"ORC|NW|PL5^CPOE||||||||||1234^Doc^Dana\r" +
		"OBR|1|PL5^CPOE||2345-7^Glucose^LN|||20240301110000-0500\r" +
		"OBX|1|NM|8302-2^Body height^LN||170|cm|||||F\r" +
		"PID|1||P5^^^HOSP^MR||Order^Olga||19700101|F\r" +
		"AL1|1|DA|70618^Penicillin^RXNORM\r" +
		"ORC|RE|PL4^CPOE|FL4^LAB\r" +
		"OBR|1|PL4^CPOE|FL4^LAB|2345-7^Glucose^LN|||20230301110000-0500\r" +
		"OBX|1|NM|2345-7^Glucose^LN||99|mg/dL|||||F\r"
	b := string(convertKnown(t, "oml_o21", []byte(msg), nil, "prior"))
	for typ, want := range map[string]int{`"resourceType":"ServiceRequest"`: 1, `"resourceType":"Observation"`: 1, `"resourceType":"AllergyIntolerance"`: 0} {
		if n := strings.Count(b, typ); n != want {
			t.Errorf("%d %s, want %d (prior results make none)", n, typ, want)
		}
	}
	if strings.Contains(b, `"value":99`) || strings.Contains(b, "PL4") {
		t.Errorf("the prior order or result made resources: %s", b)
	}
}
