// Package datatype converts HL7 v2 data types to FHIR R4 data types as the
// HL7 v2-to-FHIR Implementation Guide's data type maps say
// (shared/v2-to-fhir/datatypes: "CX[Identifier]", "XPN[HumanName]", ...).
//
// Each converter reads ONE value of its v2 type (one repetition of a field,
// or one component when the type is nested) and returns the FHIR value as a
// fhirjson.Value; an absent or empty input gives a Null value, never an
// empty element. The rule compiler maps a repeating field by calling the
// converter once per repetition. Converters never panic; data that cannot be
// converted (a date that is not one) is an error saying why, and the caller
// adds where (segment, field) and which message.
//
// Every converter is listed in Registry with the FHIR type it returns, so
// that the rule compiler can check a rule's target element at load time.
package datatype

import (
	"time"

	"github.com/plexus-hl7/plexus/hl7"
	"github.com/plexus-hl7/plexus/transforms/fhirjson"
)

// Context carries what a conversion needs beyond the value itself.
type Context struct {
	// Location is the time zone of HL7 times that carry no offset: a FHIR
	// dateTime with a time, and every instant, must have one. Nil means
	// such times are an error.
	Location *time.Location
	// Warn, if set, receives conversions that lost or guessed something
	// (a code not in its vocabulary map, a time zone assumed). Nil drops
	// them.
	Warn func(msg string)
	// Arena, if set, is where converters build their values, which then
	// live only as long as the arena's owner says (fhirjson.Arena); nil
	// means the heap. Values cached beyond one conversion are never built
	// in it.
	Arena *fhirjson.Arena
}

func (c *Context) warn(msg string) {
	if c != nil && c.Warn != nil {
		c.Warn(msg)
	}
}

func (c *Context) arena() *fhirjson.Arena {
	if c == nil {
		return nil
	}
	return c.Arena
}

// obj and arr are fhirjson.Obj and Arr in c's arena.
func (c *Context) obj(members ...fhirjson.Member) fhirjson.Value { return c.arena().Obj(members...) }
func (c *Context) arr(values ...fhirjson.Value) fhirjson.Value   { return c.arena().Arr(values...) }

// Func converts one v2 value.
type Func func(c *Context, v hl7.Value) (fhirjson.Value, error)

// Converter describes one data type map.
type Converter struct {
	// Name is what rules call it: the IG map key in lower case without the
	// bracket when the target is the usual one ("cx" for CX[Identifier]),
	// otherwise with the target ("cwe_coding" for CWE[Coding]).
	Name string
	// Map is the IG data type map it implements, e.g. "CX[Identifier]".
	Map string
	// V2 lists the v2 data types it reads (CWE also reads CE, CNE, CF).
	V2 []string
	// FHIR is the FHIR type of one result, e.g. "Identifier", "dateTime",
	// "Reference", "Practitioner".
	FHIR string
	Fn   Func
}

// Registry lists every converter, by Name. Filled by the init functions of
// this package's files; read-only afterwards.
var Registry = map[string]*Converter{}

func register(c *Converter) {
	if _, dup := Registry[c.Name]; dup {
		panic("datatype: converter " + c.Name + " registered twice")
	}
	Registry[c.Name] = c
}
