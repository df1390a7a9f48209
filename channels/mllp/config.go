package mllp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/plexus-hl7/plexus/channels"
)

// Defaults, as New returns them.
const (
	DefaultAckTimeout     = 30 * time.Second
	DefaultConnectTimeout = 10 * time.Second
	// DefaultMaxConns is one connection. MLLP carries one message at a time
	// per connection, so this also means one message in flight. It is the
	// safe choice for the receivers found in practice: many accept a single
	// connection per sender (a second one is refused, or queued behind the
	// first), and some depend on the overall arrival order, not only the
	// order per patient. The engine keeps the order per partition key
	// whatever this is (it never has two messages of one key in flight, and
	// the next waits for the previous ACK), so a receiver known to take
	// parallel connections can be given a few to hide its per-message
	// latency.
	DefaultMaxConns = 1
	// DefaultMaxFrameSize bounds the ACK we read back. An ACK is a few
	// hundred bytes; 1 MiB leaves room for chatty ERR segments while keeping
	// a misbehaving peer from making us buffer megabytes per connection.
	DefaultMaxFrameSize = 1 << 20
)

func init() {
	channels.Register(channels.Kind{Name: "mllp", New: func() channels.Config { return New() }})
}

// Config is the `mllp:` block of a destination in routes.yaml.
type Config struct {
	// Addr is the peer's host:port.
	Addr string `yaml:"addr"`
	// TLS turns on TLS (and mutual TLS with cert/key); off when empty.
	TLS channels.TLS `yaml:"tls"`
	// AckTimeout bounds one delivery attempt once a connection slot is ours:
	// connecting (with the client's reconnect backoff), writing the message
	// and reading the ACK. Waiting for a free slot is bounded by the
	// engine's context instead, so a queue of messages behind a slow peer
	// does not time out before being sent.
	AckTimeout time.Duration `yaml:"ack_timeout"`
	// ConnectTimeout bounds one TCP connect plus TLS handshake; AckTimeout
	// still bounds the whole attempt.
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
	// MaxConns is how many connections (so messages in flight) the
	// destination may have open to the peer; see DefaultMaxConns.
	MaxConns int `yaml:"max_conns"`
	// MaxFrameSize is the largest ACK accepted, in bytes; a larger reply is
	// an error (retried) and its connection is dropped.
	MaxFrameSize int `yaml:"max_frame_size"`
}

// New returns a Config holding the defaults.
func New() *Config {
	return &Config{
		AckTimeout:     DefaultAckTimeout,
		ConnectTimeout: DefaultConnectTimeout,
		MaxConns:       DefaultMaxConns,
		MaxFrameSize:   DefaultMaxFrameSize,
	}
}

// Validate checks the settings without touching the network.
func (c *Config) Validate() error {
	var errs []error
	if err := validAddr(c.Addr); err != nil {
		errs = append(errs, err)
	}
	if c.AckTimeout <= 0 {
		errs = append(errs, channels.Fieldf("ack_timeout", "must be positive (a duration such as 30s), got %s", c.AckTimeout))
	}
	if c.ConnectTimeout <= 0 {
		errs = append(errs, channels.Fieldf("connect_timeout", "must be positive (a duration such as 10s), got %s", c.ConnectTimeout))
	}
	if c.MaxConns < 1 {
		errs = append(errs, channels.Fieldf("max_conns", "must be at least 1, got %d", c.MaxConns))
	}
	if c.MaxFrameSize < 1 {
		errs = append(errs, channels.Fieldf("max_frame_size", "must be a positive number of bytes, got %d", c.MaxFrameSize))
	}
	errs = append(errs, channels.Prefix("tls", c.TLS.Validate()))
	// TLS.On ignores server_name and insecure_skip_verify on their own: a
	// block holding only those would silently send in clear text.
	if !c.TLS.On() {
		if c.TLS.ServerName != "" {
			errs = append(errs, channels.Fieldf("tls.server_name", "has no effect while TLS is off; add enabled: true (or a ca)"))
		}
		if c.TLS.InsecureSkipVerify {
			errs = append(errs, channels.Fieldf("tls.insecure_skip_verify", "has no effect while TLS is off; add enabled: true"))
		}
	}
	return errors.Join(errs...)
}

func validAddr(addr string) error {
	if addr == "" {
		return channels.Fieldf("addr", "required: the peer's host:port")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return channels.Fieldf("addr", "want host:port, got %q", addr)
	}
	if host == "" {
		return channels.Fieldf("addr", "no host in %q", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return channels.Fieldf("addr", "port %q is not a number from 1 to 65535", port)
	}
	return nil
}

// Warnings reports settings that work but are probably not meant.
func (c *Config) Warnings() []*channels.FieldError {
	var w []*channels.FieldError
	if c.TLS.On() && c.TLS.InsecureSkipVerify {
		w = append(w, channels.Fieldf("tls.insecure_skip_verify", "the peer's certificate is not checked: anyone in the path can read and answer these messages"))
	}
	return w
}

// Open makes the destination. It does not connect: the first delivery
// does, so a peer that is down at start does not stop the engine.
func (c *Config) Open(_ context.Context, o channels.OpenOptions) (channels.Destination, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("mllp destination %s: %w", o.Name, err)
	}
	tlsConf, err := c.TLS.Config(o.BaseDir)
	if err != nil {
		return nil, fmt.Errorf("mllp destination %s: %w", o.Name, err)
	}
	return newDestination(c, tlsConf, o.Logger), nil
}
