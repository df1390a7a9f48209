package structure

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/plexus-hl7/plexus/hl7"
)

func TestStructuresLoad(t *testing.T) {
	names := Names()
	if len(names) != 13 {
		t.Errorf("%d structures: %v (the IG's 13 message maps)", len(names), names)
	}
	oru := Lookup("ORU_R01")
	if oru == nil {
		t.Fatal("no ORU_R01")
	}
	obs := oru.Groups("OBSERVATION")
	if len(obs) != 1 || obs[0].Path() != "PATIENT_RESULT.ORDER_OBSERVATION.OBSERVATION" || !obs[0].Repeating || !obs[0].Optional {
		t.Errorf("ORU_R01's OBSERVATION: %+v", obs)
	}
	if oo := oru.Groups("PATIENT_RESULT.ORDER_OBSERVATION"); len(oo) != 1 || !oo[0].Contains("ORC") || !oo[0].Contains("OBX") || oo[0].Contains("PID") {
		t.Errorf("ORDER_OBSERVATION by path: %+v", oo)
	}
	for i, n := range oru.Nodes() {
		if n.ID != i {
			t.Fatalf("node %s has ID %d at %d", n.Name, n.ID, i)
		}
	}
}

func TestParse(t *testing.T) {
	n, err := Parse("X", "MSH [{SFT}] {G: A [B] [{H: C {D}}]} [E]")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	var show func(n *Node)
	show = func(n *Node) {
		o, c := "", ""
		switch {
		case n.Optional && n.Repeating:
			o, c = "[{", "}]"
		case n.Optional:
			o, c = "[", "]"
		case n.Repeating:
			o, c = "{", "}"
		}
		b.WriteString(" " + o + n.Name)
		if n.Group {
			b.WriteString(":")
			for _, k := range n.Children {
				show(k)
			}
		}
		b.WriteString(c)
	}
	for _, k := range n.Children {
		show(k)
	}
	if got := b.String(); got != " MSH [{SFT}] {G: A [B] [{H: C {D}}]} [E]" {
		t.Errorf("round trip: %s", got)
	}
	for _, bad := range []string{"MSH [SFT", "MSH ]", "{G: A", "G: A"} {
		if _, err := Parse("X", bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// groups renders what Match found: per segment, its innermost group
// instance as NAME#n (n counts that group's instances from 1).
func groups(t *testing.T, structure, msg string) string {
	t.Helper()
	m, err := hl7.Parse([]byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	var g Groups
	g.Match(Lookup(structure), m)
	count := map[string]int{}
	label := make([]string, len(g.Instances))
	for i, in := range g.Instances {
		count[in.Node.Name]++
		label[i] = fmt.Sprintf("%s#%d", in.Node.Name, count[in.Node.Name])
		if in.Parent >= i || (in.Parent >= 0 && (g.Instances[in.Parent].Start > in.Start || g.Instances[in.Parent].End < in.End)) {
			t.Errorf("instance %s is not inside its parent", label[i])
		}
	}
	var out []string
	for i, of := range g.Of {
		l := "-"
		if of >= 0 {
			l = label[of]
		}
		out = append(out, m.Segment(i).ID()+":"+l)
	}
	return strings.Join(out, " ")
}

func TestMatchORU(t *testing.T) {
	msg := "MSH|^~\\&|A|B|C|D|20240101||ORU^R01^ORU_R01|1|P|2.5.1\r" +
		"PID|1||1\rPV1|1|I\r" +
		"OBR|1\rNTE|1\rOBX|1\rNTE|2\rOBX|2\rZXX|1\r" + // no ORC in the first order
		"ORC|RE\rOBR|2\rOBX|3\rSPM|1\rOBX|4\r" +
		"PID|2||2\rORC|RE\rOBR|3\rOBX|5\r"
	want := "MSH:- PID:PATIENT#1 PV1:VISIT#1 " +
		"OBR:ORDER_OBSERVATION#1 NTE:ORDER_OBSERVATION#1 OBX:OBSERVATION#1 NTE:OBSERVATION#1 OBX:OBSERVATION#2 ZXX:OBSERVATION#2 " +
		"ORC:COMMON_ORDER#1 OBR:ORDER_OBSERVATION#2 OBX:OBSERVATION#3 SPM:SPECIMEN#1 OBX:SPECIMEN_OBSERVATION#1 " +
		"PID:PATIENT#2 ORC:COMMON_ORDER#2 OBR:ORDER_OBSERVATION#3 OBX:OBSERVATION#4"
	if got := groups(t, "ORU_R01", msg); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestMatchOtherStructures(t *testing.T) {
	for _, c := range []struct{ structure, msg, want string }{
		{"SIU_S12", "MSH|^~\\&|A|B|C|D|20240101||SIU^S12|1|P|2.5\rSCH|1\rPID|1\rRGS|1\rAIS|1\rNTE|1\rAIP|1\rAIP|2\rRGS|2\rAIL|1\r",
			"MSH:- SCH:- PID:PATIENT#1 RGS:RESOURCES#1 AIS:SERVICE#1 NTE:SERVICE#1 AIP:PERSONNEL_RESOURCE#1 AIP:PERSONNEL_RESOURCE#2 RGS:RESOURCES#2 AIL:LOCATION_RESOURCE#1"},
		{"VXU_V04", "MSH|^~\\&|A|B|C|D|20240101||VXU^V04|1|P|2.5.1\rPID|1\rORC|RE\rRXA|0\rRXR|C28161\rOBX|1\rORC|RE\rRXA|0\rOBX|2\rNTE|1\r",
			"MSH:- PID:- ORC:ORDER#1 RXA:ORDER#1 RXR:ORDER#1 OBX:OBSERVATION#1 ORC:ORDER#2 RXA:ORDER#2 OBX:OBSERVATION#2 NTE:OBSERVATION#2"},
		{"ORM_O01", "MSH|^~\\&|A|B|C|D|20240101||ORM^O01|1|P|2.3\rPID|1\rPV1|1\rORC|NW\rOBR|1\rNTE|1\rORC|NW\rOBR|2\r",
			"MSH:- PID:PATIENT#1 PV1:VISIT#1 ORC:ORDER#1 OBR:CHOICE#1 NTE:ORDER_DETAIL#1 ORC:ORDER#2 OBR:CHOICE#2"},
		// a second ORC is a new ORDER, not a PRIOR_RESULT (which it could
		// begin only by skipping its optional PATIENT_PRIOR); a PID after
		// the OBR begins a PRIOR_RESULT
		{"OML_O21", "MSH|^~\\&|A|B|C|D|20240101||OML^O21|1|P|2.5.1\rPID|1\rORC|NW\rTQ1|1\rOBR|1\rORC|NW\rOBR|2\rPID|1\rORC|RE\rOBR|3\rOBX|1\r",
			"MSH:- PID:PATIENT#1 ORC:ORDER#1 TQ1:TIMING#1 OBR:OBSERVATION_REQUEST#1 ORC:ORDER#2 OBR:OBSERVATION_REQUEST#2 PID:PATIENT_PRIOR#1 ORC:ORDER_PRIOR#1 OBR:ORDER_PRIOR#1 OBX:OBSERVATION_PRIOR#1"},
		// out of order: an NK1 after the PV1 joins PATIENT, not VISIT
		{"ORU_R01", "MSH|^~\\&|A|B|C|D|20240101||ORU^R01|1|P|2.5.1\rPID|1\rPV1|1\rNK1|1\rOBR|1\r",
			"MSH:- PID:PATIENT#1 PV1:VISIT#1 NK1:PATIENT#1 OBR:ORDER_OBSERVATION#1"},
		{"ADT_A01", "MSH|^~\\&|A|B|C|D|20240101||ADT^A01|1|P|2.5\rEVN|A01\rPID|1\rNK1|1\rNK1|2\rPV1|1\rIN1|1\rIN2|1\rIN1|2\r",
			"MSH:- EVN:- PID:- NK1:NEXT_OF_KIN#1 NK1:NEXT_OF_KIN#2 PV1:- IN1:INSURANCE#1 IN2:INSURANCE#1 IN1:INSURANCE#2"},
	} {
		if got := groups(t, c.structure, c.msg); got != c.want {
			t.Errorf("%s:\ngot  %s\nwant %s", c.structure, got, c.want)
		}
	}
}

// Every corpus message of a known structure matches without a panic, and
// every instance lies inside its parent (groups checks).
func TestMatchCorpus(t *testing.T) {
	dir := "../../../shared/corpus"
	if _, err := os.Stat(dir); err != nil {
		t.Skip("shared corpus not found")
	}
	n := 0
	for _, sub := range []string{"hl7-v2-to-fhir-ig", "hapi-hl7v2", "rethinkhealth-hl7v2"} {
		ents, _ := os.ReadDir(dir + "/" + sub)
		for _, e := range ents {
			data, err := os.ReadFile(dir + "/" + sub + "/" + e.Name())
			if err != nil {
				t.Fatal(err)
			}
			b, err := hl7.SplitBatch(data)
			if err != nil {
				continue
			}
			for _, raw := range b.Messages() {
				h, err := hl7.ParseHeader(raw)
				if err != nil || Lookup(h.Structure) == nil {
					continue
				}
				groups(t, h.Structure, string(raw))
				n++
			}
		}
	}
	t.Logf("%d messages", n)
}

func BenchmarkMatch(b *testing.B) {
	data, err := os.ReadFile("../testdata/oru_r01_large.hl7")
	if err != nil {
		b.Skip(err)
	}
	m, err := hl7.Parse(data)
	if err != nil {
		b.Fatal(err)
	}
	s := Lookup("ORU_R01")
	var g Groups
	b.ReportAllocs()
	for b.Loop() {
		g.Match(s, m)
	}
}

// FuzzMatch matches random segment sequences against every structure:
// never a panic, every segment placed, every instance inside its parent
// and around its segments.
func FuzzMatch(f *testing.F) {
	f.Add("PID PV1 ORC OBR NTE OBX NTE OBX SPM OBX ZXX PID OBR OBX")
	f.Add("SCH NTE PID RGS AIS NTE AIP RGS AIL")
	f.Add("OBX OBX PID PID NK1 PV1 NK1 IN1 IN2 IN1 ROL PR1 ROL")
	f.Fuzz(func(t *testing.T, segs string) {
		var b strings.Builder
		b.WriteString("MSH|^~\\&|A|B|C|D|20240101||ORU^R01|1|P|2.5.1\r")
		n := 1
		for _, s := range strings.Fields(segs) {
			if len(s) != 3 || strings.ToUpper(s) != s || s == "MSH" {
				continue
			}
			b.WriteString(s + "|1\r")
			n++
		}
		m, err := hl7.Parse([]byte(b.String()))
		if err != nil {
			return
		}
		for _, name := range Names() {
			var g Groups
			g.Match(Lookup(name), m)
			if len(g.Of) != m.Len() || len(g.Slot) != m.Len() {
				t.Fatalf("%s: %d segments placed of %d", name, len(g.Of), m.Len())
			}
			for i, in := range g.Instances {
				if in.Start >= in.End || in.Parent >= i {
					t.Fatalf("%s: instance %d %+v", name, i, in)
				}
				if p := in.Parent; p >= 0 && (g.Instances[p].Start > in.Start || g.Instances[p].End < in.End) {
					t.Fatalf("%s: instance %d not inside its parent", name, i)
				}
			}
			for i, of := range g.Of {
				if of >= 0 && (i < g.Instances[of].Start || i >= g.Instances[of].End) {
					t.Fatalf("%s: segment %d outside its instance %+v", name, i, g.Instances[of])
				}
				if s := g.Slot[i]; s != nil && s.Name != m.Segment(i).ID() {
					t.Fatalf("%s: segment %d (%s) matched to %s", name, i, m.Segment(i).ID(), s.Name)
				}
			}
		}
	})
}
