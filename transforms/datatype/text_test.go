package datatype

import "testing"

// ST, TX, FT → string (segment rows ST/TX → string without a data type
// map); FT[Annotation-Comment] row 1 (FT → text, markdown); ST[CodeableConcept]
// row 1 (ST.1 → text); ST[Identifier] row 1 (ST.1 → $value).
func TestText(t *testing.T) {
	exts := bRun(t, "string", Registry["st"].Fn, []bCase{
		{"ST trimmed", "NTE|1||  hello  ", "NTE-3", `"hello"`, ""},
		{"ST escapes", `NTE|1||a\F\b\S\c\T\d\R\e\E\f`, "NTE-3", `"a|b^c&d~e\\f"`, ""},
		{"ST one repetition", "NTE|1||one~two", "NTE-3[2]", `"two"`, ""},
		{"ST first repetition of a field", "NTE|1||one~two", "NTE-3", `"one"`, ""},
		{"HL7 null", `NTE|1||""`, "NTE-3", `null`, ""},
		{"ID as string (ID[string])", "PV1|1|I", "PV1-2", `"I"`, ""},
	})
	exts = append(exts, bRun(t, "string", Registry["ft"].Fn, []bCase{
		{"FT line breaks", `NTE|1||line one\.br\line two  \.br\  indented\.br\`, "NTE-3", `"line one\nline two\n  indented"`, ""},
		{"FT highlight dropped", `NTE|1||\H\bold\N\ text`, "NTE-3", `"bold text"`, ""},
	})...)
	exts = append(exts, bRun(t, "string", Registry["tx"].Fn, []bCase{
		{"TX leading spaces kept", "NTE|1||   indented   ", "NTE-3", `"   indented"`, ""},
	})...)
	exts = append(exts, bRun(t, "markdown", Registry["ft_markdown"].Fn, []bCase{
		{"FT markdown", `NTE|1||a\.br\b`, "NTE-3", `"a\nb"`, ""},
	})...)
	exts = append(exts, bRun(t, "annotation", Registry["ft_annotation_comment"].Fn, []bCase{
		{"FT[Annotation-Comment]", `NTE|1||Patient fasting\.br\since 8pm`, "NTE-3", `{"text":"Patient fasting\nsince 8pm"}`, ""},
	})...)
	exts = append(exts, bRun(t, "codeableConcept", Registry["st_codeableconcept"].Fn, []bCase{
		{"ST[CodeableConcept]", "NTE|1||chest pain", "NTE-3", `{"text":"chest pain"}`, ""},
	})...)
	exts = append(exts, bRun(t, "identifier", Registry["st_identifier"].Fn, []bCase{
		{"ST[Identifier]", "NTE|1||A-123", "NTE-3", `{"value":"A-123"}`, ""},
	})...)
	exts = append(exts, bRun(t, "unsignedInt", Registry["si"].Fn, []bCase{
		{"SI", "OBX|7", "OBX-1", `7`, ""},
		{"SI 0", "OBX|0", "OBX-1", `0`, ""},
	})...)
	bValidateBasic(t, exts)
	if _, err := Registry["si"].Fn(nil, bValue(t, "OBX|x", "OBX-1")); err == nil {
		t.Error("SI x: no error")
	}
}
