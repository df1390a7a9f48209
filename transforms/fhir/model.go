// Package fhir is the FHIR R4 (4.0.1) model that transform rules are checked
// against when they are loaded: every resource and data type of the core
// specification with its elements, cardinalities, choice types, backbone and
// contentReference elements, bindings (with the codes of required bindings
// whose value set is a plain code list) and the formats of the primitive
// types.
//
// The model is generated from the official R4 StructureDefinitions by
// ./internal/gen (see there for the source, the corrections applied to it and
// the measurements behind the embedded form) and decoded on first use.
//
// Element paths are written as in FHIR JSON: a choice element value[x] is
// reached by its typed name (valueQuantity), the extensions of a primitive
// element birthDate by _birthDate, and every resource has resourceType:
//
//	r, err := fhir.ResolvePath("Observation", []string{"valueQuantity", "unit"})
//	// r.Last().Type.Name == "string", r.Steps[0].Type.Name == "Quantity"
//	_, err = fhir.ResolvePath("Patient", []string{"birthdate"})
//	// Patient has no element 'birthdate' (did you mean 'birthDate'?)
package fhir

import (
	"slices"
	"sort"
	"strings"
	"sync"
)

// Version is the FHIR version of the model.
const Version = "4.0.1"

// Kind is the kind of a type.
type Kind uint8

// The kinds of types.
const (
	KindPrimitive Kind = iota + 1 // string, date, boolean, ...
	KindComplex                   // HumanName, Quantity, BackboneElement, ...
	KindResource                  // Patient, Bundle, Resource, ...
)

func (k Kind) String() string {
	switch k {
	case KindPrimitive:
		return "primitive"
	case KindComplex:
		return "complex"
	case KindResource:
		return "resource"
	}
	return "unknown"
}

// JSONKind is how a value is written in FHIR JSON.
type JSONKind uint8

// The JSON kinds. Primitives are strings except boolean (JSONBoolean) and
// decimal, integer, positiveInt and unsignedInt (JSONNumber).
const (
	JSONObject JSONKind = iota // complex types and resources
	JSONString
	JSONBoolean
	JSONNumber
)

func (k JSONKind) String() string {
	return [...]string{"object", "string", "boolean", "number"}[k]
}

// Binding strengths.
const (
	Required   = "required"
	Extensible = "extensible"
	Preferred  = "preferred"
	Example    = "example"
)

// Type is a resource or data type.
type Type struct {
	Name     string // "Patient", "HumanName", "dateTime"
	Kind     Kind
	Base     string // the type it specializes or constrains; "" for Element and Resource
	Abstract bool   // Resource, DomainResource, Element, BackboneElement
	// Profile is set for the constraint profiles that R4 uses as types
	// (SimpleQuantity, MoneyQuantity): same JSON shape as Base, with some
	// elements prohibited (max 0). Elements refer to them as Quantity with
	// TypeRef.Profiles.
	Profile bool
	JSON    JSONKind // JSONObject unless primitive
	// Regex is the format of a primitive's value as the definition gives it
	// (unanchored; ValidatePrimitive anchors it). "" when there is none.
	Regex string
	// Elements are the type's elements in definition order, inherited ones
	// (id, meta, ..., extension, modifierExtension) included. A primitive's
	// value itself is not an element: primitives list id and extension,
	// which JSON holds in the _name sibling.
	Elements []*Element

	base *Type
}

// Element is one element definition.
type Element struct {
	Path string // "Patient.contact.name"; choices end in [x]: "Observation.value[x]"
	Name string // "name", "value[x]"
	Min  int
	Max  int // -1: unbounded
	// Types are the type codes; more than one only for choices. Backbone
	// elements have BackboneElement (or Element, inside data types) and
	// their elements in Children.
	Types    []string
	TypeRefs []TypeRef // the same types with their targets and profiles
	Choice   bool      // value[x]
	// Children are the elements of a backbone element, or of the element
	// a contentReference points to (shared with it: Questionnaire.item's
	// children include item itself, so a walk over Children must stop at
	// elements with a ContentRef).
	Children []*Element
	// ContentRef is the path of the element whose definition this one
	// reuses, without the leading '#' of the definitions
	// (Questionnaire.item.item: "Questionnaire.item"); "" if none.
	ContentRef string
	Binding    *Binding // nil when unbound
	IsModifier bool
	Summary    bool
}

// TypeRef is one allowed type of an element.
type TypeRef struct {
	Code string // "Reference", "Quantity", "dateTime"
	// Targets are the allowed target types of a Reference or canonical
	// ("Patient", "Group"); empty means any.
	Targets []string
	// Profiles the value must conform to ("SimpleQuantity").
	Profiles []string
}

// Binding ties a coded element to a value set.
type Binding struct {
	Strength string // Required, Extensible, Preferred, Example
	ValueSet string // canonical URL, with |version when the definition has one
	// Codes are the allowed codes, for required bindings whose value set
	// is a plain list of codes in the definitions; nil otherwise. Concepts
	// holds them with their system and display, in the same order.
	Codes    []string
	Concepts []Concept
}

// Concept is one code of an embedded value set.
type Concept struct {
	System  string
	Code    string
	Display string
}

// HasCode reports whether code is among the embedded codes.
func (b *Binding) HasCode(code string) bool { return slices.Contains(b.Codes, code) }

// Repeats reports whether the element is a JSON array (max > 1 or *).
func (e *Element) Repeats() bool { return e.Max < 0 || e.Max > 1 }

// Prohibited reports whether the element may not appear (max 0), as in
// SimpleQuantity.comparator.
func (e *Element) Prohibited() bool { return e.Max == 0 }

// Backbone reports whether the element has inline children (a backbone
// element or a contentReference to one).
func (e *Element) Backbone() bool { return len(e.Children) > 0 }

// ChoiceBase is the name without [x]: "value" for value[x], Name otherwise.
func (e *Element) ChoiceBase() string { return strings.TrimSuffix(e.Name, "[x]") }

// JSONName is the JSON property name of the element for type code (one of
// Types): "valueQuantity" for value[x] and Quantity, Name for other elements.
func (e *Element) JSONName(code string) string {
	if !e.Choice {
		return e.Name
	}
	return e.ChoiceBase() + upperFirst(code)
}

// JSONNames are all property names the element may appear under.
func (e *Element) JSONNames() []string {
	if !e.Choice {
		return []string{e.Name}
	}
	out := make([]string, len(e.Types))
	for i, c := range e.Types {
		out[i] = e.JSONName(c)
	}
	return out
}

// AllowsType reports whether code is one of the element's types.
func (e *Element) AllowsType(code string) bool { return slices.Contains(e.Types, code) }

// Targets are the allowed target types for type code (Reference or
// canonical); nil means any (or that code is not a reference type).
func (e *Element) Targets(code string) []string {
	for _, r := range e.TypeRefs {
		if r.Code == code {
			return r.Targets
		}
	}
	return nil
}

// BaseType is the type this one specializes; nil for Element and Resource.
func (t *Type) BaseType() *Type { return t.base }

// IsA reports whether t is the type name or derives from it.
func (t *Type) IsA(name string) bool {
	for b := t; b != nil; b = b.base {
		if b.Name == name {
			return true
		}
	}
	return false
}

// Element finds an element of the type by element name ("value[x]",
// "birthDate") or by JSON name ("valueQuantity"); Member says which type a
// choice's JSON name selects and handles _name and resourceType.
func (t *Type) Element(name string) (*Element, bool) {
	return findElement(t.Elements, name)
}

func findElement(es []*Element, name string) (*Element, bool) {
	for _, e := range es {
		if e.Name == name {
			return e, true
		}
	}
	for _, e := range es {
		if e.Choice {
			if code, ok := choiceType(e, name); ok && code != "" {
				return e, true
			}
		}
	}
	return nil, false
}

// choiceType matches a JSON name against a choice element: ok when name
// starts with the element's base name; code is the selected type, "" when
// the rest of name is not one of its types.
func choiceType(e *Element, name string) (code string, ok bool) {
	base := e.ChoiceBase()
	if len(name) <= len(base) || name[:len(base)] != base {
		return "", false
	}
	suffix := name[len(base):]
	for _, c := range e.Types {
		if len(c) == len(suffix) && c[1:] == suffix[1:] && upperByte(c[0]) == suffix[0] {
			return c, true
		}
	}
	return "", true
}

func upperByte(b byte) byte {
	if 'a' <= b && b <= 'z' {
		return b - 'a' + 'A'
	}
	return b
}

func upperFirst(s string) string {
	if s == "" || upperByte(s[0]) == s[0] {
		return s
	}
	return string(upperByte(s[0])) + s[1:]
}

type model struct {
	types     []*Type
	byName    map[string]*Type
	resources []string
}

var (
	loadOnce sync.Once
	loaded   *model
)

func get() *model {
	loadOnce.Do(func() {
		m, err := decode(modelData)
		if err != nil {
			panic("fhir: the embedded model is broken (regenerate it with go generate): " + err.Error())
		}
		loaded = m
	})
	return loaded
}

// Lookup returns a resource or data type by name: "Patient", "HumanName",
// "string", "Bundle", "Resource", "BackboneElement", "SimpleQuantity".
func Lookup(name string) (*Type, bool) {
	t, ok := get().byName[name]
	return t, ok
}

// Types returns every type of the model, sorted by name. The slice is shared:
// do not modify it.
func Types() []*Type { return get().types }

// ResourceTypes returns the names of the concrete (non-abstract) resource
// types, sorted. The slice is shared: do not modify it.
func ResourceTypes() []string { return get().resources }

func (m *model) index() {
	m.byName = make(map[string]*Type, len(m.types))
	for _, t := range m.types {
		m.byName[t.Name] = t
	}
	for _, t := range m.types {
		t.base = m.byName[t.Base]
		if t.Kind == KindResource && !t.Abstract {
			m.resources = append(m.resources, t.Name)
		}
	}
	sort.Strings(m.resources)
}
