package fhir

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/plexus-hl7/plexus/channels"
)

func TestRegistered(t *testing.T) {
	k, ok := channels.Lookup("fhir")
	if !ok {
		t.Fatal("kind fhir is not registered")
	}
	c, ok := k.New().(*Config)
	if !ok {
		t.Fatalf("New returns %T", k.New())
	}
	if c.Mode != ModeTransaction || c.Timeout != 30*time.Second || c.IdempotencyHeader != "Idempotency-Key" || c.Auth.Type != AuthNone {
		t.Errorf("defaults: %+v", c)
	}
}

func TestDecodeOverDefaults(t *testing.T) {
	c := decode(t, `
base_url: https://ehr.example.org/fhir
timeout: 5s
headers: { X-Tenant: north }
tls: { ca: ca.pem }
auth: { type: bearer, token: "${EHR_TOKEN}" }
`)
	if c.Timeout != 5*time.Second || c.Mode != ModeTransaction || c.IdempotencyHeader != "Idempotency-Key" {
		t.Errorf("timeout/mode/idempotency_header: %v %q %q", c.Timeout, c.Mode, c.IdempotencyHeader)
	}
	if c.Headers["X-Tenant"] != "north" || c.TLS.CA != "ca.pem" || c.Auth.Type != AuthBearer || c.Auth.Token != "${EHR_TOKEN}" {
		t.Errorf("decoded: %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	// Strict: the engine's decoding refuses a key the struct does not have.
	if err := yaml.UnmarshalWithOptions([]byte("base_url: https://x\nbundle: transaction\n"), New(), yaml.Strict()); err == nil {
		t.Error("unknown key bundle decoded without error")
	}
}

func TestValidate(t *testing.T) {
	const base = "base_url: https://ehr.example.org/fhir\n"
	tests := []struct {
		name, src string
		fields    []string // sorted
	}{
		{"minimal", base, nil},
		{"everything", base + `mode: resources
timeout: 10s
headers: { X-Api-Key: "${KEY}" }
idempotency_header: X-Idempotency-Key
tls: { ca: ca.pem, cert: c.pem, key: k.pem }
auth: { type: smart_backend, token_url: "https://ehr.example.org/token", client_id: plexus, scope: system/*.write, private_key_file: k.pem, key_id: k1, alg: ES384, jku: "https://plexus.example.org/jwks.json" }`, nil},
		{"no base_url", "mode: batch\n", []string{"base_url"}},
		{"base_url scheme", "base_url: ftp://ehr.example.org/fhir\n", []string{"base_url"}},
		{"base_url query", "base_url: https://ehr.example.org/fhir?x=1\n", []string{"base_url"}},
		{"base_url no host", "base_url: https:///fhir\n", []string{"base_url"}},
		{"http with tls", "base_url: http://ehr.example.org/fhir\ntls: { enabled: true }\n", []string{"tls"}},
		{"mode", base + "mode: bundle\n", []string{"mode"}},
		{"timeout", base + "timeout: 0s\n", []string{"timeout"}},
		{"idempotency_header", base + "idempotency_header: \"Idem Key\"\n", []string{"idempotency_header"}},
		{"idempotency_header off", base + "idempotency_header: \"\"\n", nil},
		{"tls cert without key", base + "tls: { cert: c.pem }\n", []string{"tls.cert"}},
		{"headers", base + `headers: { "Bad Header": x, Content-Type: text/plain, prefer: x, X-Ok: "a\u0001b", Idempotency-Key: x }`,
			[]string{"headers.Bad Header", "headers.Content-Type", "headers.Idempotency-Key", "headers.X-Ok", "headers.prefer"}},
		{"authorization header with auth", base + "headers: { Authorization: \"${K}\" }\nauth: { type: bearer, token_file: t }\n", []string{"headers.Authorization"}},
		{"authorization header without auth", base + "headers: { Authorization: \"${K}\" }\n", nil},
		{"auth type", base + "auth: { type: oauth }\n", []string{"auth.type"}},
		{"none with token", base + "auth: { token: \"${T}\" }\n", []string{"auth.token"}},
		{"bearer without token", base + "auth: { type: bearer }\n", []string{"auth.token"}},
		{"bearer with both", base + "auth: { type: bearer, token: \"${T}\", token_file: t }\n", []string{"auth.token"}},
		{"bearer with basic keys", base + "auth: { type: bearer, token_file: t, username: u, password_file: p }\n", []string{"auth.password_file", "auth.username"}},
		{"basic empty", base + "auth: { type: basic }\n", []string{"auth.password", "auth.username"}},
		{"basic ok", base + "auth: { type: basic, username: u, password: \"${P}\" }\n", nil},
		{"client_credentials empty", base + "auth: { type: client_credentials }\n", []string{"auth.client_id", "auth.client_secret", "auth.token_url"}},
		{"client_credentials token_url", base + "auth: { type: client_credentials, token_url: /token, client_id: c, client_secret_file: s }\n", []string{"auth.token_url"}},
		{"client_credentials with key", base + "auth: { type: client_credentials, token_url: \"https://t\", client_id: c, client_secret_file: s, private_key_file: k }\n", []string{"auth.private_key_file"}},
		{"smart empty", base + "auth: { type: smart_backend }\n", []string{"auth.client_id", "auth.key_id", "auth.private_key_file", "auth.scope", "auth.token_url"}},
		{"smart alg jku secret", base + "auth: { type: smart_backend, token_url: \"https://t\", client_id: c, scope: s, private_key_file: k, key_id: i, alg: HS256, jku: \"http://j\", client_secret: \"${S}\" }\n",
			[]string{"auth.alg", "auth.client_secret", "auth.jku"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := decode(t, tt.src).Validate()
			var got []string
			for _, f := range channels.FieldErrors(err) {
				got = append(got, f.Field)
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.fields) {
				t.Errorf("fields %q, want %q\n%v", got, tt.fields, err)
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	t.Setenv("T", "x") // an unset variable is a warning of its own
	fields := func(c *Config) []string {
		var out []string
		for _, w := range c.Warnings() {
			out = append(out, w.Field)
		}
		slices.Sort(out)
		return out
	}
	tests := []struct {
		src  string
		want []string
	}{
		{"base_url: https://x\nauth: { type: bearer, token: \"${T}\" }\n", nil},
		{"base_url: https://x\nauth: { type: bearer, token: abc }\n", []string{"auth.token"}},
		{"base_url: https://x\nauth: { type: basic, username: u, password: hunter2 }\n", []string{"auth.password"}},
		{"base_url: https://x\nauth: { type: client_credentials, token_url: \"https://t\", client_id: c, client_secret: s3cret }\n", []string{"auth.client_secret"}},
		{"base_url: https://x\nauth: { type: client_credentials, token_url: \"http://t\", client_id: c, client_secret_file: f }\n", []string{"auth.token_url"}},
		{"base_url: http://x\nauth: { type: basic, username: u, password_file: f }\n", []string{"base_url"}},
		{"base_url: http://x\n", nil},
		{"base_url: https://x\nheaders: { X-Api-Key: abc, X-Tenant: north, X-Token: \"${T}\" }\n", []string{"headers.X-Api-Key"}},
	}
	for _, tt := range tests {
		if got := fields(decode(t, tt.src)); !slices.Equal(got, tt.want) {
			t.Errorf("%s: warnings %q, want %q", tt.src, got, tt.want)
		}
	}
	w := decode(t, "base_url: https://x\nauth: { type: bearer, token: abc }\n").Warnings()[0]
	if !strings.Contains(w.Msg, "token_file") {
		t.Errorf("warning does not say what to do instead: %v", w)
	}
}

func TestOpenResolvesSecrets(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pw"), []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const base = "base_url: https://ehr.example.org/fhir\n"

	d := open(t, base+"auth: { type: basic, username: u, password_file: pw }\n", dir)          // relative to BaseDir
	if got, _ := d.auth.authorization(context.Background()); got != "Basic dTpmcm9tLWZpbGU=" { // u:from-file
		t.Errorf("basic from file: %q", got)
	}
	t.Setenv("PLEXUS_TEST_TOKEN", "from-env")
	d = open(t, base+"auth: { type: bearer, token: \"${PLEXUS_TEST_TOKEN}\" }\n", dir)
	if got, _ := d.auth.authorization(context.Background()); got != "Bearer from-env" {
		t.Errorf("bearer from env: %q", got)
	}

	for src, want := range map[string]string{
		base + "auth: { type: bearer, token: \"${PLEXUS_TEST_UNSET}\" }\n":                                                             "PLEXUS_TEST_UNSET is not set",
		base + "auth: { type: basic, username: u, password_file: missing }\n":                                                          "auth.password",
		base + "headers: { X-Api-Key: \"${PLEXUS_TEST_UNSET}\" }\n":                                                                    "headers.X-Api-Key",
		base + "tls: { ca: missing.pem }\n":                                                                                            "tls ca",
		base + "auth: { type: client_credentials, token_url: \"https://t\", client_id: c, client_secret: \"${PLEXUS_TEST_UNSET}\" }\n": "auth.client_secret",
		base + "mode: nope\n": "mode",
	} {
		_, err := decode(t, src).Open(context.Background(), channels.OpenOptions{Name: "ehr", BaseDir: dir})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: Open error %v, want one mentioning %q", src, err, want)
		}
	}
}

// TestDocExamples decodes the auth blocks doc.go shows.
func TestDocExamples(t *testing.T) {
	// the variables the examples name, set as an operator would (an unset
	// one is a warning of its own)
	for _, v := range []string{"EHR_TOKEN", "EHR_CLIENT_SECRET", "FHIR_TOKEN", "EHR_PASSWORD"} {
		t.Setenv(v, "x")
	}
	for _, auth := range []string{`
auth: { type: bearer, token: "${EHR_TOKEN}" }          # or token_file: /run/secrets/ehr-token
`, `
auth: { type: basic, username: plexus, password_file: /run/secrets/ehr-pw }
`, `
auth:
  type: client_credentials
  token_url: https://login.example.org/oauth2/token
  client_id: plexus
  client_secret: ${EHR_CLIENT_SECRET}                  # or client_secret_file
  scope: system/*.write                                # optional
`, `
auth:
  type: smart_backend                                  # SMART Backend Services
  token_url: https://ehr.example.org/auth/token
  client_id: plexus
  scope: system/Patient.write system/Encounter.write  # required
  private_key_file: /run/secrets/plexus-key.pem        # RSA (2048+) or EC P-384, PEM
  key_id: plexus-2025                                  # kid in the JWK Set the server knows
  alg: RS384                                           # RS384 | ES384; default from the key
  jku: https://plexus.example.org/.well-known/jwks.json  # optional
`} {
		c := decode(t, "base_url: https://ehr.example.org/fhir\n"+auth)
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", auth, err)
		}
		if ws := c.Warnings(); len(ws) != 0 {
			t.Errorf("%s: warnings %v", auth, ws)
		}
	}
}
