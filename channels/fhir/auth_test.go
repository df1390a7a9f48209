package fhir

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plexus-hl7/plexus/channels"
)

// tokenServer is a fake FHIR server with an OAuth token endpoint at
// /token. The FHIR side accepts only the newest token issued (or, with
// accept set, only that one); check vets each token request.
type tokenServer struct {
	*fakeServer
	issued atomic.Int32
	accept atomic.Value // string: the one token the FHIR side takes; "" means the newest issued
	check  func(r *http.Request) error
}

func newTokenServer(t *testing.T, check func(r *http.Request) error) *tokenServer {
	ts := &tokenServer{check: check}
	ts.accept.Store("")
	ts.fakeServer = newFake(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		if r.URL.Path == "/token" {
			ts.token(w, r)
			return
		}
		want := ts.accept.Load().(string)
		if want == "" {
			want = fmt.Sprintf("tok-%d", ts.issued.Load())
		}
		if r.Header.Get("Authorization") != "Bearer "+want {
			answer(w, http.StatusUnauthorized, `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"login"}]}`)
			return
		}
		answer(w, http.StatusOK, txResponse)
	})
	return ts
}

func (ts *tokenServer) token(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		http.Error(w, `{"error":"invalid_request"}`, http.StatusBadRequest)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, `{"error":"invalid_request"}`, http.StatusBadRequest)
		return
	}
	if err := ts.check(r); err != nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, `{"error":"invalid_client","error_description":%q}`, err.Error())
		return
	}
	n := ts.issued.Add(1)
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"access_token":"tok-%d","token_type":"bearer","expires_in":3600}`, n)
}

// counts returns how many token and FHIR requests the server received.
func (ts *tokenServer) counts() (token, fhir int) {
	for _, r := range ts.requests() {
		if r.Path == "/token" {
			token++
		} else {
			fhir++
		}
	}
	return token, fhir
}

// clientSecretCheck vets a client_credentials token request with the
// client authenticated as HTTP Basic (form: false) or by form fields.
func clientSecretCheck(form bool) func(r *http.Request) error {
	return func(r *http.Request) error {
		if g := r.PostForm.Get("grant_type"); g != "client_credentials" {
			return fmt.Errorf("grant_type %q", g)
		}
		if s := r.PostForm.Get("scope"); s != "system/*.write system/*.read" {
			return fmt.Errorf("scope %q", s)
		}
		user, pw, basic := r.BasicAuth()
		if form {
			if basic {
				return fmt.Errorf("this endpoint takes the secret in the form only")
			}
			user, pw = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
		}
		if user != "plexus" || pw != "s3cret" {
			return fmt.Errorf("client %q/%q", user, pw)
		}
		return nil
	}
}

func TestBearerAndBasic(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pw"), []byte("hunter2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PLEXUS_TEST_TOKEN", "abc")
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		u, p, ok := r.BasicAuth()
		if r.Header.Get("Authorization") == "Bearer abc" || ok && u == "plexus" && p == "hunter2" {
			answer(w, http.StatusOK, txResponse)
			return
		}
		answer(w, http.StatusUnauthorized, "")
	})
	for _, auth := range []string{
		`{ type: bearer, token: "${PLEXUS_TEST_TOKEN}" }`,
		`{ type: basic, username: plexus, password_file: pw }`,
	} {
		d := open(t, "base_url: "+f.URL+"/fhir\nauth: "+auth+"\n", dir)
		if err := d.Deliver(context.Background(), msg(txBundle)); err != nil {
			t.Errorf("auth %s: %v", auth, err)
		}
	}
	// A refused static credential is not sent twice.
	d := open(t, "base_url: "+f.URL+"/fhir\nauth: { type: bearer, token: wrong }\n", dir)
	before := len(f.requests())
	if err := d.Deliver(context.Background(), msg(txBundle)); !channels.IsPermanent(err) {
		t.Errorf("refused bearer token: %v, want permanent", err)
	}
	if n := len(f.requests()) - before; n != 1 {
		t.Errorf("refused static token sent %d times", n)
	}
}

func TestBearerTokenFileReadAgainOn401(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "token")
	if err := os.WriteFile(file, []byte("old\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		if r.Header.Get("Authorization") != "Bearer new" {
			answer(w, http.StatusUnauthorized, "")
			return
		}
		answer(w, http.StatusOK, txResponse)
	})
	d := open(t, "base_url: "+f.URL+"/fhir\nauth: { type: bearer, token_file: token }\n", dir)
	// A sidecar rotates the token after Open read it.
	if err := os.WriteFile(file, []byte("new\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := d.Deliver(context.Background(), msg(txBundle)); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	reqs := f.requests()
	if len(reqs) != 2 || reqs[0].Header.Get("Authorization") != "Bearer old" || reqs[1].Header.Get("Authorization") != "Bearer new" {
		t.Errorf("requests: %d, want 401 with the old token then 200 with the new", len(reqs))
	}
	// The 401 resend carries the same message, idempotency key included.
	if string(reqs[1].Body) != string(reqs[0].Body) || reqs[1].Header.Get("Idempotency-Key") != reqs[0].Header.Get("Idempotency-Key") {
		t.Error("the resend differs from the first request")
	}
}

func TestClientCredentials(t *testing.T) {
	ts := newTokenServer(t, clientSecretCheck(false))
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "secret"), []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d := open(t, "base_url: "+ts.URL+"/fhir\nauth: { type: client_credentials, token_url: \""+ts.URL+"/token\", client_id: plexus, client_secret_file: secret, scope: \"system/*.write system/*.read\" }\n", dir)
	deliver := func() {
		t.Helper()
		if err := d.Deliver(context.Background(), msg(txBundle)); err != nil {
			t.Fatalf("Deliver: %v", err)
		}
	}
	for range 3 {
		deliver()
	}
	if tok, fhir := ts.counts(); tok != 1 || fhir != 3 {
		t.Errorf("%d token and %d FHIR requests, want the token cached: 1 and 3", tok, fhir)
	}

	// The server revokes the token: one 401, one new token, one resend.
	ts.accept.Store("tok-2")
	deliver()
	if tok, fhir := ts.counts(); tok != 2 || fhir != 5 {
		t.Errorf("after revocation: %d token and %d FHIR requests, want 2 and 5", tok, fhir)
	}
	ts.accept.Store("")

	// Shortly before it expires (3600 s), the token is replaced unasked.
	d.now = func() time.Time { return time.Now().Add(3590 * time.Second) }
	deliver()
	if tok, fhir := ts.counts(); tok != 3 || fhir != 6 {
		t.Errorf("near expiry: %d token and %d FHIR requests, want 3 and 6 (no 401)", tok, fhir)
	}
	d.now = time.Now

	// A server that refuses every token: one resend, then permanent.
	ts.accept.Store("never")
	err := d.Deliver(context.Background(), msg(txBundle))
	if !channels.IsPermanent(err) || !strings.Contains(err.Error(), "401") {
		t.Errorf("refused token: %v", err)
	}
	if tok, fhir := ts.counts(); tok != 4 || fhir != 8 {
		t.Errorf("refused token: %d token and %d FHIR requests, want 4 and 8", tok, fhir)
	}
}

func TestClientCredentialsSecretInForm(t *testing.T) {
	t.Setenv("PLEXUS_TEST_SECRET", "s3cret")
	ts := newTokenServer(t, clientSecretCheck(true))
	d := open(t, "base_url: "+ts.URL+"/fhir\nauth: { type: client_credentials, token_url: \""+ts.URL+"/token\", client_id: plexus, client_secret: \"${PLEXUS_TEST_SECRET}\", scope: \"system/*.write system/*.read\" }\n", "")
	for range 2 {
		if err := d.Deliver(context.Background(), msg(txBundle)); err != nil {
			t.Fatalf("Deliver to an endpoint that wants the secret in the form: %v", err)
		}
	}
	// The first token request tries HTTP Basic, the second the form; the
	// cached token serves the second delivery.
	if tok, fhir := ts.counts(); tok != 2 || fhir != 2 {
		t.Errorf("%d token and %d FHIR requests, want 2 and 2", tok, fhir)
	}
}

func TestTokenEndpointRefuses(t *testing.T) {
	ts := newTokenServer(t, func(*http.Request) error { return fmt.Errorf("unknown client") })
	t.Setenv("PLEXUS_TEST_SECRET", "s3cret")
	d := open(t, "base_url: "+ts.URL+"/fhir\nauth: { type: client_credentials, token_url: \""+ts.URL+"/token\", client_id: plexus, client_secret: \"${PLEXUS_TEST_SECRET}\" }\n", "")
	err := d.Deliver(context.Background(), msg(txBundle))
	if err == nil || channels.IsPermanent(err) || !strings.Contains(err.Error(), "invalid_client") {
		t.Errorf("token endpoint refusing: %v, want a retryable error naming invalid_client", err)
	}
	if _, fhir := ts.counts(); fhir != 0 {
		t.Errorf("%d FHIR requests without a token", fhir)
	}
}

func TestConcurrentDeliveriesShareOneToken(t *testing.T) {
	var once sync.Once
	check := clientSecretCheck(false)
	ts := newTokenServer(t, func(r *http.Request) error {
		// Hold the first token request a moment so that the other
		// deliveries pile up behind it; the count below must hold however
		// they interleave.
		once.Do(func() { time.Sleep(20 * time.Millisecond) })
		return check(r)
	})
	t.Setenv("PLEXUS_TEST_SECRET", "s3cret")
	d := open(t, "base_url: "+ts.URL+"/fhir\nauth: { type: client_credentials, token_url: \""+ts.URL+"/token\", client_id: plexus, client_secret: \"${PLEXUS_TEST_SECRET}\", scope: \"system/*.write system/*.read\" }\n", "")
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() { errs <- d.Deliver(context.Background(), msg(txBundle)) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if tok, fhir := ts.counts(); tok != 1 || fhir != 16 {
		t.Errorf("%d token and %d FHIR requests, want 1 and 16", tok, fhir)
	}
}

func TestTokenWaitHonoursContext(t *testing.T) {
	c := newTokenCache(time.Now, func(ctx context.Context) (string, time.Time, error) {
		<-ctx.Done()
		return "", time.Time{}, ctx.Err()
	})
	c.fetching <- struct{}{} // another delivery is fetching
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.authorization(ctx); err != context.Canceled {
		t.Errorf("waiting for a token with a cancelled ctx: %v", err)
	}
}

func TestRefreshTime(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct{ life, early time.Duration }{
		{time.Hour, 30 * time.Second},
		{40 * time.Second, 20 * time.Second},
		{-time.Second, 0},
	} {
		if got := refreshTime(now, now.Add(tt.life)); got != now.Add(tt.life-tt.early) {
			t.Errorf("life %v: refresh at %v, want %v early", tt.life, got.Sub(now), tt.early)
		}
	}
	if !refreshTime(now, time.Time{}).IsZero() {
		t.Error("a token without expiry must be kept until refused")
	}
}
