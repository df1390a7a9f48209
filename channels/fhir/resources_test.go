package fhir

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/plexus-hl7/plexus/channels"
)

func TestResourcesMode(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		switch {
		case r.Method == http.MethodPut && r.URL.Path == "/fhir/Patient":
			w.Header().Set("Location", "http://"+r.Host+"/fhir/Patient/srv-1/_history/1")
			answer(w, http.StatusCreated, "")
		case r.Method == http.MethodPut && r.URL.Path == "/fhir/Encounter/e1":
			answer(w, http.StatusOK, "")
		case r.Method == http.MethodPost && r.URL.Path == "/fhir/Observation":
			answer(w, http.StatusCreated, "")
		default:
			answer(w, http.StatusNotFound, "")
		}
	})
	d := open(t, "base_url: "+f.URL+"/fhir\nmode: resources\n", "")
	if err := d.Deliver(context.Background(), msg(txBundle)); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	reqs := f.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	// The Patient goes first: the Encounter before it in the Bundle needs
	// the id the server gives it.
	p, e, o := reqs[0], reqs[1], reqs[2]
	if p.Method != "PUT" || p.Path != "/fhir/Patient" || p.Query != "identifier=urn%3Aoid%3A1.2.3|123" {
		t.Errorf("first request %s %s?%s, want the Patient's conditional update", p.Method, p.Path, p.Query)
	}
	if e.Method != "PUT" || e.Path != "/fhir/Encounter/e1" {
		t.Errorf("second request %s %s", e.Method, e.Path)
	}
	if o.Method != "POST" || o.Path != "/fhir/Observation" || o.Header.Get("If-None-Exist") != "identifier=lab|42" {
		t.Errorf("third request %s %s If-None-Exist %q", o.Method, o.Path, o.Header.Get("If-None-Exist"))
	}
	for i, want := range []string{"#2", "#1", "#3"} {
		h := reqs[i].Header
		if h.Get("Idempotency-Key") != "EPIC|GOOD HEALTH|MSG00001"+want || h.Get("X-Request-Id") != "EPIC|GOOD HEALTH|MSG00001" ||
			h.Get("Content-Type") != "application/fhir+json" || h.Get("Accept") != "application/fhir+json" {
			t.Errorf("request %d headers: %v", i+1, h)
		}
	}
	wantBody := map[int]string{
		0: `{"resourceType":"Patient","identifier":[{"system":"urn:oid:1.2.3","value":"123"}],"name":[{"family":"Everyman"}]}`,
		1: `{"resourceType":"Encounter","id":"e1","status":"in-progress","subject":{"reference":"Patient/srv-1"}}`,
		2: `{"resourceType":"Observation","status":"final","code":{"text":"<b>weight</b> & size"},"valueQuantity":{"value":1.50},"subject":{"reference":"Patient/srv-1"},"encounter":{"reference":"Encounter/e1"}}`,
	}
	for i, want := range wantBody {
		if string(reqs[i].Body) != want {
			t.Errorf("request %d body\n%s\nwant\n%s", i+1, reqs[i].Body, want)
		}
	}
}

func TestResourcesModeFailures(t *testing.T) {
	patientOK := func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/fhir/Patient" {
			w.Header().Set("Location", "Patient/srv-1/_history/1")
			answer(w, http.StatusCreated, "")
			return true
		}
		return false
	}
	tests := []struct {
		name      string
		bundle    string
		answer    func(w http.ResponseWriter, r *http.Request)
		requests  int
		permanent bool
		text      string
	}{
		{
			name:   "refused entry",
			bundle: txBundle,
			answer: func(w http.ResponseWriter, r *http.Request) {
				if !patientOK(w, r) && r.Method == http.MethodPut {
					answer(w, http.StatusOK, "")
				} else if r.Method == http.MethodPost {
					answer(w, http.StatusUnprocessableEntity, oo400)
				}
			},
			requests: 3, permanent: true,
			text: "entry 3 of 3 (POST Observation), after 2 stored: 422 Unprocessable Entity [error/invalid at Patient.birthDate]",
		},
		{
			name:   "server busy",
			bundle: txBundle,
			answer: func(w http.ResponseWriter, r *http.Request) {
				if !patientOK(w, r) {
					w.Header().Set("Retry-After", "3")
					answer(w, http.StatusTooManyRequests, "")
				}
			},
			requests: 2, text: "entry 1 of 3 (PUT Encounter/e1), after 1 stored: 429",
		},
		{
			name:   "no id in the answer",
			bundle: txBundle,
			answer: func(w http.ResponseWriter, r *http.Request) {
				answer(w, http.StatusOK, `{"resourceType":"OperationOutcome","issue":[{"severity":"information","code":"informational"}]}`)
			},
			requests: 1, permanent: true, text: "names no Patient id",
		},
		{
			name:   "proxy page",
			bundle: txBundle,
			answer: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(http.StatusOK)
				_, _ = w.Write([]byte("<html>Sign in</html>"))
			},
			requests: 1, text: `entry 2 of 3 (PUT Patient?identifier=…): 200 OK, but the body (Content-Type "text/html") is not a FHIR resource`,
		},
		{
			name:     "unknown reference",
			bundle:   strings.Replace(txBundle, `"reference":"urn:uuid:e1"`, `"reference":"urn:uuid:nowhere"`, 1),
			requests: 0, permanent: true, text: "entry 3 references urn:uuid:nowhere, which no entry",
		},
		{
			name: "cycle",
			bundle: `{"resourceType":"Bundle","type":"transaction","entry":[` +
				`{"fullUrl":"urn:uuid:a","resource":{"resourceType":"Patient","link":[{"other":{"reference":"urn:uuid:b"}}]},"request":{"method":"PUT","url":"Patient?identifier=x|1"}},` +
				`{"fullUrl":"urn:uuid:b","resource":{"resourceType":"Patient","link":[{"other":{"reference":"urn:uuid:a"}}]},"request":{"method":"POST","url":"Patient"}}]}`,
			requests: 0, permanent: true, text: "cannot order entries 1, 2: they reference each other in a cycle",
		},
		{
			name:     "self reference",
			bundle:   `{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:a","resource":{"resourceType":"Patient","link":[{"other":{"reference":"urn:uuid:a"}}]},"request":{"method":"POST","url":"Patient"}}]}`,
			requests: 0, permanent: true, text: "references itself",
		},
		{
			name:     "GET entry",
			bundle:   `{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Patient/1"}}]}`,
			requests: 0, permanent: true, text: `request.method "GET"`,
		},
		{
			name:     "absolute url",
			bundle:   `{"resourceType":"Bundle","type":"batch","entry":[{"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"https://other.example.org/fhir/Patient"}}]}`,
			requests: 0, permanent: true, text: "relative to the base",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, r *http.Request, body []byte) { tt.answer(w, r) })
			d := open(t, "base_url: "+f.URL+"/fhir\nmode: resources\n", "")
			err := d.Deliver(context.Background(), msg(tt.bundle))
			if err == nil {
				t.Fatal("Deliver succeeded")
			}
			if n := len(f.requests()); n != tt.requests {
				t.Errorf("%d requests, want %d", n, tt.requests)
			}
			if channels.IsPermanent(err) != tt.permanent || !strings.Contains(err.Error(), tt.text) {
				t.Errorf("error (permanent %v) %q, want permanent %v containing %q", channels.IsPermanent(err), err, tt.permanent, tt.text)
			}
			if strings.Contains(err.Error(), "1.2.3") {
				t.Errorf("error text leaks an identifier: %v", err)
			}
		})
	}
}

func TestResourcesDeleteAndDefaultRequests(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		if r.Method == http.MethodPost {
			w.Header().Set("Content-Location", "Observation/srv-9/_history/1")
		}
		answer(w, http.StatusOK, "")
	})
	d := open(t, "base_url: "+f.URL+"/fhir\nmode: resources\n", "")
	const collection = `{"resourceType":"Bundle","type":"collection","entry":[` +
		`{"fullUrl":"urn:uuid:o","resource":{"resourceType":"Observation","status":"final"}},` +
		`{"fullUrl":"urn:uuid:p","resource":{"resourceType":"Patient","id":"p1"}},` +
		`{"resource":{"resourceType":"Provenance","target":[{"reference":"urn:uuid:o"},{"reference":"urn:uuid:p"}]}},` +
		`{"request":{"method":"delete","url":"/Flag/f1"}}]}`
	if err := d.Deliver(context.Background(), msg(collection)); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	var got []string
	for _, r := range f.requests() {
		got = append(got, r.Method+" "+r.Path+" "+string(r.Body))
	}
	want := []string{
		`POST /fhir/Observation {"resourceType":"Observation","status":"final"}`,
		`PUT /fhir/Patient/p1 {"resourceType":"Patient","id":"p1"}`,
		`POST /fhir/Provenance {"resourceType":"Provenance","target":[{"reference":"Observation/srv-9"},{"reference":"Patient/p1"}]}`,
		`DELETE /fhir/Flag/f1 `,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if f.requests()[3].Header.Get("Content-Type") != "" {
		t.Error("DELETE carries a Content-Type")
	}
}

// TestBuiltInMapBundle sends the Bundle the adt_a01 map makes for the IG's
// test message, in resources mode, to a server that assigns its own ids to
// conditional updates: every reference must be resolved, and only to a
// resource the server already has.
func TestBuiltInMapBundle(t *testing.T) {
	bundle, err := os.ReadFile("../../transforms/maps/testdata/test-conversion-ADT_A01.bundle.json")
	if err != nil {
		t.Skipf("the transforms' sample Bundle: %v", err)
	}
	var mu sync.Mutex
	stored := map[string]bool{}
	n := 0
	refRE := regexp.MustCompile(`"reference":"([^"]*)"`)
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range refRE.FindAllStringSubmatch(string(body), -1) {
			if !stored[m[1]] {
				answer(w, http.StatusBadRequest, fmt.Sprintf(`{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"not-found","diagnostics":"%s"}]}`, m[1]))
				return
			}
		}
		var id resourceID
		_ = json.Unmarshal(body, &id)
		typ := strings.TrimPrefix(r.URL.Path, "/fhir/")
		if i := strings.IndexByte(typ, '/'); i >= 0 {
			typ, id.ID = typ[:i], typ[i+1:]
		} else {
			n++
			id.ID = fmt.Sprintf("srv-%d", n)
		}
		stored[typ+"/"+id.ID] = true
		w.Header().Set("Location", "/fhir/"+typ+"/"+id.ID+"/_history/1")
		answer(w, http.StatusCreated, "")
	})
	d := open(t, "base_url: "+f.URL+"/fhir\nmode: resources\n", "")
	if err := d.Deliver(context.Background(), msg(string(bundle))); err != nil {
		t.Fatalf("Deliver: %v\n%s", err, channels.Detail(err))
	}
	var h bundleHead
	if err := json.Unmarshal(bundle, &h); err != nil {
		t.Fatal(err)
	}
	if got := len(f.requests()); got != len(h.Entry) || n == 0 {
		t.Errorf("%d requests (%d conditional) for %d entries", got, n, len(h.Entry))
	}

	// In transaction mode the same Bundle goes as it is.
	f2 := newFake(t, func(w http.ResponseWriter, r *http.Request, body []byte) { answer(w, http.StatusOK, "") })
	d = open(t, "base_url: "+f2.URL+"/fhir\n", "")
	if err := d.Deliver(context.Background(), msg(string(bundle))); err != nil {
		t.Fatal(err)
	}
	if string(f2.requests()[0].Body) != string(bundle) {
		t.Error("transaction mode changed the Bundle")
	}
}

func TestSendOrder(t *testing.T) {
	const b = `{"resourceType":"Bundle","type":"transaction","entry":[` +
		// 1 and 2 reference each other, both by known id: a soft cycle.
		`{"fullUrl":"urn:uuid:1","resource":{"resourceType":"Encounter","id":"1","episodeOfCare":[{"reference":"urn:uuid:2"}],"subject":{"reference":"urn:uuid:4"}},"request":{"method":"PUT","url":"Encounter/1"}},` +
		`{"fullUrl":"urn:uuid:2","resource":{"resourceType":"EpisodeOfCare","id":"2","team":[{"reference":"urn:uuid:1"}]},"request":{"method":"PUT","url":"EpisodeOfCare/2"}},` +
		// 3 references 5, later, by known id, and itself.
		`{"fullUrl":"urn:uuid:3","resource":{"resourceType":"Patient","id":"3","generalPractitioner":[{"reference":"urn:uuid:5"}],"link":[{"other":{"reference":"urn:uuid:3"}}]},"request":{"method":"PUT","url":"Patient/3"}},` +
		// 4 is conditional: the cycle 1-2 waits for it.
		`{"fullUrl":"urn:uuid:4","resource":{"resourceType":"Patient"},"request":{"method":"PUT","url":"Patient?identifier=x|4"}},` +
		`{"fullUrl":"urn:uuid:5","resource":{"resourceType":"Practitioner","id":"5"},"request":{"method":"PUT","url":"Practitioner/5"}}]}`
	steps, order, err := planResources([]byte(b))
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(order); got != "[3 4 2 0 1]" {
		t.Errorf("order %s, want [3 4 2 0 1] (0-based)", got)
	}
	if !steps[3].needed || steps[4].needed || steps[0].needed {
		t.Error("only the conditional entry needs its id from the server")
	}
}

func TestServerID(t *testing.T) {
	for _, tt := range []struct {
		loc, contentLoc, body, want string
	}{
		{loc: "https://ehr/fhir/Patient/7/_history/3", want: "Patient/7"},
		{loc: "Patient/7", want: "Patient/7"},
		{loc: "/fhir/Patient/7?_format=json", want: "Patient/7"},
		{loc: "https://ehr/fhir/Encounter/7", contentLoc: "Patient/8/_history/1", want: "Patient/8"},
		{body: `{"resourceType":"Patient","id":"9"}`, want: "Patient/9"},
		{body: `{"resourceType":"Encounter","id":"9"}`},
		{loc: "https://ehr/fhir/_history"},
	} {
		h := http.Header{}
		if tt.loc != "" {
			h.Set("Location", tt.loc)
		}
		if tt.contentLoc != "" {
			h.Set("Content-Location", tt.contentLoc)
		}
		got, err := serverID(&reply{header: h, body: []byte(tt.body)}, "Patient")
		if got != tt.want || (err != nil) != (tt.want == "") {
			t.Errorf("%+v: %q %v, want %q", tt, got, err, tt.want)
		}
	}
}
