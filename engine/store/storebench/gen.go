package storebench

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// PayloadSize is the size of every generated message.
const PayloadSize = 2048

// Generated messages are ADT^A01s shaped like the IG's test-conversion ADT_A01
// (MSH, EVN, PID, PD1, NK1, PV1, PV2, OBX, AL1, IN1, NTE): 256 variants with
// different names, addresses, observations and note text, each exactly
// PayloadSize bytes, into which the control id, timestamp and patient id are
// written at fixed offsets. So message n is a pure function of n (the crash
// test regenerates it to compare bytes), and the stream compresses about as
// well as one sender's feed does (same structure, different values).

const (
	ctrlWidth = 15 // "PLX" + 12 digits
	pidWidth  = 10 // "MRN" + 7 digits
	tsWidth   = 14 // YYYYMMDDHHMMSS
)

type variant struct {
	raw             []byte
	ctrlOff, pidOff int
	tsOffs          []int
}

var variants = buildVariants(256)

var (
	givenNames  = []string{"Eve", "John", "Maria", "Wei", "Aisha", "Lars", "Priya", "Carlos", "Yuki", "Olu", "Fatima", "Noah", "Ines", "Dmitri", "Grace", "Tomas"}
	familyNames = []string{"Everywoman", "Smith", "Garcia", "Chen", "Okafor", "Nielsen", "Patel", "Rossi", "Tanaka", "Adeyemi", "Haddad", "Miller", "Costa", "Ivanov", "Kim", "Novak"}
	streets     = []string{"High Street", "Main St", "Oak Avenue", "Elm Road", "Harbor Blvd", "Maple Lane", "Cedar Court", "Pine Way"}
	cities      = []string{"Mountainville^CA^99995", "Springfield^IL^62701", "Riverside^CA^92501", "Fairview^TN^37062", "Madison^WI^53703", "Georgetown^TX^78626"}
	words       = strings.Fields("patient admitted via emergency department with shortness of breath and chest pain no known drug allergies history of hypertension type two diabetes on metformin lisinopril daily vital signs stable afebrile oriented times three family at bedside plan telemetry monitoring serial troponins echocardiogram cardiology consult follow up primary care physician in two weeks discharge pending")
	observation = []string{"8302-2^Body Height^LN||%d|cm^centimeter^UCUM", "29463-7^Body Weight^LN||%d|kg^kilogram^UCUM", "8867-4^Heart rate^LN||%d|/min^per minute^UCUM", "8310-5^Body temperature^LN||3%d.%d|Cel^degree Celsius^UCUM"}
)

type rng uint64

func (r *rng) next() uint64 {
	x := uint64(*r)
	x ^= x << 13
	x ^= x >> 7
	x ^= x << 17
	*r = rng(x)
	return x
}

func (r *rng) pick(s []string) string { return s[r.next()%uint64(len(s))] }

func buildVariants(n int) []variant {
	vs := make([]variant, n)
	ctrlMark := strings.Repeat("C", ctrlWidth)
	pidMark := strings.Repeat("P", pidWidth)
	tsMark := strings.Repeat("T", tsWidth)
	for i := range vs {
		r := rng(uint64(i)*0x9E3779B97F4A7C15 + 1)
		given, family := r.pick(givenNames), r.pick(familyNames)
		var b strings.Builder
		seg := func(format string, a ...any) {
			fmt.Fprintf(&b, format, a...)
			b.WriteByte('\r')
		}
		seg("MSH|^~\\&|SndApp^1.2.3.4.5.2^ISO|SndFac^1.2.3.4.5.1^ISO|RcvApp^1.2.3.4.6.2^ISO|RcvFac^1.2.3.4.6.1^ISO|%s+0100||ADT^A01^ADT_A01|%s|P|2.5.1|||AL|NE|USA|ASCII|en", tsMark, ctrlMark)
		seg("EVN|A01|%s+0100||ADT_EVENT|23432^%s^%s^^^MD^^AssignAuth&1.2.3.4.5.6&ISO^L", tsMark, r.pick(familyNames), r.pick(givenNames))
		seg("PID|1||%s^^^V2FHIR&1.2.3.4.5&ISO^MR^AssignFac&1.2.3.4.5.6.3&ISO||%s^%s^%c^^^^L||19%02d%02d%02d|%c|||%d %s^^%s^USA^H||^PRN^PH^^1^555^%07d|||M||%s", pidMark, family, given, 'A'+rune(r.next()%26), 40+r.next()%60, 1+r.next()%12, 1+r.next()%28, "FMU"[r.next()%3], 1+r.next()%999, r.pick(streets), r.pick(cities), r.next()%10000000, strconv.FormatUint(r.next()%1000000000, 10))
		seg("PD1|||East Hospital^L^^^^AssignAuth&1.2.3.4.5.6&ISO^XX|23432^%s^%s^^^MD", r.pick(familyNames), r.pick(givenNames))
		seg("NK1|1|%s^%s^^^^^L|SPO^Spouse^HL70063|%d %s^^%s", family, r.pick(givenNames), 1+r.next()%999, r.pick(streets), r.pick(cities))
		seg("PV1|1|E^EMERGENCY^HL70004|EMERG^%d^%02d^^^^^^^^DEPID|E^Emergency^HL70007|||%d^%s^%s^^^Dr^MD^^AssignAuth&1.2.3.4.5.6&ISO^L^1^M10^NPI|||MED||||7|||||V%08d|||||||||||||||||||||||||%s+0100", 100+r.next()%300, r.next()%40, 200000000+r.next()%99999999, r.pick(familyNames), r.pick(givenNames), r.next()%100000000, tsMark)
		seg("PV2||GENERAL|165002^Accident-prone^SNM||||||20150606|5||%s %s %s", r.pick(words), r.pick(words), r.pick(words))
		for k := 1; k <= 4; k++ {
			seg("OBX|%d|NM|"+observation[(k-1)%len(observation)]+"|||||F|||%s+0100", k, 50+r.next()%150, r.next()%10, tsMark)
		}
		seg("AL1|1|DA^Drug Allergy^HL70127|^%s|MO^Moderate^HL70128|%s", r.pick(words), r.pick(words))
		seg("IN1|1|||MyInsurancePlan||||||%d^^^MyInsurancePlan&1.2.3.7.4.2&ISO^SN|Acme^L&Legal&HL70396|20150101|20151231||HMO^Health Maintenance Organization^HL70086|%s^%s", r.next()%1000000, family, given)
		// Fill to exactly PayloadSize with NTE free text.
		for nte := 1; ; nte++ {
			head := fmt.Sprintf("NTE|%d|L|", nte)
			room := PayloadSize - b.Len() - len(head) - 1
			if room <= 0 {
				break
			}
			var t strings.Builder
			for t.Len() < room && t.Len() < 200 {
				if t.Len() > 0 {
					t.WriteByte(' ')
				}
				t.WriteString(r.pick(words))
			}
			s := t.String()
			if len(s) > room {
				s = s[:room]
			}
			b.WriteString(head)
			b.WriteString(s)
			b.WriteByte('\r')
		}
		raw := []byte(b.String())
		if len(raw) > PayloadSize {
			// Cut the last NTE to size, keeping the final CR.
			raw = raw[:PayloadSize]
			raw[PayloadSize-1] = '\r'
		}
		for len(raw) < PayloadSize { // only when the last NTE head did not fit
			raw = append(raw[:len(raw)-1], ' ', '\r')
		}
		v := variant{raw: raw}
		v.ctrlOff = bytes.Index(raw, []byte(ctrlMark))
		v.pidOff = bytes.Index(raw, []byte(pidMark))
		for off := 0; ; {
			j := bytes.Index(raw[off:], []byte(tsMark))
			if j < 0 {
				break
			}
			v.tsOffs = append(v.tsOffs, off+j)
			off += j + tsWidth
		}
		if v.ctrlOff < 0 || v.pidOff < 0 || len(v.tsOffs) == 0 {
			panic("storebench: template markers missing")
		}
		vs[i] = v
	}
	return vs
}

// NumPatients is how many distinct patient identifiers the generator uses, so
// the patient index gets several messages per patient in random order.
const NumPatients = 1_000_000

// Gen fills m with message number n, reusing m's buffers. Time is left alone.
func Gen(m *Msg, n uint64) {
	v := &variants[n%uint64(len(variants))]
	if cap(m.Raw) < PayloadSize {
		m.Raw = make([]byte, PayloadSize)
	}
	m.Raw = m.Raw[:PayloadSize]
	copy(m.Raw, v.raw)
	m.ControlID = appendPadded(append(m.ControlID[:0], "PLX"...), n, ctrlWidth-3)
	pid := (n * 2654435761) % NumPatients
	m.PatientID = appendPadded(append(m.PatientID[:0], "MRN"...), pid, pidWidth-3)
	copy(m.Raw[v.ctrlOff:], m.ControlID)
	copy(m.Raw[v.pidOff:], m.PatientID)
	// A timestamp derived from n (one message per 10 ms from 2026-01-01).
	var ts [tsWidth]byte
	fmtTimestamp(ts[:], n)
	for _, off := range v.tsOffs {
		copy(m.Raw[off:], ts[:])
	}
}

func appendPadded(dst []byte, v uint64, width int) []byte {
	var buf [20]byte
	s := strconv.AppendUint(buf[:0], v, 10)
	for i := len(s); i < width; i++ {
		dst = append(dst, '0')
	}
	return append(dst, s...)
}

func fmtTimestamp(dst []byte, n uint64) {
	secs := n / 100
	day := secs / 86400
	sod := secs % 86400
	month := 1 + (day/28)%12
	dom := 1 + day%28
	year := 2026 + day/(28*12)
	s := appendPadded(dst[:0], year, 4)
	s = appendPadded(s, month, 2)
	s = appendPadded(s, dom, 2)
	s = appendPadded(s, sod/3600, 2)
	s = appendPadded(s, (sod/60)%60, 2)
	appendPadded(s, sod%60, 2)
}
