package datatype

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/plexus-hl7/plexus/hl7"
	"github.com/plexus-hl7/plexus/internal/fhirvalidate"
	"github.com/plexus-hl7/plexus/transforms/fhir"
	"github.com/plexus-hl7/plexus/transforms/fhirjson"
)

// Test helpers of time.go, coded.go, number.go, text.go and misc.go carry
// the prefix b so as not to collide with the other files' tests.

const bMSH = "MSH|^~\\&|SEND|FAC|RECV|FAC|20240506101500||ORU^R01^ORU_R01|MSG1|P|2.5.1\r"

// bValue parses MSH plus segs (CR-separated) and returns the value at path.
func bValue(t testing.TB, segs, path string) hl7.Value {
	t.Helper()
	m, err := hl7.Parse([]byte(bMSH + segs))
	if err != nil {
		t.Fatalf("parse %q: %v", segs, err)
	}
	return m.Get(hl7.MustPath(path))
}

func bJSON(v fhirjson.Value) string {
	if v.IsNull() {
		return "null"
	}
	return string(v.AppendJSON(nil))
}

// bWarnings is a Context whose warnings are collected.
type bWarnings struct {
	c    Context
	msgs []string
}

func bContext(loc *time.Location) *bWarnings {
	w := &bWarnings{}
	w.c = Context{Location: loc, Warn: func(m string) { w.msgs = append(w.msgs, m) }}
	return w
}

// bExtension wraps a FHIR value of type typ (dateTime, Quantity, ...) in an
// extension, so that many values can be validated in one resource.
func bExtension(i int, typ string, v fhirjson.Value) fhirjson.Value {
	return fhirjson.Obj(
		fhirjson.M("url", fhirjson.Str("http://example.org/fhir/StructureDefinition/plexus-test-"+strconv.Itoa(i))),
		fhirjson.M("value"+strings.ToUpper(typ[:1])+typ[1:], v),
	)
}

// bValidateBasic validates a Basic resource carrying exts with the
// independent validator.
func bValidateBasic(t *testing.T, exts []fhirjson.Value) {
	t.Helper()
	if len(exts) == 0 {
		return
	}
	r := fhirjson.Obj(
		fhirjson.M("resourceType", fhirjson.Str("Basic")),
		fhirjson.M("code", fhirjson.Obj(fhirjson.M("text", fhirjson.Str("plexus datatype test")))),
		fhirjson.M("extension", fhirjson.Arr(exts...)),
	)
	v := fhirvalidate.ForTest(t)
	v.AssertValid(t, r.AppendJSON(nil))
}

func mustLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	l, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("LoadLocation(%s): %v", name, err)
	}
	return l
}

// The IG's DTM[dateTime] row 1 (DTM.1 → $value, dateTime: "must convert v2
// date time format to FHIR date time format") and TS[dateTime] row 1 (TS.1
// → $value through DTM[DateTime]; row 2, TS.2, has no target).
func TestDateTime(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	tests := []struct {
		name, seg, path string
		loc             *time.Location
		want            string // JSON
		warn            bool   // a zone was assumed
	}{
		{"year", "OBX|1||||2024", "OBX-5", nil, `"2024"`, false},
		{"month", "OBX|1||||202405", "OBX-5", nil, `"2024-05"`, false},
		{"day", "OBX|1||||20240506", "OBX-5", nil, `"2024-05-06"`, false},
		{"day with offset: offset dropped", "OBX|1||||20240506-0500", "OBX-5", nil, `"2024-05-06"`, false},
		{"hour padded", "OBX|1||||2024050610-0500", "OBX-5", nil, `"2024-05-06T10:00:00-05:00"`, false},
		{"minute padded", "OBX|1||||202405061030+0200", "OBX-5", nil, `"2024-05-06T10:30:00+02:00"`, false},
		{"second", "OBX|1||||20240506103015+0000", "OBX-5", nil, `"2024-05-06T10:30:15+00:00"`, false},
		{"fraction kept", "OBX|1||||20150601135823.1234-0500", "OBX-5", nil, `"2015-06-01T13:58:23.1234-05:00"`, false},
		{"fraction one digit", "OBX|1||||20150601135823.1+0530", "OBX-5", nil, `"2015-06-01T13:58:23.1+05:30"`, false},
		{"microseconds", "OBX|1||||20150601135823.123456+1400", "OBX-5", nil, `"2015-06-01T13:58:23.123456+14:00"`, false},
		{"offset -1200", "OBX|1||||20150601135823-1200", "OBX-5", nil, `"2015-06-01T13:58:23-12:00"`, false},
		{"leap second kept", "OBX|1||||20161231235960+0000", "OBX-5", nil, `"2016-12-31T23:59:60+00:00"`, false},
		{"leap day", "OBX|1||||20240229", "OBX-5", nil, `"2024-02-29"`, false},
		{"leap day 2000", "OBX|1||||20000229", "OBX-5", nil, `"2000-02-29"`, false},
		{"trailing spaces", "OBX|1||||20240506103015-0500  ", "OBX-5", nil, `"2024-05-06T10:30:15-05:00"`, false},
		{"TS with degree of precision (TS.2 ignored)", "OBX|1||||20240506103015-0500^S", "OBX-5", nil, `"2024-05-06T10:30:15-05:00"`, false},
		{"TS as a component: TS.1 is a subcomponent", "PID|1||||DOE^JOHN^^^^^L^^^^^20240506&D", "PID-5.12", nil, `"2024-05-06"`, false},
		{"zone assumed, summer (EDT)", "OBX|1||||20240706103015", "OBX-5", ny, `"2024-07-06T10:30:15-04:00"`, true},
		{"zone assumed, winter (EST)", "OBX|1||||20240106103015", "OBX-5", ny, `"2024-01-06T10:30:15-05:00"`, true},
		{"zone assumed, UTC", "OBX|1||||202401061030", "OBX-5", time.UTC, `"2024-01-06T10:30:00+00:00"`, true},
		{"zone assumed, Kolkata", "OBX|1||||2024010610", "OBX-5", mustLoc(t, "Asia/Kolkata"), `"2024-01-06T10:00:00+05:30"`, true},
		{"date needs no zone", "OBX|1||||20240106", "OBX-5", nil, `"2024-01-06"`, false},
		{"empty", "OBX|1||||", "OBX-5", nil, `null`, false},
		{"HL7 null", `OBX|1||||""`, "OBX-5", nil, `null`, false},
		{"absent segment", "PID|1", "OBX-5", nil, `null`, false},
	}
	var exts []fhirjson.Value
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := bContext(tt.loc)
			for _, name := range []string{"dtm", "ts"} {
				got, err := Registry[name].Fn(&w.c, bValue(t, tt.seg, tt.path))
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if s := bJSON(got); s != tt.want {
					t.Errorf("%s = %s, want %s", name, s, tt.want)
				}
				if !got.IsNull() {
					if err := fhir.ValidatePrimitive("dateTime", got.Text()); err != nil {
						t.Errorf("%s: %v", name, err)
					}
					if name == "dtm" {
						exts = append(exts, bExtension(i, "dateTime", got))
					}
				}
			}
			if (len(w.msgs) > 0) != tt.warn {
				t.Errorf("warnings %q, want some: %v", w.msgs, tt.warn)
			}
		})
	}
	bValidateBasic(t, exts)
}

func TestDateTimeErrors(t *testing.T) {
	tests := []struct{ in, reason string }{
		{"20241345", "month 13"},
		{"20241300", "month 13"},
		{"20240001", "month 0"},
		{"20240230", "day 30 in February 2024"},
		{"20230229", "day 29 in February 2023"},
		{"19000229", "day 29 in February 1900"},
		{"20240431", "day 31 in April 2024"},
		{"20240400", "day 0 in April 2024"},
		{"2024050624", "hour 24"},
		{"202405061060", "minute 60"},
		{"20240506105961", "second 61"},
		{"00000506", "year 0000"},
		{"202", "3 digits"},
		{"2024056", "7 digits"},
		{"202405061", "9 digits"},
		{"2024050610301", "13 digits"},
		{"202405061030151", "15 digits"},
		{"2024-05-06", "+HHMM or -HHMM"}, // ISO 8601 is not HL7
		{"20240506T1030", "unexpected 'T'"},
		{"202405061030.5-0500", "fractional seconds without seconds"},
		{"20240506103015.-0500", "no digits after '.'"},
		{"20240506103015.1234567890", "more than 9 digits"},
		{"20240506103015-05", "+HHMM or -HHMM"},
		{"20240506103015+05:00", "+HHMM or -HHMM"},
		{"20240506103015-1300", "outside -1200..+1400"},
		{"20240506103015+1401", "outside -1200..+1400"},
		{"20240506103015+0560", "offset minutes 60"},
		{"20240506103015Z", "unexpected 'Z'"},
		{"20240506103015+0000x", "+HHMM or -HHMM"},
		{"yesterday", "4-digit year"},
		{"2024050610", "no time zone offset, and no default time zone"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			v := bValue(t, "OBX|1||||"+tt.in, "OBX-5")
			_, err := DateTime(&Context{}, v)
			if err == nil {
				t.Fatalf("no error")
			}
			var ve *ValueError
			if !errors.As(err, &ve) || !strings.Contains(ve.Reason, tt.reason) {
				t.Errorf("error %q, want reason containing %q", err, tt.reason)
			}
			if !strings.HasPrefix(err.Error(), strconv.Quote(tt.in)+" is not a valid HL7 date/time: ") {
				t.Errorf("error %q does not say which value", err)
			}
			// A nil Context is allowed and behaves as an empty one.
			if _, err := DateTime(nil, v); err == nil {
				t.Errorf("nil context: no error")
			}
		})
	}
}

// Date: the IG's segment maps send DTM to date (PID-7 → Patient.birthDate,
// PID-7 row "birthDate, date") with no data type map; the date part is kept
// at its precision and the time dropped.
func TestDate(t *testing.T) {
	tests := []struct{ in, want string }{
		{"1980", `"1980"`},
		{"198006", `"1980-06"`},
		{"19800615", `"1980-06-15"`},
		{"198006152359", `"1980-06-15"`},
		{"19800615235959.99+1400", `"1980-06-15"`},
		{"19800615^D", `"1980-06-15"`},
		{"", `null`},
	}
	var exts []fhirjson.Value
	for i, tt := range tests {
		for _, name := range []string{"dtm_date", "dt"} {
			got, err := Registry[name].Fn(nil, bValue(t, "PID|1||||||"+tt.in, "PID-7"))
			if err != nil {
				t.Fatalf("%s(%q): %v", name, tt.in, err)
			}
			if s := bJSON(got); s != tt.want {
				t.Errorf("%s(%q) = %s, want %s", name, tt.in, s, tt.want)
			}
			if !got.IsNull() {
				if err := fhir.ValidatePrimitive("date", got.Text()); err != nil {
					t.Error(err)
				}
				exts = append(exts, bExtension(i, "date", got))
			}
		}
	}
	if _, err := Date(nil, bValue(t, "PID|1||||||19800230", "PID-7")); err == nil {
		t.Error("Date(19800230): no error")
	}
	bValidateBasic(t, exts)
}

// Instant: MSH-7 → Bundle.timestamp and EVN-2 → Provenance.recorded are
// instants in the IG's segment maps.
func TestInstant(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	tests := []struct {
		in   string
		loc  *time.Location
		want string
	}{
		{"20240506103015.123-0500", nil, `"2024-05-06T10:30:15.123-05:00"`},
		{"20240506103015+0000", nil, `"2024-05-06T10:30:15+00:00"`},
		{"202405061030-0500", nil, `"2024-05-06T10:30:00-05:00"`},
		{"2024050610-0500", nil, `"2024-05-06T10:00:00-05:00"`},
		{"20241106103015", ny, `"2024-11-06T10:30:15-05:00"`},
		{"", nil, `null`},
	}
	var exts []fhirjson.Value
	for i, tt := range tests {
		got, err := Instant(&Context{Location: tt.loc}, bValue(t, "EVN||"+tt.in, "EVN-2"))
		if err != nil {
			t.Fatalf("Instant(%q): %v", tt.in, err)
		}
		if s := bJSON(got); s != tt.want {
			t.Errorf("Instant(%q) = %s, want %s", tt.in, s, tt.want)
		}
		if !got.IsNull() {
			if err := fhir.ValidatePrimitive("instant", got.Text()); err != nil {
				t.Error(err)
			}
			exts = append(exts, bExtension(i, "instant", got))
		}
	}
	for _, in := range []string{"20240506", "202405", "2024", "20240506103015", "20240532103015-0500"} {
		if got, err := Instant(&Context{}, bValue(t, "EVN||"+in, "EVN-2")); err == nil {
			t.Errorf("Instant(%q) = %s, want an error", in, bJSON(got))
		}
	}
	bValidateBasic(t, exts)
}

func TestTime(t *testing.T) {
	tests := []struct {
		in, want string
		warn     bool
	}{
		{"10", `"10:00:00"`, false},
		{"1030", `"10:30:00"`, false},
		{"103015", `"10:30:15"`, false},
		{"103015.25", `"10:30:15.25"`, false},
		{"103015-0500", `"10:30:15"`, true},
		{"235960", `"23:59:60"`, false},
		{"", `null`, false},
	}
	var exts []fhirjson.Value
	for i, tt := range tests {
		w := bContext(nil)
		got, err := Registry["tm"].Fn(&w.c, bValue(t, "OBX|1|TM|||"+tt.in, "OBX-5"))
		if err != nil {
			t.Fatalf("Time(%q): %v", tt.in, err)
		}
		if s := bJSON(got); s != tt.want {
			t.Errorf("Time(%q) = %s, want %s", tt.in, s, tt.want)
		}
		if (len(w.msgs) > 0) != tt.warn {
			t.Errorf("Time(%q): warnings %q", tt.in, w.msgs)
		}
		if !got.IsNull() {
			if err := fhir.ValidatePrimitive("time", got.Text()); err != nil {
				t.Error(err)
			}
			exts = append(exts, bExtension(i, "time", got))
		}
	}
	for _, in := range []string{"1", "103", "2400", "1060", "106061", "1030.5", "103015.", "10301500", "10:30"} {
		if got, err := Time(nil, bValue(t, "OBX|1|TM|||"+in, "OBX-5")); err == nil {
			t.Errorf("Time(%q) = %s, want an error", in, bJSON(got))
		}
	}
	bValidateBasic(t, exts)
}

// A DST gap: 02:30 on the day clocks go forward does not exist in New York;
// whatever offset is chosen, the result must be a valid dateTime.
func TestDateTimeDSTEdges(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	for _, in := range []string{"20240310023000", "20241103013000", "18000101120000"} {
		got, err := DateTime(&Context{Location: ny}, bValue(t, "OBX|1||||"+in, "OBX-5"))
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if err := fhir.ValidatePrimitive("dateTime", got.Text()); err != nil {
			t.Errorf("%s → %s: %v", in, got.Text(), err)
		}
	}
	// Local mean time before 1883 in New York is -4:56:02: rounded to -04:56.
	got, _ := DateTime(&Context{Location: ny}, bValue(t, "OBX|1||||18000101120000", "OBX-5"))
	if got.Text() != "1800-01-01T12:00:00-04:56" {
		t.Errorf("LMT: got %s", got.Text())
	}
}

func FuzzDateTime(f *testing.F) {
	for _, s := range []string{"2024", "20240506", "20240506103015.1234-0500", "2024050610", "103015", "20240229", "20241345", "20161231235960+1400", "2024^S", "2024&D", `""`} {
		f.Add(s)
	}
	loc, _ := time.LoadLocation("Australia/Lord_Howe") // 30-minute DST
	if loc == nil {
		loc = time.UTC
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.ContainsAny(s, "\r\n") {
			return
		}
		m, err := hl7.Parse([]byte(bMSH + "OBX|1||||" + s))
		if err != nil {
			return
		}
		v := m.Get(hl7.MustPath("OBX-5"))
		c := &Context{Location: loc}
		for _, conv := range []struct {
			typ string
			fn  Func
		}{{"dateTime", DateTime}, {"date", Date}, {"instant", Instant}, {"time", Time}} {
			got, err := conv.fn(c, v)
			if err != nil || got.IsNull() {
				continue
			}
			if err := fhir.ValidatePrimitive(conv.typ, got.Text()); err != nil {
				t.Errorf("%s(%q) = %q: %v", conv.typ, s, got.Text(), err)
			}
		}
	})
}

func BenchmarkDateTime(b *testing.B) {
	m, err := hl7.Parse([]byte(bMSH + "OBX|1|TS|||20150601135823.1234-0500"))
	if err != nil {
		b.Fatal(err)
	}
	v := m.Get(hl7.MustPath("OBX-5"))
	c := &Context{}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DateTime(c, v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDateTimeAssumedZone(b *testing.B) {
	m, err := hl7.Parse([]byte(bMSH + "OBX|1|TS|||20150601135823"))
	if err != nil {
		b.Fatal(err)
	}
	v := m.Get(hl7.MustPath("OBX-5"))
	loc, err := time.LoadLocation("America/Chicago")
	if err != nil {
		b.Fatal(err)
	}
	c := &Context{Location: loc}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DateTime(c, v); err != nil {
			b.Fatal(err)
		}
	}
}
