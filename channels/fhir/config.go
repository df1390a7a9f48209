package fhir

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/plexus-hl7/plexus/channels"
)

// Delivery modes (the `mode` key).
const (
	// ModeTransaction POSTs the Bundle to base_url as a transaction: the
	// server applies all entries or none.
	ModeTransaction = "transaction"
	// ModeBatch POSTs the Bundle as a batch: entries succeed or fail one by
	// one, and every entry must succeed for the delivery to count.
	ModeBatch = "batch"
	// ModeResources sends each entry as its own request (PUT, POST or
	// DELETE), for servers that take neither transactions nor batches.
	ModeResources = "resources"
)

// Config is the `fhir:` block of a destination in routes.yaml.
type Config struct {
	// BaseURL is the FHIR server's base, e.g. https://ehr.example.org/fhir.
	BaseURL string `yaml:"base_url"`
	// Mode is transaction (default), batch or resources.
	Mode string `yaml:"mode"`
	// Timeout bounds each HTTP exchange, token requests included: in
	// resources mode one delivery makes several exchanges.
	Timeout time.Duration `yaml:"timeout"`
	// Headers are sent with every request. A value that is exactly ${VAR}
	// is read from the environment, so that an API key need not be inline.
	Headers map[string]string `yaml:"headers"`
	// IdempotencyHeader names the header that carries the message's
	// idempotency key (in resources mode suffixed with #<entry number>, so
	// that two different requests never share a key); "" sends none.
	// X-Request-Id always carries the key, for the server's logs.
	IdempotencyHeader string `yaml:"idempotency_header"`
	// TLS applies to every connection this destination makes, the token
	// endpoint's included.
	TLS  channels.TLS `yaml:"tls"`
	Auth Auth         `yaml:"auth"`
}

// New returns the defaults; decoding routes.yaml overrides what it sets.
func New() *Config {
	return &Config{
		Mode:              ModeTransaction,
		Timeout:           30 * time.Second,
		IdempotencyHeader: "Idempotency-Key",
		Auth:              Auth{Type: AuthNone},
	}
}

var (
	_ channels.Config = (*Config)(nil)
	_ channels.Warner = (*Config)(nil)
)

func init() {
	channels.Register(channels.Kind{Name: "fhir", New: func() channels.Config { return New() }})
}

// Validate checks the settings without touching the network or the file
// system (relative paths are only known at Open, against the config's
// directory).
func (c *Config) Validate() error {
	var errs []error
	if c.BaseURL == "" {
		errs = append(errs, channels.Fieldf("base_url", "required: the FHIR server's base URL"))
	} else if err := checkURL(c.BaseURL); err != nil {
		errs = append(errs, channels.Fieldf("base_url", "%v", err))
	} else if u, _ := url.Parse(c.BaseURL); u.Scheme == "http" && c.TLS.On() {
		errs = append(errs, channels.Fieldf("tls", "tls is set but base_url is http; use https"))
	}
	switch c.Mode {
	case ModeTransaction, ModeBatch, ModeResources:
	default:
		errs = append(errs, channels.Fieldf("mode", "%q is not one of transaction, batch, resources", c.Mode))
	}
	if c.Timeout <= 0 {
		errs = append(errs, channels.Fieldf("timeout", "must be positive, e.g. 30s"))
	}
	if c.IdempotencyHeader != "" && !validToken(c.IdempotencyHeader) {
		errs = append(errs, channels.Fieldf("idempotency_header", "%q is not a valid header name", c.IdempotencyHeader))
	}
	errs = append(errs, c.validateHeaders()...)
	errs = append(errs, channels.Prefix("tls", c.TLS.Validate()))
	errs = append(errs, channels.Prefix("auth", c.Auth.Validate()))
	return errors.Join(errs...)
}

func (c *Config) validateHeaders() []error {
	var errs []error
	// Sorted, so that the errors come out in the same order every time.
	for _, name := range slices.Sorted(maps.Keys(c.Headers)) {
		v := c.Headers[name]
		field := "headers." + name
		canon := http.CanonicalHeaderKey(name)
		switch {
		case !validToken(name):
			errs = append(errs, channels.Fieldf(field, "%q is not a valid header name", name))
		case isReserved(canon) || (c.IdempotencyHeader != "" && canon == http.CanonicalHeaderKey(c.IdempotencyHeader)):
			errs = append(errs, channels.Fieldf(field, "%s is set by the destination itself", canon))
		case canon == "Authorization" && c.Auth.typ() != AuthNone:
			errs = append(errs, channels.Fieldf(field, "Authorization comes from auth (type %s); remove one", c.Auth.Type))
		case !validHeaderValue(v):
			errs = append(errs, channels.Fieldf(field, "value holds a control character"))
		}
	}
	return errs
}

// isReserved reports whether the destination sets the header itself;
// letting a static header replace it would break delivery or its
// classification.
func isReserved(canon string) bool {
	switch canon {
	case "Accept", "Content-Type", "Content-Length", "Host", "Connection", "Transfer-Encoding", "Prefer", "X-Request-Id":
		return true
	}
	return false
}

// Warnings reports secrets written inline and credentials that would cross
// the network in clear.
func (c *Config) Warnings() []*channels.FieldError {
	var ws []*channels.FieldError
	for _, w := range []*channels.FieldError{
		channels.InlineWarning("auth.token", c.Auth.Token),
		channels.InlineWarning("auth.password", c.Auth.Password),
		channels.InlineWarning("auth.client_secret", c.Auth.ClientSecret),
	} {
		if w != nil {
			ws = append(ws, w)
		}
	}
	for name, v := range c.Headers {
		if secretHeader(name) {
			if w := channels.InlineWarning("headers."+name, channels.Secret(v)); w != nil {
				ws = append(ws, w)
			}
		}
	}
	if strings.HasPrefix(c.BaseURL, "http://") && c.Auth.typ() != AuthNone {
		ws = append(ws, channels.Fieldf("base_url", "credentials would be sent over plain http; use https"))
	}
	if strings.HasPrefix(c.Auth.TokenURL, "http://") {
		ws = append(ws, channels.Fieldf("auth.token_url", "client credentials would be sent over plain http; use https"))
	}
	return ws
}

// secretHeader guesses whether a static header carries a credential, to
// warn when its value is inline.
func secretHeader(name string) bool {
	n := strings.ToLower(name)
	return strings.Contains(n, "authorization") || strings.Contains(n, "key") ||
		strings.Contains(n, "token") || strings.Contains(n, "secret")
}

// checkURL accepts an absolute http or https URL with a host and no query
// or fragment (request paths are appended to it).
func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("not a URL: %v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%q: scheme must be http or https", s)
	}
	if u.Host == "" {
		return fmt.Errorf("%q has no host", s)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%q: no query or fragment allowed", s)
	}
	return nil
}

// validToken reports whether s is an RFC 9110 token (a header name).
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

// validHeaderValue rejects control characters, which net/http would refuse
// at send time (and CR/LF, which would split the header).
func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
