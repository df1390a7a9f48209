package datatype

import (
	"errors"
	"strings"
	"testing"

	"github.com/plexus-hl7/plexus/transforms/fhir"
)

// NM[Quantity] row 1 (NM.1 → $value, decimal); segment rows NM → decimal,
// integer, unsignedInt; NM[positiveInt] rows 1 ("If positive") and 1 ("If
// negative raise an error").
func TestNM(t *testing.T) {
	var exts = bRun(t, "decimal", Registry["nm"].Fn, []bCase{
		{"integer", "OBX|1|NM|||120", "OBX-5", `120`, ""},
		{"precision kept", "OBX|1|NM|||1.50", "OBX-5", `1.50`, ""},
		{"plus sign and leading zeros", "OBX|1|NM|||+007.50", "OBX-5", `7.50`, ""},
		{"leading point", "OBX|1|NM|||.5", "OBX-5", `0.5`, ""},
		{"trailing point", "OBX|1|NM|||5.", "OBX-5", `5`, ""},
		{"negative", "OBX|1|NM|||-0.25", "OBX-5", `-0.25`, ""},
		{"minus zero", "OBX|1|NM|||-0.0", "OBX-5", `0.0`, ""},
		{"spaces", "OBX|1|NM||| 42 ", "OBX-5", `42`, ""},
		{"empty", "OBX|1|NM|||", "OBX-5", `null`, ""},
	})
	exts = append(exts, bRun(t, "quantity", Registry["nm_quantity"].Fn, []bCase{
		{"NM[Quantity]", "OBX|1|NM|||1.50", "OBX-5", `{"value":1.50}`, ""},
	})...)
	exts = append(exts, bRun(t, "positiveInt", Registry["nm_positiveint"].Fn, []bCase{
		{"positive", "OBX|1|NM|||3", "OBX-5", `3`, ""},
		{"5.0 is 5", "OBX|1|NM|||5.0", "OBX-5", `5`, ""},
	})...)
	exts = append(exts, bRun(t, "unsignedInt", Registry["nm_unsignedint"].Fn, []bCase{
		{"zero", "OBX|1|NM|||0", "OBX-5", `0`, ""},
	})...)
	exts = append(exts, bRun(t, "integer", Registry["nm_integer"].Fn, []bCase{
		{"negative", "OBX|1|NM|||-12", "OBX-5", `-12`, ""},
	})...)
	// NM[Quantity-LengthOfStay]: value, unit "days", system UCUM, code "d".
	exts = append(exts, bRun(t, "duration", Registry["nm_quantity_lengthofstay"].Fn, []bCase{
		{"LOS", "OBX|1|NM|||3", "OBX-5", `{"value":3,"unit":"days","system":"http://unitsofmeasure.org","code":"d"}`, ""},
		{"LOS 0", "OBX|1|NM|||0", "OBX-5", `{"value":0,"unit":"days","system":"http://unitsofmeasure.org","code":"d"}`, ""},
	})...)
	bValidateBasic(t, exts)

	for _, tt := range []struct{ name, in, reason string }{
		{"nm", "abc", "unexpected 'a'"},
		{"nm", "1.2.3", "unexpected '.'"},
		{"nm", "1e5", "unexpected 'e'"},
		{"nm", "-", "no digits"},
		{"nm", ".", "no digits"},
		{"nm_positiveint", "0", "outside the range"},
		{"nm_positiveint", "-3", "outside the range"},
		{"nm_positiveint", "2.5", "not a whole number"},
		{"nm_integer", "2147483648", "outside the range"},
		{"nm_unsignedint", "-1", "outside the range"},
		{"nm_quantity_lengthofstay", "-2", "cannot be negative"},
	} {
		_, err := Registry[tt.name].Fn(nil, bValue(t, "OBX|1|NM|||"+tt.in, "OBX-5"))
		var ve *ValueError
		if !errors.As(err, &ve) || !strings.Contains(ve.Reason, tt.reason) {
			t.Errorf("%s(%q): error %v, want %q", tt.name, tt.in, err, tt.reason)
		}
	}
}

func TestDecimalText(t *testing.T) {
	for _, in := range []string{"0", "00", "-0", "1", "10.0100", "+3", "-.5", "123456789012345678.123"} {
		out, reason := decimalText(in)
		if reason != "" {
			t.Errorf("%q: %s", in, reason)
			continue
		}
		if err := fhir.ValidatePrimitive("decimal", out); err != nil {
			t.Errorf("%q → %q: %v", in, out, err)
		}
	}
	less := [][2]string{{"1", "2"}, {"-2", "1"}, {"-2", "-1"}, {"1.05", "1.1"}, {"9", "10"}, {"0.5", "0.50001"}}
	for _, p := range less {
		if !decimalLess(p[0], p[1]) || decimalLess(p[1], p[0]) {
			t.Errorf("decimalLess(%s, %s) wrong", p[0], p[1])
		}
	}
	if decimalLess("1.0", "1") || decimalLess("1", "1.0") {
		t.Error("1.0 and 1 are equal")
	}
}

// SN[Quantity], SN[Range], SN[Ratio] rows 0–4, on OBX-5 of type SN.
func TestSN(t *testing.T) {
	const ot = `"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/originalText","valueString":`
	exts := bRun(t, "quantity", Registry["sn_quantity"].Fn, []bCase{
		{"rows 1-2: >^5", "OBX|1|SN|||>^5", "OBX-5", `{"value":5,"comparator":">"}`, ""},
		{"<= and decimal", "OBX|1|SN|||<=^0.05", "OBX-5", `{"value":0.05,"comparator":"<="}`, ""},
		{"= is no comparator", "OBX|1|SN|||=^7", "OBX-5", `{"value":7}`, ""},
		{"plain number", "OBX|1|SN|||^7", "OBX-5", `{"value":7}`, ""},
		{"row 0: SN.3/SN.4 valued → originalText", "OBX|1|SN|||^10^-^20", "OBX-5", `{` + ot + `"10 - 20"}],"value":10}`, ""},
		{"comparator only", "OBX|1|SN|||<", "OBX-5", `null`, ""},
	})
	exts = append(exts, bRun(t, "range", Registry["sn_range"].Fn, []bCase{
		{"rows 0,2,4: ^10^-^20", "OBX|1|SN|||^10^-^20", "OBX-5", `{` + ot + `"10 - 20"}],"low":{"value":10},"high":{"value":20}}`, ""},
		{"no SN.1, no SN.3: no extension", "OBX|1|SN|||^10^^20", "OBX-5", `{"low":{"value":10},"high":{"value":20}}`, ""},
		{"low only with comparator", "OBX|1|SN|||>^5", "OBX-5", `{` + ot + `"> 5"}],"low":{"value":5}}`, ""},
	})...)
	exts = append(exts, bRun(t, "ratio", Registry["sn_ratio"].Fn, []bCase{
		{"rows 0,2,4: ^1^:^128", "OBX|1|SN|||^1^:^128", "OBX-5", `{` + ot + `"1 : 128"}],"numerator":{"value":1},"denominator":{"value":128}}`, ""},
		{"row 1: comparator on the numerator", "OBX|1|SN|||<^1^/^64", "OBX-5", `{` + ot + `"< 1 / 64"}],"numerator":{"value":1,"comparator":"<"},"denominator":{"value":64}}`, ""},
	})...)
	exts = append(exts, bRun(t, "range", Registry["nr"].Fn, []bCase{
		{"NR[Range] rows 1-2", "OBX|1|NR|||3.5^5.5", "OBX-5", `{"low":{"value":3.5},"high":{"value":5.5}}`, ""},
	})...)
	bValidateBasic(t, exts)

	for _, tt := range []struct{ name, in, reason string }{
		{"sn_quantity", "<>^5", "no FHIR equivalent"},
		{"sn_quantity", "!^5", "SN.1 is not one of"},
		{"sn_quantity", "^x5", "unexpected 'x'"},
		{"sn_range", "^20^-^10", "above its high"},
		{"sn_ratio", "^1^:", "needs both"},
		{"nr", "5^3", "above high"},
	} {
		_, err := Registry[tt.name].Fn(nil, bValue(t, "OBX|1|SN|||"+tt.in, "OBX-5"))
		var ve *ValueError
		if !errors.As(err, &ve) || !strings.Contains(ve.Reason, tt.reason) {
			t.Errorf("%s(%q): error %v, want %q", tt.name, tt.in, err, tt.reason)
		}
	}
}

// CQ[Quantity] rows 1 (CQ.1 → value) and 2 (CQ.2 → unit through
// CWE[string]); CWE[Quantity] rows 1–3 for the units' code and system;
// CQ[decimal], CQ[code], CQ[unsignedInt] row 1 each.
func TestCQ(t *testing.T) {
	exts := bRun(t, "quantity", Registry["cq"].Fn, []bCase{
		{"UCUM units", "TQ1|1|10^mg&milligram&UCUM", "TQ1-2", `{"value":10,"unit":"milligram","system":"http://unitsofmeasure.org","code":"mg"}`, ""},
		{"units code only", "TQ1|1|10^mg&&UCUM", "TQ1-2", `{"value":10,"unit":"mg","system":"http://unitsofmeasure.org","code":"mg"}`, ""},
		{"CWE.9 as unit", "TQ1|1|10^mg&&UCUM&&&&&&milligrams", "TQ1-2", `{"value":10,"unit":"milligrams","system":"http://unitsofmeasure.org","code":"mg"}`, ""},
		{"local units: no code", "TQ1|1|2^TAB&tablet&99LOC", "TQ1-2", `{"value":2,"unit":"tablet"}`, `units coding system "99LOC"`},
		{"no units", "TQ1|1|2", "TQ1-2", `{"value":2}`, ""},
	})
	exts = append(exts, bRun(t, "quantity", Registry["cwe_quantity"].Fn, []bCase{
		{"OBX-6 UCUM", "OBX|1|NM|||5|mg/dL^milligram per deciliter^UCUM", "OBX-6", `{"unit":"milligram per deciliter","system":"http://unitsofmeasure.org","code":"mg/dL"}`, ""},
		{"OBX-6 code only", "OBX|1|NM|||5|mmol/L", "OBX-6", `{"unit":"mmol/L"}`, ""},
		{"OBX-6 unknown system", "OBX|1|NM|||5|X^xs^99Y", "OBX-6", `{"unit":"xs"}`, `units coding system "99Y"`},
	})...)
	exts = append(exts, bRun(t, "decimal", Registry["cq_decimal"].Fn, []bCase{
		{"CQ[decimal]", "TQ1|1|10.5^mg&&UCUM", "TQ1-2", `10.5`, ""},
	})...)
	exts = append(exts, bRun(t, "code", Registry["cq_code"].Fn, []bCase{
		{"CQ[code]", "TQ1|1|10.5^mg&&UCUM", "TQ1-2", `"mg"`, ""},
	})...)
	exts = append(exts, bRun(t, "unsignedInt", Registry["cq_unsignedint"].Fn, []bCase{
		{"minutes", "TQ1|1|90^min&&UCUM", "TQ1-2", `90`, ""},
		{"hours", "TQ1|1|1.5^h&&UCUM", "TQ1-2", `90`, ""},
		{"days (ANSI D)", "TQ1|1|2^D", "TQ1-2", `2880`, ""},
		{"seconds", "TQ1|1|120^s", "TQ1-2", `2`, ""},
		{"no units", "TQ1|1|15", "TQ1-2", `15`, "minutes assumed"},
	})...)
	bValidateBasic(t, exts)
	for _, in := range []string{"90^furlong", "30^s", "-5^min", "x^min"} {
		if got, err := Registry["cq_unsignedint"].Fn(nil, bValue(t, "TQ1|1|"+in, "TQ1-2")); err == nil {
			t.Errorf("cq_unsignedint(%q) = %s, want an error", in, bJSON(got))
		}
	}
}
