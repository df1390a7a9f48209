package datatype

// Numbers: NM to decimal, integer, positiveInt, unsignedInt and Quantity;
// SN (structured numeric, OBX-5 of value type SN) to Quantity, Range and
// Ratio; CQ (composite quantity with units) to Quantity, decimal, code and
// unsignedInt; CWE units to Quantity.
//
// An NM is read as HL7 writes it ([+|-]digits[.digits], leading zeros and
// a bare leading or trailing point allowed) and written as FHIR's decimal
// wants it: "+007.50" → 7.50, ".5" → 0.5, "5." → 5. The digits after the
// point are kept, trailing zeros included (they are the precision). Text
// that is not a number is an error, never a guess.
//
// Decisions where the IG is silent or loose:
//
//   - SN's originalText extension (rows 0 of SN[Quantity], SN[Range],
//     SN[Ratio]) is SN.1 SN.2 SN.3 SN.4 joined with one space, the empty
//     ones left out ("^10^-^20" → "10 - 20", not " 10 - 20").
//   - SN.1 "<>" (not equal) has no FHIR comparator: an error, since a value
//     without its comparator would say "equal". A Range whose low is above
//     its high, or a Ratio without SN.4, is invalid FHIR (rng-2, rat-1):
//     an error too.
//   - CQ.2 and CWE units: unit is CWE[string] of the units (CQ[Quantity]
//     row 2), falling back to CWE.1 as CWE[Quantity] row 1 does; code and
//     system are CWE.1 and CWE.3 (CWE[Quantity] rows 1 and 3) when the
//     coding system is known, left out otherwise (qty-3: a code needs its
//     system). UCUM's URI is written http://unitsofmeasure.org, without the
//     trailing slash of NM[Quantity-LengthOfStay] row 1 (the URI FHIR
//     defines).
//   - NM[Quantity-LengthOfStay] accepts 0 (a same-day stay); negative is the
//     IG's error.

import (
	"strconv"
	"strings"

	"github.com/plexus-hl7/plexus/hl7"
	"github.com/plexus-hl7/plexus/transforms/fhirjson"
)

func init() {
	register(&Converter{Name: "nm", Map: "NM[decimal]", V2: []string{"NM"}, FHIR: "decimal", Fn: Decimal})
	register(&Converter{Name: "nm_quantity", Map: "NM[Quantity]", V2: []string{"NM"}, FHIR: "Quantity", Fn: nmQuantity})
	register(&Converter{Name: "nm_integer", Map: "NM[integer]", V2: []string{"NM", "SI"}, FHIR: "integer", Fn: Integer})
	register(&Converter{Name: "nm_positiveint", Map: "NM[positiveInt]", V2: []string{"NM", "SI"}, FHIR: "positiveInt", Fn: PositiveInt})
	register(&Converter{Name: "nm_unsignedint", Map: "NM[unsignedInt]", V2: []string{"NM", "SI"}, FHIR: "unsignedInt", Fn: UnsignedInt})
	register(&Converter{Name: "nm_quantity_lengthofstay", Map: "NM[Quantity-LengthOfStay]", V2: []string{"NM"}, FHIR: "Quantity", Fn: nmLengthOfStay})
	register(&Converter{Name: "sn_quantity", Map: "SN[Quantity]", V2: []string{"SN"}, FHIR: "Quantity", Fn: SNQuantity})
	register(&Converter{Name: "sn_range", Map: "SN[Range]", V2: []string{"SN"}, FHIR: "Range", Fn: SNRange})
	register(&Converter{Name: "sn_ratio", Map: "SN[Ratio]", V2: []string{"SN"}, FHIR: "Ratio", Fn: SNRatio})
	register(&Converter{Name: "nr", Map: "NR[Range]", V2: []string{"NR"}, FHIR: "Range", Fn: nrRange})
	register(&Converter{Name: "cq", Map: "CQ[Quantity]", V2: []string{"CQ"}, FHIR: "Quantity", Fn: CQQuantity})
	register(&Converter{Name: "cq_decimal", Map: "CQ[decimal]", V2: []string{"CQ"}, FHIR: "decimal", Fn: cqDecimal})
	register(&Converter{Name: "cq_code", Map: "CQ[code]", V2: []string{"CQ"}, FHIR: "code", Fn: cqCode})
	register(&Converter{Name: "cq_unsignedint", Map: "CQ[unsignedInt]", V2: []string{"CQ"}, FHIR: "unsignedInt", Fn: cqMinutes})
	register(&Converter{Name: "cwe_quantity", Map: "CWE[Quantity]", V2: []string{"CWE", "CE"}, FHIR: "Quantity", Fn: CWEQuantity})
}

const (
	urlOriginalText = "http://hl7.org/fhir/StructureDefinition/originalText"
	sysUCUM         = "http://unitsofmeasure.org"
)

// decimalText normalises an HL7 NM to FHIR decimal text; reason is set
// when s is not a number.
func decimalText(s string) (out, reason string) {
	s = strings.TrimSpace(s)
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	intPart, frac, _ := strings.Cut(s, ".") // "5." is 5
	if intPart == "" && frac == "" {
		return "", "no digits"
	}
	for _, p := range [2]string{intPart, frac} {
		for i := 0; i < len(p); i++ {
			if p[i] < '0' || p[i] > '9' {
				return "", "unexpected " + strconv.QuoteRune(rune(p[i]))
			}
		}
	}
	if len(intPart) > 18 {
		return "", "more than 18 digits before the point"
	}
	intPart = strings.TrimLeft(intPart, "0")
	if intPart == "" {
		intPart = "0"
	}
	if intPart == "0" && strings.Trim(frac, "0") == "" {
		neg = false // -0 and -0.00 are 0
	}
	var b strings.Builder
	b.Grow(len(intPart) + len(frac) + 2)
	if neg {
		b.WriteByte('-')
	}
	b.WriteString(intPart)
	if frac != "" {
		b.WriteByte('.')
		b.WriteString(frac)
	}
	return b.String(), ""
}

// parseNM reads an NM value as FHIR decimal text ("" when empty).
func parseNM(v hl7.Value, typ string) (string, error) {
	s := v2Text(v)
	if s == "" {
		return "", nil
	}
	out, reason := decimalText(s)
	if reason != "" {
		return "", &ValueError{Type: typ, Value: s, Reason: reason}
	}
	return out, nil
}

// Decimal converts an NM to a FHIR decimal.
func Decimal(c *Context, v hl7.Value) (fhirjson.Value, error) {
	s, err := parseNM(partsOf(v).at(1), "NM")
	if err != nil || s == "" {
		return fhirjson.Value{}, err
	}
	return fhirjson.Num(s), nil
}

// nmQuantity is NM[Quantity]: NM.1 → $value, the decimal being the
// Quantity's value.
func nmQuantity(c *Context, v hl7.Value) (fhirjson.Value, error) {
	d, err := Decimal(c, v)
	return c.obj(fhirjson.M("value", d)), err
}

// integerText reads an NM that must be a whole number within [lo, hi]
// (trailing zeros after the point allowed: "5.0" is 5).
func integerText(v hl7.Value, lo, hi int64, what string) (fhirjson.Value, error) {
	s, err := parseNM(partsOf(v).at(1), "NM")
	if err != nil || s == "" {
		return fhirjson.Value{}, err
	}
	whole, frac, _ := strings.Cut(s, ".")
	if strings.Trim(frac, "0") != "" {
		return fhirjson.Value{}, &ValueError{Type: "NM", Value: s, Reason: "not a whole number, as " + what + " must be"}
	}
	n, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || n < lo || n > hi {
		return fhirjson.Value{}, &ValueError{Type: "NM", Value: s, Reason: "outside the range of " + what}
	}
	return fhirjson.Int(n), nil
}

// Integer converts an NM to a FHIR integer (32 bits).
func Integer(c *Context, v hl7.Value) (fhirjson.Value, error) {
	return integerText(v, -1<<31, 1<<31-1, "integer")
}

// PositiveInt converts an NM to a positiveInt (NM[positiveInt]: "If
// positive"; "If negative raise an error"). Zero is an error too: FHIR's
// positiveInt starts at 1.
func PositiveInt(c *Context, v hl7.Value) (fhirjson.Value, error) {
	return integerText(v, 1, 1<<31-1, "positiveInt (1 to 2147483647)")
}

// UnsignedInt converts an NM to an unsignedInt (0 to 2147483647).
func UnsignedInt(c *Context, v hl7.Value) (fhirjson.Value, error) {
	return integerText(v, 0, 1<<31-1, "unsignedInt (0 to 2147483647)")
}

// nmLengthOfStay is NM[Quantity-LengthOfStay]: value, unit "days", system
// UCUM, code "d"; negative is an error.
func nmLengthOfStay(c *Context, v hl7.Value) (fhirjson.Value, error) {
	s, err := parseNM(partsOf(v).at(1), "NM")
	if err != nil || s == "" {
		return fhirjson.Value{}, err
	}
	if s[0] == '-' {
		return fhirjson.Value{}, &ValueError{Type: "NM", Value: s, Reason: "a length of stay cannot be negative"}
	}
	return c.obj(
		fhirjson.M("value", fhirjson.Num(s)),
		fhirjson.M("unit", fhirjson.Str("days")),
		fhirjson.M("system", fhirjson.Str(sysUCUM)),
		fhirjson.M("code", fhirjson.Str("d")),
	), nil
}

// sn is a parsed SN.
type sn struct {
	comparator string // as sent, trimmed
	num1, num2 string // FHIR decimal text, "" when absent
	sep        string
	original   string // SN.1 SN.2 SN.3 SN.4 joined with spaces, empty parts left out
}

func parseSN(v hl7.Value) (sn, bool, error) {
	p := partsOf(v)
	var s sn
	s.comparator = p.text(1)
	s.sep = p.text(3)
	raw2, raw4 := p.text(2), p.text(4)
	if s.comparator == "" && raw2 == "" && s.sep == "" && raw4 == "" {
		return s, false, nil
	}
	switch s.comparator {
	case "", "=", "<", ">", "<=", ">=":
	case "<>":
		return s, false, &ValueError{Type: "SN", Value: "<>", Reason: "comparator <> (not equal) has no FHIR equivalent"}
	default:
		return s, false, &ValueError{Type: "SN", Value: s.comparator, Reason: "SN.1 is not one of = < > <= >= <>"}
	}
	var err error
	if s.num1, err = parseNM(p.at(2), "SN.2 (NM)"); err != nil {
		return s, false, err
	}
	if s.num2, err = parseNM(p.at(4), "SN.4 (NM)"); err != nil {
		return s, false, err
	}
	parts := make([]string, 0, 4)
	for _, x := range [4]string{s.comparator, raw2, s.sep, raw4} {
		if x != "" {
			parts = append(parts, x)
		}
	}
	s.original = strings.Join(parts, " ")
	return s, true, nil
}

func originalText(c *Context, s string) fhirjson.Value {
	return c.arr(c.obj(
		fhirjson.M("url", fhirjson.Str(urlOriginalText)),
		fhirjson.M("valueString", fhirjson.Str(s)),
	))
}

// comparator is SN.1 as a Quantity comparator ("" for "=" and none).
func (s *sn) fhirComparator() string {
	if s.comparator == "=" {
		return ""
	}
	return s.comparator
}

// SNQuantity converts an SN to a Quantity (SN[Quantity]): SN.1 →
// comparator, SN.2 → value, and the originalText extension when SN.3 or
// SN.4 is valued.
func SNQuantity(c *Context, v hl7.Value) (fhirjson.Value, error) {
	s, ok, err := parseSN(v)
	if !ok || s.num1 == "" {
		return fhirjson.Value{}, err
	}
	var ext fhirjson.Value
	if s.sep != "" || s.num2 != "" {
		ext = originalText(c, s.original)
	}
	return c.obj(
		fhirjson.M("extension", ext),
		fhirjson.M("value", fhirjson.Num(s.num1)),
		fhirjson.M("comparator", fhirjson.Str(s.fhirComparator())),
	), nil
}

// SNRange converts an SN to a Range (SN[Range]): SN.2 → low.value, SN.4 →
// high.value, and the originalText extension when SN.1 or SN.3 is valued.
func SNRange(c *Context, v hl7.Value) (fhirjson.Value, error) {
	s, ok, err := parseSN(v)
	if !ok || s.num1 == "" && s.num2 == "" {
		return fhirjson.Value{}, err
	}
	if s.num1 != "" && s.num2 != "" && decimalLess(s.num2, s.num1) {
		return fhirjson.Value{}, &ValueError{Type: "SN", Value: s.original, Reason: "range low (SN.2) is above its high (SN.4)"}
	}
	var ext fhirjson.Value
	if s.comparator != "" || s.sep != "" {
		ext = originalText(c, s.original)
	}
	return c.obj(
		fhirjson.M("extension", ext),
		fhirjson.M("low", quantityValue(c, s.num1)),
		fhirjson.M("high", quantityValue(c, s.num2)),
	), nil
}

// SNRatio converts an SN to a Ratio (SN[Ratio]): SN.1 (unless "=") →
// numerator.comparator, SN.2 → numerator.value, SN.4 → denominator.value,
// and the originalText extension when SN.3 or SN.4 is valued.
func SNRatio(c *Context, v hl7.Value) (fhirjson.Value, error) {
	s, ok, err := parseSN(v)
	if !ok || s.num1 == "" && s.num2 == "" {
		return fhirjson.Value{}, err
	}
	if s.num1 == "" || s.num2 == "" {
		return fhirjson.Value{}, &ValueError{Type: "SN", Value: s.original, Reason: "a ratio needs both SN.2 and SN.4"}
	}
	var ext fhirjson.Value
	if s.sep != "" || s.num2 != "" {
		ext = originalText(c, s.original)
	}
	return c.obj(
		fhirjson.M("extension", ext),
		fhirjson.M("numerator", c.obj(
			fhirjson.M("value", fhirjson.Num(s.num1)),
			fhirjson.M("comparator", fhirjson.Str(s.fhirComparator())),
		)),
		fhirjson.M("denominator", quantityValue(c, s.num2)),
	), nil
}

// nrRange is NR[Range]: NR.1 → low.value, NR.2 → high.value.
func nrRange(c *Context, v hl7.Value) (fhirjson.Value, error) {
	p := partsOf(v)
	lo, err := parseNM(p.at(1), "NR.1 (NM)")
	if err != nil {
		return fhirjson.Value{}, err
	}
	hi, err := parseNM(p.at(2), "NR.2 (NM)")
	if err != nil {
		return fhirjson.Value{}, err
	}
	if lo != "" && hi != "" && decimalLess(hi, lo) {
		return fhirjson.Value{}, &ValueError{Type: "NR", Value: lo + "-" + hi, Reason: "low (NR.1) is above high (NR.2)"}
	}
	return c.obj(fhirjson.M("low", quantityValue(c, lo)), fhirjson.M("high", quantityValue(c, hi))), nil
}

func quantityValue(c *Context, dec string) fhirjson.Value {
	if dec == "" {
		return fhirjson.Value{}
	}
	return c.obj(fhirjson.M("value", fhirjson.Num(dec)))
}

// decimalLess compares two normalised decimal texts exactly.
func decimalLess(a, b string) bool {
	an, bn := a[0] == '-', b[0] == '-'
	if an != bn {
		return an
	}
	if an {
		return decimalLess(b[1:], a[1:])
	}
	ai, af, _ := strings.Cut(a, ".")
	bi, bf, _ := strings.Cut(b, ".")
	if len(ai) != len(bi) {
		return len(ai) < len(bi)
	}
	if ai != bi {
		return ai < bi
	}
	for len(af) < len(bf) {
		af += "0"
	}
	for len(bf) < len(af) {
		bf += "0"
	}
	return af < bf
}

// cweUnits reads a CWE of units (CQ.2, OBX-6) as a Quantity's unit, code and
// system (see the package notes).
func cweUnits(c *Context, v hl7.Value) (unit, code, system string) {
	p := partsOf(v)
	code = normCode(p.text(1))
	unit = strings.TrimSpace(cleanText(p.text(9)))
	if unit == "" {
		unit = strings.TrimSpace(cleanText(p.text(2)))
	}
	if unit == "" {
		unit = code
	}
	sysName := p.text(3)
	if code == "" || sysName == "" {
		return unit, "", ""
	}
	uri, ok := SystemURI(sysName)
	if !ok {
		c.warn("units coding system " + quoteName(sysName) + " has no known URI: unit kept without code")
		return unit, "", ""
	}
	return unit, code, uri
}

// CWEQuantity converts a CWE of units to a Quantity without value
// (CWE[Quantity]: the value comes from another field, OBX-5 for OBX-6):
// CWE.1 → code and CWE.3 → system when both are valued, CWE.2 → unit
// (CWE.1 when CWE.2 is not valued).
func CWEQuantity(c *Context, v hl7.Value) (fhirjson.Value, error) {
	if !v.HasValue() {
		return fhirjson.Value{}, nil
	}
	p := partsOf(v)
	code := normCode(p.text(1))
	unit := strings.TrimSpace(cleanText(p.text(2)))
	if unit == "" {
		unit = code
	}
	var system string
	if sysName := p.text(3); code != "" && sysName != "" {
		uri, ok := SystemURI(sysName)
		if ok {
			system = uri
		} else {
			c.warn("units coding system " + quoteName(sysName) + " has no known URI: unit kept without code")
		}
	}
	if system == "" {
		code = ""
	}
	return c.obj(
		fhirjson.M("unit", fhirjson.Str(unit)),
		fhirjson.M("system", fhirjson.Str(system)),
		fhirjson.M("code", fhirjson.Str(code)),
	), nil
}

// CQQuantity converts a CQ to a Quantity (CQ[Quantity]): CQ.1 → value,
// CQ.2 → unit (and code and system, see the package notes).
func CQQuantity(c *Context, v hl7.Value) (fhirjson.Value, error) {
	if !v.HasValue() {
		return fhirjson.Value{}, nil
	}
	p := partsOf(v)
	val, err := parseNM(p.at(1), "CQ.1 (NM)")
	if err != nil {
		return fhirjson.Value{}, err
	}
	var unit, code, system string
	if u := p.at(2); u.HasValue() {
		unit, code, system = cweUnits(c, u)
	}
	return c.obj(
		fhirjson.M("value", fhirjson.Num(val)),
		fhirjson.M("unit", fhirjson.Str(unit)),
		fhirjson.M("system", fhirjson.Str(system)),
		fhirjson.M("code", fhirjson.Str(code)),
	), nil
}

// cqDecimal is CQ[decimal]: CQ.1 → $value.
func cqDecimal(c *Context, v hl7.Value) (fhirjson.Value, error) {
	s, err := parseNM(partsOf(v).at(1), "CQ.1 (NM)")
	if err != nil || s == "" {
		return fhirjson.Value{}, err
	}
	return fhirjson.Num(s), nil
}

// cqCode is CQ[code]: CQ.2 → $value, the units' code (CQ.2.1, or CQ.2.4
// when CQ.2.1 is not valued, as CWE[code]).
func cqCode(c *Context, v hl7.Value) (fhirjson.Value, error) {
	u := partsOf(v).at(2)
	code := normCode(TextOf(u.Sub(1)))
	if code == "" {
		code = normCode(TextOf(u.Sub(4)))
	}
	return fhirjson.Str(code), nil
}

// minutesPer are the units CQ[unsignedInt] converts to minutes ("convert
// to minutes based on CQ.2"): UCUM codes, and the ANSI/ISO+ codes of
// older TQ (S, M, H, D, W).
var minutesPer = map[string]float64{
	"s": 1.0 / 60, "sec": 1.0 / 60, "S": 1.0 / 60,
	"min": 1, "M": 1,
	"h": 60, "hr": 60, "H": 60,
	"d": 1440, "D": 1440,
	"wk": 10080, "W": 10080,
}

// cqMinutes is CQ[unsignedInt]: CQ.1 in minutes, converted from the units
// of CQ.2 (minutes when CQ.2 is empty, with a warning). A result that is
// not a whole number of minutes is an error.
func cqMinutes(c *Context, v hl7.Value) (fhirjson.Value, error) {
	p := partsOf(v)
	s, err := parseNM(p.at(1), "CQ.1 (NM)")
	if err != nil || s == "" {
		return fhirjson.Value{}, err
	}
	unit := normCode(TextOf(p.at(2).Sub(1)))
	per := 1.0
	if unit == "" {
		c.warn("CQ without units (CQ.2): minutes assumed")
	} else if f, ok := minutesPer[unit]; ok {
		per = f
	} else {
		return fhirjson.Value{}, &ValueError{Type: "CQ", Value: s + " " + unit, Reason: "units " + strconv.Quote(unit) + " cannot be converted to minutes"}
	}
	f, _ := strconv.ParseFloat(s, 64)
	m := f * per
	r := float64(int64(m + 0.5))
	if m < 0 || m > 1<<31-1 || absf(m-r) > 1e-9 {
		return fhirjson.Value{}, &ValueError{Type: "CQ", Value: s + " " + unit, Reason: "not a whole number of minutes from 0 to 2147483647"}
	}
	return fhirjson.Int(int64(r)), nil
}

func absf(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}
