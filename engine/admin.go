package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/plexus-hl7/plexus/engine/store"
)

// The admin API. It is meant for a trusted network (bind it to loopback or
// put it behind the hospital's proxy): it shows message content.
func (e *Engine) adminMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(e.m.reg, promhttp.HandlerOpts{Registry: e.m.reg}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if !e.ready.Load() {
			problem(w, http.StatusServiceUnavailable, "not ready", "the engine is starting or stopping")
			return
		}
		w.Write([]byte("ready\n"))
	})
	// profiles, for measuring the engine where it runs
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("GET /api/messages", e.apiMessages)
	mux.HandleFunc("GET /api/messages/{seq}", e.apiMessage)
	mux.HandleFunc("GET /api/dead-letters", e.apiDeadLetters)
	mux.HandleFunc("POST /api/replay", e.apiReplay)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		problem(w, http.StatusNotFound, "not found", r.Method+" "+r.URL.Path+" is not an admin endpoint")
	})
	return mux
}

// problem writes an RFC 9457 problem body.
func problem(w http.ResponseWriter, status int, title, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"type": "about:blank", "title": title, "status": status, "detail": detail})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// MessageView is what the API shows of one message.
type MessageView struct {
	Seq        uint64         `json:"seq"`
	Received   time.Time      `json:"received"`
	Listener   string         `json:"listener"`
	Remote     string         `json:"remote,omitempty"`
	Sender     string         `json:"sender,omitempty"`
	ControlID  string         `json:"controlId,omitempty"`
	Type       string         `json:"type,omitempty"`
	Version    string         `json:"version,omitempty"`
	Status     string         `json:"status"`
	Reason     string         `json:"reason,omitempty"`
	DupOf      uint64         `json:"duplicateOf,omitempty"`
	Outcome    string         `json:"outcome,omitempty"`
	Key        string         `json:"key,omitempty"`
	Errors     []string       `json:"errors,omitempty"`
	Deliveries []DeliveryView `json:"deliveries,omitempty"`
	Raw        string         `json:"raw"`
}

// DeliveryView is one (route, destination) of a message.
type DeliveryView struct {
	Route     string    `json:"route"`
	Dest      string    `json:"destination"`
	State     string    `json:"state"`
	Attempts  int       `json:"attempts"`
	Updated   time.Time `json:"updated"`
	LastError string    `json:"lastError,omitempty"`
	Detail    string    `json:"detail,omitempty"`
}

func (e *Engine) apiMessage(w http.ResponseWriter, r *http.Request) {
	seq, err := strconv.ParseUint(r.PathValue("seq"), 10, 64)
	if err != nil {
		problem(w, http.StatusBadRequest, "bad sequence number", err.Error())
		return
	}
	rec, err := e.db.Record(seq)
	if errors.Is(err, pebble.ErrNotFound) {
		problem(w, http.StatusNotFound, "no such message", fmt.Sprintf("no message %d in the journal", seq))
		return
	}
	if err != nil {
		problem(w, http.StatusInternalServerError, "store error", err.Error())
		return
	}
	v := MessageView{Seq: rec.Seq, Received: rec.Received, Listener: rec.Listener, Remote: rec.Remote, Sender: rec.Sender,
		ControlID: rec.ControlID, Type: rec.Type, Version: rec.Version, Status: rec.Status.String(), Reason: rec.Reason,
		DupOf: rec.DuplicateOf, Raw: strings.ReplaceAll(string(rec.Raw), "\r", "\n")}
	if o, err := e.db.Outcome(seq); err == nil {
		v.Outcome, v.Key, v.Errors = o.State.String(), o.Key, o.Errors
	}
	sts, _ := e.db.Statuses(seq)
	for _, s := range sts {
		v.Deliveries = append(v.Deliveries, DeliveryView{Route: s.Route, Dest: s.Dest, State: s.State.String(), Attempts: s.Attempts,
			Updated: s.Updated, LastError: s.LastError, Detail: string(s.Detail)})
	}
	writeJSON(w, v)
}

// MessageList is a page of the message browser.
type MessageList struct {
	Messages []MessageView `json:"messages"`
	// Next is the before= of the next page; 0 at the journal's start.
	Next uint64 `json:"next,omitempty"`
}

// apiMessages lists messages newest first:
// ?patient=&control_id=&sender=&type=&status=&outcome=&from=&to=&before=&limit=
// (sender is MSH-3 or MSH-3|MSH-4, type MSH-9.1 or MSH-9.1^MSH-9.2; each
// filter but from/to is answered from an index).
func (e *Engine) apiMessages(w http.ResponseWriter, r *http.Request) {
	qv := r.URL.Query()
	q := store.Query{Patient: qv.Get("patient"), ControlID: qv.Get("control_id"), Sender: qv.Get("sender"), Type: qv.Get("type")}
	limit := 100
	var bad []string
	if s := qv.Get("limit"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 && n <= 1000 {
			limit = n
		} else {
			bad = append(bad, "limit must be 1 to 1000")
		}
	}
	if s := qv.Get("before"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			bad = append(bad, "before must be a sequence number")
		}
		q.Before = n
	}
	switch st := qv.Get("status"); st {
	case "":
	case "accepted":
		q.Status = store.Accepted
	case "rejected":
		q.Status = store.Rejected
	case "duplicate":
		q.Status = store.Duplicate
	default:
		bad = append(bad, "status must be accepted, rejected or duplicate")
	}
	switch oc := qv.Get("outcome"); oc {
	case "":
	case "routed":
		q.Outcome = store.Routed
	case "unrouted":
		q.Outcome = store.Unrouted
	case "failed":
		q.Outcome = store.Failed
	case "skipped":
		q.Outcome = store.Skipped
	default:
		bad = append(bad, "outcome must be routed, unrouted, failed or skipped")
	}
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"from", &q.From}, {"to", &q.To}} {
		if s := qv.Get(f.name); s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				bad = append(bad, f.name+" must be an RFC 3339 time")
			}
			*f.dst = t
		}
	}
	if len(bad) > 0 {
		problem(w, http.StatusBadRequest, "bad query", strings.Join(bad, "; "))
		return
	}
	out := MessageList{Messages: []MessageView{}}
	next, err := e.db.List(q, func(rec *store.Record) bool {
		v := MessageView{Seq: rec.Seq, Received: rec.Received, Listener: rec.Listener, Remote: rec.Remote, Sender: rec.Sender,
			ControlID: rec.ControlID, Type: rec.Type, Version: rec.Version, Status: rec.Status.String(), Reason: rec.Reason, DupOf: rec.DuplicateOf}
		if o, err := e.db.Outcome(rec.Seq); err == nil {
			v.Outcome, v.Key = o.State.String(), o.Key
		}
		out.Messages = append(out.Messages, v)
		return len(out.Messages) < limit
	})
	if err != nil {
		problem(w, http.StatusInternalServerError, "store error", err.Error())
		return
	}
	out.Next = next
	writeJSON(w, out)
}

func (e *Engine) apiDeadLetters(w http.ResponseWriter, r *http.Request) {
	dest := r.URL.Query().Get("destination")
	limit := 1000
	if s := r.URL.Query().Get("limit"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			limit = n
		}
	}
	var out []store.DeadLetter
	err := e.db.DeadLetters(dest, func(d store.DeadLetter) bool {
		out = append(out, d)
		return len(out) < limit
	})
	if err != nil {
		problem(w, http.StatusInternalServerError, "store error", err.Error())
		return
	}
	if out == nil {
		out = []store.DeadLetter{}
	}
	writeJSON(w, out)
}

// ReplayRequest selects what to replay. With Reroute the messages go
// through routing and conversion again (after a rule was fixed);
// otherwise the stored bodies are requeued to their destinations (after a
// destination was fixed).
type ReplayRequest struct {
	// Seqs are message sequence numbers; empty means every dead letter
	// matching the other filters.
	Seqs        []uint64  `json:"seqs,omitempty"`
	Destination string    `json:"destination,omitempty"`
	From        time.Time `json:"from,omitzero"`
	To          time.Time `json:"to,omitzero"`
	Type        string    `json:"type,omitempty"` // MSH-9 prefix: "ADT" or "ADT^A01"
	Reroute     bool      `json:"reroute,omitempty"`
}

// ReplayResult says what was requeued.
type ReplayResult struct {
	Requeued int      `json:"requeued"`
	Rerouted int      `json:"rerouted"`
	Skipped  []string `json:"skipped,omitempty"`
}

func (e *Engine) apiReplay(w http.ResponseWriter, r *http.Request) {
	var req ReplayRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		problem(w, http.StatusBadRequest, "bad replay request", err.Error())
		return
	}
	// A destination no longer configured has only dead letters left
	// (dead-lettered at start): they can be rerouted, not requeued.
	if req.Destination != "" && e.dests[req.Destination] == nil && !req.Reroute {
		problem(w, http.StatusBadRequest, "no such destination", req.Destination+" is not configured (its dead letters can be replayed with reroute)")
		return
	}
	res, err := e.Replay(req)
	if err != nil {
		problem(w, http.StatusInternalServerError, "replay failed", err.Error())
		return
	}
	writeJSON(w, res)
}

// Replay requeues messages as req selects.
func (e *Engine) Replay(req ReplayRequest) (*ReplayResult, error) {
	res := &ReplayResult{}
	match := func(seq uint64) (bool, error) {
		if req.From.IsZero() && req.To.IsZero() && req.Type == "" {
			return true, nil
		}
		rec, err := e.db.Record(seq)
		if err != nil {
			return false, err
		}
		if !req.From.IsZero() && rec.Received.Before(req.From) || !req.To.IsZero() && rec.Received.After(req.To) {
			return false, nil
		}
		return req.Type == "" || strings.HasPrefix(rec.Type, req.Type), nil
	}
	if req.Reroute {
		seqs := req.Seqs
		if len(seqs) == 0 {
			seen := map[uint64]bool{}
			err := e.db.DeadLetters(req.Destination, func(d store.DeadLetter) bool {
				if !seen[d.Seq] {
					seen[d.Seq] = true
					seqs = append(seqs, d.Seq)
				}
				return true
			})
			if err != nil {
				return nil, err
			}
		}
		n := 0
		for _, seq := range seqs {
			ok, err := match(seq)
			if err != nil {
				res.Skipped = append(res.Skipped, fmt.Sprintf("%d: %v", seq, err))
				continue
			}
			if !ok {
				continue
			}
			added, err := e.db.Reroute(seq)
			if err != nil {
				res.Skipped = append(res.Skipped, fmt.Sprintf("%d: %v", seq, err))
				continue
			}
			if !added {
				res.Skipped = append(res.Skipped, fmt.Sprintf("%d: already waiting to be routed", seq))
				continue
			}
			n++
		}
		res.Rerouted = n
		if n > 0 {
			e.pipe.reroute(n)
		}
		return res, nil
	}
	var todo []store.DeadLetter
	if len(req.Seqs) > 0 {
		want := map[uint64]bool{}
		for _, s := range req.Seqs {
			want[s] = true
		}
		// any delivery of those messages (to the destination, if given),
		// dead or not
		for seq := range want {
			sts, err := e.db.Statuses(seq)
			if err != nil {
				res.Skipped = append(res.Skipped, fmt.Sprintf("%d: %v", seq, err))
				continue
			}
			if len(sts) == 0 {
				res.Skipped = append(res.Skipped, fmt.Sprintf("%d: no deliveries (not routed; use reroute)", seq))
			}
			for _, s := range sts {
				if req.Destination == "" || s.Dest == req.Destination {
					todo = append(todo, store.DeadLetter{Dest: s.Dest, Seq: seq, Route: s.Route})
				}
			}
		}
	} else if err := e.db.DeadLetters(req.Destination, func(d store.DeadLetter) bool { todo = append(todo, d); return true }); err != nil {
		return nil, err
	}
	for _, d := range todo {
		ok, err := match(d.Seq)
		if err != nil || !ok {
			continue
		}
		dest := e.dests[d.Dest]
		if dest == nil {
			res.Skipped = append(res.Skipped, fmt.Sprintf("%d: destination %s is no longer configured", d.Seq, d.Dest))
			continue
		}
		if _, err := e.db.Requeue(d.Dest, d.Seq, d.Route); err != nil {
			res.Skipped = append(res.Skipped, fmt.Sprintf("%d: %v", d.Seq, err))
			continue
		}
		dest.queued()
		res.Requeued++
	}
	return res, nil
}
