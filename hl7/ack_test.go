package hl7_test

import (
	"strings"
	"testing"
	"time"

	"github.com/plexus-hl7/plexus/hl7"
)

var ackTime = time.Date(2024, 5, 6, 7, 8, 9, 0, time.FixedZone("", -5*3600))

func TestAckOriginalMode(t *testing.T) {
	in := mustParse(t, "MSH|^~\\&|LAB^1.2^ISO|HOSP|PLEXUS|ENGINE|20240101||ORU^R01^ORU_R01|MSG42|P|2.5.1||||||UNICODE UTF-8\rPID|1\r")
	ack := hl7.Ack(in, hl7.AA, hl7.AckOptions{ControlID: "ACK1", Time: ackTime})
	want := "MSH|^~\\&|PLEXUS|ENGINE|LAB^1.2^ISO|HOSP|20240506070809-0500||ACK^R01^ACK|ACK1|P|2.5.1||||||UNICODE UTF-8\r" +
		"MSA|AA|MSG42\r"
	if string(ack) != want {
		t.Errorf("ACK\n got %q\nwant %q", ack, want)
	}
}

func TestAckGeneratesControlID(t *testing.T) {
	in := mustParse(t, adt)
	a := mustParse(t, string(hl7.Ack(in, hl7.AA, hl7.AckOptions{})))
	b := mustParse(t, string(hl7.Ack(in, hl7.AA, hl7.AckOptions{})))
	ida, idb := a.Header().ControlID, b.Header().ControlID
	if len(ida) != 20 || ida == idb {
		t.Errorf("control IDs %q %q", ida, idb)
	}
}

func TestAckErrLayoutFollowsVersion(t *testing.T) {
	// The error is on the 2nd OBX, the message's 4th segment: ERR-2.2 and
	// ERR-1.2 count occurrences of the segment ID, so they say 2.
	e := &hl7.Error{Segment: "OBX", Seq: 4, Field: 14, Code: hl7.CodeDataType, Severity: hl7.SeverityError, Offset: -1, Msg: "2024-13 is not a date"}
	e2 := &hl7.Error{Segment: "PID", Seq: 2, Field: 7, Code: hl7.CodeRequiredFieldMissing, Severity: hl7.SeverityWarning, Offset: -1, Msg: "no birth date"}
	for _, c := range []struct {
		version, msh9 string
		segs          []string
	}{
		{"2.8", "ACK^A01^ACK", []string{"MSA|AE|C1",
			"ERR||OBX^2^14^1|102^Data type error^HL70357|E||||2024-13 is not a date",
			"ERR||PID^1^7^1|101^Required field missing^HL70357|W||||no birth date"}},
		{"2.5", "ACK^A01^ACK", []string{"MSA|AE|C1|check OBX",
			"ERR||OBX^2^14^1|102^Data type error^HL70357|E||||2024-13 is not a date",
			"ERR||PID^1^7^1|101^Required field missing^HL70357|W||||no birth date"}},
		{"2.4", "ACK^A01^ACK", []string{"MSA|AE|C1|check OBX",
			"ERR|OBX^2^14^102&2024-13 is not a date&HL70357~PID^1^7^101&no birth date&HL70357"}},
		{"2.3", "ACK^A01", []string{"MSA|AE|C1|check OBX",
			"ERR|OBX^2^14^102&2024-13 is not a date&HL70357~PID^1^7^101&no birth date&HL70357"}},
		{"V2.2", "ACK^A01", []string{"MSA|AE|C1|check OBX",
			"ERR|OBX^2^14^102&2024-13 is not a date&HL70357~PID^1^7^101&no birth date&HL70357"}},
		{"2.1", "ACK", []string{"MSA|AE|C1|check OBX",
			"ERR|OBX^2^14^102&2024-13 is not a date&HL70357~PID^1^7^101&no birth date&HL70357"}},
	} {
		in := mustParse(t, "MSH|^~\\&|A|B|C|D|20240101||ADT^A01|C1|P|"+c.version+"\rPID|1\rOBX|1\rOBX|2\r")
		ack := mustParse(t, string(hl7.Ack(in, hl7.AE, hl7.AckOptions{Time: ackTime, Text: "check OBX", Errors: []*hl7.Error{e, e2}})))
		if got, _ := ack.GetString("MSH-9"); got != c.msh9 {
			t.Errorf("%s: MSH-9 %q, want %q", c.version, got, c.msh9)
		}
		if got, _ := ack.GetString("MSH-12"); got != c.version {
			t.Errorf("%s: MSH-12 %q", c.version, got)
		}
		if ack.Len() != len(c.segs)+1 {
			t.Errorf("%s: %d segments, want %d", c.version, ack.Len(), len(c.segs)+1)
		}
		for i, want := range c.segs {
			if got := string(ack.Segment(i + 1).Raw()); got != want {
				t.Errorf("%s: segment %d\n got %q\nwant %q", c.version, i+2, got, want)
			}
		}
	}
}

func TestRejectRawCountsOccurrences(t *testing.T) {
	raw := []byte("MSH|^~\\&|A|B|C|D|20240101||ORU^R01|C9|P|2.5.1\rOBX|1\rNTE|1\rOBX|2|x\x00\r")
	_, err := hl7.Parse(raw)
	if err == nil {
		t.Fatal("parsed")
	}
	nak := mustParse(t, string(hl7.RejectRaw(raw, err, hl7.AckOptions{})))
	if got, _ := nak.GetString("ERR-2"); got != "OBX^2^2^1" {
		t.Errorf("ERR-2 %q, want OBX^2^2^1 (2nd OBX, field 2)", got)
	}
}

func TestAckEnhancedAndDelimiters(t *testing.T) {
	in := mustParse(t, "MSH#!@%*#A#B#C#D#20240101##ADT!A01#X#P#2.5#1##AL#NE\rPID#1\r")
	if !in.Header().Enhanced() {
		t.Fatal("MSH-15 AL is enhanced mode")
	}
	ack := mustParse(t, string(hl7.Ack(in, hl7.CA, hl7.AckOptions{Time: ackTime})))
	if ack.Delimiters() != in.Delimiters() {
		t.Errorf("ACK delimiters %+v", ack.Delimiters())
	}
	if got, _ := ack.GetString("MSA-1"); got != "CA" {
		t.Errorf("MSA-1 %q", got)
	}
	if got, _ := ack.GetString("MSH-9"); got != "ACK!A01!ACK" {
		t.Errorf("MSH-9 %q", got)
	}
}

func TestAckKeepsCharset(t *testing.T) {
	in, err := hl7.Parse([]byte("MSH|^~\\&|M\xdcNSTER|B|C|D|20240101||ADT^A01|X|P|2.5||||||8859/1\r"))
	if err != nil {
		t.Fatal(err)
	}
	ack := hl7.Ack(in, hl7.AA, hl7.AckOptions{})
	if !strings.Contains(string(ack), "|M\xdcNSTER|") {
		t.Errorf("ACK not in 8859/1: %q", ack)
	}
}

func TestRejectRawSalvagesMSH(t *testing.T) {
	for _, c := range []struct {
		name, in    string
		ctrl, event string
	}{
		{"cut in MSH-2", "MSH|^~", "", ""},
		{"bad segment later", "MSH|^~\\&|LAB|H|||20240101||ORU^R01|C77|P|2.3\rp!d|1\r", "C77", "R01"},
		{"broken MSH-2", "MSH|^A\\&|LAB|H|||20240101||ORU^R01|C78|P|2.5\r", "C78", "R01"},
		{"garbage", "\x00\x01\xff garbage", "", ""},
	} {
		_, perr := hl7.Parse([]byte(c.in))
		if perr == nil {
			t.Fatalf("%s: parsed", c.name)
		}
		nak := hl7.RejectRaw([]byte(c.in), perr, hl7.AckOptions{})
		m, err := hl7.Parse(nak)
		if err != nil {
			t.Errorf("%s: NAK unreadable: %v %q", c.name, err, nak)
			continue
		}
		if got, _ := m.GetString("MSA-1"); got != "AR" {
			t.Errorf("%s: MSA-1 %q", c.name, got)
		}
		if got, _ := m.GetString("MSA-2"); got != c.ctrl {
			t.Errorf("%s: MSA-2 %q, want %q", c.name, got, c.ctrl)
		}
		if got, _ := m.GetString("MSH-9.2"); got != c.event {
			t.Errorf("%s: MSH-9.2 %q, want %q", c.name, got, c.event)
		}
		if _, ok := m.Find("ERR", 1); !ok {
			t.Errorf("%s: no ERR", c.name)
		}
	}
	enh := mustParse(t, string(hl7.RejectRaw([]byte("junk"), nil, hl7.AckOptions{Enhanced: true, Text: "not HL7"})))
	if got, _ := enh.GetString("MSA-1"); got != "CR" {
		t.Errorf("enhanced reject MSA-1 %q", got)
	}
}

func TestNewAndSet(t *testing.T) {
	m, err := hl7.New(hl7.DefaultDelimiters(), "ADT", "A04", "ADT_A01", "C-1", "2.5.1")
	if err != nil {
		t.Fatal(err)
	}
	sets := []struct{ path, text string }{
		{"MSH-3", "PLEXUS"},
		{"PID-3[2].4.2", "1.2.3"},
		{"PID-5.1", "O'Brien|Smith^Jr"},
		{"PID-3[1].1", "123"},
		{"OBX-5", "line1\nline2"},
		{"OBX[2]-5", "second"},
		{"MSH-7", "20240101"},
	}
	for _, s := range sets {
		if err := m.Set(hl7.MustPath(s.path), s.text); err != nil {
			t.Fatalf("set %s: %v", s.path, err)
		}
	}
	for _, s := range sets {
		if got, _ := m.GetString(s.path); got != s.text {
			t.Errorf("%s = %q, want %q", s.path, got, s.text)
		}
	}
	out, _ := m.Encode()
	want := "MSH|^~\\&|PLEXUS||||20240101||ADT^A04^ADT_A01|C-1|P|2.5.1\r" +
		"PID|||123~^^^&1.2.3||O'Brien\\F\\Smith\\S\\Jr\r" +
		"OBX|||||line1\\.br\\line2\r" +
		"OBX|||||second\r"
	if string(out) != want {
		t.Errorf("encoded\n got %q\nwant %q", out, want)
	}
	if err := m.Set(hl7.MustPath("NTE[3]-1"), "x"); err == nil {
		t.Error("a gap in occurrences was accepted")
	}
	if err := m.Set(hl7.MustPath("MSH-2"), "x"); err == nil {
		t.Error("MSH-2 was set")
	}
}
