package loadgen

import (
	"bytes"
	"strings"
	"testing"

	"github.com/plexus-hl7/plexus/hl7"
)

func TestTemplateCutsAtMSH10AndPID3(t *testing.T) {
	for _, tc := range []struct {
		name, msg, ctrl, pid string
		hasPID               bool
	}{
		{"sample", string(sample), "4637382", "1032702", true},
		{"LF", "MSH|^~\\&|A|B|C|D|2024||ADT^A01|C1|P|2.5\nPID|1||123^^^H^MR~9||DOE\n", "C1", "123", true},
		{"no PID", "MSH|^~\\&|A|B|C|D|2024||ORU^R01|C1|P|2.5\rOBR|1\r", "C1", "", false},
		{"short PID", "MSH|^~\\&|A|B|C|D|2024||ADT^A01|C1|P|2.5\rPID|1\r", "C1", "", false},
		{"empty PID-3", "MSH|^~\\&|A|B|C|D|2024||ADT^A01|C1|P|2.5\rPID|1||\r", "C1", "", true},
		{"PID-3 last", "MSH|^~\\&|A|B|C|D|2024||ADT^A01|C1|P|2.5\rPID|1||77", "C1", "77", true},
		{"subcomponent", "MSH|^~\\&|A|B|C|D|2024||ADT^A01|C1|P|2.5\rPID|1||7&x^^^H\r", "C1", "7", true},
		{"other delimiters", "MSH#$%@!#A#B#C#D#2024##ADT$A01#C1#P#2.5\rPID#1##5$$$H%6\r", "C1", "5", true},
		{"MSH-10 last", "MSH|^~\\&|A|B|C|D|2024||ADT^A01|C1\rPID|1||8\r", "C1", "8", true},
		{"empty MSH-10", "MSH|^~\\&|A|B|C|D|2024||ADT^A01||P|2.5\rPID|1||8\r", "", "8", true},
		{"PID not first after MSH", "MSH|^~\\&|A|B|C|D|2024||ADT^A01|C1|P|2.5\rEVN|A01|PID|1||X\rPID|1||9\r", "C1", "9", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tm, err := newTemplate([]byte(tc.msg))
			if err != nil {
				t.Fatal(err)
			}
			if tm.hasPID != tc.hasPID || string(tm.pid) != tc.pid {
				t.Fatalf("PID-3.1 %q (found %v), want %q", tm.pid, tm.hasPID, tc.pid)
			}
			var orig []byte
			for _, p := range [][]byte{tm.head, []byte(tc.ctrl), tm.mid, tm.pid, tm.tail} {
				orig = append(orig, p...)
			}
			if string(orig) != tc.msg {
				t.Fatalf("the pieces do not make the message again:\n%q", orig)
			}
		})
	}
}

func TestTemplateBuild(t *testing.T) {
	tm, err := newTemplate(sample)
	if err != nil {
		t.Fatal(err)
	}
	x := ids{prefix: "LGABC123", patients: 3}
	if err := tm.check(x); err != nil {
		t.Fatal(err)
	}
	frame, id := tm.build(nil, 5, x)
	if frame[0] != 0x0b || !bytes.HasSuffix(frame, []byte{0x1c, '\r'}) {
		t.Fatalf("not framed: %q...%q", frame[:5], frame[len(frame)-5:])
	}
	m, err := hl7.Parse(frame[1 : len(frame)-2])
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Header().ControlID; got != "LGABC1235" || got != string(id) {
		t.Errorf("MSH-10 %q, id %q", got, id)
	}
	if got := m.Get(hl7.MustPath("PID-3.1")).String(); got != "LG1" {
		t.Errorf("PID-3.1 %q, want LG1 (message 5 of 3 patients)", got)
	}
	if got := m.Get(hl7.MustPath("PID-3.4.1")).String(); got != "V2FHIR" {
		t.Errorf("the rest of PID-3 changed: PID-3.4.1 %q", got)
	}
	// Without patients, PID-3.1 stays.
	frame, _ = tm.build(frame[:0], 5, ids{prefix: "P"})
	if !bytes.Contains(frame, []byte("|1032702^^^")) || !bytes.Contains(frame, []byte("|ADT^A01^ADT_A01|P5|")) {
		t.Errorf("built without patients: %q", frame[:300])
	}

	buf := make([]byte, 0, 8<<10)
	if n := testing.AllocsPerRun(100, func() { tm.build(buf, 123456789, x) }); n != 0 {
		t.Errorf("%v allocations per message built", n)
	}
}

func TestTemplateRefuses(t *testing.T) {
	for _, tc := range []struct{ name, msg, want string }{
		{"not MSH", "PID|1||2\r", "does not start with an MSH"},
		{"short MSH", "MSH|^~\\&|A|B|C|D|2024||ADT^A01\rPID|1\r", "no field 10"},
		{"end block", "MSH|^~\\&|A|B|C|D|2024||ADT^A01|C1|P|2.5\rNTE|1||a\x1cb\r", "end block"},
	} {
		_, err := newTemplate([]byte(tc.msg))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}
