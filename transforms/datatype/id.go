package datatype

// Identifiers and assigning authorities: CX, EI, EIP and HD.
//
// IG maps: CX[Identifier], CX[string], CX[RelatedPerson-Mother],
// EI[Identifier-Extension], EI[Identifier-System], EI[Identifier-Organization],
// EI[Identifier-DefaultAssigner], EIP[Identifier-PlacerAssignedIdentifier],
// EIP[Identifier-FillerAssignedIdentifier], HD[uri], HD[Organization],
// HD[Device], HD[Location], HD[Identifier] and the four
// HD[MessageHeader.*] maps.
//
// Decisions the IG leaves open, taken here and shared by every map that
// reads an assigning authority (CX.4, XCN.9, XON.6, EI.2-4, CNN.9-11, PL.11):
//
//   - Identifier.system comes from the authority's universal ID: HD.3 "ISO"
//     with an OID in HD.2 gives urn:oid:<HD.2>; "UUID" (or "GUID") gives
//     urn:uuid:<HD.2>; "URI"/"URL" gives HD.2 as sent when it is an
//     absolute URI. The IG's HD[uri] prefers HD.1 when it is valued, but a
//     namespace ID is a local name ("V2FHIR"), not a URI: HD.1 is used only
//     when HD.2 gives nothing and HD.1 itself is an absolute URI or an OID.
//     HD.2 without HD.3 is used when it is an OID or an absolute URI
//     (a warning says HD.3 was missing). Two OIDs of the FHIR identifier
//     registry get their canonical URIs (the IG's "IF CX.4 IN
//     identifier-registry" row): 2.16.840.1.113883.4.1 →
//     http://hl7.org/fhir/sid/us-ssn and 2.16.840.1.113883.4.6 →
//     http://hl7.org/fhir/sid/us-npi.
//   - A universal ID that cannot be a URI (HD.3 "ISO" with "1.2.5.2.",
//     "DNS", "CLIA", "L", ...) gives no system: it is kept in the assigner.
//   - A namespace-only authority ("MR^^^HOSP") gives no system. There is no
//     configured namespace → system map yet (it would need a field in
//     Context); the namespace is kept as Identifier.assigner.display.
//   - Identifier.assigner (the IG's "assigner(Organization)" through
//     HD[Organization]) is a logical Reference, not a resource: its display
//     is HD.1, and when no system could be made from HD.2, its identifier is
//     HD[Organization]'s identifier[2] (HD.2 typed by HD.3). The rule engine
//     makes an Organization resource with hd_organization if it wants one.
//   - An identifier without its ID number (CX.1, EI.1, XCN.1, ...) is no
//     identifier: the converter gives Null, whatever the other components.
//
// Text rules for every converter of this file and of name.go, address.go,
// telecom.go, org.go, person.go and location.go: components are read with
// escapes decoded and surrounding white space trimmed; an empty component
// and the HL7 null `""` are both absent (a FHIR document cannot say
// "delete", so a null only means "nothing here"). A composite may be given
// as a field (repetition) or as a component of another type (CX.4's HD,
// XPN.1's FN, PL.10's EI, NDL.1's CNN): its parts are then subcomponents.
// Since hl7.Value does not tell which, a value whose only component has
// subcomponents is read as a component for the types used nested (HD, EI,
// FN, SAD, DR, CNN); CX, XPN, XAD, XTN, XON, XCN, PL and EIP are always
// read as fields.
//
// Errors: a converter that meets a component it cannot convert (a date
// that is not one) returns an error naming the component, together with
// the value built from everything else, so that a lenient caller can keep
// it.

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/plexus-hl7/plexus/hl7"
	"github.com/plexus-hl7/plexus/transforms/fhirjson"
	"github.com/plexus-hl7/plexus/transforms/vocab"
)

func init() {
	register(&Converter{Name: "cx", Map: "CX[Identifier]", V2: []string{"CX"}, FHIR: "Identifier", Fn: CXIdentifier})
	register(&Converter{Name: "cx_string", Map: "CX[string]", V2: []string{"CX"}, FHIR: "string", Fn: cxString})
	register(&Converter{Name: "cx_relatedperson_mother", Map: "CX[RelatedPerson-Mother]", V2: []string{"CX"}, FHIR: "RelatedPerson", Fn: cxRelatedPersonMother})
	register(&Converter{Name: "ei", Map: "EI[Identifier-Extension]", V2: []string{"EI"}, FHIR: "Identifier", Fn: EIIdentifier})
	register(&Converter{Name: "ei_identifier_system", Map: "EI[Identifier-System]", V2: []string{"EI"}, FHIR: "Identifier", Fn: eiIdentifierSystem})
	register(&Converter{Name: "ei_identifier_organization", Map: "EI[Identifier-Organization]", V2: []string{"EI"}, FHIR: "Identifier", Fn: eiIdentifierOrganization})
	register(&Converter{Name: "ei_identifier_defaultassigner", Map: "EI[Identifier-DefaultAssigner]", V2: []string{"EI"}, FHIR: "Identifier", Fn: eiIdentifierDefaultAssigner})
	register(&Converter{Name: "eip_placer", Map: "EIP[Identifier-PlacerAssignedIdentifier]", V2: []string{"EIP"}, FHIR: "Identifier", Fn: eipPlacer})
	register(&Converter{Name: "eip_filler", Map: "EIP[Identifier-FillerAssignedIdentifier]", V2: []string{"EIP"}, FHIR: "Identifier", Fn: eipFiller})
	register(&Converter{Name: "hd_uri", Map: "HD[uri]", V2: []string{"HD"}, FHIR: "uri", Fn: HDURI})
	register(&Converter{Name: "hd_organization", Map: "HD[Organization]", V2: []string{"HD"}, FHIR: "Organization", Fn: HDOrganization})
	register(&Converter{Name: "hd_device", Map: "HD[Device]", V2: []string{"HD"}, FHIR: "Device", Fn: hdDevice})
	register(&Converter{Name: "hd_location", Map: "HD[Location]", V2: []string{"HD"}, FHIR: "Location", Fn: hdLocation})
	register(&Converter{Name: "hd_identifier", Map: "HD[Identifier]", V2: []string{"HD"}, FHIR: "Identifier", Fn: hdIdentifier})
	register(&Converter{Name: "hd_messageheader_source_name", Map: "HD[MessageHeader.source-name]", V2: []string{"HD"}, FHIR: "BackboneElement", Fn: hdSourceName})
	register(&Converter{Name: "hd_messageheader_source_endpoint", Map: "HD[MessageHeader.source-endpoint]", V2: []string{"HD"}, FHIR: "BackboneElement", Fn: hdSourceEndpoint})
	register(&Converter{Name: "hd_messageheader_destination_name", Map: "HD[MessageHeader.destination-name]", V2: []string{"HD"}, FHIR: "BackboneElement", Fn: hdDestinationName})
	register(&Converter{Name: "hd_messageheader_destination_endpoint", Map: "HD[MessageHeader.destination-endpoint]", V2: []string{"HD"}, FHIR: "BackboneElement", Fn: hdDestinationEndpoint})
}

// Extension and code system URLs the maps of these files assign.
const (
	urlCheckDigit       = "http://hl7.org/fhir/StructureDefinition/identifier-checkDigit"
	urlCheckDigitScheme = "http://hl7.org/fhir/StructureDefinition/namingsystem-checkDigit"
	urlDataAbsentReason = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
	sysRFC3986          = "urn:ietf:rfc:3986"
	sysV2IdentifierType = "http://terminology.hl7.org/CodeSystem/v2-0203"
	sysV3RoleCode       = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
)

// ---------------------------------------------------------------------------
// Reading composites

// v2Parts reads the parts of a composite value: its components when it is a
// field or repetition, its subcomponents when it is itself a component
// (CX.4's HD, XPN.1's FN, PL.10's EI, NDL.1's CNN).
type v2Parts struct {
	v   hl7.Value
	sub bool
}

// partsOf guesses the level of v: a value whose only component has
// subcomponents is taken for a component (hl7.Value does not say).
func partsOf(v hl7.Value) v2Parts {
	return v2Parts{v: v, sub: v.Components() <= 1 && v.Subcomponents() > 1}
}

// at is part i (1-based).
func (p v2Parts) at(i int) hl7.Value {
	if p.sub {
		return p.v.Sub(i)
	}
	return p.v.Component(i)
}

// text is part i as text (see v2Text).
func (p v2Parts) text(i int) string { return v2Text(p.at(i)) }

// has reports whether part i carries data.
func (p v2Parts) has(i int) bool { return p.at(i).HasValue() }

// split is a composite's first parts, split in one pass into a buffer of
// the caller's (usually an array on its stack, sized to the last part the
// map reads): reading parts one by one with Component rescans the value
// each time. Parts beyond the buffer read as empty.
type split []hl7.Value

// splitField splits the components of a type that is used as a field (CX,
// XPN, XAD, XTN, XON, XCN, PL, EIP), whatever its first component holds:
// "de Vries&de&Vries" alone in PID-5 is an XPN whose XPN.1 (an FN) has
// subcomponents, not an XPN given as a component.
func splitField(v hl7.Value, buf []hl7.Value) split {
	it := v.ComponentParts()
	return fill(&it, buf)
}

// splitNested splits a type that is used nested (HD, EI, FN, SAD, DR, CNN,
// CWE): its subcomponents when partsOf takes it for a component, its
// components otherwise.
func splitNested(v hl7.Value, buf []hl7.Value) split {
	if v.Components() <= 1 && v.Subcomponents() > 1 {
		it := v.SubParts()
		return fill(&it, buf)
	}
	it := v.ComponentParts()
	return fill(&it, buf)
}

func fill(it *hl7.Parts, buf []hl7.Value) split {
	n := 0
	for n < len(buf) && it.Next() {
		buf[n] = it.Value()
		n++
	}
	return buf[:n]
}

// at is part i (1-based); empty beyond the parts split.
func (s split) at(i int) hl7.Value {
	if i >= 1 && i <= len(s) {
		return s[i-1]
	}
	return hl7.Value{}
}

// text is part i as text (see v2Text).
func (s split) text(i int) string { return v2Text(s.at(i)) }

// has reports whether part i carries data.
func (s split) has(i int) bool { return s.at(i).HasValue() }

// v2Text is a value's text, escapes decoded and white space trimmed; "" for
// an empty value and for the HL7 null `""`.
func v2Text(v hl7.Value) string {
	if !v.HasValue() {
		return ""
	}
	return strings.TrimSpace(TextOf(v))
}

// ---------------------------------------------------------------------------
// Small builders shared by the files of these maps

// simpleExtension is {"url": url, key: v}, Null when v is.
func simpleExtension(c *Context, url, key string, v fhirjson.Value) fhirjson.Value {
	if v.IsNull() {
		return fhirjson.Value{}
	}
	return c.obj(fhirjson.M("url", fhirjson.Str(url)), fhirjson.M(key, v))
}

// stringExtension is a valueString extension, Null for "".
func stringExtension(c *Context, url, s string) fhirjson.Value {
	return simpleExtension(c, url, "valueString", fhirjson.Str(s))
}

// vocabCodingJSON is a vocab.Coding as a FHIR Coding.
func vocabCodingJSON(c *Context, cd vocab.Coding) fhirjson.Value {
	return c.obj(
		fhirjson.M("system", fhirjson.Str(cd.System)),
		fhirjson.M("code", fhirjson.Str(cd.Code)),
		fhirjson.M("display", fhirjson.Str(cd.Display)),
	)
}

// The fixed values the maps assign, built once: fhirjson values are
// immutable and can be shared by every result.
var (
	ccRoleMTH    = fixedCC(nil, sysV3RoleCode, "MTH")
	ccTypePGN    = fixedCC(nil, sysV2IdentifierType, "PGN")
	ccTypeFGN    = fixedCC(nil, sysV2IdentifierType, "FGN")
	ccSite       = fixedCC(nil, sysLocationPhysicalType, "si")
	absentReason = fhirjson.Obj(fhirjson.M("extension", fhirjson.Arr(
		simpleExtension(nil, urlDataAbsentReason, "valueCode", fhirjson.Str("unknown")))))
)

// absentUnknown is the _element of a primitive with data-absent-reason
// "unknown".
func absentUnknown() fhirjson.Value { return absentReason }

// fixedCC is a CodeableConcept of one Coding given by the IG's Assignment
// column (no display: the IG assigns code and system only).
func fixedCC(c *Context, system, code string) fhirjson.Value {
	return c.obj(fhirjson.M("coding", c.arr(c.obj(
		fhirjson.M("system", fhirjson.Str(system)),
		fhirjson.M("code", fhirjson.Str(code)),
	))))
}

// lazyVocab is an IG vocabulary map looked up on first use, with the
// CodeableConcepts made of its codes cached (fhirjson values are
// immutable, so one value can be shared by every result).
type lazyVocab struct {
	name string
	once sync.Once
	m    *vocab.Map

	mu  sync.RWMutex
	ccs map[string]fhirjson.Value
}

func (l *lazyVocab) get() *vocab.Map {
	l.once.Do(func() {
		m, err := vocab.Resolve(l.name)
		if err != nil {
			// The names are fixed in this package and tested; a failure
			// is a build of the vocab data that lost a map.
			panic("datatype: vocabulary map " + l.name + ": " + err.Error())
		}
		l.m = m
	})
	return l.m
}

// cachedCC is the cached CodeableConcept of code, if any.
func (l *lazyVocab) cachedCC(code string) (fhirjson.Value, bool) {
	l.mu.RLock()
	v, ok := l.ccs[code]
	l.mu.RUnlock()
	return v, ok
}

// cacheCC remembers the CodeableConcept of a code the map has. The cache
// is bounded (case variants of the map's codes could otherwise fill it).
func (l *lazyVocab) cacheCC(code string, v fhirjson.Value) {
	l.mu.Lock()
	if l.ccs == nil {
		l.ccs = make(map[string]fhirjson.Value)
	}
	if len(l.ccs) < 2*l.m.Codes()+16 {
		l.ccs[strings.Clone(code)] = v // not a view of a TextOf block
	}
	l.mu.Unlock()
}

var (
	vmIdentifierType    = &lazyVocab{name: "IdentifierType"}
	vmUniversalIDType   = &lazyVocab{name: "UniversalIDType"}
	vmNameType          = &lazyVocab{name: "NameType"}
	vmNameAssemblyOrder = &lazyVocab{name: "NameAssemblyOrder"}
	vmAddressTypeUse    = &lazyVocab{name: "AddressType[Use]"}
	vmAddressTypeType   = &lazyVocab{name: "AddressType[Type]"}
	vmTelecomUse        = &lazyVocab{name: "TelecommunicationUseCode"}
	vmTelecomEquipment  = &lazyVocab{name: "TelecommunicationEquipmentType"}
	vmDegreeLicenseCert = &lazyVocab{name: "DegreeLicenseCertificate"}
)

// warnCode tells c.Warn that a code was not in its vocabulary map.
func warnCode(c *Context, comp, code string, m *lazyVocab, dropped bool) {
	if c == nil || c.Warn == nil {
		return
	}
	// one buffer, not a string per piece: some messages give a warning
	// per coded field
	var buf [256]byte
	msg := append(buf[:0], comp...)
	msg = append(msg, ": code "...)
	msg = strconv.AppendQuote(msg, code) // as %q
	msg = append(msg, " is not in the IG map "...)
	msg = append(msg, m.name...)
	if dropped {
		msg = append(msg, "; not converted"...)
	} else {
		msg = append(msg, "; kept in the v2 table's code system"...)
	}
	c.Warn(TextFrom(msg))
}

// mappedCode translates code with m for an element of type code bound to a
// required value set: the FHIR code when the map gives one whose system is
// wantSystem (any system when wantSystem is ""), else "" (a code the value
// set does not have cannot be sent). Codes the map does not know are
// warned about; codes the IG deliberately leaves without a FHIR code
// (NameType "A") are dropped silently.
func mappedCode(c *Context, comp, code string, m *lazyVocab, wantSystem string) string {
	if code == "" {
		return ""
	}
	cd, res := m.get().Translate(code)
	switch res {
	case vocab.Mapped:
		if wantSystem == "" || cd.System == wantSystem {
			return cd.Code
		}
		return ""
	case vocab.Unmapped:
		warnCode(c, comp, code, m, true)
	}
	return ""
}

// vocabCC is a CodeableConcept of code translated with m. Codes the map
// does not translate are kept in the v2 table's system (the vocab rule),
// with a warning when the map does not know them at all; inner runs of
// white space become one space (normCode, coded.go), as FHIR's code type
// requires.
func vocabCC(c *Context, comp, code string, m *lazyVocab) fhirjson.Value {
	code = normCode(code) // a code kept as sent must still be a FHIR code
	if code == "" {
		return fhirjson.Value{}
	}
	if v, ok := m.cachedCC(code); ok {
		return v
	}
	cd, res := m.get().Translate(code)
	if res == vocab.Empty {
		return fhirjson.Value{}
	}
	// on the heap, not in c's arena: the value is cached
	v := fhirjson.Obj(fhirjson.M("coding", fhirjson.Arr(vocabCodingJSON(nil, cd))))
	if res == vocab.Unmapped {
		warnCode(c, comp, code, m, false)
	} else {
		m.cacheCC(code, v)
	}
	return v
}

// compError names the component that failed.
func compError(comp string, err error) error {
	return fmt.Errorf("%s: %w", comp, err)
}

// periodOf converts a start and an end (DTM, DT or TS values, Null when
// absent) to a Period. A start after the end (per-1) drops the period with
// an error, as does a value that is not a date.
func periodOf(c *Context, start, end hl7.Value, startComp, endComp string) (fhirjson.Value, error) {
	if !start.HasValue() && !end.HasValue() {
		return fhirjson.Value{}, nil
	}
	var errs []error
	s, err := DateTime(c, start)
	if err != nil {
		errs = append(errs, compError(startComp, err))
	}
	e, err := DateTime(c, end)
	if err != nil {
		errs = append(errs, compError(endComp, err))
	}
	if !s.IsNull() && !e.IsNull() && fhirDateTimeAfter(s.Text(), e.Text()) {
		errs = append(errs, fmt.Errorf("%s %s is after %s %s: period dropped", startComp, s.Text(), endComp, e.Text()))
		return fhirjson.Value{}, errors.Join(errs...)
	}
	p := c.obj(fhirjson.M("start", s), fhirjson.M("end", e))
	if len(errs) == 0 {
		return p, nil
	}
	return p, errors.Join(errs...)
}

// fhirDateTimeAfter reports whether FHIR dateTime a is certainly after b.
// Only values of the same form are compared (same length and, with a
// time, the same offset); others are left to the receiver, as FHIRPath
// does with values of different precision.
func fhirDateTimeAfter(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	if len(a) > 10 && a[len(a)-6:] != b[len(b)-6:] {
		return false
	}
	return a > b
}

// ---------------------------------------------------------------------------
// Assigning authorities (HD)

// hdValue is an HD: namespace ID, universal ID, universal ID type, and
// how warnings name it and its type ("CX.4", "CX.4.3").
type hdValue struct {
	ns, uid, typ  string
	comp, typComp string
}

func readHD(v hl7.Value, comp, typComp string) hdValue {
	var buf [3]hl7.Value
	p := splitNested(v, buf[:])
	return hdValue{ns: p.text(1), uid: p.text(2), typ: p.text(3), comp: comp, typComp: typComp}
}

func (h hdValue) isZero() bool { return h.ns == "" && h.uid == "" && h.typ == "" }

// registryOIDs are OIDs whose identifiers have a canonical URI in the FHIR
// identifier registry (http://hl7.org/fhir/R4/identifier-registry.html).
var registryOIDs = map[string]string{
	"2.16.840.1.113883.4.1": "http://hl7.org/fhir/sid/us-ssn",
	"2.16.840.1.113883.4.6": "http://hl7.org/fhir/sid/us-npi",
}

// uidURI is the universal ID as an absolute URI: urn:oid:, urn:uuid: or the
// URI itself, "" when HD.2 and HD.3 do not make one. guessed is true when
// HD.3 was missing and the form of HD.2 decided.
func (h hdValue) uidURI() (uri string, guessed bool) {
	if h.uid == "" {
		return "", false
	}
	switch {
	case strings.EqualFold(h.typ, "ISO"):
		return oidURI(h.uid), false
	case strings.EqualFold(h.typ, "UUID"), strings.EqualFold(h.typ, "GUID"):
		return uuidURI(h.uid), false
	case strings.EqualFold(h.typ, "URI"), strings.EqualFold(h.typ, "URL"):
		if isAbsoluteURI(h.uid) {
			return h.uid, false
		}
	case h.typ == "":
		if u := oidURI(h.uid); u != "" {
			return u, true
		}
		if isAbsoluteURI(h.uid) {
			return h.uid, true
		}
	}
	return "", false
}

// system is Identifier.system for an identifier this authority assigned
// ("" when none can be made; see the file comment).
func (h hdValue) system(c *Context) string {
	u, guessed := h.uidURI()
	if u == "" && h.ns != "" {
		switch {
		case isAbsoluteURI(h.ns):
			u = h.ns
		case isOID(h.ns):
			u = "urn:oid:" + h.ns
		}
	}
	if u == "" {
		if h.uid != "" && c != nil && c.Warn != nil {
			c.Warn(h.comp + ": universal ID " + fmt.Sprintf("%q", h.uid) + " of type " + fmt.Sprintf("%q", h.typ) + " is not a URI; no Identifier.system, kept in assigner")
		}
		return ""
	}
	if guessed && c != nil && c.Warn != nil {
		c.Warn(h.comp + ": universal ID type missing; " + fmt.Sprintf("%q", h.uid) + " taken by its form")
	}
	if strings.HasPrefix(u, "urn:oid:") {
		if r, ok := registryOIDs[u[len("urn:oid:"):]]; ok {
			return r
		}
	}
	return u
}

// uri is HD[uri]: system, or Null.
func (h hdValue) uri(c *Context) fhirjson.Value {
	return fhirjson.Str(h.system(c))
}

// universalIdentifier is HD[Organization]'s identifier[2]: HD.2 typed by
// HD.3 (ID[CodeableConcept-UniversalID] through UniversalIDType). The IG
// sets system urn:ietf:rfc:3986 for ISO and UUID with HD.2 as the value;
// that system requires the value to be a URI, so the value is the OID or
// UUID as a URN.
func (h hdValue) universalIdentifier(c *Context) fhirjson.Value {
	if h.uid == "" {
		return fhirjson.Value{}
	}
	var system string
	value := h.uid
	if u, _ := h.uidURI(); u != "" {
		system, value = sysRFC3986, u
	}
	return c.obj(
		fhirjson.M("type", vocabCC(c, h.typComp, h.typ, vmUniversalIDType)),
		fhirjson.M("system", fhirjson.Str(system)),
		fhirjson.M("value", fhirjson.Str(value)),
	)
}

// assigner is Identifier.assigner for an identifier this authority
// assigned, whose system is system: display HD.1, and HD.2 as a logical
// identifier when it did not become the system.
func (h hdValue) assigner(c *Context, system string) fhirjson.Value {
	var ident fhirjson.Value
	if system == "" {
		ident = h.universalIdentifier(c)
	}
	return c.obj(fhirjson.M("identifier", ident), fhirjson.M("display", fhirjson.Str(h.ns)))
}

// identifiers is HD[Organization] / HD[Device] identifier[1] and [2].
func (h hdValue) identifiers(c *Context) fhirjson.Value {
	var first fhirjson.Value
	if h.ns != "" {
		first = c.obj(fhirjson.M("value", fhirjson.Str(h.ns)))
	}
	return c.arr(first, h.universalIdentifier(c))
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

// isOID reports whether s is an OID in the form FHIR's oid type allows:
// [0-2](\.(0|[1-9][0-9]*))+.
func isOID(s string) bool {
	if len(s) < 3 || s[0] < '0' || s[0] > '2' || s[1] != '.' {
		return false
	}
	i := 1
	for i < len(s) {
		if s[i] != '.' || i+1 >= len(s) || !isDigit(s[i+1]) {
			return false
		}
		i++
		if s[i] == '0' {
			i++
		} else {
			for i < len(s) && isDigit(s[i]) {
				i++
			}
		}
	}
	return true
}

// oidURI is urn:oid:s for an OID (s with or without the urn:oid: prefix).
func oidURI(s string) string {
	if len(s) > 8 && strings.EqualFold(s[:8], "urn:oid:") {
		s = s[8:]
	}
	if !isOID(s) {
		return ""
	}
	return joinText("urn:oid:", s)
}

// uuidURI is urn:uuid:s in lower case for a UUID (s with or without the
// prefix or braces).
func uuidURI(s string) string {
	if len(s) > 9 && strings.EqualFold(s[:9], "urn:uuid:") {
		s = s[9:]
	}
	if len(s) == 38 && s[0] == '{' && s[37] == '}' {
		s = s[1:37]
	}
	if len(s) != 36 {
		return ""
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return ""
			}
		default:
			if !isDigit(c) && (c|0x20 < 'a' || c|0x20 > 'f') {
				return ""
			}
		}
	}
	return "urn:uuid:" + strings.ToLower(s)
}

// isAbsoluteURI reports whether s has a scheme (RFC 3986: a letter, then
// letters, digits, + - .), something after the colon, and no white space.
func isAbsoluteURI(s string) bool {
	colon := strings.IndexByte(s, ':')
	if colon < 2 || colon == len(s)-1 { // 2: a one-letter "scheme" is a drive letter
		return false
	}
	for i := 0; i < colon; i++ {
		c := s[i]
		switch {
		case c|0x20 >= 'a' && c|0x20 <= 'z':
		case i > 0 && (isDigit(c) || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] == 0x7f {
			return false
		}
	}
	return true
}

// ---------------------------------------------------------------------------
// CX

// CXIdentifier converts a CX to an Identifier (IG CX[Identifier]):
//
//	CX.1 → value; CX.2 → extension identifier-checkDigit; CX.3 → extension
//	namingsystem-checkDigit; CX.4 → system (HD[uri]) and assigner
//	(HD[Organization], as a logical Reference); CX.5 → type through
//	IdentifierType; CX.7 → period.start; CX.8 → period.end.
//
// Not mapped: CX.6 (the IG's proposed extension assigningFacility does not
// exist), CX.9-CX.12 (no FHIR target in the IG).
func CXIdentifier(c *Context, v hl7.Value) (fhirjson.Value, error) {
	var buf [8]hl7.Value
	return cxIdentifier(c, splitField(v, buf[:]))
}

func cxIdentifier(c *Context, p split) (fhirjson.Value, error) {
	value := p.text(1)
	if value == "" {
		return fhirjson.Value{}, nil
	}
	auth := readHD(p.at(4), "CX.4", "CX.4.3")
	system := auth.system(c)
	period, err := periodOf(c, p.at(7), p.at(8), "CX.7", "CX.8")
	return c.obj(
		fhirjson.M("extension", c.arr(
			stringExtension(c, urlCheckDigit, p.text(2)),
			stringExtension(c, urlCheckDigitScheme, p.text(3)),
		)),
		fhirjson.M("type", vocabCC(c, "CX.5", p.text(5), vmIdentifierType)),
		fhirjson.M("system", fhirjson.Str(system)),
		fhirjson.M("value", fhirjson.Str(value)),
		fhirjson.M("period", period),
		fhirjson.M("assigner", auth.assigner(c, system)),
	), err
}

// cxString is CX[string]: CX.1.
func cxString(c *Context, v hl7.Value) (fhirjson.Value, error) {
	var buf [1]hl7.Value
	return fhirjson.Str(splitField(v, buf[:]).text(1)), nil
}

// cxRelatedPersonMother is CX[RelatedPerson-Mother]: a RelatedPerson with
// the mother's identifier (CX.1-CX.8 as CX[Identifier]) and relationship
// MTH, the IG's default. The IG's system for MTH is the HTML page of the
// code system; the code system's URI is used. RelatedPerson.patient (1..1)
// is the rule engine's to set: the IG fills it from PID-3.
func cxRelatedPersonMother(c *Context, v hl7.Value) (fhirjson.Value, error) {
	var buf [8]hl7.Value
	id, err := cxIdentifier(c, splitField(v, buf[:]))
	if id.IsNull() {
		return fhirjson.Value{}, err
	}
	return c.obj(
		fhirjson.M("resourceType", fhirjson.Str("RelatedPerson")),
		fhirjson.M("identifier", c.arr(id)),
		fhirjson.M("relationship", c.arr(ccRoleMTH)),
	), err
}

// ---------------------------------------------------------------------------
// EI and EIP

// EIIdentifier converts an EI to an Identifier (IG EI[Identifier-Extension],
// the EI map most segments use): EI.1 → value. The IG sends EI.2-EI.4 to a
// proposed extension (assigningauthority) that FHIR does not have; they are
// read as an assigning authority instead (namespace, universal ID and its
// type, as CX.4): system from EI.3/EI.4, assigner.display from EI.2.
func EIIdentifier(c *Context, v hl7.Value) (fhirjson.Value, error) {
	var buf [4]hl7.Value
	return eiIdentifier(c, splitNested(v, buf[:]), "EI.2-4", "EI.4"), nil
}

// eiIdentifier is ei's Identifier; authComp and typComp name EI.2-4 and
// EI.4 in warnings.
func eiIdentifier(c *Context, p split, authComp, typComp string) fhirjson.Value {
	value := p.text(1)
	if value == "" {
		return fhirjson.Value{}
	}
	auth := hdValue{ns: p.text(2), uid: p.text(3), typ: p.text(4), comp: authComp, typComp: typComp}
	system := auth.system(c)
	return c.obj(
		fhirjson.M("system", fhirjson.Str(system)),
		fhirjson.M("value", fhirjson.Str(value)),
		fhirjson.M("assigner", auth.assigner(c, system)),
	)
}

// eiIdentifierSystem is EI[Identifier-System]: EI.1 → value; EI.2 or EI.3
// → system ("by implementation context": the universal ID when it makes a
// URI, else a namespace that is a URI or OID, as for CX.4); EI.4 → type
// (ID[CodeableConcept], in table 0301's code system).
func eiIdentifierSystem(c *Context, v hl7.Value) (fhirjson.Value, error) {
	var buf [4]hl7.Value
	p := splitNested(v, buf[:])
	value := p.text(1)
	if value == "" {
		return fhirjson.Value{}, nil
	}
	auth := hdValue{ns: p.text(2), uid: p.text(3), typ: p.text(4), comp: "EI.2-4", typComp: "EI.4"}
	return c.obj(
		fhirjson.M("type", vocabCC(c, "EI.4", auth.typ, vmUniversalIDType)),
		fhirjson.M("system", fhirjson.Str(auth.system(c))),
		fhirjson.M("value", fhirjson.Str(value)),
	), nil
}

// eiIdentifierOrganization is EI[Identifier-Organization]: EI.1 → value;
// EI.2-EI.4 → the assigner Organization (identifier[1] = EI.2, identifier[2]
// = EI.3 typed by EI.4), as a logical Reference: display EI.2 and the
// identifier of EI.3.
func eiIdentifierOrganization(c *Context, v hl7.Value) (fhirjson.Value, error) {
	var buf [4]hl7.Value
	return eiOrganization(c, splitNested(v, buf[:])), nil
}

func eiOrganization(c *Context, p split) fhirjson.Value {
	value := p.text(1)
	if value == "" {
		return fhirjson.Value{}
	}
	auth := hdValue{ns: p.text(2), uid: p.text(3), typ: p.text(4), comp: "EI.2-4", typComp: "EI.4"}
	return c.obj(
		fhirjson.M("value", fhirjson.Str(value)),
		fhirjson.M("assigner", auth.assigner(c, "")),
	)
}

// eiIdentifierDefaultAssigner is EI[Identifier-DefaultAssigner]: EI.1 →
// value only; the caller sets the assigner (PL.11 for PL.10).
func eiIdentifierDefaultAssigner(c *Context, v hl7.Value) (fhirjson.Value, error) {
	var buf [1]hl7.Value
	return c.obj(fhirjson.M("value", fhirjson.Str(splitNested(v, buf[:]).text(1)))), nil
}

// eipPlacer is EIP[Identifier-PlacerAssignedIdentifier]: EIP.1 (an EI,
// converted as by ei) with type PGN of table 0203.
func eipPlacer(c *Context, v hl7.Value) (fhirjson.Value, error) {
	var buf [1]hl7.Value
	return eipIdentifier(c, splitField(v, buf[:]).at(1), "EIP.1.2-4", "EIP.1.4", ccTypePGN), nil
}

// eipFiller is EIP[Identifier-FillerAssignedIdentifier]: EIP.2 with type
// FGN.
func eipFiller(c *Context, v hl7.Value) (fhirjson.Value, error) {
	var buf [2]hl7.Value
	return eipIdentifier(c, splitField(v, buf[:]).at(2), "EIP.2.2-4", "EIP.2.4", ccTypeFGN), nil
}

func eipIdentifier(c *Context, ei hl7.Value, authComp, typComp string, typ fhirjson.Value) fhirjson.Value {
	var buf [4]hl7.Value
	id := eiIdentifier(c, splitNested(ei, buf[:]), authComp, typComp)
	if id.IsNull() {
		return id
	}
	return c.obj(append([]fhirjson.Member{fhirjson.M("type", typ)}, id.Members()...)...)
}

// ---------------------------------------------------------------------------
// HD

// HDURI converts an HD to a uri (IG HD[uri]) under the rules of the file
// comment: the universal ID as urn:oid:, urn:uuid: or a URI; else HD.1
// when it is an absolute URI or an OID; else Null (the IG would give HD.1
// as is; a local namespace is not a URI).
func HDURI(c *Context, v hl7.Value) (fhirjson.Value, error) {
	return readHD(v, "HD", "HD.3").uri(c), nil
}

// HDOrganization converts an HD to an Organization (IG HD[Organization]):
// identifier[1].value = HD.1; identifier[2] = HD.2, type HD.3 (table 0301),
// system urn:ietf:rfc:3986 when HD.3 is ISO or UUID (the value is then the
// URN: that system requires it).
func HDOrganization(c *Context, v hl7.Value) (fhirjson.Value, error) {
	return hdResource("Organization", c, v), nil
}

// hdDevice is HD[Device]: as HD[Organization], for a Device.
func hdDevice(c *Context, v hl7.Value) (fhirjson.Value, error) {
	return hdResource("Device", c, v), nil
}

func hdResource(resourceType string, c *Context, v hl7.Value) fhirjson.Value {
	ids := readHD(v, "HD", "HD.3").identifiers(c)
	if ids.IsNull() {
		return fhirjson.Value{}
	}
	return c.obj(fhirjson.M("resourceType", fhirjson.Str(resourceType)), fhirjson.M("identifier", ids))
}

// hdLocation is HD[Location]: name = HD.1; identifier = HD.2 when HD.3 is
// ISO or UUID (as urn:oid:/urn:uuid: with system urn:ietf:rfc:3986: the IG
// gives the bare value, which no system would qualify); physicalType si
// (site).
func hdLocation(c *Context, v hl7.Value) (fhirjson.Value, error) {
	h := readHD(v, "HD", "HD.3")
	if h.isZero() {
		return fhirjson.Value{}, nil
	}
	var ident fhirjson.Value
	if strings.EqualFold(h.typ, "ISO") || strings.EqualFold(h.typ, "UUID") {
		if u, _ := h.uidURI(); u != "" {
			ident = c.obj(fhirjson.M("system", fhirjson.Str(sysRFC3986)), fhirjson.M("value", fhirjson.Str(u)))
		} else {
			ident = c.obj(fhirjson.M("value", fhirjson.Str(h.uid)))
		}
	}
	loc := c.obj(
		fhirjson.M("identifier", c.arr(ident)),
		fhirjson.M("name", fhirjson.Str(h.ns)),
	)
	if loc.IsNull() {
		return loc, nil
	}
	return c.obj(append(append([]fhirjson.Member{fhirjson.M("resourceType", fhirjson.Str("Location"))}, loc.Members()...),
		fhirjson.M("physicalType", ccSite))...), nil
}

// hdIdentifier is HD[Identifier]: two identifier instances, [1] with value
// HD.1 and [2] with value HD.2 typed by HD.3 (as for HD[Organization]). The
// result is one Identifier, or an array of two when both are valued.
func hdIdentifier(c *Context, v hl7.Value) (fhirjson.Value, error) {
	ids := readHD(v, "HD", "HD.3").identifiers(c)
	if e := ids.Elems(); len(e) == 1 {
		return e[0], nil
	}
	return ids, nil
}

// The four HD[MessageHeader.*] maps give parts of MessageHeader.source or
// MessageHeader.destination (FHIR type BackboneElement in the model the
// rules are checked against): the rule engine merges the name and endpoint
// parts into one element.

// hdSourceName is HD[MessageHeader.source-name]: name = HD.1, software =
// HD.2.
func hdSourceName(c *Context, v hl7.Value) (fhirjson.Value, error) {
	h := readHD(v, "HD", "HD.3")
	return c.obj(fhirjson.M("name", fhirjson.Str(h.ns)), fhirjson.M("software", fhirjson.Str(h.uid))), nil
}

// hdDestinationName is HD[MessageHeader.destination-name]: name = HD.2.
func hdDestinationName(c *Context, v hl7.Value) (fhirjson.Value, error) {
	return c.obj(fhirjson.M("name", fhirjson.Str(readHD(v, "HD", "HD.3").uid))), nil
}

// hdSourceEndpoint is HD[MessageHeader.source-endpoint]:
//
//	HD.3 ISO → endpoint urn:oid:HD.2; UUID → urn:uuid:HD.2; DNS →
//	urn:dns:HD.2 (the IG's assignment); URI → HD.2 itself (the IG writes
//	"urn:uri:"+HD.2, which makes no URI of a URI); any other type →
//	name HD.1 - HD.3:HD.2 and endpoint data-absent-reason unknown; HD.1 →
//	name when HD.2 is not valued and HD.3 is none of those four.
//
// An ISO or UUID HD.2 that is not an OID or UUID is treated as "other".
func hdSourceEndpoint(c *Context, v hl7.Value) (fhirjson.Value, error) {
	h := readHD(v, "HD", "HD.3")
	if h.isZero() {
		return fhirjson.Value{}, nil
	}
	var endpoint, name string
	if h.uid != "" {
		switch {
		case strings.EqualFold(h.typ, "ISO"):
			endpoint = oidURI(h.uid)
		case strings.EqualFold(h.typ, "UUID"):
			endpoint = uuidURI(h.uid)
		case strings.EqualFold(h.typ, "DNS"):
			if isAbsoluteURI("urn:dns:" + h.uid) {
				endpoint = "urn:dns:" + h.uid
			}
		case strings.EqualFold(h.typ, "URI"):
			if isAbsoluteURI(h.uid) {
				endpoint = h.uid
			}
		}
		if endpoint == "" {
			name = h.ns + " - " + h.typ + ":" + h.uid
		}
	} else {
		name = h.ns
	}
	var absent fhirjson.Value
	if endpoint == "" {
		absent = absentUnknown()
	}
	return c.obj(
		fhirjson.M("name", fhirjson.Str(name)),
		fhirjson.M("endpoint", fhirjson.Str(endpoint)),
		fhirjson.M("_endpoint", absent),
	), nil
}

// hdDestinationEndpoint is HD[MessageHeader.destination-endpoint]: name =
// HD.1; endpoint = urn:oid:HD.2 (ISO), urn:uuid:HD.2 (UUID), else HD.2 when
// it is an absolute URI; when no endpoint can be made, data-absent-reason
// unknown (the IG's row for HD.3 not valued; endpoint is 1..1).
func hdDestinationEndpoint(c *Context, v hl7.Value) (fhirjson.Value, error) {
	h := readHD(v, "HD", "HD.3")
	if h.isZero() {
		return fhirjson.Value{}, nil
	}
	var endpoint string
	switch {
	case h.uid == "":
	case strings.EqualFold(h.typ, "ISO"):
		endpoint = oidURI(h.uid)
	case strings.EqualFold(h.typ, "UUID"):
		endpoint = uuidURI(h.uid)
	case isAbsoluteURI(h.uid):
		endpoint = h.uid
	}
	var absent fhirjson.Value
	if endpoint == "" {
		absent = absentUnknown()
	}
	return c.obj(
		fhirjson.M("name", fhirjson.Str(h.ns)),
		fhirjson.M("endpoint", fhirjson.Str(endpoint)),
		fhirjson.M("_endpoint", absent),
	), nil
}
