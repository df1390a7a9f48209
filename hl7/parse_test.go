package hl7_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/plexus-hl7/plexus/hl7"
)

const adt = "MSH|^~\\&|SENDAPP|SENDFAC|RECVAPP|RECVFAC|20240102030405||ADT^A01^ADT_A01|CTRL1|P|2.5.1\r" +
	"EVN|A01|20240102030405\r" +
	"PID|1||111^^^HOSP&1.2.3&ISO^MR~222^^^SSA^SS||DOE^JOHN^Q~SMITH^J^^^^^A||19700101|M|||1 MAIN ST^^TOWN^ST^12345||\"\"|\r" +
	"OBX|1|ST|CODE^Name||a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f\\.br\\g\\X41\\\\H\\bold\\N\\\\Zx\\\r" +
	"OBX|2|NM|X^Y||42|||\r"

func mustParse(t *testing.T, s string) *hl7.Message {
	t.Helper()
	m, err := hl7.Parse([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestPathAccess(t *testing.T) {
	m := mustParse(t, adt)
	for _, c := range []struct{ path, want string }{
		{"MSH-1", "|"},
		{"MSH-2", "^~\\&"},
		{"MSH-3", "SENDAPP"},
		{"MSH-9", "ADT^A01^ADT_A01"},
		{"MSH-9.1", "ADT"},
		{"MSH-9.2", "A01"},
		{"MSH.9.3", "ADT_A01"},
		{"MSH-9.4", ""},
		{"MSH-12", "2.5.1"},
		{"PID-3", "111^^^HOSP&1.2.3&ISO^MR~222^^^SSA^SS"},
		{"PID-3.1", "111"},
		{"PID-3[1].1", "111"},
		{"PID-3[2].1", "222"},
		{"PID-3(2).5", "SS"},
		{"PID-3[1].4", "HOSP&1.2.3&ISO"},
		{"PID-3[1].4.2", "1.2.3"},
		{"PID-3[1].4.3", "ISO"},
		{"PID-3[1].4.4", ""},
		{"PID-3[3].1", ""},
		{"PID-5[2].2", "J"},
		{"PID-5[2].7", "A"},
		{"PID-8", "M"},
		{"PID-99", ""},
		{"OBX-5", "a|b^c&d~e\\f\ngAbold\\Zx\\"},
		{"OBX[2]-5", "42"},
		{"OBX(2)-3.2", "Y"},
		{"OBX[3]-5", ""},
		{"ZZZ-1", ""},
	} {
		got, err := m.GetString(c.path)
		if err != nil {
			t.Errorf("%s: %v", c.path, err)
			continue
		}
		if got != c.want {
			t.Errorf("%s = %q, want %q", c.path, got, c.want)
		}
	}
}

func TestNullIsNotEmpty(t *testing.T) {
	m := mustParse(t, adt)
	phone := m.Get(hl7.MustPath("PID-13"))
	if !phone.IsNull() || phone.IsEmpty() || phone.HasValue() || phone.String() != "" {
		t.Errorf("PID-13 \"\" : null=%v empty=%v has=%v", phone.IsNull(), phone.IsEmpty(), phone.HasValue())
	}
	blank := m.Get(hl7.MustPath("PID-12"))
	if blank.IsNull() || !blank.IsEmpty() {
		t.Errorf("PID-12 empty: null=%v empty=%v", blank.IsNull(), blank.IsEmpty())
	}
	pid, _ := m.Find("PID", 1)
	if pid.Fields() != 14 {
		t.Errorf("PID has %d fields, want 14 (trailing empty field kept)", pid.Fields())
	}
	if msh := m.Segment(0); msh.Fields() != 12 {
		t.Errorf("MSH has %d fields, want 12", msh.Fields())
	}
}

func TestCounts(t *testing.T) {
	m := mustParse(t, adt)
	id := m.Get(hl7.MustPath("PID-3"))
	if id.Reps() != 2 || id.Components() != 5 || id.Rep(1).Component(4).Subcomponents() != 3 {
		t.Errorf("reps %d comps %d subs %d", id.Reps(), id.Components(), id.Rep(1).Component(4).Subcomponents())
	}
	if n := len(m.All("OBX")); n != 2 {
		t.Errorf("%d OBX", n)
	}
}

func TestTerminatorsAndDelimiters(t *testing.T) {
	for name, in := range map[string]string{
		"CR":            "MSH|^~\\&|A|B|||||ADT^A01|1|P|2.5\rPID|1||X^^^Y\r",
		"LF":            "MSH|^~\\&|A|B|||||ADT^A01|1|P|2.5\nPID|1||X^^^Y\n",
		"CRLF":          "MSH|^~\\&|A|B|||||ADT^A01|1|P|2.5\r\nPID|1||X^^^Y\r\n",
		"no final":      "MSH|^~\\&|A|B|||||ADT^A01|1|P|2.5\rPID|1||X^^^Y",
		"blank lines":   "\r\nMSH|^~\\&|A|B|||||ADT^A01|1|P|2.5\r\n\r\nPID|1||X^^^Y\r\n\r\n",
		"custom":        "MSH#!@%*#A#B#####ADT!A01#1#P#2.5\rPID#1##X!!!Y\r",
		"pipe as comp":  "MSH^~|\\&^A^B^^^^^ADT~A01^1^P^2.5\rPID^1^^X~~~Y\r",
		"truncation ch": "MSH|^~\\&#|A|B|||||ADT^A01|1|P|2.7\rPID|1||X^^^Y\r",
	} {
		t.Run(name, func(t *testing.T) {
			m := mustParse(t, in)
			if m.Len() != 2 {
				t.Fatalf("%d segments", m.Len())
			}
			h := m.Header()
			if h.Type != "ADT" || h.Event != "A01" || h.ControlID != "1" || h.SendingFacility != "B" {
				t.Errorf("header %+v", h)
			}
			if got, _ := m.GetString("PID-3.4"); got != "Y" {
				t.Errorf("PID-3.4 = %q", got)
			}
		})
	}
}

// An LF ends a segment only when a segment follows it: a note's line
// break stays in the value, and a segment after a bare LF is never
// swallowed, whatever terminates the MSH.
func TestMixedTerminators(t *testing.T) {
	m := mustParse(t, "MSH|^~\\&|A|B|||||ADT^A01|1|P|2.5\rPID|1||1||DOE\nPV1|1|I\nOBX|1|TX|||a\nb\r\nNTE|1\n")
	var ids []string
	for i := 0; i < m.Len(); i++ {
		ids = append(ids, m.Segment(i).ID())
	}
	if strings.Join(ids, ",") != "MSH,PID,PV1,OBX,NTE" {
		t.Fatalf("segments %v", ids)
	}
	if got, _ := m.GetString("OBX-5"); got != "a\nb" {
		t.Errorf("OBX-5 = %q", got)
	}
	if got, _ := m.GetString("PID-5"); got != "DOE" {
		t.Errorf("PID-5 = %q", got)
	}
}

func TestLoneLFInCRMessageIsData(t *testing.T) {
	m := mustParse(t, "MSH|^~\\&|A|B|||||ADT^A01|1|P|2.5\rOBX|1|TX|||line1\nline2\r")
	if m.Len() != 2 {
		t.Fatalf("%d segments", m.Len())
	}
	if got, _ := m.GetString("OBX-5"); got != "line1\nline2" {
		t.Errorf("OBX-5 = %q", got)
	}
}

func TestEscapes(t *testing.T) {
	base := "MSH|^~\\&#|A|B|||||ADT^A01|1|P|2.7\rOBX|1|TX|||%s\r"
	for _, c := range []struct{ raw, want string }{
		{`\F\\S\\T\\R\\E\`, `|^&~\`},
		{`x\P\y`, "x#y"},
		{`a\.br\b`, "a\nb"},
		{`a\.sp2\b`, "a\n\nb"},
		{`\H\bold\N\`, "bold"},
		{`\X48454C4C4F\`, "HELLO"},
		{`\XC3A9\`, "é"},
		{`\XE9\`, "\uFFFD"}, // not UTF-8 in a UTF-8 message: never an invalid string
		{`\Zcustom\`, `\Zcustom\`},
		{`\X4\`, `\X4\`},
		{`open \ only`, `open \ only`},
		{`trailing\`, `trailing\`},
		{`\.in+4\x`, "x"},
	} {
		m := mustParse(t, strings.Replace(base, "%s", c.raw, 1))
		v := m.Get(hl7.MustPath("OBX-5"))
		if got := v.String(); got != c.want {
			t.Errorf("%s: text %q, want %q", c.raw, got, c.want)
		}
		if got := string(v.Raw()); got != c.raw {
			t.Errorf("%s: raw %q", c.raw, got)
		}
		if got := string(v.AppendText([]byte(">"))); got != ">"+c.want {
			t.Errorf("%s: AppendText %q", c.raw, got)
		}
	}
}

// An unknown or unterminated escape must never merge two fields or
// components (lenaten/hl7 does: `\.br\^x`).
func TestEscapeNeverMergesFields(t *testing.T) {
	m := mustParse(t, "MSH|^~\\&|A|B|||||ADT^A01|1|P|2.5\rOBX|1|TX|\\.br^x|\\Q|after\r")
	if got, _ := m.GetString("OBX-3.2"); got != "x" {
		t.Errorf("OBX-3.2 = %q", got)
	}
	if got, _ := m.GetString("OBX-4"); got != "\\Q" {
		t.Errorf("OBX-4 = %q", got)
	}
	if got, _ := m.GetString("OBX-5"); got != "after" {
		t.Errorf("OBX-5 = %q", got)
	}
}

func TestEscapeRoundTrip(t *testing.T) {
	d := hl7.DefaultDelimiters()
	d.Truncation = '#'
	text := "a|b^c&d~e\\f#g\r\nh\x01i\tj é"
	esc := string(d.AppendEscaped(nil, text))
	if want := `a\F\b\S\c\T\d\R\e\E\f\P\g\.br\h\X01\i` + "\tj é"; esc != want {
		t.Fatalf("escaped %q, want %q", esc, want)
	}
	m := mustParse(t, "MSH|^~\\&#|A|B|||||ADT^A01|1|P|2.7\rNTE|1||"+esc+"\r")
	if got, _ := m.GetString("NTE-3"); got != strings.Replace(text, "\r\n", "\n", 1) {
		t.Errorf("decoded %q", got)
	}
}

func TestParsePath(t *testing.T) {
	for _, c := range []struct {
		in   string
		want hl7.Path
	}{
		{"PID-3[2].4.1", hl7.Path{Seg: "PID", Field: 3, Rep: 2, Comp: 4, Sub: 1}},
		{"OBX[2]-5", hl7.Path{Seg: "OBX", Occ: 2, Field: 5}},
		{"MSH-9.2", hl7.Path{Seg: "MSH", Field: 9, Comp: 2}},
		{"ZP1.2", hl7.Path{Seg: "ZP1", Field: 2}},
		{"PV1", hl7.Path{Seg: "PV1"}},
	} {
		got, err := hl7.ParsePath(c.in)
		if err != nil || got != c.want {
			t.Errorf("%s: %+v, %v", c.in, got, err)
		}
		if again, _ := hl7.ParsePath(got.String()); again != got {
			t.Errorf("%s: String %q does not parse back", c.in, got.String())
		}
	}
	for _, bad := range []string{"", "pid-3", "P-3", "PID-", "PID-x", "PID-3[", "PID-3[0]", "PID-3.", "PID-3.1.2.3", "PID-3]", "PID-0", "PIDXY-1"} {
		if _, err := hl7.ParsePath(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestParseErrorsSayWhere(t *testing.T) {
	for _, c := range []struct {
		in, want string
	}{
		{"", "empty message"},
		{"PID|1\r", "must start with an MSH"},
		{"MSH", "MSH ends before MSH-1"},
		{"MSH|^~", "cut short inside MSH-2"},
		{"MSH|^A\\&|x\r", "not a valid delimiter"},
		{"MSH|^~\\&|A\rp!d|1\r", "segment 2"},
		{"MSH|^~\\&|A\rPID|1|x\x00y\r", "PID-2 (segment 2, byte 18): NUL"},
		{"MSH|^~\\&|A\rPID|1\rMSH|^~\\&|B\r", "second MSH"},
		{"FHS|^~\\&\r", "batch"},
	} {
		_, err := hl7.Parse([]byte(c.in))
		var he *hl7.Error
		if !errors.As(err, &he) {
			t.Errorf("%q: error %v is not an *hl7.Error", c.in, err)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %q does not contain %q", c.in, err, c.want)
		}
	}
}

func TestCheckHeader(t *testing.T) {
	m := mustParse(t, "MSH|^~\\&|APP|FAC\rPID|1||123\r")
	errs := hl7.Errors(m.CheckHeader())
	if len(errs) != 2 || errs[0].Field != 9 || errs[1].Field != 10 || errs[0].Code != hl7.CodeRequiredFieldMissing {
		t.Fatalf("errors %v", errs)
	}
	if err := mustParse(t, adt).CheckHeader(); err != nil {
		t.Fatal(err)
	}
	if _, err := hl7.ParseHeader([]byte(adt)); err != nil {
		t.Fatal(err)
	}
	h, err := hl7.ParseHeader([]byte("MSH|^~\\&|A|B|C|D|20240101||ORU^R01|X9|T|2.3|||AL|NE||8859/1\rjunk that is never read\r"))
	if err != nil || h.ControlID != "X9" || h.Version != "2.3" || !h.Enhanced() || h.Charset != "8859/1" {
		t.Fatalf("%+v %v", h, err)
	}
	// What would make the message fail later is refused before the ACK:
	// a NUL anywhere, bytes its character set does not have.
	for _, bad := range []string{
		"MSH|^~\\&|A|B|C|D|20240101||ORU^R01|X9|T|2.3\rPID|1|\x00\r",
		"MSH|^~\\&|A|B|C|D|20240101||ORU^R01|X9|T|2.3\rPID|1|M\xfcller\r",
	} {
		if _, err := hl7.ParseHeader([]byte(bad)); err == nil {
			t.Errorf("ParseHeader accepted %q", bad)
		}
	}
	if _, err := hl7.ParseHeaderWith([]byte("MSH|^~\\&|A|B|C|D|20240101||ORU^R01|X9|T|2.3\rPID|1|M\xfcller\r"), hl7.ParseOptions{FallbackCharset: "8859/1"}); err != nil {
		t.Errorf("ParseHeaderWith fallback: %v", err)
	}
}

func TestDuplicatedEncodingCharactersRecovered(t *testing.T) {
	m := mustParse(t, "MSH|&&&&|A|B|||||ORU^R01|1|P|2.5.1\rPID|1||X^^^Y~Z\r")
	if got, _ := m.GetString("PID-3[2].1"); got != "Z" {
		t.Errorf("PID-3[2] = %q", got)
	}
	if len(m.Warnings()) == 0 {
		t.Error("no warning")
	}
}

func TestParseIntoReuses(t *testing.T) {
	var m hl7.Message
	for i := 0; i < 3; i++ {
		if err := hl7.ParseInto(&m, []byte(adt), hl7.ParseOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if m.Len() != 5 {
		t.Fatalf("%d segments", m.Len())
	}
	allocs := testing.AllocsPerRun(100, func() {
		_ = hl7.ParseInto(&m, []byte(adt), hl7.ParseOptions{})
	})
	if allocs > 1 { // the []byte conversion of the constant
		t.Errorf("ParseInto allocates %.0f times per message", allocs)
	}
}

func TestIterators(t *testing.T) {
	m := mustParse(t, adt)
	var got []string
	for r := m.Get(hl7.MustPath("PID-3")).RepParts(); r.Next(); {
		for c := r.Value().ComponentParts(); c.Next(); {
			if c.Value().HasValue() {
				got = append(got, fmt.Sprintf("%d.%d=%s", r.Index(), c.Index(), c.Value()))
			}
		}
	}
	for s := m.Get(hl7.MustPath("PID-3.4")).SubParts(); s.Next(); {
		got = append(got, fmt.Sprintf("sub%d=%s", s.Index(), s.Value()))
	}
	want := "1.1=111 1.4=HOSP&1.2.3&ISO 1.5=MR 2.1=222 2.4=SSA 2.5=SS sub1=HOSP sub2=1.2.3 sub3=ISO"
	if strings.Join(got, " ") != want {
		t.Errorf("got  %s\nwant %s", strings.Join(got, " "), want)
	}
	if p := m.Get(hl7.MustPath("PID-99")).RepParts(); p.Next() {
		t.Error("an absent field has repetitions")
	}
}

func TestSetFailureLeavesMessage(t *testing.T) {
	m := mustParse(t, adt)
	before, _ := m.Encode()
	if err := m.Set(hl7.MustPath("MSH[2]-3"), "X"); err == nil {
		t.Fatal("a second MSH was accepted")
	}
	after, _ := m.Encode()
	if string(after) != string(before) {
		t.Errorf("failed Set changed the message:\n%q\n%q", before, after)
	}
	short := mustParse(t, "MSH|^|A|B|||||ADT^A01|1|P|2.5\rPID|1\r")
	if err := short.Set(hl7.MustPath("PID-3[2]"), "x"); err == nil {
		t.Error("a repetition was set in a message without a repetition separator")
	}
	if short.Len() != 2 {
		t.Errorf("%d segments", short.Len())
	}
}

func TestSetCharsetThenText(t *testing.T) {
	m, err := hl7.New(hl7.DefaultDelimiters(), "ADT", "A01", "ADT_A01", "1", "2.5")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Set(hl7.MustPath("MSH-18"), "8859/1"); err != nil {
		t.Fatal(err)
	}
	if err := m.Set(hl7.MustPath("PID-5"), "Müller"); err != nil {
		t.Fatal(err)
	}
	out, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "M\xfcller") {
		t.Errorf("not encoded in 8859/1: %q", out)
	}
	back, err := hl7.Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := back.GetString("PID-5"); got != "Müller" {
		t.Errorf("PID-5 %q", got)
	}
}
