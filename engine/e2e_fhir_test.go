package engine_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plexus-hl7/plexus/channels"
	_ "github.com/plexus-hl7/plexus/channels/fhir"
	"github.com/plexus-hl7/plexus/engine"
	"github.com/plexus-hl7/plexus/mllp"
)

// MLLP in, FHIR REST out, over real HTTP: what the server answers decides
// what the admin API shows. 201 is delivered; 429 with Retry-After is
// retried after the wait the server asked for; a 500 is retried, and
// dead-lettered after max_attempts; a 400 is dead-lettered at once with the
// server's OperationOutcome kept for the message browser.
func TestE2EFHIR(t *testing.T) {
	kind := func(ctrl string) string { k, _, _ := strings.Cut(ctrl, "-"); return k }
	srv := newFHIRServer(t, "/fhir/R4", func(ctrl string, attempt int) int {
		switch kind(ctrl) {
		case "THROTTLE":
			if attempt == 1 {
				return http.StatusTooManyRequests
			}
		case "FLAKY":
			if attempt == 1 {
				return http.StatusInternalServerError
			}
		case "DOWN":
			return http.StatusInternalServerError
		case "BAD":
			return http.StatusBadRequest
		}
		return http.StatusCreated
	})
	te := start(t, t.TempDir(), routesFrom(t, "fhir.routes.yaml", map[string]string{"BaseURL": srv.URL + "/fhir/R4"}))

	// One connection, one message at a time: the journal numbers them 1..n
	// in this order. One patient each, so that no retry holds up another.
	ctrls := []string{"OK-1", "THROTTLE-1", "FLAKY-1", "DOWN-1", "BAD-1", "OK-2"}
	mrn := map[string]string{}
	cl := mllp.NewClient(te.addr, mllp.ClientOptions{})
	defer cl.Close()
	for i, ctrl := range ctrls {
		mrn[ctrl] = fmt.Sprintf("MRN-F%d", i)
		if code, _ := send(t, cl, adt(ctrl, "A01", mrn[ctrl])); code != "AA" {
			t.Fatalf("%s: ACK %s", ctrl, code)
		}
	}
	seq := func(ctrl string) uint64 { return uint64(slices.Index(ctrls, ctrl) + 1) }

	// While the server's Retry-After runs, the throttled message shows as
	// pending with its first attempt and the 429.
	d := te.waitDelivery(t, seq("THROTTLE-1"), "ehr", "retrying", func(d engine.DeliveryView) bool { return d.Attempts >= 1 })
	if d.State == "pending" {
		if d.Attempts != 1 || !strings.Contains(d.LastError, "429") {
			t.Errorf("throttled, while waiting: %+v", d)
		}
	} else {
		// Possible only if this goroutine was starved for the whole second.
		t.Logf("throttled message already %s when first seen", d.State)
	}

	final := func(d engine.DeliveryView) bool { return d.State != "pending" }
	for _, ctrl := range []string{"OK-1", "OK-2"} {
		if d := te.waitDelivery(t, seq(ctrl), "ehr", "settled", final); d.State != "delivered" || d.Attempts != 1 || d.LastError != "" {
			t.Errorf("%s: %+v", ctrl, d)
		}
	}
	if d := te.waitDelivery(t, seq("THROTTLE-1"), "ehr", "settled", final); d.State != "delivered" || d.Attempts != 2 {
		t.Errorf("THROTTLE-1: %+v", d)
	}
	if d := te.waitDelivery(t, seq("FLAKY-1"), "ehr", "settled", final); d.State != "delivered" || d.Attempts != 2 {
		t.Errorf("FLAKY-1: %+v", d)
	}
	if d := te.waitDelivery(t, seq("DOWN-1"), "ehr", "settled", final); d.State != "dead" || d.Attempts != 3 ||
		!strings.Contains(d.LastError, "gave up after 3 attempts") || !strings.Contains(d.LastError, "500") {
		t.Errorf("DOWN-1: %+v", d)
	}
	d = te.waitDelivery(t, seq("BAD-1"), "ehr", "settled", final)
	if d.State != "dead" || d.Attempts != 1 || !strings.HasPrefix(d.LastError, "refused: ") || !strings.Contains(d.LastError, "400") {
		t.Errorf("BAD-1: %+v", d)
	}
	if d.Detail != badOutcome {
		t.Errorf("BAD-1: detail is not the server's OperationOutcome:\n got %s\nwant %s", d.Detail, badOutcome)
	}
	// The error text is logged; the OperationOutcome's diagnostics quote
	// patient data and must stay out of it (they are in Detail).
	if strings.Contains(d.LastError, "DOE") {
		t.Errorf("BAD-1: the last error quotes the diagnostics: %s", d.LastError)
	}

	// What the server saw: per message, the attempts the states claim, each
	// the same request (a retry is the same Bundle with the same key).
	wantAttempts := map[string]int{"OK-1": 1, "THROTTLE-1": 2, "FLAKY-1": 2, "DOWN-1": 3, "BAD-1": 1, "OK-2": 1}
	for ctrl, n := range wantAttempts {
		as := srv.attemptsOf(ctrl)
		if len(as) != n {
			t.Errorf("%s: the server got %d attempts, want %d", ctrl, len(as), n)
			continue
		}
		if typ, mrns, err := bundlePatients(as[0].body); err != nil || typ != "transaction" || len(mrns) != 1 || mrns[0] != mrn[ctrl] {
			t.Errorf("%s: posted %q Bundle for patients %v (err %v), want a transaction for %s", ctrl, typ, mrns, err, mrn[ctrl])
		}
		for _, a := range as[1:] {
			if !bytes.Equal(a.body, as[0].body) || a.idemKey != as[0].idemKey {
				t.Errorf("%s: a retry differs from the first attempt", ctrl)
			}
		}
	}
	// The engine waited the Retry-After (1 s), not its own backoff (at
	// most 50 ms).
	if as := srv.attemptsOf("THROTTLE-1"); len(as) == 2 {
		if gap := as[1].at.Sub(as[0].at); gap < 950*time.Millisecond {
			t.Errorf("retry %v after a 429 with Retry-After: 1", gap)
		}
	}
	srv.check(t)

	// The metrics agree: 4 delivered; retried THROTTLE and FLAKY once,
	// DOWN twice; 2 dead.
	for result, want := range map[string]int{"delivered": 4, "retried": 4, "dead": 2} {
		if got := te.deliveries(t, "ehr", result); got != want {
			t.Errorf("plexus_deliveries_total{ehr, %s} = %d, want %d", result, got, want)
		}
	}
	if n := te.outboxPending(t, "ehr"); n != 0 {
		t.Errorf("outbox of ehr: %d pending", n)
	}
	var dead []struct {
		Dest, Route string
		Seq         uint64
	}
	getJSON(t, te.admin.URL+"/api/dead-letters?destination=ehr", &dead)
	if len(dead) != 2 || dead[0].Seq != seq("DOWN-1") || dead[1].Seq != seq("BAD-1") {
		t.Errorf("dead letters %+v, want DOWN-1 and BAD-1", dead)
	}
}

// badOutcome is what the server answers a 400 with. Its diagnostics quote
// patient data, as real servers' do.
const badOutcome = `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"invalid",` +
	`"diagnostics":"birth date of DOE^JANE is not valid","expression":["Patient.birthDate"]}]}`

// fhirServer is a FHIR server over HTTP that checks every request as a
// server would (method, path, content type, a transaction Bundle, the
// idempotency key) and answers with the status script gives for the
// message's control id and attempt.
type fhirServer struct {
	*httptest.Server
	path string

	mu       sync.Mutex
	script   func(ctrl string, attempt int) int
	attempts map[string][]fhirAttempt
	problems []string
}

type fhirAttempt struct {
	at      time.Time
	status  int
	idemKey string
	body    []byte
}

func newFHIRServer(t *testing.T, path string, script func(ctrl string, attempt int) int) *fhirServer {
	t.Helper()
	f := &fhirServer{path: path, script: script, attempts: map[string][]fhirAttempt{}}
	f.Server = httptest.NewServer(f)
	t.Cleanup(f.Close)
	return f
}

func (f *fhirServer) problem(format string, args ...any) {
	f.mu.Lock()
	f.problems = append(f.problems, fmt.Sprintf(format, args...))
	f.mu.Unlock()
}

func (f *fhirServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	at := time.Now()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		f.problem("read body: %v", err)
		return
	}
	outcome := func(status int, code, text string) {
		w.Header().Set("Content-Type", channels.ContentFHIR)
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":%q,"diagnostics":%q}]}`, code, text)
	}
	if r.Method != http.MethodPost || r.URL.Path != f.path || r.URL.RawQuery != "" {
		f.problem("%s %s, want POST %s", r.Method, r.URL, f.path)
		outcome(http.StatusNotFound, "not-supported", "no such endpoint")
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != channels.ContentFHIR {
		f.problem("Content-Type %q", ct)
		outcome(http.StatusUnsupportedMediaType, "not-supported", "not FHIR JSON")
		return
	}
	var b struct {
		ResourceType string `json:"resourceType"`
		Type         string `json:"type"`
		Entry        []struct {
			Request *struct {
				Method string `json:"method"`
				URL    string `json:"url"`
			} `json:"request"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(body, &b); err != nil || b.ResourceType != "Bundle" || b.Type != "transaction" || len(b.Entry) == 0 {
		f.problem("not a transaction Bundle with entries: %.100s (%v)", body, err)
		outcome(http.StatusBadRequest, "invalid", "not a transaction Bundle")
		return
	}
	for i, e := range b.Entry {
		if e.Request == nil || e.Request.Method == "" || e.Request.URL == "" {
			f.problem("entry %d has no request", i)
		}
	}
	// Plexus sends the idempotency key, sender|facility|MSH-10, in both.
	key := r.Header.Get("Idempotency-Key")
	if x := r.Header.Get("X-Request-Id"); x != key || !strings.HasPrefix(key, "EPIC|HOSP|") {
		f.problem("Idempotency-Key %q, X-Request-Id %q", key, x)
	}
	ctrl := strings.TrimPrefix(key, "EPIC|HOSP|")

	f.mu.Lock()
	status := f.script(ctrl, len(f.attempts[ctrl])+1)
	f.attempts[ctrl] = append(f.attempts[ctrl], fhirAttempt{at: at, status: status, idemKey: key, body: body})
	f.mu.Unlock()

	switch status {
	case http.StatusOK, http.StatusCreated:
		// A transaction-response: one entry per entry, as a server answers
		// when it applied them all.
		var resp strings.Builder
		resp.WriteString(`{"resourceType":"Bundle","type":"transaction-response","entry":[`)
		for i := range b.Entry {
			if i > 0 {
				resp.WriteByte(',')
			}
			resp.WriteString(`{"response":{"status":"201 Created"}}`)
		}
		resp.WriteString(`]}`)
		w.Header().Set("Content-Type", channels.ContentFHIR)
		w.WriteHeader(status)
		io.WriteString(w, resp.String())
	case http.StatusTooManyRequests:
		w.Header().Set("Retry-After", "1")
		outcome(status, "throttled", "slow down")
	case http.StatusBadRequest:
		w.Header().Set("Content-Type", channels.ContentFHIR)
		w.WriteHeader(status)
		io.WriteString(w, badOutcome)
	default:
		outcome(status, "exception", http.StatusText(status))
	}
}

// attemptsOf returns the requests received for control id ctrl.
func (f *fhirServer) attemptsOf(ctrl string) []fhirAttempt {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.attempts[ctrl])
}

// accepted returns the control ids the server answered 2xx at least once.
func (f *fhirServer) accepted() map[string]bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	ok := map[string]bool{}
	for ctrl, as := range f.attempts {
		for _, a := range as {
			if a.status/100 == 2 {
				ok[ctrl] = true
			}
		}
	}
	return ok
}

// check fails the test for every malformed request the server got.
func (f *fhirServer) check(t *testing.T) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.problems {
		t.Errorf("FHIR server: %s", p)
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// One patient's message that the server keeps refusing with a retryable
// status (a 500 from a server bug that this message triggers, a 409 from a
// lock that never clears) holds up that patient, by design: its later
// messages must wait to stay in order. Other patients must not wait.
//
// (It failed with the first outbox runner, whose workers slept out the
// backoff: about 130 of the 300 were delivered, then nothing moved.)
func TestE2EFHIRStuckPatientDoesNotBlockOthers(t *testing.T) {
	srv := newFHIRServer(t, "/fhir", func(ctrl string, _ int) int {
		if ctrl == "STUCK" {
			return http.StatusInternalServerError
		}
		return http.StatusCreated
	})
	routes := routesFrom(t, "fhir.routes.yaml", map[string]string{"BaseURL": srv.URL + "/fhir"})
	// max_attempts 0, as DefaultRetry ships: no dead letter before
	// max_age (72 h), so only the engine can keep the others moving
	routes = strings.Replace(routes, "max_attempts: 3", "max_attempts: 0", 1)
	te := start(t, t.TempDir(), routes)

	cl := mllp.NewClient(te.addr, mllp.ClientOptions{})
	defer cl.Close()
	if code, _ := send(t, cl, adt("STUCK", "A01", "MRN-STUCK")); code != "AA" {
		t.Fatalf("ACK %s", code)
	}
	const others = 300
	var conns [][][]byte
	for c := range 3 {
		var msgs [][]byte
		for i := range others / 3 {
			msgs = append(msgs, adt(fmt.Sprintf("O%d-%03d", c, i), "A08", fmt.Sprintf("MRN-%d", (c*7+i)%40)))
		}
		conns = append(conns, msgs)
	}
	sendConns(t, te.addr, conns)
	eventually(t, 5*time.Second, "the other patients' messages delivered", func() (bool, string) {
		n := len(srv.accepted())
		return n == others, fmt.Sprintf("%d of %d delivered; STUCK tried %d times", n, others, len(srv.attemptsOf("STUCK")))
	})
}
