package fhir

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/plexus-hl7/plexus/channels"
)

// destination is one opened `fhir:` destination. It holds no per-message
// state, so Deliver runs from many goroutines at once.
type destination struct {
	name    string
	log     *slog.Logger
	base    string // base_url without a trailing slash
	mode    string
	timeout time.Duration
	idemHdr string
	headers http.Header // static headers, ${VAR} values resolved
	client  *http.Client
	auth    authorizer
	now     func() time.Time // the clock, replaceable in tests
}

// Open builds the HTTP client and the authorizer. It touches no network: a
// server that is down at start fails (and retries) deliveries instead.
func (c *Config) Open(_ context.Context, o channels.OpenOptions) (channels.Destination, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	tlsConf, err := c.TLS.Config(o.BaseDir)
	if err != nil {
		return nil, fmt.Errorf("fhir %s: %w", o.Name, err)
	}
	// One transport per destination: connections are reused across
	// deliveries, and one destination's pool never starves another's.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsConf
	tr.MaxIdleConnsPerHost = 32 // outbox workers deliver in parallel; the default 2 would churn connections
	client := &http.Client{
		Transport: tr,
		// Never follow redirects: net/http turns a redirected POST into a
		// GET whose 200 would count as delivered, and would carry the
		// Authorization header elsewhere. A 3xx is reported instead.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	d := &destination{
		name:    o.Name,
		log:     o.Logger,
		base:    strings.TrimRight(c.BaseURL, "/"),
		mode:    c.Mode,
		timeout: c.Timeout,
		idemHdr: c.IdempotencyHeader,
		headers: http.Header{},
		client:  client,
		now:     time.Now,
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	for name, v := range c.Headers {
		val, err := channels.Secret(v).Resolve("", "")
		if err != nil {
			return nil, fmt.Errorf("fhir %s: headers.%s: %w", o.Name, name, err)
		}
		d.headers.Set(name, val)
	}
	if d.auth, err = newAuthorizer(&c.Auth, o.BaseDir, client, c.Timeout, func() time.Time { return d.now() }); err != nil {
		return nil, fmt.Errorf("fhir %s: %w", o.Name, err)
	}
	return d, nil
}

// Deliver sends one converted message.
func (d *destination) Deliver(ctx context.Context, m *channels.Message) error {
	switch m.ContentType {
	case channels.ContentFHIR:
	case channels.ContentHL7v2:
		return channels.Permanent(fmt.Errorf("fhir: destination %s takes FHIR Bundles, and route %s sends raw HL7 v2: give the route a transform", d.name, m.Route), nil)
	default:
		return channels.Permanent(fmt.Errorf("fhir: destination %s takes FHIR Bundles (%s), not %q", d.name, channels.ContentFHIR, m.ContentType), nil)
	}
	if d.mode == ModeResources {
		return d.deliverResources(ctx, m)
	}
	return d.deliverBundle(ctx, m)
}

// deliverBundle POSTs the whole Bundle to the base URL.
func (d *destination) deliverBundle(ctx context.Context, m *channels.Message) error {
	body, n, err := prepareBundle(m.Body, d.mode)
	if err != nil {
		return channels.Permanent(fmt.Errorf("fhir: %w", err), nil)
	}
	what := "POST " + d.mode + " Bundle"
	r, err := d.roundTrip(ctx, &exchange{
		method: http.MethodPost, url: d.base, body: body, what: what,
		requestID: m.IdempotencyKey, idemKey: m.IdempotencyKey,
	})
	if err != nil {
		return err
	}
	if !ok(r.code) {
		return statusError(r, what, d.now())
	}
	return checkBundleResponse(r, d.mode, body, n)
}

// Close drops idle connections; nothing else is held.
func (d *destination) Close() error {
	d.client.CloseIdleConnections()
	return nil
}
