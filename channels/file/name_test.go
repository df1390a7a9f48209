package file

import (
	"strings"
	"testing"
	"time"

	"github.com/plexus-hl7/plexus/channels"
)

func TestSanitise(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"MSG00001", "MSG00001"},
		{"ADT^A01", "ADT^A01"},
		{"../../etc/passwd", "_._.._etc_passwd"},
		{"a/b", "a_b"},
		{`a\b`, "a_b"},
		{"a\x00b", "a_b"},
		{"..", "_."},
		{".", "_"},
		{".hidden", "_hidden"},
		{"v1.2", "v1.2"},
		{"C:\\x y\tz", "C__x_y_z"},
		{"Müller", "M_ller"},
		{"EMR|HOSP|1", "EMR_HOSP_1"},
		{"", ""},
		{strings.Repeat("x", 100), strings.Repeat("x", 64)},
	} {
		if got := Sanitise(tt.in); got != tt.want {
			t.Errorf("Sanitise(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzSanitise(f *testing.F) {
	for _, s := range []string{"../../etc/passwd", "a/b", "\x00", "..", "é/é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Sanitise(s)
		if strings.ContainsAny(got, "/\\\x00") || strings.HasPrefix(got, ".") || len(got) > maxValue {
			t.Fatalf("Sanitise(%q) = %q", s, got)
		}
	})
}

func TestRender(t *testing.T) {
	m := fhirMessage(7, "MSG.7")
	now := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	for _, tt := range []struct {
		name, contentType, want string
	}{
		{"", channels.ContentFHIR, "7-MSG.7.json"}, // the dot in the control id is not an extension
		{"", channels.ContentHL7v2, "7-MSG.7.hl7"},
		{"", "text/plain", "7-MSG.7.dat"},
		{"{{.Seq}}.fhir.json", channels.ContentFHIR, "7.fhir.json"},
		{"{{.Seq}}.fhir.json", channels.ContentHL7v2, "7.fhir.json"},
		{"v2.{{.Seq}}", channels.ContentHL7v2, "v2.7.hl7"},
		{"{{.Route}}/{{.Seq}}", channels.ContentFHIR, "admissions/7.json"},
		{"{{.Route}}.d/{{.Seq}}", channels.ContentFHIR, "admissions.d/7.json"}, // a dot before the last / is no extension
		{`{{.Time.Format "2006/01/02"}}/{{.Seq}}-{{.MessageType}}`, channels.ContentFHIR, "2024/05/06/7-ADT^A01.json"},
		{"{{.Key}}//{{.Seq}}", channels.ContentFHIR, "123^^^HOSP/7.json"}, // empty components dropped
		{"{{.IdempotencyKey}}-{{.Source}}", channels.ContentFHIR, "EMR_HOSP_MSG.7-adt-feed.json"},
		{`{{printf "%08d" .Seq}}`, channels.ContentFHIR, "00000007.json"},
	} {
		n, err := compileName(cmp(tt.name, DefaultName))
		if err != nil {
			t.Fatal(err)
		}
		got, err := n.render(nameData(m, now), extFor(formatFile, tt.contentType))
		if err != nil || got != tt.want {
			t.Errorf("%q for %s: %q, %v; want %q", tt.name, tt.contentType, got, err, tt.want)
		}
	}
}

func cmp(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
