package fhir

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/plexus-hl7/plexus/channels"
)

// maxBody bounds how much of an answer is read: enough for any
// OperationOutcome and for a transaction-response of thousands of entries
// (we ask for return=minimal), and a bound on what a broken server can make
// us hold in memory.
const maxBody = 1 << 20

// exchange is one HTTP request to the FHIR server.
type exchange struct {
	method, url string
	body        []byte // nil for DELETE
	// what names the request in errors, without PHI.
	what string
	// requestID goes in X-Request-Id, idemKey in the idempotency header.
	requestID, idemKey string
	// header holds per-request headers (If-None-Exist, If-Match, ...).
	header http.Header
}

// reply is the server's answer, its body read (up to maxBody) and closed.
type reply struct {
	code      int
	status    string // "400 Bad Request"
	header    http.Header
	body      []byte
	truncated bool  // the body was longer than maxBody
	readErr   error // the body broke off
}

// roundTrip sends x and returns the server's answer whatever its status;
// the error is for no answer at all (network, timeout, ctx, credentials),
// which the engine retries. On a 401 it asks the authorizer for a fresh
// credential and sends once more, in case the token was revoked or expired
// early.
func (d *destination) roundTrip(ctx context.Context, x *exchange) (*reply, error) {
	for retried := false; ; retried = true {
		cred, err := d.auth.authorization(ctx)
		if err != nil {
			return nil, fmt.Errorf("fhir: %s: credentials: %w", x.what, err)
		}
		r, err := d.send(ctx, x, cred)
		if err != nil {
			return nil, err
		}
		if r.code == http.StatusUnauthorized && !retried && cred != "" && d.auth.refused(cred) {
			d.log.Debug("fhir: 401, fetching a new credential", "request", x.what)
			continue
		}
		return r, nil
	}
}

// send makes one HTTP exchange within the destination's timeout.
func (d *destination) send(ctx context.Context, x *exchange, cred string) (*reply, error) {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	var body io.Reader
	if x.body != nil {
		body = bytes.NewReader(x.body)
	}
	req, err := http.NewRequestWithContext(ctx, x.method, x.url, body)
	if err != nil {
		return nil, channels.Permanent(fmt.Errorf("fhir: %s: %w", x.what, err), nil)
	}
	for k, v := range d.headers {
		req.Header[k] = v
	}
	for k, v := range x.header {
		req.Header[k] = v
	}
	req.Header.Set("Accept", channels.ContentFHIR)
	if x.body != nil {
		req.Header.Set("Content-Type", channels.ContentFHIR)
	}
	// Only the status, Location and issues are read back: skip the
	// resources the server would otherwise echo.
	req.Header.Set("Prefer", "return=minimal")
	if x.requestID != "" {
		req.Header.Set("X-Request-Id", headerSafe(x.requestID))
	}
	if d.idemHdr != "" && x.idemKey != "" {
		req.Header.Set(d.idemHdr, headerSafe(x.idemKey))
	}
	if cred != "" {
		req.Header.Set("Authorization", cred)
	}
	resp, err := d.client.Do(req)
	if err != nil {
		// *url.Error repeats the URL, whose conditional query holds
		// patient identifiers: keep only the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("fhir: %s: %w", x.what, err)
	}
	defer resp.Body.Close()
	r := &reply{code: resp.StatusCode, status: resp.Status, header: resp.Header}
	r.body, r.readErr = io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if len(r.body) > maxBody {
		// Closing an unread body drops the connection instead of reusing
		// it: fine for an answer this rare.
		r.body, r.truncated = r.body[:maxBody], true
	}
	return r, nil
}

// headerSafe makes an idempotency key (sending application, facility and
// MSH-10, any bytes the sender chose) fit in a header: bytes outside
// printable ASCII and % are %-escaped. net/http would refuse the request
// otherwise, and the refusal would be retried for ever.
func headerSafe(s string) string {
	clean := true
	for i := 0; i < len(s) && clean; i++ {
		clean = s[i] >= 0x20 && s[i] < 0x7f && s[i] != '%'
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 0x20 && c < 0x7f && c != '%' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
