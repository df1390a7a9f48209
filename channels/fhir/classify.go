package fhir

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/plexus-hl7/plexus/channels"
)

// ok reports a 2xx status.
func ok(status int) bool { return status >= 200 && status < 300 }

// transient reports a status after which the same request may succeed:
// 408 timeout, 409 conflict (servers answer it to two conditional updates
// of one resource racing, e.g. the same Organization from two patients'
// messages), 425 too early, 429 throttled and every 5xx.
func transient(status int) bool {
	switch status {
	case http.StatusRequestTimeout, http.StatusConflict, http.StatusTooEarly, http.StatusTooManyRequests:
		return true
	}
	return status >= 500
}

// statusError classifies a non-2xx answer to the request named what.
//
// The error text holds the status and the OperationOutcome's issue codes
// and element paths, never its diagnostics: those often quote the data
// (names, identifiers), and error texts end up in logs. The whole body goes
// in Detail, which the message browser shows.
func statusError(r *reply, what string, now time.Time) error {
	err := fmt.Errorf("fhir: %s: %s%s", what, r.status, outcomeSuffix(r.body))
	switch {
	case r.code >= 300 && r.code < 400:
		// Redirects are not followed: net/http would turn the POST into a
		// GET and its 200 would count as delivered.
		loc := r.header.Get("Location")
		if u, perr := url.Parse(loc); perr == nil {
			u.RawQuery = "" // a conditional URL's query holds identifiers
			loc = u.String()
		}
		return channels.Permanent(fmt.Errorf("%w: redirected to %q; set base_url to the address the server answers on", err, loc), r.body)
	case r.code == http.StatusTooManyRequests || r.code == http.StatusServiceUnavailable:
		if d, ok := retryAfter(r.header.Get("Retry-After"), now); ok {
			return channels.RetryAfter(err, d, r.body)
		}
		return err
	case transient(r.code):
		return err
	case r.code >= 400 && r.code < 500:
		return channels.Permanent(err, r.body)
	}
	return err // 1xx or unknown: nothing says retrying is useless
}

// retryAfter parses Retry-After as delay-seconds or an HTTP-date. A wait
// of zero or a date already past gives false: the engine's own backoff is
// then a better guess than retrying at once.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseUint(v, 10, 32); err == nil {
		return time.Duration(secs) * time.Second, secs > 0
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d, true
		}
	}
	return 0, false
}

// outcome is what error texts take from an OperationOutcome.
type outcome struct {
	ResourceType string `json:"resourceType"`
	Issue        []struct {
		Severity   string   `json:"severity"`
		Code       string   `json:"code"`
		Expression []string `json:"expression"`
		Location   []string `json:"location"`
	} `json:"issue"`
}

// outcomeSuffix summarizes an OperationOutcome body as
// " [error/invalid at Patient.birthDate; error/required]", or "".
func outcomeSuffix(body []byte) string {
	var oo outcome
	if len(body) == 0 || json.Unmarshal(body, &oo) != nil || oo.ResourceType != "OperationOutcome" {
		return ""
	}
	return summarize(&oo)
}

func summarize(oo *outcome) string {
	const most = 3
	var parts []string
	for i, is := range oo.Issue {
		if i == most {
			parts = append(parts, fmt.Sprintf("%d more", len(oo.Issue)-most))
			break
		}
		p := is.Severity + "/" + is.Code
		if paths := append(is.Expression, is.Location...); len(paths) > 0 {
			p += " at " + strings.Join(paths, ", ")
		}
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		return ""
	}
	return " [" + strings.Join(parts, "; ") + "]"
}
