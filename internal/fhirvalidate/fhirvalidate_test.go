package fhirvalidate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

func validate(t testing.TB, v *Validator, resource string) []Issue {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	issues, err := v.Validate(ctx, []byte(resource))
	if err != nil {
		t.Fatalf("Validate: %v", err)
	}
	return issues
}

// wantError fails unless an error-level issue has an expression equal to
// expr (or, when expr ends with "*", starting with it) and a message
// containing msg.
func wantError(t *testing.T, issues []Issue, expr, msg string) {
	t.Helper()
	for _, i := range Errors(issues) {
		match := i.Expression == expr
		if p, ok := strings.CutSuffix(expr, "*"); ok {
			match = strings.HasPrefix(i.Expression, p)
		}
		if match && strings.Contains(i.Message, msg) {
			return
		}
	}
	t.Errorf("no error at %s with %q; issues:%s", expr, msg, list(issues))
}

func wantNoErrors(t *testing.T, issues []Issue) {
	t.Helper()
	if errs := Errors(issues); len(errs) > 0 {
		t.Errorf("want no error, got:%s", list(errs))
	}
}

func list(issues []Issue) string {
	if len(issues) == 0 {
		return " none"
	}
	var b strings.Builder
	for _, i := range issues {
		b.WriteString("\n\t" + i.String())
	}
	return b.String()
}

const validPatient = `{
  "resourceType": "Patient",
  "id": "p1",
  "identifier": [{"system": "urn:oid:2.16.840.1.113883.19.5", "value": "12345"}],
  "name": [{"family": "Everyman", "given": ["Adam", "A"]}],
  "gender": "male",
  "birthDate": "1980-06-15",
  "telecom": [{"system": "phone", "value": "555-555-2004", "use": "home"}],
  "address": [{"line": ["2222 Home Street"], "city": "Ann Arbor", "state": "MI", "postalCode": "99999"}]
}`

func TestValidPatient(t *testing.T) {
	v := ForTest(t)
	t.Log(v.Engine())
	wantNoErrors(t, validate(t, v, validPatient))
}

func TestUnknownElement(t *testing.T) {
	issues := validate(t, ForTest(t), `{"resourceType": "Patient", "birthdate": "1980-06-15"}`)
	wantError(t, issues, "Patient.birthdate", `"birthdate"`)
}

func TestInvalidCode(t *testing.T) {
	issues := validate(t, ForTest(t), `{"resourceType": "Patient", "gender": "mal"}`)
	wantError(t, issues, "Patient.gender", `"mal"`)
	// A primitive with only an extension has no code to check.
	wantNoErrors(t, validate(t, ForTest(t), `{"resourceType": "Patient",
	  "_gender": {"extension": [{"url": "http://example.org/x", "valueString": "x"}]}}`))
}

func TestObservationMissingRequired(t *testing.T) {
	issues := validate(t, ForTest(t), `{"resourceType": "Observation", "subject": {"reference": "Patient/p1"}}`)
	wantError(t, issues, "Observation.status", "Missing required property")
	wantError(t, issues, "Observation.code", "Missing required property")
}

func TestInvalidDateTime(t *testing.T) {
	issues := validate(t, ForTest(t), `{"resourceType": "Observation", "status": "final",
	  "code": {"text": "x"}, "effectiveDateTime": "2020-13-45"}`)
	wantError(t, issues, "Observation.effective[x]", "Invalid dateTime")
}

func TestNotAResource(t *testing.T) {
	v := ForTest(t)
	for _, r := range []string{`{"foo": 1}`, `{"resourceType": "Foo"}`, `[]`, `"Patient"`} {
		if len(Errors(validate(t, v, r))) == 0 {
			t.Errorf("%s: want an error", r)
		}
	}
	if _, err := v.Validate(context.Background(), []byte(`{"resourceType":`)); err == nil {
		t.Error("Validate of broken JSON: want an error")
	}
}

// patient, encounter, observation: the resources of a transaction Bundle,
// referring to each other by urn:uuid.
func transaction(n int) string {
	uuid := func(i int) string { return fmt.Sprintf("urn:uuid:5b3c2d1e-0000-4000-8000-%012d", i) }
	type m = map[string]any
	entries := []m{{
		"fullUrl": uuid(0),
		"resource": m{
			"resourceType": "Patient",
			"identifier":   []m{{"system": "urn:oid:2.16.840.1.113883.19.5", "value": "12345"}},
			"name":         []m{{"family": "Everyman", "given": []string{"Adam"}}},
			"gender":       "male",
			"birthDate":    "1980-06-15",
		},
		"request": m{"method": "PUT", "url": "Patient?identifier=urn:oid:2.16.840.1.113883.19.5|12345"},
	}, {
		"fullUrl": uuid(1),
		"resource": m{
			"resourceType": "Encounter",
			"status":       "in-progress",
			"class":        m{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
			"subject":      m{"reference": uuid(0)},
			"period":       m{"start": "2024-01-02T08:30:00-05:00"},
		},
		"request": m{"method": "POST", "url": "Encounter"},
	}}
	for i := 2; len(entries) < n; i++ {
		entries = append(entries, m{
			"fullUrl": uuid(i),
			"resource": m{
				"resourceType": "Observation",
				"status":       "final",
				"category": []m{{"coding": []m{{
					"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}}}},
				"code":              m{"coding": []m{{"system": "http://loinc.org", "code": "2345-7", "display": "Glucose"}}},
				"subject":           m{"reference": uuid(0)},
				"encounter":         m{"reference": uuid(1)},
				"effectiveDateTime": "2024-01-02T09:00:00-05:00",
				"valueQuantity": m{"value": 95 + i, "unit": "mg/dL",
					"system": "http://unitsofmeasure.org", "code": "mg/dL"},
				"referenceRange": []m{{"low": m{"value": 70, "unit": "mg/dL", "system": "http://unitsofmeasure.org", "code": "mg/dL"}}},
				"interpretation": []m{{"coding": []m{{
					"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "code": "N"}}}},
			},
			"request": m{"method": "POST", "url": "Observation"},
		})
	}
	b, err := json.Marshal(m{"resourceType": "Bundle", "type": "transaction", "entry": entries})
	if err != nil {
		panic(err)
	}
	return string(b)
}

// TestValidResources guards against false errors, of the checks of
// validate.mjs above all, on resources like those the maps emit.
func TestValidResources(t *testing.T) {
	v := ForTest(t)
	for name, r := range map[string]string{
		"Condition": `{"resourceType": "Condition", "subject": {"reference": "Patient/1"},
		  "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
		  "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "confirmed"}]}}`,
		"AllergyIntolerance": `{"resourceType": "AllergyIntolerance", "patient": {"reference": "Patient/1"},
		  "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": "active"}]},
		  "type": "allergy", "category": ["medication"], "criticality": "high",
		  "reaction": [{"manifestation": [{"text": "rash"}], "severity": "mild"}]}`,
		"MedicationRequest": `{"resourceType": "MedicationRequest", "status": "active", "intent": "order", "priority": "routine",
		  "medicationCodeableConcept": {"text": "x"}, "subject": {"reference": "Patient/1"}}`,
		"Patient": `{"resourceType": "Patient",
		  "identifier": [{"use": "official", "system": "urn:oid:1.2.3", "value": "1",
		    "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]}}],
		  "name": [{"use": "official", "family": "X"}], "telecom": [{"system": "email", "value": "a@b.c", "use": "work"}],
		  "address": [{"use": "home", "type": "both"}], "gender": "unknown",
		  "link": [{"other": {"reference": "Patient/2"}, "type": "replaced-by"}],
		  "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">x</div>"}}`,
		"Observation, nested code": `{"resourceType": "Observation", "status": "corrected", "code": {"text": "x"},
		  "valueQuantity": {"value": 1, "comparator": ">=", "system": "http://unitsofmeasure.org", "code": "mg"}}`,
		"Encounter": `{"resourceType": "Encounter", "status": "arrived",
		  "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "EMER"},
		  "period": {"start": "2021", "end": "2021-03-01T10:00:00Z"},
		  "location": [{"location": {"reference": "Location/1"}, "status": "active"}]}`,
		"Reference with display only": `{"resourceType": "Provenance", "target": [{"reference": "Patient/1"}],
		  "recorded": "2020-01-01T00:00:00Z", "agent": [{"who": {"reference": "Practitioner/1"}}],
		  "entity": [{"role": "source", "what": {"display": "x"}}]}`,
		"contained reference": `{"resourceType": "Observation", "status": "final", "code": {"text": "x"},
		  "contained": [{"resourceType": "Patient", "id": "c"}], "subject": {"reference": "#c"}}`,
	} {
		t.Run(name, func(t *testing.T) { wantNoErrors(t, validate(t, v, r)) })
	}
}

func TestValidTransactionBundle(t *testing.T) {
	issues := validate(t, ForTest(t), transaction(5))
	wantNoErrors(t, issues)
	for _, i := range issues {
		t.Logf("not an error: %s", i)
	}
}

func TestBundleNestedInvalid(t *testing.T) {
	v := ForTest(t)
	bad := func(resource string) string {
		return `{"resourceType": "Bundle", "type": "transaction", "entry": [
		  {"fullUrl": "urn:uuid:5b3c2d1e-0000-4000-8000-000000000000",
		   "resource": {"resourceType": "Patient", "gender": "male"},
		   "request": {"method": "POST", "url": "Patient"}},
		  {"fullUrl": "urn:uuid:5b3c2d1e-0000-4000-8000-000000000001",
		   "resource": ` + resource + `,
		   "request": {"method": "POST", "url": "Patient"}}]}`
	}
	tests := []struct{ name, resource, expr, msg string }{
		{"unknown element", `{"resourceType": "Patient", "birthdate": "1980"}`,
			"Bundle.entry[1].resource.birthdate", `"birthdate"`},
		{"code", `{"resourceType": "Patient", "gender": "mal"}`,
			"Bundle.entry[1].resource.gender", `"mal"`},
		{"missing", `{"resourceType": "Observation", "code": {"text": "x"}}`,
			"Bundle.entry[1].resource.status", "Missing required property"},
		{"dateTime", `{"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "effectiveDateTime": "2020-13-45"}`,
			"Bundle.entry[1].resource.effective[x]", "Invalid dateTime"},
		// Root invariant of the entry resource: validateResource skips it.
		{"invariant", `{"resourceType": "Observation", "status": "final", "code": {"text": "x"},
		  "valueString": "a", "dataAbsentReason": {"text": "unknown"}}`,
			"Bundle.entry[1].resource", "obs-6"},
		{"contained", `{"resourceType": "Patient", "contained": [{"resourceType": "Patient", "id": "c", "gender": "fem"}],
		  "link": [{"other": {"reference": "#c"}, "type": "seealso"}]}`,
			"Bundle.entry[1].resource.contained[0].gender", `"fem"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, validate(t, v, bad(tc.resource)), tc.expr, tc.msg)
		})
	}
	// The Bundle's own rules.
	wantError(t, validate(t, v, `{"resourceType": "Bundle", "type": "transaction",
	  "entry": [{"resource": {"resourceType": "Patient"}}]}`), "Bundle", "bdl-3")
}

// TestMedplumGaps pins what validate.mjs adds to validateResource, and what
// neither checks (so that a new @medplum/core that starts checking it is
// noticed).
func TestMedplumGaps(t *testing.T) {
	v := ForTest(t)
	added := []struct{ name, resource, expr, msg, source string }{
		{"required binding", `{"resourceType": "Observation", "status": "done", "code": {"text": "x"}}`,
			"Observation.status", `"done"`, SourceBinding},
		{"required binding, backbone element", `{"resourceType": "Patient",
		  "link": [{"other": {"reference": "Patient/1"}, "type": "sameas"}]}`,
			"Patient.link[0].type", `"sameas"`, SourceBinding},
		{"required binding, CodeableConcept", `{"resourceType": "Condition", "subject": {"reference": "Patient/1"},
		  "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "gone"}]}}`,
			"Condition.clinicalStatus", "condition-clinical", SourceBinding},
		{"datatype invariant", `{"resourceType": "Encounter", "status": "finished",
		  "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
		  "period": {"start": "2021-01-01", "end": "2020-01-01"}}`,
			"Encounter.period", "per-1", SourceInvariant},
		{"quantity invariant", `{"resourceType": "Observation", "status": "final", "code": {"text": "x"},
		  "valueQuantity": {"value": 1, "code": "mg"}}`,
			"Observation.value[x]", "qty-3", SourceInvariant},
		{"contained reference", `{"resourceType": "Observation", "status": "final", "code": {"text": "x"},
		  "contained": [{"resourceType": "Patient", "id": "c"}], "subject": {"reference": "#d"}}`,
			"Observation.subject", "ref-1", SourceInvariant},
		{"contained invariant", `{"resourceType": "Patient", "contained": [{"resourceType": "Observation", "id": "o",
		  "status": "final", "code": {"text": "x"}, "valueString": "a", "dataAbsentReason": {"text": "y"}}]}`,
			"Patient.contained[0]", "obs-6", SourceInvariant},
	}
	for _, tc := range added {
		t.Run(tc.name, func(t *testing.T) {
			issues := validate(t, v, tc.resource)
			wantError(t, issues, tc.expr, tc.msg)
			for _, i := range Errors(issues) {
				if i.Expression == tc.expr && i.Source != tc.source {
					t.Errorf("source %q, want %q: %s", i.Source, tc.source, i)
				}
			}
		})
	}
	// Accepted although R4 forbids it (medplum 5.2.13).
	accepted := []struct{ name, resource string }{
		{"id with a space", `{"resourceType": "Patient", "id": "a b"}`},
		{"empty string", `{"resourceType": "Patient", "name": [{"family": ""}]}`},
		{"dateTime with time, no zone", `{"resourceType": "Observation", "status": "final", "code": {"text": "x"},
		  "effectiveDateTime": "2020-01-01T10:00:00"}`},
		{"Medplum's Meta.project", `{"resourceType": "Patient", "meta": {"project": "x"}}`},
		{"narrative not xhtml", `{"resourceType": "Patient", "text": {"status": "generated", "div": "no html"}}`},
	}
	for _, tc := range accepted {
		t.Run("accepted/"+tc.name, func(t *testing.T) {
			if errs := Errors(validate(t, v, tc.resource)); len(errs) > 0 {
				t.Logf("now rejected (update the doc of the gaps):%s", list(errs))
			}
		})
	}
}

func TestConcurrent(t *testing.T) {
	v := ForTest(t)
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for n := range 50 {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			// Each answer must be its own: odd ones are invalid, and
			// name their own index.
			res := fmt.Sprintf(`{"resourceType": "Patient", "id": "p%d"}`, n)
			if n%2 == 1 {
				res = fmt.Sprintf(`{"resourceType": "Patient", "id": "p%d", "bad%d": true}`, n, n)
			}
			issues, err := v.Validate(ctx, []byte(res))
			switch {
			case err != nil:
				errs <- fmt.Errorf("%d: %v", n, err)
			case n%2 == 0 && len(Errors(issues)) > 0:
				errs <- fmt.Errorf("%d: unexpected:%s", n, list(issues))
			case n%2 == 1 && (len(issues) != 1 || issues[0].Expression != fmt.Sprintf("Patient.bad%d", n)):
				errs <- fmt.Errorf("%d: want the error of Patient.bad%d, got:%s", n, n, list(issues))
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestContext(t *testing.T) {
	v := ForTest(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := v.Validate(ctx, []byte(validPatient)); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: got %v", err)
	}
	// A deadline that passes while node works on a large Bundle: its
	// answer, when it comes, must not be taken for the next call's.
	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := v.Validate(ctx, []byte(transaction(500))); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("deadline: got %v", err)
	}
	// Still in step after abandoned calls.
	wantNoErrors(t, validate(t, v, validPatient))
	wantError(t, validate(t, v, `{"resourceType": "Patient", "gender": "mal"}`), "Patient.gender", "mal")
}

func TestNodeKilledRecovers(t *testing.T) {
	ForTest(t) // skips when node is unavailable
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	v, err := New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	bundle := []byte(transaction(20))

	// Kill node while calls are in flight: each one succeeds or fails, none
	// hangs.
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if _, err := v.Validate(ctx, bundle); err != nil {
				t.Logf("in flight: %v", err)
			}
		})
	}
	time.Sleep(20 * time.Millisecond)
	v.mu.Lock()
	old := v.p
	v.mu.Unlock()
	old.kill()
	wg.Wait()
	<-old.done
	if old.alive() {
		t.Fatal("node still alive")
	}

	// The next call starts a new node.
	issues, err := v.Validate(ctx, []byte(`{"resourceType": "Patient", "gender": "mal"}`))
	if err != nil {
		t.Fatalf("after kill: %v", err)
	}
	wantError(t, issues, "Patient.gender", "mal")
	v.mu.Lock()
	if v.p == old {
		t.Error("same process after kill")
	}
	v.mu.Unlock()

	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Validate(ctx, []byte(validPatient)); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: got %v", err)
	}
}

func TestUnavailable(t *testing.T) {
	_, err := newWithDir(context.Background(), t.TempDir())
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("got %v, want ErrUnavailable", err)
	}
	if _, lookErr := exec.LookPath("node"); lookErr == nil && !strings.Contains(err.Error(), "npm ci") {
		t.Errorf("got %v, want it to say to run npm ci", err)
	}
}

// BenchmarkBundle20 measures validations per second of a 20-entry
// transaction Bundle, one call at a time and with calls in parallel
// (pipelined to the one node process).
func BenchmarkBundle20(b *testing.B) {
	v := ForTest(b)
	bundle := []byte(transaction(20))
	ctx := context.Background()
	if issues, err := v.Validate(ctx, bundle); err != nil || len(Errors(issues)) > 0 {
		b.Fatalf("%v%s", err, list(issues))
	}
	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			if _, err := v.Validate(ctx, bundle); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "bundles/s")
	})
	b.Run("parallel", func(b *testing.B) {
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := v.Validate(ctx, bundle); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "bundles/s")
	})
}
