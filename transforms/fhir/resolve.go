package fhir

import (
	"fmt"
	"sort"
	"strings"

	namedist "github.com/plexus-hl7/plexus/internal/suggest"
)

// Step is one property name of a path, resolved.
type Step struct {
	// Name is the JSON property name as written: "valueQuantity",
	// "_birthDate", "given", "resourceType".
	Name string
	// Element is its definition (for a choice, the value[x] element).
	Element *Element
	// Type is the concrete type of the value: the selected type of a choice
	// (Quantity for valueQuantity), BackboneElement (or Element) for a
	// backbone element, Element for a _name, the declared type otherwise;
	// the profile type where the element requires one (SimpleQuantity for
	// Observation.referenceRange.low: use IsA("Quantity")). Resource for
	// contained and Bundle.entry.resource until Cast.
	Type *Type
	// Extension is set for _name: the JSON object holding the id and
	// extensions of the primitive element name (Type is Element).
	Extension bool
	// Label is the FHIRPath-like path of the step for messages:
	// "Patient.contact.name", "Observation.valueQuantity".
	Label string
}

// Repeats reports whether the property is a JSON array. For _name it follows
// name: an array of objects (or nulls) when name repeats.
func (s Step) Repeats() bool { return s.Element != nil && s.Element.Repeats() }

// Primitive reports whether the value is a primitive (written as a JSON
// string, number or boolean). The root step of a primitive type (Root("date"))
// is not: it stands for the type's definition, whose elements are id and
// extension.
func (s Step) Primitive() bool {
	return s.Type.Kind == KindPrimitive && !s.Extension && s.Element != nil
}

// JSON is how the value is written.
func (s Step) JSON() JSONKind {
	if !s.Primitive() {
		return JSONObject
	}
	return s.Type.JSON
}

// Children are the elements under the step: a backbone element's own, the
// type's otherwise; none for a primitive value.
func (s Step) Children() []*Element {
	switch {
	case s.Extension:
		return s.Type.Elements
	case s.Primitive():
		return nil
	case s.Element != nil && len(s.Element.Children) > 0:
		return s.Element.Children
	}
	return s.Type.Elements
}

// Member resolves a property name below the step.
func (s Step) Member(name string) (Step, error) {
	if s.Primitive() {
		return Step{}, &PathError{Scope: s.Label, Name: name, Reason: fmt.Sprintf(
			"%s is a primitive (%s) and has no element '%s'; the id and extensions of a primitive go in '_%s'",
			s.Label, s.Type.Name, name, s.Element.JSONName(s.Type.Name))}
	}
	return member(s.Children(), s.Label, s.Type.Kind == KindResource, name)
}

// Cast narrows an abstract resource step (contained, Bundle.entry.resource,
// Parameters.parameter.resource) to the concrete resource type name.
func (s Step) Cast(name string) (Step, error) {
	t, ok := Lookup(name)
	if !ok {
		return Step{}, unknownType(name)
	}
	if s.Extension || !t.IsA(s.Type.Name) || t.Kind != KindResource {
		return Step{}, &PathError{Scope: s.Label, Name: name, Reason: fmt.Sprintf(
			"%s is %s and cannot hold a %s", s.Label, s.Type.Name, name)}
	}
	s.Type = t
	return s, nil
}

// Resolved is a path resolved from a root type.
type Resolved struct {
	Root  *Type
	Steps []Step
}

// Last is the final step; the root as a step for an empty path.
func (r *Resolved) Last() Step {
	if len(r.Steps) == 0 {
		return rootStep(r.Root)
	}
	return r.Steps[len(r.Steps)-1]
}

// Element is the definition of the final step (nil for an empty path).
func (r *Resolved) Element() *Element { return r.Last().Element }

// Type is the concrete type of the final step.
func (r *Resolved) Type() *Type { return r.Last().Type }

// Repeats reports whether any step of the path is an array, that is whether
// the path can select more than one value.
func (r *Resolved) Repeats() bool {
	for _, s := range r.Steps {
		if s.Repeats() {
			return true
		}
	}
	return false
}

func (r *Resolved) String() string { return r.Last().Label }

func rootStep(t *Type) Step { return Step{Type: t, Label: t.Name} }

// Root returns the type name as the first step of a path, for walking a path
// step by step with Member.
func Root(typeName string) (Step, error) {
	t, ok := Lookup(typeName)
	if !ok {
		return Step{}, unknownType(typeName)
	}
	return rootStep(t), nil
}

// ResolvePath walks property names (as in FHIR JSON, without indices) from a
// type: ResolvePath("Patient", []string{"contact", "name", "given"}). An
// error is a *PathError, with suggestions where a name is close to a valid
// one.
func ResolvePath(root string, path []string) (*Resolved, error) {
	s, err := Root(root)
	if err != nil {
		return nil, err
	}
	r := &Resolved{Root: s.Type, Steps: make([]Step, 0, len(path))}
	for i, name := range path {
		if s, err = s.Member(name); err != nil {
			if pe, ok := err.(*PathError); ok {
				pe.Root, pe.Path = root, path[:i+1]
			}
			return nil, err
		}
		r.Steps = append(r.Steps, s)
	}
	return r, nil
}

// Member resolves a property name of the type (see Step.Member).
func (t *Type) Member(name string) (Step, error) { return rootStep(t).Member(name) }

// PathError is an element path that does not resolve.
type PathError struct {
	Root        string   // the root type, when known
	Path        []string // the path up to and including the failing name
	Scope       string   // where the name was looked up: "Patient.contact"
	Name        string   // the failing name
	Suggestions []string // close valid names, best first (at most 3)
	// Alternatives are the valid JSON names of a choice element when Name
	// selects a type it does not allow ("valueFoo").
	Alternatives []string
	Reason       string // the message, when it is not "has no element"
}

func (e *PathError) Error() string {
	if e.Reason != "" {
		return e.Reason
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s has no element '%s'", e.Scope, e.Name)
	if len(e.Suggestions) > 0 {
		b.WriteString(" (did you mean ")
		for i, s := range e.Suggestions {
			if i > 0 {
				b.WriteString(" or ")
			}
			fmt.Fprintf(&b, "'%s'", s)
		}
		b.WriteString("?)")
	}
	return b.String()
}

func unknownType(name string) error {
	var names []string
	for _, t := range Types() {
		names = append(names, t.Name)
	}
	e := &PathError{Name: name, Suggestions: suggest(name, names)}
	e.Reason = fmt.Sprintf("unknown FHIR type '%s'", name)
	if len(e.Suggestions) > 0 {
		e.Reason += fmt.Sprintf(" (did you mean '%s'?)", strings.Join(e.Suggestions, "' or '"))
	}
	return e
}

// resourceTypeElement is the resourceType property every resource has in
// JSON (it is not an element of the definitions).
var resourceTypeElement = &Element{
	Path: "Resource.resourceType", Name: "resourceType", Min: 1, Max: 1,
	Types: []string{"code"}, TypeRefs: []TypeRef{{Code: "code"}},
}

func member(scope []*Element, label string, isResource bool, name string) (Step, error) {
	if name == "resourceType" && isResource {
		t, _ := Lookup("code")
		return Step{Name: name, Element: resourceTypeElement, Type: t, Label: label + ".resourceType"}, nil
	}
	ext := strings.HasPrefix(name, "_")
	base := strings.TrimPrefix(name, "_")
	var (
		elem *Element
		code string
	)
	for _, e := range scope {
		if e.Name == base && !e.Choice {
			elem = e
			if len(e.Types) > 0 {
				code = e.Types[0]
			}
			break
		}
	}
	if elem == nil {
		for _, e := range scope {
			if !e.Choice {
				continue
			}
			if c, ok := choiceType(e, base); ok {
				if c == "" {
					return Step{}, choiceError(scope, label, isResource, name, e)
				}
				elem, code = e, c
				break
			}
			if base == e.ChoiceBase() || base == e.Name {
				return Step{}, choiceError(scope, label, isResource, name, e)
			}
		}
	}
	if elem == nil {
		return Step{}, &PathError{Scope: label, Name: name, Suggestions: suggest(name, jsonNames(scope, isResource))}
	}
	if elem.Prohibited() {
		return Step{}, &PathError{Scope: label, Name: name, Reason: fmt.Sprintf(
			"%s.%s is not allowed here (max 0)", label, elem.JSONName(code))}
	}
	t, ok := Lookup(code)
	if !ok {
		return Step{}, &PathError{Scope: label, Name: name, Reason: fmt.Sprintf("%s has no type", elem.Path)}
	}
	// A Quantity that must be a SimpleQuantity is checked as one.
	for _, r := range elem.TypeRefs {
		if r.Code == code && len(r.Profiles) == 1 {
			if p, ok := Lookup(r.Profiles[0]); ok && p.Profile && p.Base == code {
				t = p
			}
		}
	}
	s := Step{Name: name, Element: elem, Type: t, Label: label + "." + elem.JSONName(code)}
	if ext {
		if t.Kind != KindPrimitive {
			return Step{}, &PathError{Scope: label, Name: name, Reason: fmt.Sprintf(
				"%s is %s, not a primitive: only primitive elements have a '%s' sibling for their extensions; use %s.extension",
				s.Label, t.Name, name, s.Label)}
		}
		s.Type, _ = Lookup("Element")
		s.Extension = true
		s.Label = label + "._" + elem.JSONName(code)
	}
	return s, nil
}

func choiceError(scope []*Element, label string, isResource bool, name string, e *Element) error {
	alts := e.JSONNames()
	if strings.HasPrefix(name, "_") {
		alts = nil
		for _, c := range e.Types {
			if t, ok := Lookup(c); ok && t.Kind == KindPrimitive {
				alts = append(alts, "_"+e.JSONName(c))
			}
		}
	}
	pe := &PathError{Scope: label, Name: name, Alternatives: alts}
	pe.Suggestions = suggest(name, jsonNames(scope, isResource))
	if len(pe.Suggestions) > 0 {
		return pe
	}
	pe.Reason = fmt.Sprintf("%s has no element '%s': %s.%s is one of %s", label, name, label, e.Name, strings.Join(alts, ", "))
	return pe
}

// jsonNames are the property names valid in a scope, for suggestions.
func jsonNames(scope []*Element, isResource bool) []string {
	var out []string
	if isResource {
		out = append(out, "resourceType")
	}
	for _, e := range scope {
		if e.Prohibited() {
			continue
		}
		for _, c := range e.Types {
			n := e.JSONName(c)
			out = append(out, n)
			if t, ok := Lookup(c); ok && t.Kind == KindPrimitive {
				out = append(out, "_"+n)
			}
			if !e.Choice {
				break
			}
		}
	}
	return out
}

// suggest returns up to three names close to name: the ones equal to it but
// for case if any, else those within edit distance 2 (1 for names of up to
// four letters), closest first.
func suggest(name string, names []string) []string {
	var out []string
	for _, n := range names {
		if strings.EqualFold(n, name) && n != name {
			out = append(out, n)
		}
	}
	if len(out) > 0 {
		return out[:min(len(out), 3)]
	}
	type cand struct {
		n string
		d int
	}
	var cs []cand
	lname := strings.ToLower(name)
	limit := 2
	if len(name) <= 4 {
		limit = 1 // two edits turn a short name into too many others
	}
	for _, n := range names {
		if d := namedist.Distance(lname, strings.ToLower(n), limit); d <= limit {
			cs = append(cs, cand{n, d})
		}
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].d < cs[j].d })
	for i := 0; i < len(cs) && i < 3; i++ {
		out = append(out, cs[i].n)
	}
	return out
}
