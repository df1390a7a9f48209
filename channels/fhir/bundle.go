package fhir

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// bundleHead is the little of a Bundle that transaction and batch mode need.
type bundleHead struct {
	ResourceType string            `json:"resourceType"`
	Type         string            `json:"type"`
	Entry        []json.RawMessage `json:"entry"`
}

// entry is one Bundle entry as resources mode and the error messages read it.
type entry struct {
	FullURL  string          `json:"fullUrl"`
	Resource json.RawMessage `json:"resource"`
	Request  *entryRequest   `json:"request"`
}

type entryRequest struct {
	Method          string `json:"method"`
	URL             string `json:"url"`
	IfNoneMatch     string `json:"ifNoneMatch,omitempty"`
	IfModifiedSince string `json:"ifModifiedSince,omitempty"`
	IfMatch         string `json:"ifMatch,omitempty"`
	IfNoneExist     string `json:"ifNoneExist,omitempty"`
}

// resourceID is the identity of a resource, read from its JSON.
type resourceID struct {
	ResourceType string `json:"resourceType"`
	ID           string `json:"id"`
}

func readHead(body []byte) (*bundleHead, error) {
	var h bundleHead
	if err := json.Unmarshal(body, &h); err != nil {
		return nil, fmt.Errorf("body is not valid JSON: %w", err)
	}
	if h.ResourceType != "Bundle" {
		return nil, fmt.Errorf("body is a %q resource, not a Bundle", h.ResourceType)
	}
	return &h, nil
}

// prepareBundle returns the Bundle to POST in transaction or batch mode and
// its number of entries. A Bundle of the right type goes as it is. Any other
// type (a route whose map builds a collection or message Bundle, or a batch
// sent to a transaction endpoint) gets the mode as its type, and each entry
// without a request gets the one a server would need: PUT Type/id when the
// resource has an id (replays stay harmless), else POST Type.
func prepareBundle(body []byte, mode string) ([]byte, int, error) {
	h, err := readHead(body)
	if err != nil {
		return nil, 0, err
	}
	if h.Type == mode {
		return body, len(h.Entry), nil
	}
	ms, err := members(body)
	if err != nil {
		return nil, 0, err
	}
	ms = set(ms, "type", json.RawMessage(`"`+mode+`"`), "id")
	if slices.ContainsFunc(ms, func(m member) bool { return m.Key == "entry" }) {
		entries := make([]json.RawMessage, len(h.Entry))
		for i, raw := range h.Entry {
			if entries[i], err = withRequest(raw); err != nil {
				return nil, 0, fmt.Errorf("entry %d: %w", i+1, err)
			}
		}
		ms = set(ms, "entry", encodeArray(entries), "")
	}
	return encodeObject(ms), len(h.Entry), nil
}

// withRequest returns the entry with a request added if it has none.
func withRequest(raw json.RawMessage) (json.RawMessage, error) {
	var e entry
	if err := json.Unmarshal(raw, &e); err != nil {
		return nil, err
	}
	if e.Request != nil {
		return raw, nil
	}
	r, err := defaultRequest(e.Resource)
	if err != nil {
		return nil, err
	}
	ms, err := members(raw)
	if err != nil {
		return nil, err
	}
	rb, err := marshal(r)
	if err != nil {
		return nil, err
	}
	return encodeObject(append(ms, member{"request", rb})), nil
}

// defaultRequest is the request for an entry that came without one.
func defaultRequest(resource json.RawMessage) (*entryRequest, error) {
	if len(resource) == 0 {
		return nil, fmt.Errorf("entry has neither a resource nor a request")
	}
	var id resourceID
	if err := json.Unmarshal(resource, &id); err != nil {
		return nil, fmt.Errorf("resource: %w", err)
	}
	if id.ResourceType == "" {
		return nil, fmt.Errorf("resource has no resourceType")
	}
	if id.ID != "" {
		return &entryRequest{Method: "PUT", URL: id.ResourceType + "/" + url.PathEscape(id.ID)}, nil
	}
	return &entryRequest{Method: "POST", URL: id.ResourceType}, nil
}

// describe names a request for an error message without the search values
// of a conditional URL, which are patient identifiers: logs carry no PHI.
func describe(method, u string) string {
	path, query, found := strings.Cut(u, "?")
	if !found {
		return method + " " + path
	}
	q, err := url.ParseQuery(query)
	if err != nil || len(q) == 0 {
		return method + " " + path + "?…"
	}
	names := make([]string, 0, len(q))
	for k := range q {
		names = append(names, k+"=…")
	}
	slices.Sort(names)
	return method + " " + path + "?" + strings.Join(names, "&")
}

// requestDescriptions describes each entry of the sent Bundle, for the
// error of a failed batch; it is only computed when something failed.
func requestDescriptions(body []byte) []string {
	h, err := readHead(body)
	if err != nil {
		return nil
	}
	out := make([]string, len(h.Entry))
	for i, raw := range h.Entry {
		var e entry
		if json.Unmarshal(raw, &e) != nil {
			continue
		}
		r := e.Request
		if r == nil {
			if r, err = defaultRequest(e.Resource); err != nil {
				continue
			}
		}
		out[i] = describe(strings.ToUpper(r.Method), r.URL)
	}
	return out
}
