package fhir

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/plexus-hl7/plexus/channels"
)

// responseBundle is what is read of a transaction-response or batch-response.
type responseBundle struct {
	ResourceType string `json:"resourceType"`
	Type         string `json:"type"`
	Entry        []struct {
		Response *struct {
			Status  string          `json:"status"`
			Outcome json.RawMessage `json:"outcome"`
		} `json:"response"`
	} `json:"entry"`
}

// checkBundleResponse decides about a 2xx answer to a transaction or batch
// Bundle of n entries (sent is the Bundle, to name failed entries).
//
// A transaction is atomic, so its 2xx is decisive: a body that is missing,
// too large or has fewer entries is accepted. Its entries are still checked
// when they are there, in case a server commits partially against the spec.
// A batch is not atomic: only a batch-response with one 2xx entry per entry
// sent counts as delivered.
//
// Either way a 2xx whose body is not a Bundle (a proxy's or login page's 200
// proves nothing was stored) is a retryable error.
func checkBundleResponse(r *reply, mode string, sent []byte, n int) error {
	what := "POST " + mode + " Bundle"
	batch := mode == ModeBatch
	switch {
	case r.truncated:
		if !batch {
			return nil
		}
		// Retrying would truncate again: dead-letter, and let a person look.
		return channels.Permanent(fmt.Errorf("fhir: %s: %s, but the batch-response is larger than %d bytes: cannot tell which entries were stored", what, r.status, maxBody), nil)
	case r.readErr != nil:
		if !batch {
			return nil
		}
		return fmt.Errorf("fhir: %s: %s, but reading the batch-response failed: %w", what, r.status, r.readErr)
	case len(bytes.TrimSpace(r.body)) == 0:
		if !batch {
			return nil
		}
		return fmt.Errorf("fhir: %s: %s with an empty body: cannot tell which entries were stored", what, r.status)
	}
	var rb responseBundle
	if err := json.Unmarshal(r.body, &rb); err != nil || rb.ResourceType != "Bundle" {
		return fmt.Errorf("fhir: %s: %s, but the body (Content-Type %q) is not a FHIR Bundle: nothing says the entries were stored", what, r.status, r.header.Get("Content-Type"))
	}
	if len(rb.Entry) != n {
		if !batch {
			return nil
		}
		return channels.Permanent(fmt.Errorf("fhir: %s: %s, but the batch-response has %d entries for the %d sent", what, r.status, len(rb.Entry), n), r.body)
	}

	var listed []string
	var names []string
	failed, retry := 0, false
	for i, e := range rb.Entry {
		code, text := 0, "no response.status"
		if e.Response != nil {
			code, text = entryStatus(e.Response.Status)
		}
		if ok(code) {
			continue
		}
		failed++
		retry = retry || transient(code)
		if len(listed) == 5 {
			continue
		}
		if names == nil {
			names = requestDescriptions(sent)
		}
		name := ""
		if i < len(names) && names[i] != "" {
			name = " (" + names[i] + ")"
		}
		suffix := ""
		if e.Response != nil {
			suffix = outcomeSuffix(e.Response.Outcome)
		}
		listed = append(listed, fmt.Sprintf("entry %d%s: %s%s", i+1, name, text, suffix))
	}
	if failed == 0 {
		return nil
	}
	if failed > len(listed) {
		listed = append(listed, fmt.Sprintf("%d more", failed-len(listed)))
	}
	err := fmt.Errorf("fhir: %s: %d of %d entries failed: %s", what, failed, n, strings.Join(listed, "; "))
	if retry {
		// Resending the whole Bundle is harmless (conditional updates and
		// deterministic ids), and the entries that failed for good fail
		// again, which then dead-letters the message.
		return err
	}
	return channels.Permanent(err, r.body)
}

// entryStatus reads response.status ("201 Created", or just "201").
func entryStatus(s string) (int, string) {
	s = strings.TrimSpace(s)
	head, _, _ := strings.Cut(s, " ")
	code, err := strconv.Atoi(head)
	if err != nil {
		return 0, fmt.Sprintf("response.status %q", s)
	}
	return code, s
}
