// Package channels holds the contract between the engine and the places a
// converted message goes: the Destination interface, the registry of kinds
// (kafka, fhir, mllp, file, ...) and the error classes that tell the engine
// whether to retry or dead-letter.
//
// A kind lives in its own sub-package and registers itself from init, as
// caddy modules do; the engine asks the registry by the key used in
// routes.yaml and never names a concrete type. Adding a kind is one folder and
// one blank import in cmd/plexus.
package channels

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"
)

// Content types of Message.Body.
const (
	// ContentFHIR is a FHIR R4 Bundle (type transaction, batch or collection) as JSON.
	ContentFHIR = "application/fhir+json"
	// ContentHL7v2 is a raw HL7 v2 message, segments ended by CR, in the
	// encoding it arrived in (MSH-18).
	ContentHL7v2 = "x-application/hl7-v2+er7"
)

// Message is one delivery of one inbound message to one destination.
// Destinations must not modify it or keep Body after Deliver returns.
type Message struct {
	// Seq is the journal sequence number of the inbound message: unique and
	// increasing per engine, the same on every retry.
	Seq uint64
	// Route is the name of the route that produced this delivery.
	Route string
	// Key is the partition key (by default the patient: PID-3's first
	// identifier and its assigning authority). Messages with one key reach a
	// destination in the order they were received.
	Key string
	// IdempotencyKey identifies the inbound message across retries and
	// replays: sending application, sending facility and MSH-10. Receivers
	// use it to drop duplicates (delivery is at least once).
	IdempotencyKey string
	// Source is the listener the message came in on.
	Source string
	// MessageType is MSH-9 as "ADT^A01" (message code ^ trigger event).
	MessageType string
	// ControlID is MSH-10.
	ControlID string
	// ContentType is ContentFHIR or ContentHL7v2.
	ContentType string
	// Body is the Bundle JSON or the raw v2 message.
	Body []byte
	// Attempt counts delivery attempts of this (message, destination), from 1.
	Attempt int
	// Received is when the inbound message was journaled: the same on every
	// attempt and replay, so names and keys made from it are stable.
	Received time.Time
}

// Destination delivers messages to one configured endpoint. Deliver is called
// from several goroutines at once (one per outbox worker); messages with the
// same Key are never delivered concurrently and arrive in order.
//
// Deliver returns nil only when the endpoint has confirmed the message
// (Kafka acks=all, HTTP 2xx, MLLP AA/CA, a synced file). Any other error is
// retried with backoff unless it is marked Permanent; RetryAfter carries the
// endpoint's own wait. Deliver must honour ctx: the engine cancels it on
// shutdown and on its delivery timeout.
type Destination interface {
	Deliver(ctx context.Context, m *Message) error
	// Close releases connections. Deliver is not called after Close.
	Close() error
}

// Config is a kind's settings as decoded from routes.yaml (strictly: unknown
// keys are errors). Its fields carry `yaml` tags; New returns it filled with
// defaults, so that decoding only overrides what the file sets.
type Config interface {
	// Validate checks the decoded settings without touching the network. It
	// returns nil or one or more *FieldError (joined with errors.Join), so
	// that the engine can point at the offending key's line and column.
	Validate() error
	// Open makes the destination. It may connect lazily; a destination that
	// is down at start must still open (and fail its deliveries, which are
	// retried) so that one endpoint never stops the engine from starting.
	Open(ctx context.Context, o OpenOptions) (Destination, error)
}

// Warner is implemented by a Config that has advice which is not an error,
// such as a secret written inline in the file.
type Warner interface {
	Warnings() []*FieldError
}

// OpenOptions is what the engine hands every destination it opens.
type OpenOptions struct {
	// Name is the destination's name in routes.yaml, for logs and metrics.
	Name string
	// Logger is already tagged with the destination's name and kind.
	Logger *slog.Logger
	// BaseDir is the directory relative paths in the config are resolved
	// against (the directory of routes.yaml).
	BaseDir string
}

// Kind is one kind of destination, registered under the key that introduces
// it in routes.yaml (`kafka:`, `fhir:`, ...).
type Kind struct {
	Name string
	// New returns a Config holding the kind's defaults.
	New func() Config
}

var (
	mu    sync.RWMutex
	kinds = map[string]Kind{}
)

// Register adds a kind; it panics on an empty or duplicate name, since both
// are programming errors found at start-up.
func Register(k Kind) {
	mu.Lock()
	defer mu.Unlock()
	if k.Name == "" || k.New == nil {
		panic("channels: Register with an empty name or no New")
	}
	if _, dup := kinds[k.Name]; dup {
		panic(fmt.Sprintf("channels: kind %q registered twice", k.Name))
	}
	kinds[k.Name] = k
}

// Lookup returns the kind registered under name.
func Lookup(name string) (Kind, bool) {
	mu.RLock()
	defer mu.RUnlock()
	k, ok := kinds[name]
	return k, ok
}

// Kinds lists the registered kind names, sorted.
func Kinds() []string {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]string, 0, len(kinds))
	for n := range kinds {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Accepter is implemented by a Config whose destination takes only some
// content types (a FHIR server takes Bundles, an MLLP peer raw v2). The
// config check refuses a route that sends it anything else. A Config that
// does not implement it takes both.
type Accepter interface {
	Accepts(contentType string) bool
}
