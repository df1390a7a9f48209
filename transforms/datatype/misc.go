package datatype

// MSG (message type), PT (processing type), DR (date range), DLN (driver's
// licence) and ED (encapsulated data).
//
// Decisions where the IG is silent or loose:
//
//   - MSG[Coding] display is MSG.1^MSG.2^MSG.3 as the IG writes it, with
//     trailing empty parts (and their ^) left out: "ADT^A01^ADT_A01",
//     "ADT^A01" when MSG.3 is empty.
//   - MSG[MessageHeader]: MSG.3 → definition goes through MessageStructure,
//     whose rows have no FHIR side (the IG's comment: there is no library of
//     v2 message definitions), so definition is never set.
//   - DR[Period]: a start after the end is invalid FHIR (per-1): the period
//     is dropped with an error.
//   - DLN[Identifier]: the IG's "type.coding.sytem" is read as system; DLN.2
//     (the issuing state, a CWE) → system through CWE[uri], which keeps only
//     values that are or name a URI.
//   - ED[Attachment]: ED.4 "Base64" (any case): ED.5 must be base64 (white
//     space and line breaks that senders insert are removed, missing padding
//     is added); "A" (ASCII, also "ASCII"): the text of ED.5 is encoded;
//     "Hex": ED.5 is decoded from hexadecimal, then encoded. ED.4 empty: the
//     data is taken as text with a warning. Anything else, or data that is
//     not what ED.4 says, is an error.
//     contentType (ED.3 by the IG) must be a MIME type: ED.3 with a "/" is
//     kept; otherwise ED.2 (table 0191: AP, AU, IM, TEXT, ...) and ED.3 (table
//     0291: PDF, JPEG, RTF, ...) are combined into one (AP^PDF →
//     application/pdf); with no ED.3, the type is sniffed from the data (the
//     IG's comment: "to be safe you may want to always assess OBX-5.5 to
//     determine the correct .contentType"). FHIR requires a contentType when
//     there is data (att-1), so one is always given.
//     ED.2 → the alternate-codes extension when ED.3 is not valued, as the IG
//     says, in the system of table 0191; the IG writes its URL with https,
//     the extension's URL is http://hl7.org/fhir/StructureDefinition/alternate-codes.

import (
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/plexus-hl7/plexus/hl7"
	"github.com/plexus-hl7/plexus/transforms/fhirjson"
	"github.com/plexus-hl7/plexus/transforms/vocab"
)

func init() {
	register(&Converter{Name: "msg_coding", Map: "MSG[Coding]", V2: []string{"MSG"}, FHIR: "Coding", Fn: msgCoding})
	register(&Converter{Name: "msg_code", Map: "MSG[code]", V2: []string{"MSG"}, FHIR: "code", Fn: msgCode})
	register(&Converter{Name: "msg_messageheader", Map: "MSG[MessageHeader]", V2: []string{"MSG"}, FHIR: "MessageHeader", Fn: msgMessageHeader})
	register(&Converter{Name: "pt_meta", Map: "PT[Meta]", V2: []string{"PT"}, FHIR: "Meta", Fn: ptMeta})
	register(&Converter{Name: "dr", Map: "DR[Period]", V2: []string{"DR"}, FHIR: "Period", Fn: DRPeriod})
	register(&Converter{Name: "dr_datetime", Map: "DR[dateTime]", V2: []string{"DR"}, FHIR: "dateTime", Fn: drDateTime})
	register(&Converter{Name: "dln", Map: "DLN[Identifier]", V2: []string{"DLN"}, FHIR: "Identifier", Fn: DLNIdentifier})
	register(&Converter{Name: "ed", Map: "ED[Attachment]", V2: []string{"ED"}, FHIR: "Attachment", Fn: EDAttachment})
}

const (
	sysV2EventType     = "http://terminology.hl7.org/CodeSystem/v2-0003"
	sysV2DataType      = "http://terminology.hl7.org/CodeSystem/v2-0191"
	urlAlternateCodes  = "http://hl7.org/fhir/StructureDefinition/alternate-codes"
	sysV2ProcessingID  = "http://terminology.hl7.org/CodeSystem/v2-0103"
	sysV2ProcessingMod = "http://terminology.hl7.org/CodeSystem/v2-0207"
)

// msgCoding is MSG[Coding]: display MSG.1^MSG.2^MSG.3, code MSG.2, system
// table 0003.
func msgCoding(c *Context, v hl7.Value) (fhirjson.Value, error) {
	p := partsOf(v)
	code := codeText(p.at(2))
	parts := [3]string{p.text(1), code, p.text(3)}
	n := 3
	for n > 0 && parts[n-1] == "" {
		n--
	}
	display := strings.Join(parts[:n], "^")
	var system string
	if code != "" {
		system = sysV2EventType
	}
	return c.obj(
		fhirjson.M("system", fhirjson.Str(system)),
		fhirjson.M("code", fhirjson.Str(code)),
		fhirjson.M("display", fhirjson.Str(display)),
	), nil
}

// msgCode is MSG[code]: MSG.2, the trigger event.
func msgCode(c *Context, v hl7.Value) (fhirjson.Value, error) {
	return fhirjson.Str(codeText(partsOf(v).at(2))), nil
}

// msgMessageHeader is MSG[MessageHeader]: MSG.2 → eventCoding (code
// through EventType, system table 0003). It gives the MessageHeader's
// eventCoding only; the other elements come from other MSH fields.
func msgMessageHeader(c *Context, v hl7.Value) (fhirjson.Value, error) {
	code := codeText(partsOf(v).at(2))
	if code == "" {
		return fhirjson.Value{}, nil
	}
	m, err := VocabMap("EventType")
	if err != nil {
		return fhirjson.Value{}, err
	}
	k, res := m.Translate(code)
	if res != vocab.Mapped {
		c.warn("trigger event " + quoteName(code) + " is not in vocabulary map EventType: kept as sent")
		k = vocab.Coding{System: sysV2EventType, Code: code}
	}
	return c.obj(fhirjson.M("eventCoding", c.obj(
		fhirjson.M("system", fhirjson.Str(k.System)),
		fhirjson.M("code", fhirjson.Str(k.Code)),
		fhirjson.M("display", fhirjson.Str(k.Display)),
	))), nil
}

// ptMeta is PT[Meta]: PT.1 → tag[1] through ProcessingID (table 0103),
// PT.2 → tag[2] through ProcessingMode (table 0207).
func ptMeta(c *Context, v hl7.Value) (fhirjson.Value, error) {
	p := partsOf(v)
	t1, err := tag(c, codeText(p.at(1)), "ProcessingID", sysV2ProcessingID)
	if err != nil {
		return fhirjson.Value{}, err
	}
	t2, err := tag(c, codeText(p.at(2)), "ProcessingMode", sysV2ProcessingMod)
	if err != nil {
		return fhirjson.Value{}, err
	}
	return c.obj(fhirjson.M("tag", c.arr(t1, t2))), nil
}

func tag(c *Context, code, mapName, system string) (fhirjson.Value, error) {
	if code == "" {
		return fhirjson.Value{}, nil
	}
	m, err := VocabMap(mapName)
	if err != nil {
		return fhirjson.Value{}, err
	}
	k, res := m.Translate(code)
	if res != vocab.Mapped {
		c.warn("code " + quoteName(code) + " is not in vocabulary map " + mapName + ": kept as sent")
		k = vocab.Coding{System: system, Code: code}
	}
	return c.obj(
		fhirjson.M("system", fhirjson.Str(k.System)),
		fhirjson.M("code", fhirjson.Str(k.Code)),
		fhirjson.M("display", fhirjson.Str(k.Display)),
	), nil
}

// DRPeriod converts a DR to a Period (DR[Period]): DR.1 → start, DR.2 →
// end, each through DTM[dateTime].
func DRPeriod(c *Context, v hl7.Value) (fhirjson.Value, error) {
	p := partsOf(v)
	return periodOf(c, p.at(1), p.at(2), "DR.1", "DR.2")
}

// drDateTime is DR[dateTime]: DR.1 → $value; DR.2 has no target.
func drDateTime(c *Context, v hl7.Value) (fhirjson.Value, error) {
	return DateTime(c, partsOf(v).at(1))
}

// DLNIdentifier converts a DLN to an Identifier (DLN[Identifier]): DLN.1 →
// value, type DL in table 0203, DLN.2 → system (CWE[uri]), DLN.3 →
// period.end.
func DLNIdentifier(c *Context, v hl7.Value) (fhirjson.Value, error) {
	p := partsOf(v)
	val := p.text(1)
	if val == "" {
		return fhirjson.Value{}, nil
	}
	system, err := CWEURI(c, p.at(2))
	if err != nil {
		return fhirjson.Value{}, err
	}
	end, err := DateTime(c, p.at(3))
	if err != nil {
		return fhirjson.Value{}, err
	}
	return c.obj(
		fhirjson.M("type", c.obj(fhirjson.M("coding", c.arr(c.obj(
			fhirjson.M("system", fhirjson.Str("http://terminology.hl7.org/CodeSystem/v2-0203")),
			fhirjson.M("code", fhirjson.Str("DL")),
		))))),
		fhirjson.M("system", system),
		fhirjson.M("value", fhirjson.Str(val)),
		fhirjson.M("period", c.obj(fhirjson.M("end", end))),
	), nil
}

// mimeTop maps table 0191 (type of referenced data, ED.2) to the top-level
// MIME type.
var mimeTop = map[string]string{
	"AP": "application", "APPLICATION": "application", "SD": "application",
	"AU": "audio", "AUDIO": "audio",
	"IM": "image", "IMAGE": "image", "SI": "image", "NS": "image",
	"TEXT": "text", "TX": "text", "FT": "text",
	"MULTIPART": "multipart",
	"VIDEO":     "video",
}

// mimeOf maps table 0291 subtypes (ED.3) whose MIME type does not depend
// on ED.2, or whose name is not the MIME subtype.
var mimeOf = map[string]string{
	"PDF":          "application/pdf",
	"RTF":          "application/rtf",
	"JPEG":         "image/jpeg",
	"JPG":          "image/jpeg",
	"PNG":          "image/png",
	"GIF":          "image/gif",
	"TIFF":         "image/tiff",
	"TIF":          "image/tiff",
	"BMP":          "image/bmp",
	"HTML":         "text/html",
	"XML":          "application/xml",
	"PLAIN":        "text/plain",
	"OCTET-STREAM": "application/octet-stream",
	"DICOM":        "application/dicom",
	"MSWORD":       "application/msword",
	"ZIP":          "application/zip",
	"BASIC":        "audio/basic",
	"SGML":         "text/sgml",
}

// contentType derives a MIME type from ED.2 and ED.3 ("" if it cannot).
func contentType(typ, sub string) string {
	if sub == "" {
		return ""
	}
	if strings.Contains(sub, "/") {
		return strings.ToLower(sub)
	}
	up := strings.ToUpper(sub)
	if t, ok := mimeOf[up]; ok {
		return t
	}
	if top, ok := mimeTop[strings.ToUpper(typ)]; ok {
		return top + "/" + strings.ToLower(sub)
	}
	return ""
}

// edData decodes ED.5 per ED.4 and returns the data as FHIR base64Binary
// and the raw bytes (for sniffing).
func edData(c *Context, encoding string, data hl7.Value) (b64 string, raw []byte, err error) {
	switch strings.ToUpper(encoding) {
	case "BASE64", "B64":
		s := stripSpace(data.String())
		if r := len(s) % 4; r != 0 && !strings.HasSuffix(s, "=") {
			s += "==="[:4-r] // senders that drop the padding
		}
		raw, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return "", nil, &ValueError{Type: "ED", Value: "(ED.5)", Reason: "ED.5 is not base64 as ED.4 says: " + err.Error()}
		}
		return s, raw, nil
	case "HEX":
		raw, err := hex.DecodeString(stripSpace(data.String()))
		if err != nil {
			return "", nil, &ValueError{Type: "ED", Value: "(ED.5)", Reason: "ED.5 is not hexadecimal as ED.4 says: " + err.Error()}
		}
		return base64.StdEncoding.EncodeToString(raw), raw, nil
	case "":
		c.warn("ED without encoding (ED.4): data taken as text")
		fallthrough
	case "A", "ASCII":
		raw := []byte(data.String())
		return base64.StdEncoding.EncodeToString(raw), raw, nil
	}
	return "", nil, &ValueError{Type: "ED", Value: encoding, Reason: "ED.4 encoding is not Base64, A or Hex"}
}

// stripSpace removes all ASCII white space.
func stripSpace(s string) string {
	if !strings.ContainsAny(s, " \t\r\n\f\v") {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n', '\f', '\v':
			return -1
		}
		return r
	}, s)
}

// EDAttachment converts an ED to an Attachment (ED[Attachment]); see the
// file's notes for ED.2–ED.5.
func EDAttachment(c *Context, v hl7.Value) (fhirjson.Value, error) {
	if !v.HasValue() {
		return fhirjson.Value{}, nil
	}
	p := partsOf(v)
	typ, sub, enc := codeText(p.at(2)), codeText(p.at(3)), p.text(4)
	var b64 string
	var raw []byte
	if p.has(5) {
		var err error
		if b64, raw, err = edData(c, enc, p.at(5)); err != nil {
			return fhirjson.Value{}, err
		}
	}
	ct := contentType(typ, sub)
	if ct == "" && len(raw) > 0 {
		ct = http.DetectContentType(raw)
		if sub != "" {
			c.warn("ED.3 " + quoteName(sub) + " is not a MIME type: content type taken from the data")
		}
	}
	var ext fhirjson.Value
	if sub == "" && typ != "" {
		ext = c.arr(c.obj(
			fhirjson.M("url", fhirjson.Str(urlAlternateCodes)),
			fhirjson.M("valueCodeableConcept", c.obj(fhirjson.M("coding", c.arr(c.obj(
				fhirjson.M("system", fhirjson.Str(sysV2DataType)),
				fhirjson.M("code", fhirjson.Str(typ)),
			))))),
		))
	}
	return c.obj(
		fhirjson.M("extension", ext),
		fhirjson.M("contentType", fhirjson.Str(ct)),
		fhirjson.M("data", fhirjson.Str(b64)),
	), nil
}
