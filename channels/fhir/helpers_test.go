package fhir

import (
	"bytes"
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/goccy/go-yaml"

	"github.com/plexus-hl7/plexus/channels"
)

// decode reads a destination's settings as the engine does: over New's
// defaults, strictly.
func decode(t *testing.T, src string) *Config {
	t.Helper()
	c := New()
	if err := yaml.UnmarshalWithOptions([]byte(src), c, yaml.Strict()); err != nil {
		t.Fatalf("decode %q: %v", src, err)
	}
	return c
}

// open decodes and opens a destination, closed at the end of the test.
func open(t *testing.T, src, baseDir string) *destination {
	t.Helper()
	c := decode(t, src)
	d, err := c.Open(context.Background(), channels.OpenOptions{Name: "ehr", BaseDir: baseDir})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d.(*destination)
}

// seen is one request the fake server received.
type seen struct {
	Method, Path, Query string
	Header              http.Header
	Body                []byte
}

// fakeServer is a FHIR server (and token endpoint) whose answers each test
// writes; it records what it received.
type fakeServer struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []seen
}

// newFake starts a plain HTTP fake server; h answers each request.
func newFake(t *testing.T, h func(w http.ResponseWriter, r *http.Request, body []byte)) *fakeServer {
	return startFake(t, h, false, nil)
}

// startFake starts a fake server, with TLS if asked, after configure has
// set up its http.Server (which must not change once it runs).
func startFake(t *testing.T, h func(w http.ResponseWriter, r *http.Request, body []byte), useTLS bool, configure func(*http.Server)) *fakeServer {
	t.Helper()
	f := &fakeServer{}
	f.Server = httptest.NewUnstartedServer(f.handler(h))
	f.Config.ErrorLog = log.New(io.Discard, "", 0) // refused TLS handshakes are expected
	if configure != nil {
		configure(f.Config)
	}
	if useTLS {
		f.StartTLS()
	} else {
		f.Start()
	}
	t.Cleanup(f.Close)
	return f
}

func (f *fakeServer) handler(h func(w http.ResponseWriter, r *http.Request, body []byte)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body)) // for ParseForm
		f.mu.Lock()
		f.reqs = append(f.reqs, seen{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: body})
		f.mu.Unlock()
		h(w, r, body)
	})
}

// requests returns what the server received, token requests included.
func (f *fakeServer) requests() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.reqs...)
}

// answer writes a FHIR answer.
func answer(w http.ResponseWriter, status int, body string) {
	if body != "" {
		w.Header().Set("Content-Type", "application/fhir+json")
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// msg is a message carrying the FHIR Bundle body.
func msg(body string) *channels.Message {
	return &channels.Message{
		Seq: 7, Route: "admissions", Key: "urn:oid:1.2.3|123", IdempotencyKey: "EPIC|GOOD HEALTH|MSG00001",
		MessageType: "ADT^A01", ControlID: "MSG00001", ContentType: channels.ContentFHIR, Body: []byte(body), Attempt: 1,
	}
}

// txBundle is a small transaction: an Encounter updated by id that
// references a Patient written by conditional update (listed after it), and
// an Observation created with ifNoneExist that references both.
const txBundle = `{"resourceType":"Bundle","id":"b1","type":"transaction","entry":[` +
	`{"fullUrl":"urn:uuid:e1","resource":{"resourceType":"Encounter","id":"e1","status":"in-progress","subject":{"reference":"urn:uuid:p1"}},"request":{"method":"PUT","url":"Encounter/e1"}},` +
	`{"fullUrl":"urn:uuid:p1","resource":{"resourceType":"Patient","identifier":[{"system":"urn:oid:1.2.3","value":"123"}],"name":[{"family":"Everyman"}]},"request":{"method":"PUT","url":"Patient?identifier=urn%3Aoid%3A1.2.3|123"}},` +
	`{"fullUrl":"urn:uuid:o1","resource":{"resourceType":"Observation","status":"final","code":{"text":"<b>weight</b> & size"},"valueQuantity":{"value":1.50},"subject":{"reference":"urn:uuid:p1"},"encounter":{"reference":"urn:uuid:e1"}},"request":{"method":"POST","url":"Observation","ifNoneExist":"identifier=lab|42"}}]}`

// txResponse is a transaction-response for txBundle.
const txResponse = `{"resourceType":"Bundle","type":"transaction-response","entry":[` +
	`{"response":{"status":"200 OK","location":"Encounter/e1/_history/2"}},` +
	`{"response":{"status":"201 Created","location":"Patient/9/_history/1"}},` +
	`{"response":{"status":"201 Created","location":"Observation/10/_history/1"}}]}`

// oo400 is an OperationOutcome whose diagnostics quote patient data.
const oo400 = `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"invalid","diagnostics":"birthDate 'Everyman 1899-13-45' is not a date","expression":["Patient.birthDate"]}]}`
