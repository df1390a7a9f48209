package datatype

// Telecommunication numbers and addresses: XTN[ContactPoint].
//
// Decisions:
//
//   - value, by the IG's rows: XTN.4 when XTN.3 is Internet or X.400 (any
//     case: "internet" is common); otherwise XTN.12 (unformatted number)
//     when valued, else the number built from XTN.5-XTN.8 when XTN.7 is
//     valued, else XTN.1 (the v2.3 form "(555)555-1234").
//   - The built number follows the IG's four assignments ("+"XTN.5" "XTN.6"
//     "XTN.7[" X"XTN.8]), which all need XTN.6. A number without area code
//     (XTN.7 alone, with or without XTN.5/XTN.8) has no row in the IG and
//     would lose its value; it is built the same way without the missing
//     parts.
//   - Gaps filled: an email with XTN.3 not valued but XTN.4 valued (the IG
//     sets system email) takes XTN.4 as its value; an email sent the v2.3
//     way, in XTN.1 with XTN.3 Internet and no XTN.4, takes XTN.1.
//   - system: XTN.3 through TelecommunicationEquipmentType. The IG maps CP
//     (cellular phone) to "mobile" in contact-point-use, which is not a
//     ContactPoint.system: CP gives system phone and, when XTN.2 gives no
//     use, use mobile. XTN.3 not valued: email when XTN.4 is valued, else
//     the IG's data-absent-reason "unknown" on _system (FHIR requires a
//     system with a value, cpt-2).
//   - use: XTN.2 through TelecommunicationUseCode; codes the IG leaves
//     without target (NET, ORN, EMR, ...) give no use.
//   - A ContactPoint without a value is none: Null, even with use or system.
//   - XTN.18 (preference order) → rank when it is a positive integer
//     (NM[positiveInt]); 0, a negative number or a non-number is an error,
//     as the IG says for negatives.

import (
	"errors"
	"strconv"
	"strings"

	"github.com/plexus-hl7/plexus/hl7"
	"github.com/plexus-hl7/plexus/transforms/fhirjson"
)

func init() {
	register(&Converter{Name: "xtn", Map: "XTN[ContactPoint]", V2: []string{"XTN", "TN"}, FHIR: "ContactPoint", Fn: XTNContactPoint})
}

const (
	urlCPCountry        = "http://hl7.org/fhir/StructureDefinition/contactpoint-country"
	urlCPArea           = "http://hl7.org/fhir/StructureDefinition/contactpoint-area"
	urlCPLocal          = "http://hl7.org/fhir/StructureDefinition/contactpoint-local"
	urlCPExtension      = "http://hl7.org/fhir/StructureDefinition/contactpoint-extension"
	sysContactPointSys  = "http://hl7.org/fhir/contact-point-system"
	sysContactPointUse  = "http://hl7.org/fhir/contact-point-use"
	errNotPositiveInt   = "is not a positive integer"
	maxPositiveIntValue = 1<<31 - 1
)

// XTNContactPoint converts an XTN to a ContactPoint (IG XTN[ContactPoint]):
//
//	XTN.1, XTN.4, XTN.5-XTN.8 or XTN.12 → value (see the file comment);
//	XTN.2 → use (TelecommunicationUseCode); XTN.3 → system
//	(TelecommunicationEquipmentType); XTN.5 → extension
//	contactpoint-country; XTN.6 → contactpoint-area; XTN.7 →
//	contactpoint-local (not for Internet/X.400); XTN.8 →
//	contactpoint-extension; XTN.13 → period.start; XTN.14 → period.end;
//	XTN.18 → rank.
//
// Not mapped: XTN.9 (the IG's proposed extension "text" does not exist),
// XTN.10, XTN.11, XTN.15-XTN.17 (no FHIR target in the IG).
func XTNContactPoint(c *Context, v hl7.Value) (fhirjson.Value, error) {
	var buf [18]hl7.Value
	p := splitField(v, buf[:])
	equip := p.text(3)
	email := strings.EqualFold(equip, "Internet") || strings.EqualFold(equip, "X.400") ||
		(equip == "" && p.has(4))

	country, area, local, ext := p.text(5), p.text(6), p.text(7), p.text(8)
	var value string
	switch {
	case email:
		if value = p.text(4); value == "" {
			value = p.text(1)
		}
	case p.has(12):
		value = p.text(12)
	case local != "":
		value = phoneNumber(country, area, local, ext)
	default:
		value = p.text(1)
	}
	if value == "" {
		return fhirjson.Value{}, nil
	}

	use := mappedCode(c, "XTN.2", p.text(2), vmTelecomUse, sysContactPointUse)
	var system string
	var systemAbsent fhirjson.Value
	switch {
	case email:
		system = "email"
	case strings.EqualFold(equip, "CP"):
		system = "phone"
		if use == "" {
			use = "mobile"
		}
	case equip != "":
		system = mappedCode(c, "XTN.3", equip, vmTelecomEquipment, sysContactPointSys)
	}
	if system == "" {
		systemAbsent = absentUnknown()
	}

	var rank fhirjson.Value
	var errs []error
	if s := p.text(18); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxPositiveIntValue {
			errs = append(errs, compError("XTN.18", &ValueError{Type: "preference order", Value: s, Reason: errNotPositiveInt}))
		} else {
			rank = fhirjson.Int(int64(n))
		}
	}
	period, err := periodOf(c, p.at(13), p.at(14), "XTN.13", "XTN.14")
	if err != nil {
		errs = append(errs, err)
	}
	if email {
		local = "" // the contactpoint-local row is for numbers only
	}
	out := c.obj(
		fhirjson.M("extension", c.arr(
			stringExtension(c, urlCPCountry, country),
			stringExtension(c, urlCPArea, area),
			stringExtension(c, urlCPLocal, local),
			stringExtension(c, urlCPExtension, ext),
		)),
		fhirjson.M("system", fhirjson.Str(system)),
		fhirjson.M("_system", systemAbsent),
		fhirjson.M("value", fhirjson.Str(value)),
		fhirjson.M("use", fhirjson.Str(use)),
		fhirjson.M("rank", rank),
		fhirjson.M("period", period),
	)
	switch len(errs) {
	case 0:
		return out, nil
	case 1:
		return out, errs[0]
	}
	return out, errors.Join(errs...)
}

// phoneNumber is the IG's "+"XTN.5" "XTN.6" "XTN.7" X"XTN.8, without the
// parts that are not valued.
func phoneNumber(country, area, local, ext string) string {
	var b strings.Builder
	b.Grow(len(country) + len(area) + len(local) + len(ext) + 5)
	if country != "" {
		b.WriteByte('+')
		b.WriteString(country)
	}
	for _, s := range [...]string{area, local} {
		if s == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s)
	}
	if ext != "" {
		b.WriteString(" X")
		b.WriteString(ext)
	}
	return b.String()
}
