// Package config reads routes.yaml: listeners, destinations and routes. It
// decodes with goccy/go-yaml (names keep their case, every error has a line
// and column), checks everything that can be checked without starting
// anything (unknown keys, types, references between sections, expressions,
// rule files, ports), and reports every mistake at once.
package config

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/plexus-hl7/plexus/channels"
	"github.com/plexus-hl7/plexus/transforms"
)

// Config is a checked routes.yaml.
type Config struct {
	File string
	// Dir is the directory of File: relative paths in it are resolved
	// against it.
	Dir          string
	Listeners    []*Listener
	Destinations []*Destination
	Routes       []*Route
	Pipeline     Pipeline
	Duplicates   Duplicates
	Retention    Retention
	// Warnings are advice that does not stop the engine (inline secrets,
	// a destination no route uses).
	Warnings Errors

	// sections is the text of each top-level section as written, to tell
	// what a reload changes.
	sections map[string]string
}

// SameEndpoints says what, other than routes, differs between c and old
// as written ("" when nothing): the sections a running engine cannot
// change without a restart.
func (c *Config) SameEndpoints(old *Config) string {
	var diff []string
	for _, k := range []string{"listeners", "destinations", "pipeline", "duplicates", "retention"} {
		if c.sections[k] != old.sections[k] {
			diff = append(diff, k)
		}
	}
	if len(diff) == 0 {
		return ""
	}
	return strings.Join(diff, ", ") + " changed"
}

// Listener is an MLLP port messages come in on.
type Listener struct {
	Name string       `yaml:"name"`
	MLLP ListenerMLLP `yaml:"mllp"`
	// Ack is original (AA/AE/AR) or enhanced (CA/CE/CR: the commit
	// acknowledgement, which is what the journal gives).
	Ack string `yaml:"ack"`
	// Unrouted is accept (ACK and record as unrouted) or reject (NAK a
	// message no route of this listener takes).
	Unrouted string `yaml:"unrouted"`
	// Versions, when set, are the HL7 versions accepted (MSH-12); others
	// are NAKed with ERR code 203.
	Versions []string `yaml:"versions"`
	// Charset is used for messages whose bytes are not valid in the
	// character set MSH-18 declares (ASCII when empty): windows-1252 for a
	// sender that never says, for instance.
	Charset string `yaml:"charset"`
	// Duplicates, when set, is this listener's duplicate handling instead
	// of the file's (an archive feed may want process, a FHIR feed record).
	Duplicates *Duplicates `yaml:"duplicates"`

	Pos Pos `yaml:"-"`
}

// ListenerMLLP is the socket side of a listener.
type ListenerMLLP struct {
	Addr         string        `yaml:"addr"`
	TLS          *ListenerTLS  `yaml:"tls"`
	MaxConns     int           `yaml:"max_conns"`
	MaxFrame     int           `yaml:"max_frame"`
	ReadTimeout  time.Duration `yaml:"read_timeout"`
	IdleTimeout  time.Duration `yaml:"idle_timeout"`
	WriteTimeout time.Duration `yaml:"write_timeout"`
}

// ListenerTLS is the server certificate and, for mutual TLS, the CA that
// client certificates must chain to.
type ListenerTLS struct {
	Cert     string `yaml:"cert"`
	Key      string `yaml:"key"`
	ClientCA string `yaml:"client_ca"`
}

// Destination is a configured endpoint of a registered kind.
type Destination struct {
	Name   string
	Kind   string
	Config channels.Config
	// Workers deliver in parallel; one partition key always goes to the
	// same worker, so its messages stay in order.
	Workers int
	// Key, when set, is this destination's partition key instead of the
	// patient: messages with one key reach it in order, and a Kafka
	// destination's `key: patient` sends it as the record key.
	Key *transforms.Text
	// Timeout bounds one delivery attempt, whatever the kind does inside
	// it. It defaults to 2 minutes, above the kinds' own timeouts (a FHIR
	// request's 30 s, an MLLP ACK's 30 s), so that it only cuts off an
	// attempt that hangs despite them (a file write on a stuck NFS mount).
	Timeout time.Duration
	Retry   Retry
	Pos     Pos
}

// Retry is a destination's retry policy: exponential backoff from Initial
// to Max with full jitter; a delivery is dead-lettered after MaxAttempts
// attempts or once it is older than MaxAge (0: no limit).
type Retry struct {
	Initial     time.Duration `yaml:"initial"`
	Max         time.Duration `yaml:"max"`
	MaxAttempts int           `yaml:"max_attempts"`
	MaxAge      time.Duration `yaml:"max_age"`
}

// DefaultRetry is what a destination without retry: gets.
var DefaultRetry = Retry{Initial: time.Second, Max: 5 * time.Minute, MaxAttempts: 0, MaxAge: 72 * time.Hour}

// Route sends messages from listeners, when a condition holds, through a
// transform to destinations.
type Route struct {
	Name string
	From []string
	// When is nil for a route that takes every message.
	When *transforms.Condition
	// Transform is as written: "builtin" (the built-in map for each
	// message's structure), "raw" (the v2 message unchanged), a built-in
	// map's name or a rules file's path.
	Transform string
	// Rules is the compiled rules file or named built-in map; nil for
	// builtin and raw.
	Rules *transforms.Rules
	To    []string
	Pos   Pos
}

// Transform kinds that are not a file.
const (
	TransformBuiltin = "builtin"
	TransformRaw     = "raw"
)

// Pipeline tunes the workers between the journal and the outboxes.
type Pipeline struct {
	// Workers parse, route and convert in parallel; one partition key
	// always goes to the same worker.
	Workers int `yaml:"workers"`
	// Queue is each worker's queue length.
	Queue int `yaml:"queue"`
	// MaxBacklog is how many journaled messages may wait for routing
	// before ingest slows down (backpressure on the senders' sockets).
	MaxBacklog int `yaml:"max_backlog"`
}

// Duplicates configures duplicate detection: a message with the sender
// (MSH-3, MSH-4) and control id (MSH-10) of one accepted within Window.
type Duplicates struct {
	// Action: record (journal it marked duplicate, ACK AA, do not route),
	// ignore (ACK AA, keep nothing), process (route it again, marked), or
	// off.
	Action string        `yaml:"action"`
	Window time.Duration `yaml:"window"`
}

// Retention says how long the store keeps messages once they are settled
// (routed, and delivered or dead-lettered everywhere): the journal record,
// bodies, statuses and indexes go after Keep; 0 keeps them for ever. A
// message still pending is kept, whatever its age.
type Retention struct {
	Keep time.Duration `yaml:"keep"`
	// Every is how often the engine prunes.
	Every time.Duration `yaml:"every"`
}

// Load reads and checks the file. Channel kinds must be registered first
// (blank imports of channels/...).
func Load(file string) (*Config, error) {
	src, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(file, src)
}

// Parse checks src as the content of file. On error it returns Errors.
func Parse(file string, src []byte) (*Config, error) {
	dir := filepath.Dir(file)
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	p := &parser{file: file, src: src, cfg: &Config{File: file, Dir: dir}}
	if p.parse() {
		p.check()
	}
	p.errs.sort(file)
	p.cfg.Warnings.sort(file)
	if len(p.errs) > 0 {
		return nil, p.errs
	}
	return p.cfg, nil
}

// Defaults applied to what routes.yaml leaves out.
const (
	defaultWorkers     = 4
	defaultDestTimeout = 2 * time.Minute
)

func portOf(addr string) (host, port string, ok bool) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", "", false
	}
	return h, p, true
}
