package fhir

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// authorizer supplies the Authorization header of each request.
type authorizer interface {
	// authorization returns the header value, "" for none.
	authorization(ctx context.Context) (string, error)
	// refused tells that the server answered 401 to value. It reports
	// whether asking again may give a different value, in which case the
	// request is sent once more.
	refused(value string) bool
}

// staticAuth is a value that never changes: none, basic, or a bearer token
// from the environment or inline.
type staticAuth string

func (s staticAuth) authorization(context.Context) (string, error) { return string(s), nil }
func (s staticAuth) refused(string) bool                           { return false }

// newAuthorizer builds the authorizer for a, resolving its secrets now so
// that a missing variable or file stops Open rather than every delivery.
func newAuthorizer(a *Auth, baseDir string, client *http.Client, timeout time.Duration, now func() time.Time) (authorizer, error) {
	switch a.typ() {
	case AuthBearer:
		tok, err := a.Token.Resolve(a.TokenFile, baseDir)
		if err != nil {
			return nil, fmt.Errorf("auth.token: %w", err)
		}
		if a.TokenFile == "" {
			return staticAuth("Bearer " + tok), nil
		}
		// A token file is typically rewritten by a sidecar before the token
		// expires: read it again when the server refuses the one we have.
		c := newTokenCache(now, func(context.Context) (string, time.Time, error) {
			t, err := a.Token.Resolve(a.TokenFile, baseDir)
			return t, time.Time{}, err
		})
		c.token = tok
		return c, nil
	case AuthBasic:
		pw, err := a.Password.Resolve(a.PasswordFile, baseDir)
		if err != nil {
			return nil, fmt.Errorf("auth.password: %w", err)
		}
		return staticAuth("Basic " + base64.StdEncoding.EncodeToString([]byte(a.Username+":"+pw))), nil
	case AuthClientCredentials:
		secret, err := a.ClientSecret.Resolve(a.ClientSecretFile, baseDir)
		if err != nil {
			return nil, fmt.Errorf("auth.client_secret: %w", err)
		}
		// One Config for the destination's life: it remembers whether the
		// endpoint takes the secret as HTTP Basic or as form fields.
		cc := &clientcredentials.Config{ClientID: a.ClientID, ClientSecret: secret, TokenURL: a.TokenURL, Scopes: strings.Fields(a.Scope)}
		return newTokenCache(now, func(ctx context.Context) (string, time.Time, error) {
			return fetchToken(ctx, cc, client, timeout)
		}), nil
	case AuthSMARTBackend:
		s, err := newAssertionSigner(a, baseDir)
		if err != nil {
			return nil, err
		}
		return newTokenCache(now, func(ctx context.Context) (string, time.Time, error) {
			// A fresh assertion for every token request: its jti must be
			// unique and it expires within minutes.
			assertion, err := s.sign(now())
			if err != nil {
				return "", time.Time{}, fmt.Errorf("sign client assertion: %w", err)
			}
			cc := &clientcredentials.Config{
				TokenURL:  a.TokenURL,
				Scopes:    strings.Fields(a.Scope),
				AuthStyle: oauth2.AuthStyleInParams, // no client secret: the assertion authenticates
				EndpointParams: map[string][]string{
					"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
					"client_assertion":      {assertion},
				},
			}
			return fetchToken(ctx, cc, client, timeout)
		}), nil
	}
	return staticAuth(""), nil
}

// fetchToken asks the token endpoint for an access token through the
// destination's own client (its TLS settings and connection pool). Its
// errors are never Permanent: a refused or unreachable token endpoint says
// nothing about the message, and retrying leaves time to fix the settings.
func fetchToken(ctx context.Context, cc *clientcredentials.Config, client *http.Client, timeout time.Duration) (string, time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t, err := cc.Token(context.WithValue(ctx, oauth2.HTTPClient, client))
	if err != nil {
		return "", time.Time{}, fmt.Errorf("access token from %s: %w", cc.TokenURL, err)
	}
	return t.AccessToken, t.Expiry, nil
}

// tokenCache keeps one access token for all of a destination's deliveries
// until shortly before it expires or until the server refuses it.
type tokenCache struct {
	fetch func(ctx context.Context) (token string, expiry time.Time, err error)
	now   func() time.Time
	// fetching is a one-slot lock held while fetching, so that concurrent
	// deliveries wait for one token request instead of each making their
	// own; unlike a sync.Mutex, a waiter can give up when its ctx ends.
	fetching chan struct{}

	mu        sync.Mutex
	token     string
	refreshAt time.Time // zero: good until refused
}

func newTokenCache(now func() time.Time, fetch func(context.Context) (string, time.Time, error)) *tokenCache {
	return &tokenCache{fetch: fetch, now: now, fetching: make(chan struct{}, 1)}
}

func (c *tokenCache) authorization(ctx context.Context) (string, error) {
	if t := c.current(); t != "" {
		return "Bearer " + t, nil
	}
	select {
	case c.fetching <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-c.fetching }()
	if t := c.current(); t != "" {
		return "Bearer " + t, nil // another delivery fetched it while we waited
	}
	t, exp, err := c.fetch(ctx)
	if err != nil {
		return "", err
	}
	if t == "" {
		return "", fmt.Errorf("the token is empty")
	}
	c.mu.Lock()
	c.token, c.refreshAt = t, refreshTime(c.now(), exp)
	c.mu.Unlock()
	return "Bearer " + t, nil
}

// current returns the cached token while it is good, else "".
func (c *tokenCache) current() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != "" && (c.refreshAt.IsZero() || c.now().Before(c.refreshAt)) {
		return c.token
	}
	return ""
}

func (c *tokenCache) refused(value string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	// Only drop the token that was refused: another delivery may already
	// have replaced it with a fresh one.
	if c.token != "" && value == "Bearer "+c.token {
		c.token = ""
	}
	return true
}

// refreshTime is when to stop using a token that expires at exp: up to 30s
// early (half its life for short-lived tokens), so that it does not expire
// between being read and reaching the server.
func refreshTime(now, exp time.Time) time.Time {
	if exp.IsZero() {
		return time.Time{}
	}
	margin := min(30*time.Second, exp.Sub(now)/2)
	if margin < 0 {
		margin = 0
	}
	return exp.Add(-margin)
}
