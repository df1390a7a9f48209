package fhir

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plexus-hl7/plexus/channels"
)

func TestTransactionPostsBundle(t *testing.T) {
	t.Setenv("PLEXUS_TEST_TENANT", "north")
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		answer(w, http.StatusOK, txResponse)
	})
	d := open(t, "base_url: "+f.URL+"/fhir/\nheaders: { X-Tenant: \"${PLEXUS_TEST_TENANT}\", X-Static: one }\n", "")
	m := msg(txBundle)
	if err := d.Deliver(context.Background(), m); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	reqs := f.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.Method != http.MethodPost || r.Path != "/fhir" || r.Query != "" {
		t.Errorf("request %s %s?%s, want POST /fhir (base_url's trailing slash dropped)", r.Method, r.Path, r.Query)
	}
	for k, want := range map[string]string{
		"Content-Type":    "application/fhir+json",
		"Accept":          "application/fhir+json",
		"Prefer":          "return=minimal",
		"X-Request-Id":    m.IdempotencyKey,
		"Idempotency-Key": m.IdempotencyKey,
		"X-Tenant":        "north",
		"X-Static":        "one",
		"Authorization":   "",
	} {
		if got := r.Header.Get(k); got != want {
			t.Errorf("header %s: %q, want %q", k, got, want)
		}
	}
	// A Bundle of the mode's type goes byte for byte.
	if string(r.Body) != txBundle {
		t.Errorf("posted body differs from the Bundle:\n%s", r.Body)
	}
}

func TestBundleTypeSetForMode(t *testing.T) {
	const collection = `{"resourceType":"Bundle","id":"b2","type":"collection","entry":[` +
		`{"fullUrl":"urn:uuid:p1","resource":{"resourceType":"Patient","id":"p1","text":{"div":"<div>a & b</div>"}}},` +
		`{"resource":{"resourceType":"Observation","valueQuantity":{"value":1.50}}},` +
		`{"resource":{"resourceType":"Patient","id":"p2"},"request":{"method":"PUT","url":"Patient?identifier=a|b&active=true"}}]}`
	for _, mode := range []string{ModeTransaction, ModeBatch} {
		t.Run(mode, func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
				answer(w, http.StatusOK, `{"resourceType":"Bundle","type":"`+mode+`-response","entry":[{"response":{"status":"200"}},{"response":{"status":"201"}},{"response":{"status":"200"}}]}`)
			})
			d := open(t, "base_url: "+f.URL+"/fhir\nmode: "+mode+"\n", "")
			if err := d.Deliver(context.Background(), msg(collection)); err != nil {
				t.Fatalf("Deliver: %v", err)
			}
			body := string(f.requests()[0].Body)
			want := `{"resourceType":"Bundle","id":"b2","type":"` + mode + `","entry":[` +
				`{"fullUrl":"urn:uuid:p1","resource":{"resourceType":"Patient","id":"p1","text":{"div":"<div>a & b</div>"}},"request":{"method":"PUT","url":"Patient/p1"}},` +
				`{"resource":{"resourceType":"Observation","valueQuantity":{"value":1.50}},"request":{"method":"POST","url":"Observation"}},` +
				`{"resource":{"resourceType":"Patient","id":"p2"},"request":{"method":"PUT","url":"Patient?identifier=a|b&active=true"}}]}`
			if body != want {
				t.Errorf("posted\n%s\nwant\n%s", body, want)
			}
		})
	}
}

func TestClassification(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	html := "<html>Please log in</html>"
	tests := []struct {
		name      string
		status    int
		header    map[string]string
		body      string
		permanent bool
		retry     time.Duration // RetryAfter's wait, 0 for none
		ok        bool
		text      string // in the error text
	}{
		{name: "200", status: 200, body: txResponse, ok: true},
		{name: "201 no body", status: 201, ok: true},
		{name: "200 html", status: 200, header: map[string]string{"Content-Type": "text/html"}, body: html, text: "not a FHIR Bundle"},
		{name: "429 seconds", status: 429, header: map[string]string{"Retry-After": "7"}, body: oo400, retry: 7 * time.Second, text: "429"},
		{name: "503 date", status: 503, header: map[string]string{"Retry-After": now.Add(90 * time.Second).Format(http.TimeFormat)}, retry: 90 * time.Second, text: "503"},
		{name: "503 past date", status: 503, header: map[string]string{"Retry-After": now.Add(-time.Minute).Format(http.TimeFormat)}, text: "503"},
		{name: "503 bare", status: 503, text: "503 Service Unavailable"},
		{name: "429 garbage", status: 429, header: map[string]string{"Retry-After": "soon"}, text: "429"},
		{name: "500", status: 500, body: `{"resourceType":"OperationOutcome","issue":[{"severity":"fatal","code":"exception"}]}`, text: "500 Internal Server Error [fatal/exception]"},
		{name: "502", status: 502, text: "502"},
		{name: "408", status: 408, text: "408"},
		{name: "409", status: 409, text: "409"},
		{name: "400", status: 400, body: oo400, permanent: true, text: "400 Bad Request [error/invalid at Patient.birthDate]"},
		{name: "404", status: 404, permanent: true, text: "404"},
		{name: "422", status: 422, body: oo400, permanent: true, text: "422"},
		{name: "401 no auth", status: 401, permanent: true, text: "401"},
		{name: "302", status: 302, header: map[string]string{"Location": "https://elsewhere.example.org/fhir?x=secret"}, permanent: true, text: `redirected to "https://elsewhere.example.org/fhir"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				if tt.header["Content-Type"] == "" && tt.body != "" {
					w.Header().Set("Content-Type", "application/fhir+json")
				}
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			})
			d := open(t, "base_url: "+f.URL+"/fhir\n", "")
			d.now = func() time.Time { return now }
			err := d.Deliver(context.Background(), msg(txBundle))
			if n := len(f.requests()); n != 1 {
				t.Errorf("%d requests, want 1 (no redirect followed, no resend)", n)
			}
			if tt.ok {
				if err != nil {
					t.Fatalf("Deliver: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Deliver succeeded")
			}
			if channels.IsPermanent(err) != tt.permanent {
				t.Errorf("permanent %v, want %v: %v", channels.IsPermanent(err), tt.permanent, err)
			}
			wait, has := channels.RetryDelay(err)
			if wait != tt.retry || has != (tt.retry > 0) {
				t.Errorf("RetryDelay %v %v, want %v: %v", wait, has, tt.retry, err)
			}
			if (tt.permanent || tt.retry > 0) && string(channels.Detail(err)) != tt.body {
				t.Errorf("Detail %q, want the body %q", channels.Detail(err), tt.body)
			}
			if !strings.Contains(err.Error(), tt.text) {
				t.Errorf("error %q does not contain %q", err, tt.text)
			}
			// Diagnostics quote patient data; error texts go to logs.
			if strings.Contains(err.Error(), "Everyman") || strings.Contains(err.Error(), "secret") {
				t.Errorf("error text leaks data: %v", err)
			}
		})
	}
}

func TestBatchResponse(t *testing.T) {
	entries := func(statuses ...string) string {
		var es []string
		for _, s := range statuses {
			es = append(es, `{"response":{"status":"`+s+`","outcome":`+oo400+`}}`)
		}
		return `{"resourceType":"Bundle","type":"batch-response","entry":[` + strings.Join(es, ",") + `]}`
	}
	tests := []struct {
		name      string
		body      string
		ok        bool
		permanent bool
		text      string
	}{
		{name: "all stored", body: entries("200 OK", "201 Created", "201"), ok: true},
		{name: "one refused", body: entries("200 OK", "400 Bad Request", "201 Created"), permanent: true,
			text: "1 of 3 entries failed: entry 2 (PUT Patient?identifier=…): 400 Bad Request [error/invalid at Patient.birthDate]"},
		{name: "one refused one busy", body: entries("503 Service Unavailable", "400 Bad Request", "201 Created"), text: "2 of 3 entries failed"},
		{name: "no status", body: `{"resourceType":"Bundle","type":"batch-response","entry":[{},{"response":{"status":"200"}},{"response":{"status":"200"}}]}`,
			permanent: true, text: "entry 1 (PUT Encounter/e1): no response.status"},
		{name: "too few entries", body: entries("200"), permanent: true, text: "1 entries for the 3 sent"},
		{name: "empty body", body: "", text: "empty body"},
		{name: "not a bundle", body: oo400, text: "not a FHIR Bundle"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
				answer(w, http.StatusOK, tt.body)
			})
			d := open(t, "base_url: "+f.URL+"/fhir\nmode: batch\n", "")
			err := d.Deliver(context.Background(), msg(strings.Replace(txBundle, `"type":"transaction"`, `"type":"batch"`, 1)))
			if tt.ok {
				if err != nil {
					t.Fatalf("Deliver: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Deliver succeeded")
			}
			if channels.IsPermanent(err) != tt.permanent {
				t.Errorf("permanent %v, want %v: %v", channels.IsPermanent(err), tt.permanent, err)
			}
			if tt.permanent && string(channels.Detail(err)) != tt.body {
				t.Errorf("Detail is not the batch-response: %q", channels.Detail(err))
			}
			if !strings.Contains(err.Error(), tt.text) {
				t.Errorf("error %q does not contain %q", err, tt.text)
			}
			if strings.Contains(err.Error(), "1.2.3") || strings.Contains(err.Error(), "Everyman") {
				t.Errorf("error text leaks identifiers: %v", err)
			}
		})
	}
}

func TestTransactionResponseEntriesChecked(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		answer(w, http.StatusOK, `{"resourceType":"Bundle","type":"transaction-response","entry":[{"response":{"status":"200"}},{"response":{"status":"422 Unprocessable Entity"}},{"response":{"status":"201"}}]}`)
	})
	d := open(t, "base_url: "+f.URL+"/fhir\n", "")
	err := d.Deliver(context.Background(), msg(txBundle))
	if !channels.IsPermanent(err) || !strings.Contains(err.Error(), "entry 2") {
		t.Errorf("a transaction-response with a failed entry: %v", err)
	}
}

func TestRefusedBeforeSending(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		answer(w, http.StatusOK, txResponse)
	})
	d := open(t, "base_url: "+f.URL+"/fhir\n", "")
	raw := msg("MSH|^~\\&|EPIC|GOOD HEALTH|||20250301||ADT^A01|MSG00001|P|2.5\r")
	raw.ContentType = channels.ContentHL7v2
	for name, m := range map[string]*channels.Message{
		"raw v2":       raw,
		"not JSON":     msg("{"),
		"not a Bundle": msg(`{"resourceType":"Patient","id":"p1"}`),
		"no resource":  msg(`{"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"urn:uuid:x"}]}`),
	} {
		err := d.Deliver(context.Background(), m)
		if !channels.IsPermanent(err) {
			t.Errorf("%s: %v, want a permanent error", name, err)
		}
		if name == "raw v2" && !strings.Contains(err.Error(), "raw HL7 v2") {
			t.Errorf("raw v2: unclear error %q", err)
		}
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("%d requests sent for messages that cannot be delivered", n)
	}
}

func TestContextCancel(t *testing.T) {
	arrived := make(chan struct{}, 1)
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		arrived <- struct{}{}
		<-r.Context().Done() // hold the request until the client gives up
	})
	d := open(t, "base_url: "+f.URL+"/fhir\n", "")
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-arrived
		cancel()
	}()
	err := d.Deliver(ctx, msg(txBundle))
	if !errors.Is(err, context.Canceled) || channels.IsPermanent(err) {
		t.Errorf("Deliver after cancel: %v, want context.Canceled, retryable", err)
	}
	// An already cancelled ctx sends nothing.
	if err := d.Deliver(ctx, msg(txBundle)); !errors.Is(err, context.Canceled) {
		t.Errorf("Deliver with a cancelled ctx: %v", err)
	}
	if n := len(f.requests()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestTimeout(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		<-r.Context().Done()
	})
	d := open(t, "base_url: "+f.URL+"/fhir\ntimeout: 50ms\n", "")
	err := d.Deliver(context.Background(), msg(txBundle))
	if !errors.Is(err, context.DeadlineExceeded) || channels.IsPermanent(err) {
		t.Errorf("Deliver to a server that does not answer: %v, want a retryable deadline error", err)
	}
}

func TestResponseBodyBounded(t *testing.T) {
	big := `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"invalid","diagnostics":"` + strings.Repeat("x", 2*maxBody) + `"}]}`
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		answer(w, http.StatusBadRequest, big)
	})
	d := open(t, "base_url: "+f.URL+"/fhir\n", "")
	err := d.Deliver(context.Background(), msg(txBundle))
	if !channels.IsPermanent(err) || len(channels.Detail(err)) != maxBody {
		t.Errorf("permanent %v, detail %d bytes, want %d", channels.IsPermanent(err), len(channels.Detail(err)), maxBody)
	}
}

func TestIdempotencyKeyHeaders(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		answer(w, http.StatusOK, txResponse)
	})
	m := msg(txBundle)
	m.IdempotencyKey = "SEND\r\nAPP|Faciliät|100%"
	d := open(t, "base_url: "+f.URL+"/fhir\nidempotency_header: X-Idempotency-Key\n", "")
	if err := d.Deliver(context.Background(), m); err != nil {
		t.Fatalf("Deliver with odd bytes in the key: %v", err)
	}
	h := f.requests()[0].Header
	const want = "SEND%0D%0AAPP|Facili%C3%A4t|100%25"
	if h.Get("X-Request-Id") != want || h.Get("X-Idempotency-Key") != want || h.Get("Idempotency-Key") != "" {
		t.Errorf("headers %q %q %q, want %q in X-Request-Id and X-Idempotency-Key only", h.Get("X-Request-Id"), h.Get("X-Idempotency-Key"), h.Get("Idempotency-Key"), want)
	}

	d = open(t, "base_url: "+f.URL+"/fhir\nidempotency_header: \"\"\n", "")
	if err := d.Deliver(context.Background(), msg(txBundle)); err != nil {
		t.Fatal(err)
	}
	if h := f.requests()[1].Header; h.Get("Idempotency-Key") != "" || h.Get("X-Request-Id") == "" {
		t.Errorf("idempotency_header \"\": headers %v", h)
	}
}

func TestConnectionReuse(t *testing.T) {
	var conns atomic.Int32
	f := startFake(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		answer(w, http.StatusOK, txResponse)
	}, false, func(s *http.Server) {
		s.ConnState = func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				conns.Add(1)
			}
		}
	})
	d := open(t, "base_url: "+f.URL+"/fhir\n", "")
	for range 5 {
		if err := d.Deliver(context.Background(), msg(txBundle)); err != nil {
			t.Fatal(err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections for 5 sequential deliveries, want 1", n)
	}
}

func TestOutcomeSummary(t *testing.T) {
	var many strings.Builder
	many.WriteString(`{"resourceType":"OperationOutcome","issue":[`)
	for i := range 5 {
		if i > 0 {
			many.WriteString(",")
		}
		many.WriteString(`{"severity":"error","code":"required","location":["Patient.name"]}`)
	}
	many.WriteString("]}")
	if got := outcomeSuffix([]byte(many.String())); got != " [error/required at Patient.name; error/required at Patient.name; error/required at Patient.name; 2 more]" {
		t.Errorf("summary %q", got)
	}
	for _, b := range []string{"", "<html/>", `{"resourceType":"Patient"}`} {
		if got := outcomeSuffix([]byte(b)); got != "" {
			t.Errorf("summary of %q: %q", b, got)
		}
	}
}
