package datatype

// Coded values: CWE, CE, CNE and CF to CodeableConcept, Coding, code and
// string; ID and IS to code, string, Coding, CodeableConcept and boolean;
// the names of coding systems (CWE.3, HL7 table 0396) to FHIR system URIs.
//
// The IG maps, row by row (CWE[CodeableConcept]; CE, CNE and CF have the
// same rows, CE only the first six):
//
//	CWE.1/2/3   → coding[1].code/display/system   (CWE.3 through SystemURI)
//	CWE.4/5/6   → coding[2].code/display/system
//	CWE.7/8     → coding[1].version, coding[2].version
//	CWE.9       → text
//	CWE.10/11/12/13 → coding[3].code/display/system/version
//	CWE.14–22   → no target in the IG (OIDs and value sets)
//
// Decisions where the IG is silent:
//
//   - A triplet without a code (CWE.1 empty, CWE.2 "Fever") gives no coding:
//     a coding with a display and no code says nothing a program can use.
//     Its text becomes CodeableConcept.text when CWE.9 is empty, so that
//     nothing the sender wrote is lost.
//   - Coding system names (CWE.3/6/12) are mapped by SystemURI. A name that
//     is not known gives a coding without system (FHIR systems are URIs)
//     with its code and display, and a warning naming the coding system.
//     Before giving up, the triplet's coding system OID (CWE.14/17/20, which
//     the IG leaves unmapped) is used as urn:oid:… when it is an OID.
//   - Codes are trimmed and runs of white space inside become one space, as
//     FHIR's code type requires; displays and text are trimmed.
//   - With a vocabulary map (CodeableConceptFrom, CodingFrom, Code), the
//     triplets whose coding system is empty or is the map's v2 table
//     (HL7nnnn) are translated: a mapped code is replaced by the map's
//     coding ("If mapped to FHIR, use Code System and Display", CWE.1's
//     narrative); an unmapped one keeps its code in the v2 table's system,
//     with a warning.

import (
	"strings"
	"sync"

	"github.com/plexus-hl7/plexus/hl7"
	"github.com/plexus-hl7/plexus/transforms/fhirjson"
	"github.com/plexus-hl7/plexus/transforms/vocab"
)

func init() {
	for _, t := range []string{"CWE", "CE", "CNE", "CF"} {
		register(&Converter{Name: strings.ToLower(t), Map: t + "[CodeableConcept]", V2: []string{t}, FHIR: "CodeableConcept", Fn: CodeableConcept})
	}
	register(&Converter{Name: "cwe_coding", Map: "CWE[Coding]", V2: []string{"CWE", "CE", "CNE", "CF"}, FHIR: "Coding", Fn: Coding})
	register(&Converter{Name: "cwe_code", Map: "CWE[code]", V2: []string{"CWE", "CE", "CNE", "CF"}, FHIR: "code",
		Fn: func(c *Context, v hl7.Value) (fhirjson.Value, error) { return Code(c, v, "") }})
	register(&Converter{Name: "cwe_string", Map: "CWE[string]", V2: []string{"CWE", "CE", "CNE", "CF"}, FHIR: "string", Fn: CWEString})
	register(&Converter{Name: "cwe_annotation", Map: "CWE[Annotation]", V2: []string{"CWE", "CE"}, FHIR: "Annotation", Fn: cweAnnotation})
	register(&Converter{Name: "cwe_uri", Map: "CWE[uri]", V2: []string{"CWE", "CE"}, FHIR: "uri", Fn: CWEURI})
	register(&Converter{Name: "id", Map: "ID[code]", V2: []string{"ID"}, FHIR: "code",
		Fn: func(c *Context, v hl7.Value) (fhirjson.Value, error) { return Code(c, v, "") }})
	register(&Converter{Name: "is", Map: "IS[code]", V2: []string{"IS"}, FHIR: "code",
		Fn: func(c *Context, v hl7.Value) (fhirjson.Value, error) { return Code(c, v, "") }})
	register(&Converter{Name: "id_string", Map: "ID[string]", V2: []string{"ID"}, FHIR: "string", Fn: String})
	register(&Converter{Name: "is_string", Map: "IS[string]", V2: []string{"IS"}, FHIR: "string", Fn: String})
	register(&Converter{Name: "id_coding", Map: "ID[Coding]", V2: []string{"ID"}, FHIR: "Coding", Fn: Coding})
	register(&Converter{Name: "id_codeableconcept", Map: "ID[CodeableConcept]", V2: []string{"ID"}, FHIR: "CodeableConcept", Fn: CodeableConcept})
	register(&Converter{Name: "is_codeableconcept", Map: "IS[CodeableConcept]", V2: []string{"IS"}, FHIR: "CodeableConcept", Fn: CodeableConcept})
	register(&Converter{Name: "id_codeableconcept_universalid", Map: "ID[CodeableConcept-UniversalID]", V2: []string{"ID"}, FHIR: "CodeableConcept",
		Fn: idUniversalIDType})
	register(&Converter{Name: "id_boolean", Map: "ID[boolean]", V2: []string{"ID"}, FHIR: "boolean",
		Fn: func(c *Context, v hl7.Value) (fhirjson.Value, error) { return Boolean(c, v, "YesNoIndicator") }})
}

// codingSystems maps HL7 table 0396 coding system names (upper case) to
// FHIR system URIs. The IG has no map for table 0396 (its CWE maps say
// only "the vocabulary table will give the actual uri"), so this table is
// kept here. Sources: the names are HL7 v2.9 table 0396; the URIs are those
// of FHIR R4 "Code Systems" (http://hl7.org/fhir/R4/terminologies-systems.html)
// and of HL7 Terminology's external code systems
// (https://terminology.hl7.org/external_terminologies.html); pre-CT SNOMED
// editions, which have no URI, by their OIDs in the HL7 OID registry.
// HL7nnnn and 99zzz/L (local) are handled in SystemURI.
var codingSystems = map[string]string{
	"LN":        "http://loinc.org",
	"SCT":       "http://snomed.info/sct",
	"SNM":       "urn:oid:2.16.840.1.113883.6.5",  // SNOMED (before CT)
	"SNM3":      "urn:oid:2.16.840.1.113883.6.51", // SNOMED International (3.x)
	"I10":       "http://hl7.org/fhir/sid/icd-10",
	"I10C":      "http://hl7.org/fhir/sid/icd-10-cm",
	"ICD10CM":   "http://hl7.org/fhir/sid/icd-10-cm",
	"I10P":      "http://www.cms.gov/Medicare/Coding/ICD10",
	"I9":        "http://hl7.org/fhir/sid/icd-9-cm",
	"I9C":       "http://hl7.org/fhir/sid/icd-9-cm",
	"I9CDX":     "http://hl7.org/fhir/sid/icd-9-cm",
	"I9CP":      "http://hl7.org/fhir/sid/icd-9-cm",
	"UCUM":      "http://unitsofmeasure.org",
	"CVX":       "http://hl7.org/fhir/sid/cvx",
	"MVX":       "http://terminology.hl7.org/CodeSystem/MVX",
	"NDC":       "http://hl7.org/fhir/sid/ndc",
	"RXNORM":    "http://www.nlm.nih.gov/research/umls/rxnorm",
	"C4":        "http://www.ama-assn.org/go/cpt",
	"C5":        "http://www.ama-assn.org/go/cpt",
	"CPT4":      "http://www.ama-assn.org/go/cpt",
	"HCPCS":     "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets",
	"CDCREC":    "urn:oid:2.16.840.1.113883.6.238",
	"DCM":       "http://dicom.nema.org/resources/ontology/DCM",
	"MDC":       "urn:iso:std:iso:11073:10101",
	"ISO3166_1": "urn:iso:std:iso:3166",
	"ISO4217":   "urn:iso:std:iso:4217",
	"NUBC":      "http://www.nubc.org/patient-discharge",
	"NUCCPID":   "http://nucc.org/provider-taxonomy",
	"UMLS":      "http://www.nlm.nih.gov/research/umls",
	"UPC":       "urn:oid:2.16.840.1.113883.6.315",
	// Spellings that are not in table 0396 but that senders use.
	"LOINC":     "http://loinc.org",
	"SNOMEDCT":  "http://snomed.info/sct",
	"SNOMED-CT": "http://snomed.info/sct",
	"ICD10":     "http://hl7.org/fhir/sid/icd-10",
	"ICD-10":    "http://hl7.org/fhir/sid/icd-10",
	"ICD-10-CM": "http://hl7.org/fhir/sid/icd-10-cm",
	"CPT":       "http://www.ama-assn.org/go/cpt",
}

// SystemURI maps the name of a v2 coding system (CWE.3, CWE.6, CWE.12: HL7
// table 0396) to its FHIR system URI: "LN" → http://loinc.org,
// "HL70001" → http://terminology.hl7.org/CodeSystem/v2-0001. A name that
// is already a URI (http:, https:, urn:) is kept; an OID becomes
// urn:oid:…. Names match case-insensitively. ok is false for a name with
// no known URI (local systems 99zzz and L among them); "" gives "", true.
func SystemURI(name string) (uri string, ok bool) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", true
	}
	if len(name) <= 12 {
		var buf [12]byte
		for i := 0; i < len(name); i++ {
			b := name[i]
			if 'a' <= b && b <= 'z' {
				b -= 'a' - 'A'
			}
			buf[i] = b
		}
		up := buf[:len(name)]
		if u, found := codingSystems[string(up)]; found {
			return u, true
		}
		if len(up) >= 6 && len(up) <= 7 && string(up[:3]) == "HL7" && isDigits(up[3:]) {
			t := name[3:]
			if len(t) == 3 {
				return joinText("http://terminology.hl7.org/CodeSystem/v2-0", t), true
			}
			return joinText("http://terminology.hl7.org/CodeSystem/v2-", t), true
		}
	}
	if isSystemURI(name) {
		return name, true
	}
	if isOID(name) {
		return "urn:oid:" + name, true
	}
	return "", false
}

func isDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}

func isSystemURI(s string) bool {
	return (strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "urn:")) &&
		!strings.ContainsAny(s, " \t\r\n")
}

// cweParts are the components of a CWE (its subcomponents when it is
// itself a component), read in one pass; index 0 is unused.
type cweParts [23]hl7.Value

func readCWE(v hl7.Value) (p cweParts) {
	parts := v.ComponentParts()
	if pp := partsOf(v); pp.sub {
		parts = v.SubParts()
	}
	for parts.Next() && parts.Index() < len(p) {
		p[parts.Index()] = parts.Value()
	}
	return p
}

func (p *cweParts) at(i int) hl7.Value { return p[i] }
func (p *cweParts) text(i int) string  { return v2Text(p[i]) }

// triplet is one code of a CWE: CWE.1-3 with CWE.7 and CWE.14, CWE.4-6
// with CWE.8 and CWE.17, or CWE.10-13 with CWE.20.
type triplet struct{ code, display, system, version, oid int }

var triplets = [3]triplet{
	{1, 2, 3, 7, 14},
	{4, 5, 6, 8, 17},
	{10, 11, 12, 13, 20},
}

// codeText is a value's text normalised for FHIR's code type (normCode).
func codeText(v hl7.Value) string { return normCode(v2Text(v)) }

// normCode trims s and makes each run of white space inside it one space,
// as FHIR's code type requires.
func normCode(s string) string {
	s = strings.TrimSpace(s)
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v' || (c == ' ' && s[i+1] == ' ') {
			return strings.Join(strings.Fields(s), " ")
		}
	}
	return s
}

// coding is one FHIR Coding being built.
type coding struct {
	system, version, code, display string
}

func (k *coding) value(c *Context) fhirjson.Value {
	return c.obj(
		fhirjson.M("system", fhirjson.Str(k.system)),
		fhirjson.M("version", fhirjson.Str(k.version)),
		fhirjson.M("code", fhirjson.Str(k.code)),
		fhirjson.M("display", fhirjson.Str(k.display)),
	)
}

// readTriplet reads triplet t of v. It returns ok false when the triplet
// has no code.
func readTriplet(c *Context, p *cweParts, t triplet, m *vocab.Map) (k coding, ok bool) {
	code := p.at(t.code)
	if !code.HasValue() {
		return k, false
	}
	// The texts of the triplet are read into one buffer and become one
	// string, sliced: one allocation instead of four.
	bp := textBufs.Get().(*[]byte)
	buf := code.AppendText((*bp)[:0])
	n1 := len(buf)
	buf = appendValue(buf, p.at(t.display))
	n2 := len(buf)
	buf = appendValue(buf, p.at(t.system))
	n3 := len(buf)
	buf = appendValue(buf, p.at(t.version))
	all := TextFrom(buf)
	*bp = buf[:0]
	textBufs.Put(bp)
	k.code = normCode(all[:n1])
	if k.code == "" {
		return k, false
	}
	k.display = strings.TrimSpace(cleanText(all[n1:n2]))
	sysName := strings.TrimSpace(all[n2:n3])
	if m != nil && (sysName == "" || namesTable(sysName, m)) {
		return translate(c, m, k), true
	}
	k.version = strings.TrimSpace(cleanText(all[n3:]))
	uri, known := SystemURI(sysName)
	if !known {
		if oid := p.text(t.oid); isOID(oid) {
			uri, known = "urn:oid:"+oid, true
		}
	}
	if !known {
		c.warn("coding system " + quoteName(sysName) + " has no known URI: coding kept without system")
	}
	k.system = uri
	return k, true
}

// textBufs are scratch buffers for readTriplet.
var textBufs = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

// appendValue appends v's text, nothing for the HL7 null.
func appendValue(dst []byte, v hl7.Value) []byte {
	if !v.HasValue() {
		return dst
	}
	return v.AppendText(dst)
}

// quoteName quotes a coding system name for a message, cut to 40 bytes.
func quoteName(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return "\"" + s + "\""
}

// namesTable reports whether a coding system name is the v2 table of m.
func namesTable(name string, m *vocab.Map) bool {
	if m.Table == "" {
		return false
	}
	uri, _ := SystemURI(name)
	return uri == m.System()
}

// translate maps k.code through m.
func translate(c *Context, m *vocab.Map, k coding) coding {
	out, res := m.Translate(k.code)
	switch res {
	case vocab.Mapped:
		return coding{system: out.System, code: out.Code, display: out.Display}
	default:
		c.warn("code " + quoteName(k.code) + " has no FHIR code in vocabulary map " + m.Name + ": kept in its v2 table")
		if k.display == "" {
			k.display = out.Display
		}
		return coding{system: out.System, code: out.Code, display: k.display}
	}
}

// lookupMap finds a vocabulary map for a converter called with one. The
// rule compiler checks map names at load (vocab.Resolve), so an unknown
// name here is a programming error, reported as an error.
func VocabMap(name string) (*vocab.Map, error) {
	if name == "" {
		return nil, nil
	}
	if m, ok := mapCache.Load(name); ok {
		return m.(*vocab.Map), nil
	}
	m, err := vocab.Resolve(name)
	if err != nil {
		return nil, err
	}
	mapCache.Store(name, m)
	return m, nil
}

// mapCache holds the maps found by name: vocab.Resolve normalises the name
// each time, which costs more than the conversion. Rules name a fixed set
// of maps, so it stays small; names that are not found are not kept.
var mapCache sync.Map

// CodeableConcept converts a CWE, CE, CNE, CF, ID or IS to a
// CodeableConcept (CWE[CodeableConcept] and its siblings).
func CodeableConcept(c *Context, v hl7.Value) (fhirjson.Value, error) {
	return CodeableConceptFrom(c, v, "")
}

// CodeableConceptFrom is CodeableConcept with the codes of mapName's v2
// table translated through that vocabulary map (see the package notes).
func CodeableConceptFrom(c *Context, v hl7.Value, mapName string) (fhirjson.Value, error) {
	if !v.HasValue() {
		return fhirjson.Value{}, nil
	}
	m, err := VocabMap(mapName)
	if err != nil {
		return fhirjson.Value{}, err
	}
	var codings [3]fhirjson.Value
	n := 0
	p := readCWE(v)
	txt := cleanText(p.text(9))
	for _, t := range triplets {
		k, ok := readTriplet(c, &p, t, m)
		if !ok {
			if txt == "" {
				txt = cleanText(p.text(t.display))
			}
			continue
		}
		codings[n] = k.value(c)
		n++
	}
	return c.obj(
		fhirjson.M("coding", c.arr(codings[:n]...)),
		fhirjson.M("text", fhirjson.Str(txt)),
	), nil
}

// Coding converts a CWE (CWE.1-3 and CWE.7: CWE[Coding]), ID or IS
// (ID[Coding]: the code alone) to a Coding.
func Coding(c *Context, v hl7.Value) (fhirjson.Value, error) {
	return CodingFrom(c, v, "")
}

// CodingFrom is Coding with the code translated through the vocabulary map
// mapName when CWE.3 is empty or names the map's v2 table.
func CodingFrom(c *Context, v hl7.Value, mapName string) (fhirjson.Value, error) {
	if !v.HasValue() {
		return fhirjson.Value{}, nil
	}
	m, err := VocabMap(mapName)
	if err != nil {
		return fhirjson.Value{}, err
	}
	p := readCWE(v)
	k, ok := readTriplet(c, &p, triplets[0], m)
	if !ok {
		return fhirjson.Value{}, nil
	}
	return k.value(c), nil
}

// Code converts a CWE (CWE[code]: CWE.1, or CWE.4 when CWE.1 is not
// valued), ID or IS (ID[code], IS[code]) to a code. With mapName, the code
// is translated through that vocabulary map (PID-8 with AdministrativeSex);
// a code the map does not translate is kept, with a warning, when the map's
// targets include its v2 table, and dropped with a warning otherwise (the
// element is bound to the map's target codes).
func Code(c *Context, v hl7.Value, mapName string) (fhirjson.Value, error) {
	p := partsOf(v)
	if !v.HasValue() {
		return fhirjson.Value{}, nil
	}
	m, err := VocabMap(mapName)
	if err != nil {
		return fhirjson.Value{}, err
	}
	code := codeText(p.at(1))
	if code == "" {
		code = codeText(p.at(4))
	}
	if code == "" || m == nil {
		return fhirjson.Str(code), nil
	}
	out, res := m.Translate(code)
	switch res {
	case vocab.Mapped:
		return fhirjson.Str(out.Code), nil
	case vocab.Empty:
		return fhirjson.Value{}, nil
	}
	for _, s := range m.TargetSystems() {
		if s == m.System() {
			c.warn("code " + quoteName(code) + " has no FHIR code in vocabulary map " + m.Name + ": kept as sent")
			return fhirjson.Str(code), nil
		}
	}
	c.warn("code " + quoteName(code) + " has no FHIR code in vocabulary map " + m.Name + ": dropped")
	return fhirjson.Value{}, nil
}

// Boolean converts an ID to a boolean through a vocabulary map whose FHIR
// codes are "true" and "false" (ID[boolean] with YesNoIndicator, table
// 0136). A code the map does not translate is dropped with a warning.
func Boolean(c *Context, v hl7.Value, mapName string) (fhirjson.Value, error) {
	p := partsOf(v)
	if !v.HasValue() {
		return fhirjson.Value{}, nil
	}
	m, err := VocabMap(mapName)
	if err != nil {
		return fhirjson.Value{}, err
	}
	code := codeText(p.at(1))
	out, res := m.Translate(code)
	switch {
	case res == vocab.Empty:
		return fhirjson.Value{}, nil
	case res == vocab.Mapped && out.Code == "true":
		return fhirjson.Bool(true), nil
	case res == vocab.Mapped && out.Code == "false":
		return fhirjson.Bool(false), nil
	}
	c.warn("code " + quoteName(code) + " is not a boolean in vocabulary map " + m.Name + ": dropped")
	return fhirjson.Value{}, nil
}

// CWEString converts a CWE to a string (CWE[string]): CWE.9, or CWE.2 when
// CWE.9 is not valued.
func CWEString(c *Context, v hl7.Value) (fhirjson.Value, error) {
	p := partsOf(v)
	if s := p.text(9); s != "" {
		return fhirjson.Str(strings.TrimSpace(cleanText(s))), nil
	}
	return fhirjson.Str(strings.TrimSpace(cleanText(p.text(2)))), nil
}

// CWEURI converts a CWE to a uri (CWE[uri], the IG says url): CWE.1, or
// CWE.4 when CWE.1 is not valued, through SystemURI, so that a coding
// system or assigning jurisdiction name becomes a URI (DLN.2 → system).
// A value that has no URI is dropped with a warning.
func CWEURI(c *Context, v hl7.Value) (fhirjson.Value, error) {
	p := partsOf(v)
	s := p.text(1)
	if s == "" {
		s = p.text(4)
	}
	if s == "" {
		return fhirjson.Value{}, nil
	}
	if u, ok := SystemURI(s); ok {
		return fhirjson.Str(u), nil
	}
	c.warn("CWE " + quoteName(s) + " is not a URI and names no known system: dropped")
	return fhirjson.Value{}, nil
}

// idUniversalIDType is ID[CodeableConcept-UniversalID]: ID.1 → coding.code
// in the fixed system of table 0301 (universal ID type).
func idUniversalIDType(c *Context, v hl7.Value) (fhirjson.Value, error) {
	code := codeText(partsOf(v).at(1))
	if code == "" {
		return fhirjson.Value{}, nil
	}
	k := coding{system: "http://terminology.hl7.org/CodeSystem/v2-0301", code: code}
	return c.obj(fhirjson.M("coding", c.arr(k.value(c)))), nil
}

// cweAnnotation is CWE[Annotation]: the full field, delimiters included
// ("include full field (including delimiters or xml tags)"), → text.
func cweAnnotation(c *Context, v hl7.Value) (fhirjson.Value, error) {
	if !v.HasValue() {
		return fhirjson.Value{}, nil
	}
	return c.obj(fhirjson.M("text", fhirjson.Str(strings.TrimSpace(cleanText(TextOf(v)))))), nil
}
