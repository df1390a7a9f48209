package fhir

import (
	"errors"
	"net/url"
	"slices"
	"strings"

	"github.com/plexus-hl7/plexus/channels"
)

// Auth types (the `auth.type` key).
const (
	AuthNone              = "none"
	AuthBearer            = "bearer"
	AuthBasic             = "basic"
	AuthClientCredentials = "client_credentials"
	AuthSMARTBackend      = "smart_backend"
)

// JWT signing algorithms SMART Backend Services allows.
const (
	AlgRS384 = "RS384"
	AlgES384 = "ES384"
)

// Auth is the `auth:` block. Which keys apply depends on Type; a key set for
// another type is an error, so that a typo in type does not silently send
// no credentials.
type Auth struct {
	Type string `yaml:"type"`

	// bearer: a static token.
	Token     channels.Secret `yaml:"token"`
	TokenFile string          `yaml:"token_file"`

	// basic.
	Username     string          `yaml:"username"`
	Password     channels.Secret `yaml:"password"`
	PasswordFile string          `yaml:"password_file"`

	// client_credentials and smart_backend.
	TokenURL string `yaml:"token_url"`
	ClientID string `yaml:"client_id"`
	// Scope is space-separated, as OAuth sends it
	// ("system/Patient.write system/Encounter.write").
	Scope string `yaml:"scope"`

	// client_credentials.
	ClientSecret     channels.Secret `yaml:"client_secret"`
	ClientSecretFile string          `yaml:"client_secret_file"`

	// smart_backend: the client's private key (PEM, RSA or EC P-384), the
	// kid of its public key in the JWK Set the server knows, the signing
	// algorithm (default: RS384 for an RSA key, ES384 for an EC key) and
	// optionally the jku header (the https URL of that JWK Set).
	PrivateKeyFile string `yaml:"private_key_file"`
	KeyID          string `yaml:"key_id"`
	Alg            string `yaml:"alg"`
	JKU            string `yaml:"jku"`
}

// authKey is one key of the auth block: whether it is set, and which types
// use it.
type authKey struct {
	name  string
	set   bool
	types []string
}

func (a *Auth) keys() []authKey {
	oauth := []string{AuthClientCredentials, AuthSMARTBackend}
	return []authKey{
		{"token", a.Token != "", []string{AuthBearer}},
		{"token_file", a.TokenFile != "", []string{AuthBearer}},
		{"username", a.Username != "", []string{AuthBasic}},
		{"password", a.Password != "", []string{AuthBasic}},
		{"password_file", a.PasswordFile != "", []string{AuthBasic}},
		{"token_url", a.TokenURL != "", oauth},
		{"client_id", a.ClientID != "", oauth},
		{"scope", a.Scope != "", oauth},
		{"client_secret", a.ClientSecret != "", []string{AuthClientCredentials}},
		{"client_secret_file", a.ClientSecretFile != "", []string{AuthClientCredentials}},
		{"private_key_file", a.PrivateKeyFile != "", []string{AuthSMARTBackend}},
		{"key_id", a.KeyID != "", []string{AuthSMARTBackend}},
		{"alg", a.Alg != "", []string{AuthSMARTBackend}},
		{"jku", a.JKU != "", []string{AuthSMARTBackend}},
	}
}

// typ is the effective type: an auth block decoded over a zero value (the
// decoder may not merge into defaults) means none.
func (a *Auth) typ() string {
	if a.Type == "" {
		return AuthNone
	}
	return a.Type
}

// Validate checks the block; field paths are relative to `auth`.
func (a *Auth) Validate() error {
	t := a.typ()
	switch t {
	case AuthNone, AuthBearer, AuthBasic, AuthClientCredentials, AuthSMARTBackend:
	default:
		return channels.Fieldf("type", "%q is not one of none, bearer, basic, client_credentials, smart_backend", a.Type)
	}
	var errs []error
	for _, k := range a.keys() {
		if k.set && !slices.Contains(k.types, t) {
			errs = append(errs, channels.Fieldf(k.name, "only used with type %s (type is %s)", strings.Join(k.types, " or "), t))
		}
	}
	switch t {
	case AuthBearer:
		errs = append(errs, oneOf("token", a.Token, a.TokenFile))
	case AuthBasic:
		if a.Username == "" {
			errs = append(errs, channels.Fieldf("username", "required for type basic"))
		}
		errs = append(errs, oneOf("password", a.Password, a.PasswordFile))
	case AuthClientCredentials:
		errs = append(errs, a.validateOAuth()...)
		errs = append(errs, oneOf("client_secret", a.ClientSecret, a.ClientSecretFile))
	case AuthSMARTBackend:
		errs = append(errs, a.validateOAuth()...)
		if a.Scope == "" {
			// SMART Backend Services requires the scope parameter.
			errs = append(errs, channels.Fieldf("scope", "required for type smart_backend, e.g. system/*.write"))
		}
		if a.PrivateKeyFile == "" {
			errs = append(errs, channels.Fieldf("private_key_file", "required for type smart_backend: the PEM private key that signs the client assertion"))
		}
		if a.KeyID == "" {
			errs = append(errs, channels.Fieldf("key_id", "required for type smart_backend: the kid of the key in the JWK Set registered with the server"))
		}
		if a.Alg != "" && a.Alg != AlgRS384 && a.Alg != AlgES384 {
			errs = append(errs, channels.Fieldf("alg", "%q is not one of RS384, ES384", a.Alg))
		}
		if a.JKU != "" {
			if u, err := url.Parse(a.JKU); err != nil || u.Scheme != "https" || u.Host == "" {
				errs = append(errs, channels.Fieldf("jku", "must be an https URL (the JWK Set)"))
			}
		}
	}
	return errors.Join(errs...)
}

func (a *Auth) validateOAuth() []error {
	var errs []error
	if a.TokenURL == "" {
		errs = append(errs, channels.Fieldf("token_url", "required for type %s", a.typ()))
	} else if err := checkURL(a.TokenURL); err != nil {
		errs = append(errs, channels.Fieldf("token_url", "%v", err))
	}
	if a.ClientID == "" {
		errs = append(errs, channels.Fieldf("client_id", "required for type %s", a.typ()))
	}
	return errs
}

// oneOf checks that exactly one of a secret and its _file sibling is set.
func oneOf(field string, s channels.Secret, file string) error {
	switch {
	case s == "" && file == "":
		return channels.Fieldf(field, "required: set %s (as ${ENV_VAR}) or %s_file", field, field)
	case s != "" && file != "":
		return channels.Fieldf(field, "set %s or %s_file, not both", field, field)
	}
	return nil
}
