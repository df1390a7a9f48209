package fhir

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/plexus-hl7/plexus/channels"
)

// Resources mode sends each entry as its own request. Inside a Bundle,
// entries point at each other by fullUrl (urn:uuid:...); a server resolves
// those only within a transaction or batch, so here we resolve them
// ourselves before sending:
//
//   - an entry updated by id (PUT Patient/123) is known before anything is
//     sent: references to it become "Patient/123";
//   - an entry written by conditional update (PUT Patient?identifier=...)
//     or create (POST) gets its id from the server, which reports it in
//     Location (else Content-Location, else the resource in the body);
//     references to it become that id, so it must be sent first.
//
// Entries go in Bundle order, except that each waits for the entries it
// references: for conditional and created ones because of their ids, for
// the others because servers refuse a reference to a resource they do not
// have. A cycle through entries updated by id is broken in Bundle order (a
// server that checks references may then refuse one: use transaction
// mode); a cycle through a conditional or created entry, a reference to a
// fullUrl no entry has, or a server that does not say which id it used is
// a permanent error, found before anything is sent where possible.
//
// The requests are not one unit: when one fails, the ones before it have
// been applied. The retry sends them all again, which is harmless for
// updates (PUT by id or by condition); a POST without ifNoneExist would be
// created again, so a map meant for resources mode should not use it.

// step is one entry to send.
type step struct {
	method, path string // path is relative to the base URL
	typ          string // resource type, from the path
	fullURL      string
	resource     json.RawMessage
	header       http.Header
	known        string // "Type/id" when the id is known before sending
	deps         []int  // entries this one references, to send first
	needed       bool   // some entry references this one, whose id only the server knows
	hasRefs      bool   // the resource references other entries
}

// planResources reads the Bundle into steps and the order to send them in.
func planResources(body []byte) ([]*step, []int, error) {
	h, err := readHead(body)
	if err != nil {
		return nil, nil, err
	}
	steps := make([]*step, len(h.Entry))
	byURL := map[string]int{}
	for i, raw := range h.Entry {
		s, err := newStep(raw)
		if err != nil {
			return nil, nil, fmt.Errorf("entry %d: %w", i+1, err)
		}
		steps[i] = s
		if s.fullURL != "" && s.method != http.MethodDelete {
			byURL[s.fullURL] = i
		}
	}
	for i, s := range steps {
		if !bytes.Contains(s.resource, []byte(`"urn:`)) {
			continue
		}
		var bad error
		err := walkRefs(s.resource, nil, func(ref string) (string, bool) {
			if !strings.HasPrefix(ref, "urn:") || bad != nil {
				return "", false
			}
			j, found := byURL[ref]
			switch {
			case !found:
				bad = fmt.Errorf("entry %d references %s, which no entry of the Bundle has as fullUrl", i+1, ref)
			case j == i && steps[j].known == "":
				bad = fmt.Errorf("entry %d references itself, and its id is only known once the server has stored it", i+1)
			case j != i:
				steps[j].needed = steps[j].needed || steps[j].known == ""
				s.deps = append(s.deps, j)
			}
			s.hasRefs = true
			return "", false
		})
		if err != nil {
			return nil, nil, fmt.Errorf("entry %d: resource: %w", i+1, err)
		}
		if bad != nil {
			return nil, nil, bad
		}
	}
	order, err := sendOrder(steps)
	return steps, order, err
}

// newStep reads one entry.
func newStep(raw json.RawMessage) (*step, error) {
	var e entry
	if err := json.Unmarshal(raw, &e); err != nil {
		return nil, err
	}
	r := e.Request
	if r == nil {
		var err error
		if r, err = defaultRequest(e.Resource); err != nil {
			return nil, err
		}
	}
	s := &step{method: strings.ToUpper(r.Method), path: strings.TrimPrefix(r.URL, "/"), fullURL: e.FullURL, resource: e.Resource, header: http.Header{}}
	switch s.method {
	case http.MethodPut, http.MethodPost:
		if len(e.Resource) == 0 {
			return nil, fmt.Errorf("%s without a resource", s.method)
		}
	case http.MethodDelete:
		s.resource = nil
	default:
		return nil, fmt.Errorf("request.method %q: resources mode sends PUT, POST and DELETE", r.Method)
	}
	if s.path == "" || strings.Contains(s.path, "://") {
		return nil, fmt.Errorf("request.url %q: want a URL relative to the base (Patient/123, Patient?identifier=sys|value)", r.URL)
	}
	pathPart, _, conditional := strings.Cut(s.path, "?")
	segs := strings.Split(pathPart, "/")
	s.typ = segs[0]
	if s.method == http.MethodPut && !conditional && len(segs) == 2 && segs[1] != "" {
		s.known = pathPart
	}
	for name, v := range map[string]string{"If-None-Match": r.IfNoneMatch, "If-Modified-Since": r.IfModifiedSince, "If-Match": r.IfMatch, "If-None-Exist": r.IfNoneExist} {
		if v != "" {
			s.header.Set(name, v)
		}
	}
	return s, nil
}

// sendOrder is Bundle order, except that each entry comes after the
// entries in its deps: each round sends the first entry whose deps are all
// sent. When a cycle leaves none, the first entry whose unsent deps all
// have known ids goes anyway.
func sendOrder(steps []*step) ([]int, error) {
	sent := make([]bool, len(steps))
	order := make([]int, 0, len(steps))
	// waitsFor reports whether entry i still waits: for any unsent dep, or
	// (soft) only for unsent deps whose id the server assigns.
	waitsFor := func(i int, soft bool) bool {
		for _, j := range steps[i].deps {
			if !sent[j] && (!soft || steps[j].known == "") {
				return true
			}
		}
		return false
	}
	for len(order) < len(steps) {
		next := -1
		for _, soft := range []bool{false, true} {
			for i := range steps {
				if !sent[i] && !waitsFor(i, soft) {
					next = i
					break
				}
			}
			if next >= 0 {
				break
			}
		}
		if next < 0 {
			var stuck []string
			for i := range steps {
				if !sent[i] {
					stuck = append(stuck, strconv.Itoa(i+1))
				}
			}
			return nil, fmt.Errorf("cannot order entries %s: they reference each other in a cycle through conditional or created entries, whose ids only the server knows; send this Bundle in transaction or batch mode", strings.Join(stuck, ", "))
		}
		sent[next] = true
		order = append(order, next)
	}
	return order, nil
}

// deliverResources sends the entries one by one.
func (d *destination) deliverResources(ctx context.Context, m *channels.Message) error {
	steps, order, err := planResources(m.Body)
	if err != nil {
		return channels.Permanent(fmt.Errorf("fhir: resources mode: %w", err), nil)
	}
	ids := map[string]string{} // fullUrl -> "Type/id"
	for _, s := range steps {
		if s.known != "" && s.fullURL != "" {
			ids[s.fullURL] = s.known
		}
	}
	for done, i := range order {
		s := steps[i]
		what := fmt.Sprintf("entry %d of %d (%s)", i+1, len(steps), describe(s.method, s.path))
		if done > 0 {
			what += fmt.Sprintf(", after %d stored", done)
		}
		body := s.resource
		if s.hasRefs {
			var b bytes.Buffer
			if err := walkRefs(s.resource, &b, func(ref string) (string, bool) {
				v, ok := ids[ref]
				return v, ok
			}); err != nil {
				return channels.Permanent(fmt.Errorf("fhir: %s: %w", what, err), nil)
			}
			body = b.Bytes()
		}
		r, err := d.roundTrip(ctx, &exchange{
			method: s.method, url: d.base + "/" + s.path, body: body, what: what, header: s.header,
			requestID: m.IdempotencyKey,
			// Each request of the message gets its own key: a server
			// honouring the header must not answer one entry with
			// another's stored response.
			idemKey: m.IdempotencyKey + "#" + strconv.Itoa(i+1),
		})
		if err != nil {
			return err
		}
		if !ok(r.code) {
			return statusError(r, what, d.now())
		}
		if err := fhirBody(r); err != nil {
			return fmt.Errorf("fhir: %s: %s, but %w", what, r.status, err)
		}
		if s.needed {
			id, err := serverID(r, s.typ)
			if err != nil {
				return channels.Permanent(fmt.Errorf("fhir: %s: %s, but %w; other entries reference it", what, r.status, err), r.body)
			}
			ids[s.fullURL] = id
		}
	}
	return nil
}

// fhirBody checks that a 2xx body, if any, is a FHIR resource: a proxy's
// or login page's 200 proves nothing was stored, and resending is harmless.
func fhirBody(r *reply) error {
	if r.truncated || len(bytes.TrimSpace(r.body)) == 0 {
		return nil
	}
	var res resourceID
	if json.Unmarshal(r.body, &res) != nil || res.ResourceType == "" {
		return fmt.Errorf("the body (Content-Type %q) is not a FHIR resource: nothing says the entry was stored", r.header.Get("Content-Type"))
	}
	return nil
}

// serverID finds "Type/id" of the resource the server just stored: from
// Location or Content-Location ([base]/Type/id/_history/v, absolute or
// relative), else from the resource in the body.
func serverID(r *reply, typ string) (string, error) {
	for _, h := range []string{"Location", "Content-Location"} {
		if id := idFromURL(r.header.Get(h), typ); id != "" {
			return id, nil
		}
	}
	var res resourceID
	if json.Unmarshal(r.body, &res) == nil && res.ResourceType == typ && res.ID != "" {
		return typ + "/" + res.ID, nil
	}
	return "", fmt.Errorf("the answer names no %s id (no Location header, no resource in the body)", typ)
}

func idFromURL(loc, typ string) string {
	if loc == "" {
		return ""
	}
	u, err := url.Parse(loc)
	if err != nil {
		return ""
	}
	segs := strings.Split(strings.Trim(u.Path, "/"), "/")
	if n := len(segs); n >= 4 && segs[n-2] == "_history" {
		segs = segs[:n-2]
	}
	n := len(segs)
	if n < 2 || segs[n-2] != typ || segs[n-1] == "" {
		return ""
	}
	return typ + "/" + segs[n-1]
}
