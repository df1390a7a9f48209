package fhir_test

import (
	"errors"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/plexus-hl7/plexus/transforms/fhir"
)

func split(p string) []string {
	if p == "" {
		return nil
	}
	return strings.Split(p, ".")
}

func TestResolvePath(t *testing.T) {
	tests := []struct {
		root, path string
		typ        string // concrete type of the last step
		elem       string // Element.Path of the last step
		min, max   int
		repeats    bool
		primitive  bool
		json       fhir.JSONKind
		label      string
	}{
		{"Patient", "birthDate", "date", "Patient.birthDate", 0, 1, false, true, fhir.JSONString, "Patient.birthDate"},
		{"Patient", "name", "HumanName", "Patient.name", 0, -1, true, false, fhir.JSONObject, "Patient.name"},
		{"Patient", "name.given", "string", "HumanName.given", 0, -1, true, true, fhir.JSONString, "Patient.name.given"},
		{"Patient", "contact.name", "HumanName", "Patient.contact.name", 0, 1, false, false, fhir.JSONObject, "Patient.contact.name"},
		{"Patient", "contact.name.given", "string", "HumanName.given", 0, -1, true, true, fhir.JSONString, "Patient.contact.name.given"},
		{"Patient", "contact", "BackboneElement", "Patient.contact", 0, -1, true, false, fhir.JSONObject, "Patient.contact"},
		{"Patient", "gender", "code", "Patient.gender", 0, 1, false, true, fhir.JSONString, "Patient.gender"},
		{"Patient", "active", "boolean", "Patient.active", 0, 1, false, true, fhir.JSONBoolean, "Patient.active"},
		{"Patient", "multipleBirthInteger", "integer", "Patient.multipleBirth[x]", 0, 1, false, true, fhir.JSONNumber, "Patient.multipleBirthInteger"},
		{"Patient", "deceasedDateTime", "dateTime", "Patient.deceased[x]", 0, 1, false, true, fhir.JSONString, "Patient.deceasedDateTime"},
		// Inherited from DomainResource and Resource.
		{"Patient", "id", "id", "Patient.id", 0, 1, false, true, fhir.JSONString, "Patient.id"},
		{"Patient", "meta", "Meta", "Patient.meta", 0, 1, false, false, fhir.JSONObject, "Patient.meta"},
		{"Patient", "meta.lastUpdated", "instant", "Meta.lastUpdated", 0, 1, false, true, fhir.JSONString, "Patient.meta.lastUpdated"},
		{"Patient", "implicitRules", "uri", "Patient.implicitRules", 0, 1, false, true, fhir.JSONString, "Patient.implicitRules"},
		{"Patient", "language", "code", "Patient.language", 0, 1, false, true, fhir.JSONString, "Patient.language"},
		{"Patient", "text", "Narrative", "Patient.text", 0, 1, false, false, fhir.JSONObject, "Patient.text"},
		{"Patient", "text.div", "xhtml", "Narrative.div", 1, 1, false, true, fhir.JSONString, "Patient.text.div"},
		{"Patient", "contained", "Resource", "Patient.contained", 0, -1, true, false, fhir.JSONObject, "Patient.contained"},
		{"Patient", "extension", "Extension", "Patient.extension", 0, -1, true, false, fhir.JSONObject, "Patient.extension"},
		{"Patient", "modifierExtension", "Extension", "Patient.modifierExtension", 0, -1, true, false, fhir.JSONObject, "Patient.modifierExtension"},
		{"Patient", "extension.url", "uri", "Extension.url", 1, 1, false, true, fhir.JSONString, "Patient.extension.url"},
		{"Patient", "extension.valueDateTime", "dateTime", "Extension.value[x]", 0, 1, false, true, fhir.JSONString, "Patient.extension.valueDateTime"},
		{"Patient", "contact.extension", "Extension", "Patient.contact.extension", 0, -1, true, false, fhir.JSONObject, "Patient.contact.extension"},
		{"Patient", "resourceType", "code", "Resource.resourceType", 1, 1, false, true, fhir.JSONString, "Patient.resourceType"},
		// Primitive extensions.
		{"Patient", "_birthDate", "Element", "Patient.birthDate", 0, 1, false, false, fhir.JSONObject, "Patient._birthDate"},
		{"Patient", "_birthDate.extension", "Extension", "Element.extension", 0, -1, true, false, fhir.JSONObject, "Patient._birthDate.extension"},
		{"Patient", "_birthDate.extension.valueDateTime", "dateTime", "Extension.value[x]", 0, 1, false, true, fhir.JSONString, "Patient._birthDate.extension.valueDateTime"},
		{"Patient", "_birthDate.id", "string", "Element.id", 0, 1, false, true, fhir.JSONString, "Patient._birthDate.id"},
		{"Patient", "name._given", "Element", "HumanName.given", 0, -1, true, false, fhir.JSONObject, "Patient.name._given"},
		{"Observation", "_valueString", "Element", "Observation.value[x]", 0, 1, false, false, fhir.JSONObject, "Observation._valueString"},
		// Choices.
		{"Observation", "valueQuantity", "Quantity", "Observation.value[x]", 0, 1, false, false, fhir.JSONObject, "Observation.valueQuantity"},
		{"Observation", "valueQuantity.unit", "string", "Quantity.unit", 0, 1, false, true, fhir.JSONString, "Observation.valueQuantity.unit"},
		{"Observation", "valueQuantity.value", "decimal", "Quantity.value", 0, 1, false, true, fhir.JSONNumber, "Observation.valueQuantity.value"},
		{"Observation", "component.valueCodeableConcept.coding.code", "code", "Coding.code", 0, 1, false, true, fhir.JSONString, "Observation.component.valueCodeableConcept.coding.code"},
		{"Observation", "referenceRange.low", "SimpleQuantity", "Observation.referenceRange.low", 0, 1, false, false, fhir.JSONObject, "Observation.referenceRange.low"},
		{"Immunization", "occurrenceDateTime", "dateTime", "Immunization.occurrence[x]", 1, 1, false, true, fhir.JSONString, "Immunization.occurrenceDateTime"},
		{"Immunization", "occurrenceString", "string", "Immunization.occurrence[x]", 1, 1, false, true, fhir.JSONString, "Immunization.occurrenceString"},
		// contentReference.
		{"Questionnaire", "item.item", "BackboneElement", "Questionnaire.item.item", 0, -1, true, false, fhir.JSONObject, "Questionnaire.item.item"},
		{"Questionnaire", "item.item.item.linkId", "string", "Questionnaire.item.linkId", 1, 1, false, true, fhir.JSONString, "Questionnaire.item.item.item.linkId"},
		{"Bundle", "entry.link.relation", "string", "Bundle.link.relation", 1, 1, false, true, fhir.JSONString, "Bundle.entry.link.relation"},
		// Inline Element-typed children in a data type.
		{"Timing", "repeat.boundsDuration", "Duration", "Timing.repeat.bounds[x]", 0, 1, false, false, fhir.JSONObject, "Timing.repeat.boundsDuration"},
		{"Bundle", "entry.request.method", "code", "Bundle.entry.request.method", 1, 1, false, true, fhir.JSONString, "Bundle.entry.request.method"},
		{"Bundle", "entry.resource", "Resource", "Bundle.entry.resource", 0, 1, false, false, fhir.JSONObject, "Bundle.entry.resource"},
		// Medplum's copy replaced these with R5 elements; 4.0.1 has them.
		{"EvidenceVariable", "characteristic.definitionCodeableConcept", "CodeableConcept", "EvidenceVariable.characteristic.definition[x]", 1, 1, false, false, fhir.JSONObject, "EvidenceVariable.characteristic.definitionCodeableConcept"},
		{"EvidenceVariable", "characteristic.timeFromStart", "Duration", "EvidenceVariable.characteristic.timeFromStart", 0, 1, false, false, fhir.JSONObject, "EvidenceVariable.characteristic.timeFromStart"},
		{"Bundle", "entry.response.outcome", "Resource", "Bundle.entry.response.outcome", 0, 1, false, false, fhir.JSONObject, "Bundle.entry.response.outcome"},
	}
	for _, tt := range tests {
		t.Run(tt.root+"."+tt.path, func(t *testing.T) {
			r, err := fhir.ResolvePath(tt.root, split(tt.path))
			if err != nil {
				t.Fatal(err)
			}
			s := r.Last()
			if s.Type.Name != tt.typ || s.Element.Path != tt.elem || s.Element.Min != tt.min || s.Element.Max != tt.max ||
				s.Repeats() != tt.repeats || s.Primitive() != tt.primitive || s.JSON() != tt.json || s.Label != tt.label {
				t.Errorf("got type %s, element %s %d..%d, repeats %v, primitive %v, json %v, label %s",
					s.Type.Name, s.Element.Path, s.Element.Min, s.Element.Max, s.Repeats(), s.Primitive(), s.JSON(), s.Label)
			}
			if len(r.Steps) != len(split(tt.path)) || r.String() != tt.label {
				t.Errorf("steps %d, String %q", len(r.Steps), r.String())
			}
		})
	}
}

func TestResolvePathErrors(t *testing.T) {
	tests := []struct {
		root, path string
		want       string   // the whole message, or (with prefix ~) a part of it
		suggest    []string // PathError.Suggestions
		alts       []string // part of PathError.Alternatives
	}{
		{"Patient", "birthdate", "Patient has no element 'birthdate' (did you mean 'birthDate'?)", []string{"birthDate"}, nil},
		{"Patient", "brithDate", "Patient has no element 'brithDate' (did you mean 'birthDate'?)", []string{"birthDate"}, nil},
		{"Patient", "contact.nme", "Patient.contact has no element 'nme' (did you mean 'name'?)", []string{"name"}, nil},
		{"Patient", "name.givne", "Patient.name has no element 'givne' (did you mean 'given'?)", []string{"given"}, nil},
		{"Patient", "xyzzy", "Patient has no element 'xyzzy'", nil, nil},
		{"Patient", "_birthdate", "Patient has no element '_birthdate' (did you mean '_birthDate'?)", []string{"_birthDate"}, nil},
		{"Observation", "valueFoo", "~Observation.value[x] is one of valueQuantity, valueCodeableConcept, valueString,", nil, []string{"valueQuantity", "valueString", "valueDateTime"}},
		{"Observation", "valuequantity", "Observation has no element 'valuequantity' (did you mean 'valueQuantity'?)", []string{"valueQuantity"}, []string{"valueQuantity"}},
		{"Observation", "value", "~Observation.value[x] is one of valueQuantity", nil, []string{"valueQuantity"}},
		{"Observation", "effectiveDate", "~Observation.effective[x] is one of effectiveDateTime, effectivePeriod, effectiveTiming, effectiveInstant", nil, nil},
		{"Patient", "deceased", "~Patient.deceased[x] is one of deceasedBoolean, deceasedDateTime", nil, nil},
		{"Patient", "birthDate.extension", "Patient.birthDate is a primitive (date) and has no element 'extension'; the id and extensions of a primitive go in '_birthDate'", nil, nil},
		{"Patient", "_name", "~Patient.name is HumanName, not a primitive", nil, nil},
		{"Observation", "_valueQuantity", "~Observation.valueQuantity is Quantity, not a primitive", nil, nil},
		{"Observation", "referenceRange.low.comparator", "Observation.referenceRange.low.comparator is not allowed here (max 0)", nil, nil},
		{"Questionnaire", "item.item.nope", "Questionnaire.item.item has no element 'nope'", nil, nil},
		// Bundle, Binary and Parameters are Resources, not DomainResources.
		{"Bundle", "extension", "Bundle has no element 'extension'", nil, nil},
		{"Bundle", "text", "Bundle has no element 'text'", nil, nil},
		{"HumanName", "resourceType", "HumanName has no element 'resourceType'", nil, nil},
		{"Patinet", "name", "unknown FHIR type 'Patinet' (did you mean 'Patient'?)", []string{"Patient"}, nil},
		// Medplum additions that are not FHIR 4.0.1.
		{"Meta", "project", "Meta has no element 'project'", nil, nil},
		{"Patient", "meta.author", "Patient.meta has no element 'author'", nil, nil},
		{"Binary", "url", "Binary has no element 'url'", nil, nil},
		{"ResearchStudy", "label", "~ResearchStudy has no element 'label'", nil, nil},
		{"EvidenceVariable", "characteristic.definitionByTypeAndValue", "~EvidenceVariable.characteristic has no element 'definitionByTypeAndValue'", nil, nil},
		{"HealthcareService", "offeredIn", "HealthcareService has no element 'offeredIn'", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.root+"."+tt.path, func(t *testing.T) {
			r, err := fhir.ResolvePath(tt.root, split(tt.path))
			if err == nil {
				t.Fatalf("resolved to %s (%s)", r, r.Type().Name)
			}
			msg := err.Error()
			if part, ok := strings.CutPrefix(tt.want, "~"); ok {
				if !strings.Contains(msg, part) {
					t.Errorf("error %q, want it to contain %q", msg, part)
				}
			} else if msg != tt.want {
				t.Errorf("error %q, want %q", msg, tt.want)
			}
			var pe *fhir.PathError
			if !errors.As(err, &pe) {
				t.Fatalf("%T is not a *PathError", err)
			}
			if !slices.Equal(pe.Suggestions, tt.suggest) {
				t.Errorf("suggestions %q, want %q", pe.Suggestions, tt.suggest)
			}
			for _, a := range tt.alts {
				if !slices.Contains(pe.Alternatives, a) {
					t.Errorf("alternatives %q lack %q", pe.Alternatives, a)
				}
			}
			if tt.root != "Patinet" && (pe.Root != tt.root || strings.Join(pe.Path, ".") != tt.path) {
				t.Errorf("Root %q Path %q", pe.Root, pe.Path)
			}
		})
	}
}

func element(t *testing.T, root, path string) *fhir.Element {
	t.Helper()
	r, err := fhir.ResolvePath(root, split(path))
	if err != nil {
		t.Fatal(err)
	}
	return r.Element()
}

func TestChoice(t *testing.T) {
	obs, _ := fhir.Lookup("Observation")
	e, ok := obs.Element("valueQuantity")
	if !ok || e.Name != "value[x]" || !e.Choice {
		t.Fatalf("Element(valueQuantity) = %+v, %v", e, ok)
	}
	if e2, ok := obs.Element("value[x]"); !ok || e2 != e {
		t.Errorf("Element(value[x]) = %v, %v", e2, ok)
	}
	if _, ok := obs.Element("valueFoo"); ok {
		t.Error("Element(valueFoo) found")
	}
	want := []string{"Quantity", "CodeableConcept", "string", "boolean", "integer", "Range", "Ratio", "SampledData", "time", "dateTime", "Period"}
	if !slices.Equal(e.Types, want) {
		t.Errorf("value[x] types %q, want %q", e.Types, want)
	}
	if got := e.JSONName("dateTime"); got != "valueDateTime" {
		t.Errorf("JSONName(dateTime) = %q", got)
	}
	if got := e.ChoiceBase(); got != "value" {
		t.Errorf("ChoiceBase = %q", got)
	}
	s, err := obs.Member("valueQuantity")
	if err != nil || s.Type.Name != "Quantity" || s.Element != e {
		t.Errorf("Member(valueQuantity) = %+v, %v", s, err)
	}
	// samply/golang-fhir-models emits an empty occurrenceString for a
	// required choice; the model must say it is required.
	occ := element(t, "Immunization", "occurrenceDateTime")
	if occ.Min != 1 || occ.Max != 1 || !slices.Equal(occ.Types, []string{"dateTime", "string"}) {
		t.Errorf("Immunization.occurrence[x] %d..%d %q", occ.Min, occ.Max, occ.Types)
	}
}

func TestReferenceTargets(t *testing.T) {
	tests := []struct {
		root, path, code string
		want             []string
	}{
		{"Encounter", "subject", "Reference", []string{"Patient", "Group"}},
		{"Observation", "subject", "Reference", []string{"Patient", "Group", "Device", "Location"}},
		// Medplum adds Bot and ClientApplication; 4.0.1 does not.
		{"AuditEvent", "agent.who", "Reference", []string{"PractitionerRole", "Practitioner", "Organization", "Device", "Patient", "RelatedPerson"}},
		{"EvidenceVariable", "characteristic.definitionCanonical", "canonical", []string{"ActivityDefinition"}},
		{"EvidenceVariable", "characteristic.definitionReference", "Reference", []string{"Group"}},
		{"Extension", "valueReference", "Reference", nil},
	}
	for _, tt := range tests {
		if got := element(t, tt.root, tt.path).Targets(tt.code); !slices.Equal(got, tt.want) {
			t.Errorf("%s.%s targets %q, want %q", tt.root, tt.path, got, tt.want)
		}
	}
	low := element(t, "Observation", "referenceRange.low")
	if len(low.TypeRefs) != 1 || !slices.Equal(low.TypeRefs[0].Profiles, []string{"SimpleQuantity"}) {
		t.Errorf("referenceRange.low %+v", low.TypeRefs)
	}
	s, _ := fhir.ResolvePath("Observation", split("referenceRange.low"))
	if !s.Type().IsA("Quantity") || !s.Type().Profile {
		t.Errorf("referenceRange.low type %s", s.Type().Name)
	}
}

func TestBindings(t *testing.T) {
	tests := []struct {
		root, path string
		strength   string
		valueSet   string
		exactly    []string // Codes, in order
		include    []string // part of Codes
		exclude    []string
	}{
		{"Patient", "gender", fhir.Required, "http://hl7.org/fhir/ValueSet/administrative-gender|4.0.1", []string{"male", "female", "other", "unknown"}, nil, nil},
		{"Bundle", "entry.request.method", fhir.Required, "http://hl7.org/fhir/ValueSet/http-verb|4.0.1", nil, []string{"GET", "POST", "PUT", "DELETE"}, nil},
		{"Bundle", "type", fhir.Required, "http://hl7.org/fhir/ValueSet/bundle-type|4.0.1", nil, []string{"transaction", "batch", "collection", "message", "document"}, nil},
		{"Observation", "status", fhir.Required, "http://hl7.org/fhir/ValueSet/observation-status|4.0.1", []string{"registered", "preliminary", "final", "amended", "corrected", "cancelled", "entered-in-error", "unknown"}, nil, nil},
		{"Encounter", "status", fhir.Required, "http://hl7.org/fhir/ValueSet/encounter-status|4.0.1", []string{"planned", "arrived", "triaged", "in-progress", "onleave", "finished", "cancelled", "entered-in-error", "unknown"}, nil, nil},
		{"Patient", "name.use", fhir.Required, "http://hl7.org/fhir/ValueSet/name-use|4.0.1", nil, []string{"official", "maiden"}, nil},
		{"Patient", "telecom.system", fhir.Required, "http://hl7.org/fhir/ValueSet/contact-point-system|4.0.1", nil, []string{"phone", "email"}, nil},
		{"Patient", "link.type", fhir.Required, "http://hl7.org/fhir/ValueSet/link-type|4.0.1", []string{"replaced-by", "replaces", "refer", "seealso"}, nil, nil},
		{"Condition", "clinicalStatus", fhir.Required, "http://hl7.org/fhir/ValueSet/condition-clinical|4.0.1", nil, []string{"active", "resolved"}, nil},
		// A v3 value set from v3-codesystems.json.
		{"Composition", "confidentiality", fhir.Required, "http://terminology.hl7.org/ValueSet/v3-ConfidentialityClassification|2014-03-26", []string{"U", "L", "M", "N", "R", "V"}, nil, nil},
		// Abstract codes are left out.
		{"Questionnaire", "item.type", fhir.Required, "http://hl7.org/fhir/ValueSet/item-type|4.0.1", nil, []string{"group", "display", "string", "choice"}, []string{"question"}},
		// 4.0.1 binds DetectedIssue.status to observation-status (Medplum
		// changed it to an R5 value set).
		{"DetectedIssue", "status", fhir.Required, "http://hl7.org/fhir/ValueSet/observation-status|4.0.1", nil, []string{"final"}, nil},
		// Required, but the codes are not in the definitions: URL only.
		{"Money", "currency", fhir.Required, "http://hl7.org/fhir/ValueSet/currencies|4.0.1", nil, nil, nil},
		{"Attachment", "contentType", fhir.Required, "http://hl7.org/fhir/ValueSet/mimetypes|4.0.1", nil, nil, nil},
		// Not required: URL only.
		{"Observation", "code", fhir.Example, "http://hl7.org/fhir/ValueSet/observation-codes", nil, nil, nil},
		{"Patient", "maritalStatus", fhir.Extensible, "http://hl7.org/fhir/ValueSet/marital-status", nil, nil, nil},
		{"Patient", "language", fhir.Preferred, "http://hl7.org/fhir/ValueSet/languages", nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.root+"."+tt.path, func(t *testing.T) {
			b := element(t, tt.root, tt.path).Binding
			if b == nil {
				t.Fatal("no binding")
			}
			if b.Strength != tt.strength || b.ValueSet != tt.valueSet {
				t.Errorf("binding %s %s, want %s %s", b.Strength, b.ValueSet, tt.strength, tt.valueSet)
			}
			if tt.exactly != nil && !slices.Equal(b.Codes, tt.exactly) {
				t.Errorf("codes %q, want %q", b.Codes, tt.exactly)
			}
			if tt.exactly == nil && tt.include == nil && b.Codes != nil {
				t.Errorf("codes %q, want none embedded", b.Codes)
			}
			for _, c := range tt.include {
				if !b.HasCode(c) {
					t.Errorf("codes %q lack %q", b.Codes, c)
				}
			}
			for _, c := range tt.exclude {
				if b.HasCode(c) {
					t.Errorf("codes %q have %q", b.Codes, c)
				}
			}
			if len(b.Concepts) != len(b.Codes) {
				t.Fatalf("%d concepts for %d codes", len(b.Concepts), len(b.Codes))
			}
			for i, c := range b.Concepts {
				if c.Code != b.Codes[i] || c.System == "" {
					t.Errorf("concept %d %+v", i, c)
				}
			}
		})
	}
	g := element(t, "Patient", "gender").Binding.Concepts[0]
	if g != (fhir.Concept{System: "http://hl7.org/fhir/administrative-gender", Code: "male", Display: "Male"}) {
		t.Errorf("gender concept %+v", g)
	}
}

func TestTypes(t *testing.T) {
	rs := fhir.ResourceTypes()
	if len(rs) != 146 {
		t.Errorf("%d concrete resource types, want 146", len(rs))
	}
	if !sort.StringsAreSorted(rs) {
		t.Error("ResourceTypes not sorted")
	}
	// The concrete resources plus the two abstract ones are exactly the
	// codes of the R4 resource-types value set.
	codes := element(t, "CapabilityStatement", "rest.resource.type").Binding.Codes
	all := append(append([]string(nil), rs...), "DomainResource", "Resource")
	sort.Strings(all)
	sorted := append([]string(nil), codes...)
	sort.Strings(sorted)
	if !slices.Equal(all, sorted) {
		t.Errorf("resource types differ from the resource-types value set:\n%q\n%q", all, sorted)
	}
	for _, tt := range []struct {
		name     string
		kind     fhir.Kind
		base     string
		abstract bool
	}{
		{"Resource", fhir.KindResource, "", true},
		{"DomainResource", fhir.KindResource, "Resource", true},
		{"Element", fhir.KindComplex, "", true},
		{"BackboneElement", fhir.KindComplex, "Element", true},
		{"Patient", fhir.KindResource, "DomainResource", false},
		{"Bundle", fhir.KindResource, "Resource", false},
		{"HumanName", fhir.KindComplex, "Element", false},
		{"Dosage", fhir.KindComplex, "BackboneElement", false},
		{"Duration", fhir.KindComplex, "Quantity", false},
		{"Age", fhir.KindComplex, "Quantity", false},
		{"SimpleQuantity", fhir.KindComplex, "Quantity", false},
		{"MoneyQuantity", fhir.KindComplex, "Quantity", false},
		{"string", fhir.KindPrimitive, "Element", false},
		{"code", fhir.KindPrimitive, "string", false},
		{"positiveInt", fhir.KindPrimitive, "integer", false},
		{"xhtml", fhir.KindPrimitive, "Element", false},
	} {
		ty, ok := fhir.Lookup(tt.name)
		if !ok || ty.Name != tt.name || ty.Kind != tt.kind || ty.Base != tt.base || ty.Abstract != tt.abstract {
			t.Errorf("Lookup(%s) = %+v, %v", tt.name, ty, ok)
		}
	}
	for _, name := range []string{"SubscriptionStatus", "MetadataResource", "patient", ""} {
		if _, ok := fhir.Lookup(name); ok {
			t.Errorf("Lookup(%q) found", name)
		}
	}
	p, _ := fhir.Lookup("Patient")
	if !p.IsA("DomainResource") || !p.IsA("Resource") || p.IsA("Element") || p.BaseType().Name != "DomainResource" {
		t.Error("Patient's bases")
	}
	var names []string
	for _, e := range p.Elements[:8] {
		names = append(names, e.Name)
	}
	if want := []string{"id", "meta", "implicitRules", "language", "text", "contained", "extension", "modifierExtension"}; !slices.Equal(names, want) {
		t.Errorf("Patient starts with %q, want %q", names, want)
	}
	sq, _ := fhir.Lookup("SimpleQuantity")
	if c, ok := sq.Element("comparator"); !ok || !c.Prohibited() || c.Path != "SimpleQuantity.comparator" {
		t.Errorf("SimpleQuantity.comparator = %+v", c)
	}
	// Meta is 4.0.1's, without Medplum's elements.
	meta, _ := fhir.Lookup("Meta")
	names = names[:0]
	for _, e := range meta.Elements {
		names = append(names, e.Name)
	}
	if want := []string{"id", "extension", "versionId", "lastUpdated", "source", "profile", "security", "tag"}; !slices.Equal(names, want) {
		t.Errorf("Meta elements %q, want %q", names, want)
	}
}

// TestModelConsistent walks every element of every type.
func TestModelConsistent(t *testing.T) {
	n := 0
	var walk func(ty *fhir.Type, es []*fhir.Element, depth int)
	walk = func(ty *fhir.Type, es []*fhir.Element, depth int) {
		for _, e := range es {
			n++
			if e.Max != -1 && e.Max < e.Min || e.Name == "" || !strings.HasSuffix(e.Path, "."+e.Name) {
				t.Errorf("%s: %+v", e.Path, e)
			}
			if len(e.Types) == 0 || len(e.Types) != len(e.TypeRefs) {
				t.Errorf("%s: types %q", e.Path, e.Types)
			}
			if e.Choice != strings.HasSuffix(e.Name, "[x]") || e.Choice && len(e.Types) < 2 {
				t.Errorf("%s: choice %v with %q", e.Path, e.Choice, e.Types)
			}
			for i, r := range e.TypeRefs {
				if r.Code != e.Types[i] {
					t.Errorf("%s: TypeRefs %+v", e.Path, e.TypeRefs)
				}
				if _, ok := fhir.Lookup(r.Code); !ok {
					t.Errorf("%s: unknown type %s", e.Path, r.Code)
				}
				for _, target := range r.Targets {
					if tt, ok := fhir.Lookup(target); !ok || tt.Kind != fhir.KindResource {
						t.Errorf("%s: target %s", e.Path, target)
					}
				}
				if len(r.Targets) > 0 && r.Code != "Reference" && r.Code != "canonical" {
					t.Errorf("%s: targets on %s", e.Path, r.Code)
				}
			}
			if b := e.Binding; b != nil && b.Codes != nil && b.Strength != fhir.Required {
				t.Errorf("%s: codes on a %s binding", e.Path, b.Strength)
			}
			if (e.Types[0] == "BackboneElement" || e.Types[0] == "Element") != (len(e.Children) > 0) && ty.Name != "Element" && ty.Name != "BackboneElement" {
				t.Errorf("%s: type %s with %d children", e.Path, e.Types[0], len(e.Children))
			}
			if e.ContentRef != "" {
				if !strings.HasPrefix(e.ContentRef, ty.Name+".") || len(e.Children) == 0 {
					t.Errorf("%s: contentReference %s", e.Path, e.ContentRef)
				}
				continue // its children are the referenced element's
			}
			if depth > 10 {
				t.Fatalf("%s: too deep", e.Path)
			}
			walk(ty, e.Children, depth+1)
		}
	}
	for _, ty := range fhir.Types() {
		if ty.Base != "" {
			if b := ty.BaseType(); b == nil || b.Name != ty.Base {
				t.Errorf("%s: base %s", ty.Name, ty.Base)
			}
		}
		if ty.Kind == fhir.KindPrimitive && ty.Name != "xhtml" && ty.Regex == "" {
			t.Errorf("%s: no regex", ty.Name)
		}
		if ty.Kind == fhir.KindPrimitive && len(ty.Elements) != 2 {
			t.Errorf("%s: elements %d, want id and extension", ty.Name, len(ty.Elements))
		}
		walk(ty, ty.Elements, 0)
	}
	if n < 7000 {
		t.Errorf("only %d elements", n)
	}
	if fhir.Source == "" || !strings.HasPrefix(fhir.FHIRBuild, fhir.Version) {
		t.Errorf("Source %q FHIRBuild %q", fhir.Source, fhir.FHIRBuild)
	}
}

func TestCast(t *testing.T) {
	r, err := fhir.ResolvePath("Bundle", split("entry.resource"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := r.Last().Cast("Patient")
	if err != nil {
		t.Fatal(err)
	}
	if s, err = s.Member("birthDate"); err != nil || s.Type.Name != "date" || s.Label != "Bundle.entry.resource.birthDate" {
		t.Errorf("birthDate: %+v %v", s, err)
	}
	if _, err := r.Last().Cast("HumanName"); err == nil {
		t.Error("Cast(HumanName) succeeded")
	}
	if _, err := r.Last().Cast("Patinet"); err == nil || !strings.Contains(err.Error(), "did you mean 'Patient'") {
		t.Errorf("Cast(Patinet): %v", err)
	}
	c, _ := fhir.ResolvePath("Patient", split("contained"))
	if s, err := c.Last().Member("resourceType"); err != nil || s.Type.Name != "code" {
		t.Errorf("contained.resourceType: %v", err)
	}
	if _, err := c.Last().Member("name"); err == nil {
		t.Error("contained.name resolved without a cast")
	}
	o, err := c.Last().Cast("Organization")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.Member("name"); err != nil {
		t.Error(err)
	}
	// Step by step from the root.
	root, err := fhir.Root("Patient")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := root.Member("name"); err != nil {
		t.Error(err)
	}
	if r, err := fhir.ResolvePath("Patient", nil); err != nil || r.Type().Name != "Patient" || r.Element() != nil || r.Repeats() || r.Last().Repeats() {
		t.Errorf("empty path: %v", err)
	}
	// From a primitive type: its id and extension.
	if r, err := fhir.ResolvePath("date", []string{"extension", "url"}); err != nil || r.Type().Name != "uri" {
		t.Errorf("date.extension.url: %v", err)
	}
	if r, err := fhir.ResolvePath("date", nil); err != nil || r.Last().Primitive() || r.Last().JSON() != fhir.JSONObject {
		t.Errorf("date: %v", err)
	}
}

func TestSuggestionsLimit(t *testing.T) {
	_, err := fhir.ResolvePath("Extension", split("valueDat"))
	var pe *fhir.PathError
	if !errors.As(err, &pe) {
		t.Fatalf("%v", err)
	}
	if len(pe.Suggestions) == 0 || len(pe.Suggestions) > 3 || pe.Suggestions[0] != "valueDate" {
		t.Errorf("suggestions %q", pe.Suggestions)
	}
}

func TestValidatePrimitive(t *testing.T) {
	tests := []struct {
		typ, value string
		ok         bool
	}{
		{"date", "2020-01-31", true},
		{"date", "2020-01", true},
		{"date", "2020", true},
		{"date", "2020-13-01", false},
		{"date", "2020-02-30", false},
		{"date", "2021-02-29", false},
		{"date", "2020-02-29", true},
		{"date", "1900-02-29", false},
		{"date", "2000-02-29", true},
		{"date", "20200101", false},
		{"date", "2020-01-01T10:00:00Z", false},
		{"dateTime", "2020-01-01T10:00:00+01:00", true},
		{"dateTime", "2020-01-01T10:00:00.123Z", true},
		{"dateTime", "2020-01-01", true},
		{"dateTime", "2020-01-01T10:00:00", false}, // a time needs a zone
		{"dateTime", "2020-01-01T10:00", false},
		{"dateTime", "2020-04-31T10:00:00Z", false},
		{"instant", "2020-01-01", false},
		{"instant", "2020-01-01T10:00:00Z", true},
		{"instant", "2020-01-01T10:00:00.5-05:00", true},
		{"time", "10:00:00", true},
		{"time", "25:00:00", false},
		{"boolean", "true", true},
		{"boolean", "True", false},
		{"integer", "-12", true},
		{"integer", "012", false},
		{"integer", "2147483647", true},
		{"integer", "2147483648", false},
		{"positiveInt", "1", true},
		{"positiveInt", "0", false},
		{"unsignedInt", "0", true},
		{"unsignedInt", "-1", false},
		{"unsignedInt", "01", false},
		{"decimal", "-1.50", true},
		{"decimal", "1e3", true},
		{"decimal", "1.", false},
		{"id", "abc-123.X", true},
		{"id", "abc_123", false},
		{"id", strings.Repeat("a", 65), false},
		{"code", "in-progress", true},
		{"code", " final", false},
		{"code", "a  b", false},
		{"string", "", false},
		{"string", "anything\tgoes", true},
		{"uri", "http://example.org/x", true},
		{"uri", "has space", false},
		{"oid", "urn:oid:2.16.840.1", true},
		{"oid", "2.16.840.1", false},
		{"uuid", "urn:uuid:c757873d-ec9a-4326-a141-556f43239520", true},
		{"uuid", "urn:uuid:C757873D-EC9A-4326-A141-556F43239520", false},
		{"base64Binary", "aGVsbG8=", true},
		{"xhtml", `<div xmlns="http://www.w3.org/1999/xhtml">x</div>`, true},
		{"xhtml", "plain", false},
	}
	for _, tt := range tests {
		err := fhir.ValidatePrimitive(tt.typ, tt.value)
		if (err == nil) != tt.ok {
			t.Errorf("ValidatePrimitive(%s, %q) = %v, want ok %v", tt.typ, tt.value, err, tt.ok)
		}
		var pe *fhir.PrimitiveError
		if err != nil && (!errors.As(err, &pe) || pe.Type != tt.typ || pe.Value != tt.value || strings.Contains(err.Error(), tt.value) && tt.value != "") {
			t.Errorf("ValidatePrimitive(%s, %q): error %T %q must be a PrimitiveError without the value", tt.typ, tt.value, err, err)
		}
	}
	if err := fhir.ValidatePrimitive("HumanName", "x"); err == nil {
		t.Error("HumanName validated as a primitive")
	}
	if err := fhir.ValidatePrimitive("Date", "2020"); err == nil || !strings.Contains(err.Error(), "did you mean 'date'") {
		t.Errorf("Date: %v", err)
	}
}

func TestJSONKinds(t *testing.T) {
	want := map[string]fhir.JSONKind{
		"boolean": fhir.JSONBoolean, "integer": fhir.JSONNumber, "positiveInt": fhir.JSONNumber,
		"unsignedInt": fhir.JSONNumber, "decimal": fhir.JSONNumber, "date": fhir.JSONString,
		"string": fhir.JSONString, "code": fhir.JSONString, "base64Binary": fhir.JSONString,
		"xhtml": fhir.JSONString, "HumanName": fhir.JSONObject, "Patient": fhir.JSONObject,
	}
	for name, k := range want {
		if ty, _ := fhir.Lookup(name); ty.JSON != k {
			t.Errorf("%s: JSON %v, want %v", name, ty.JSON, k)
		}
	}
}
