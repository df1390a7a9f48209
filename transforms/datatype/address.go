package datatype

// Addresses: XAD[Address] and SAD[Address].
//
// Decisions:
//
//   - Address.line is, in order: SAD.1, SAD.2, SAD.3 (XAD.1, SAD[Address]),
//     XAD.2, XAD.19 (the IG's line[1-3], line[4], line[5]); empty ones are
//     left out, so lines close up.
//   - XAD.7 is read under the IG's three conditions: M and SH → type
//     (AddressType[Type]: postal); BA, BI, C, B, H, O → use
//     (AddressType[Use]); HV → extension iso21090-AD-use with valueCode HV.
//     Other codes (V, L, P, N, ...) have no FHIR target and give nothing.
//     The IG's fourth XAD.7 row, an extension[2] carrying the code in
//     table 0190, names no extension URL, so it cannot be sent; it is not
//     mapped.
//   - XAD.9 (county, CWE[string]) → district: CWE.9, else CWE.2, else CWE.1
//     (the IG's CWE[string] has no CWE.1, but before v2.7 XAD.9 was an IS,
//     a bare code, and senders still send it so).
//   - XAD.10 (census tract) → extension iso21090-ADXP-censusTract. The IG
//     writes valueCode; the extension's value is a string, so valueString.
//   - XAD.12 (DR) and XAD.13/XAD.14 fill the same period: XAD.13 wins over
//     XAD.12.1 for the start, XAD.14 over XAD.12.2 for the end (the rows in
//     order, each overwriting).
//   - An address with nothing but use, type or period is no address: Null.

import (
	"strings"

	"github.com/plexus-hl7/plexus/hl7"
	"github.com/plexus-hl7/plexus/transforms/fhirjson"
)

func init() {
	register(&Converter{Name: "xad", Map: "XAD[Address]", V2: []string{"XAD", "AD"}, FHIR: "Address", Fn: XADAddress})
	register(&Converter{Name: "sad", Map: "SAD[Address]", V2: []string{"SAD"}, FHIR: "Address", Fn: sadAddress})
}

const (
	urlADUse       = "http://hl7.org/fhir/StructureDefinition/iso21090-AD-use"
	urlCensusTract = "http://hl7.org/fhir/StructureDefinition/iso21090-ADXP-censusTract"
	sysAddressUse  = "http://hl7.org/fhir/address-use"
	sysAddressType = "http://hl7.org/fhir/address-type"
)

// sadLines are the lines of a SAD (SAD.1-SAD.3).
func sadLines(v hl7.Value) [3]fhirjson.Value {
	var buf [3]hl7.Value
	p := splitNested(v, buf[:])
	return [3]fhirjson.Value{fhirjson.Str(p.text(1)), fhirjson.Str(p.text(2)), fhirjson.Str(p.text(3))}
}

// cweText is CWE[string] with CWE.1 as the last resort: CWE.9, CWE.2, CWE.1.
func cweText(v hl7.Value) string {
	var buf [9]hl7.Value
	p := splitNested(v, buf[:])
	for _, i := range [...]int{9, 2, 1} {
		if s := p.text(i); s != "" {
			return s
		}
	}
	return ""
}

// XADAddress converts an XAD to an Address (IG XAD[Address]):
//
//	XAD.1 (SAD) → line[1-3]; XAD.2 → line[4]; XAD.3 → city; XAD.4 →
//	state; XAD.5 → postalCode; XAD.6 → country; XAD.7 → type, use or
//	extension iso21090-AD-use (see the file comment); XAD.9 → district;
//	XAD.10 → extension iso21090-ADXP-censusTract; XAD.12 → period; XAD.13
//	→ period.start; XAD.14 → period.end; XAD.19 → line[5].
//
// Not mapped: XAD.8, XAD.11, XAD.15-XAD.18, XAD.20-XAD.23 (no FHIR target
// in the IG).
func XADAddress(c *Context, v hl7.Value) (fhirjson.Value, error) {
	var buf [19]hl7.Value
	p := splitField(v, buf[:])
	sad := sadLines(p.at(1))
	lines := c.arr(sad[0], sad[1], sad[2], fhirjson.Str(p.text(2)), fhirjson.Str(p.text(19)))
	city, state, postal, country := p.text(3), p.text(4), p.text(5), p.text(6)
	district := cweText(p.at(9))
	tract := cweText(p.at(10))
	if lines.IsNull() && city == "" && state == "" && postal == "" && country == "" && district == "" && tract == "" {
		return fhirjson.Value{}, nil
	}

	var use, typ, adUse string
	if code := p.text(7); code != "" {
		switch strings.ToUpper(code) {
		case "M", "SH":
			typ = mappedCode(c, "XAD.7", code, vmAddressTypeType, sysAddressType)
		case "BA", "BI", "C", "B", "H", "O":
			use = mappedCode(c, "XAD.7", code, vmAddressTypeUse, sysAddressUse)
		case "HV":
			adUse = "HV"
		}
	}

	var drBuf [2]hl7.Value
	dr := splitNested(p.at(12), drBuf[:])
	start, end := p.at(13), p.at(14)
	startComp, endComp := "XAD.13", "XAD.14"
	if !start.HasValue() {
		start, startComp = dr.at(1), "XAD.12.1"
	}
	if !end.HasValue() {
		end, endComp = dr.at(2), "XAD.12.2"
	}
	period, err := periodOf(c, start, end, startComp, endComp)

	return c.obj(
		fhirjson.M("extension", c.arr(
			simpleExtension(c, urlADUse, "valueCode", fhirjson.Str(adUse)),
			stringExtension(c, urlCensusTract, tract),
		)),
		fhirjson.M("use", fhirjson.Str(use)),
		fhirjson.M("type", fhirjson.Str(typ)),
		fhirjson.M("line", lines),
		fhirjson.M("city", fhirjson.Str(city)),
		fhirjson.M("district", fhirjson.Str(district)),
		fhirjson.M("state", fhirjson.Str(state)),
		fhirjson.M("postalCode", fhirjson.Str(postal)),
		fhirjson.M("country", fhirjson.Str(country)),
		fhirjson.M("period", period),
	), err
}

// sadAddress is SAD[Address]: an Address with line[1-3] = SAD.1-SAD.3.
func sadAddress(c *Context, v hl7.Value) (fhirjson.Value, error) {
	sad := sadLines(v)
	return c.obj(fhirjson.M("line", c.arr(sad[:]...))), nil
}
