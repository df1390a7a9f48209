package fhir

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/plexus-hl7/plexus/channels"
)

// writeKey writes key to dir/name as PEM, PKCS#8 or the key type's own
// encoding, and returns name.
func writeKey(t *testing.T, dir, name string, key crypto.Signer, pkcs8 bool) string {
	t.Helper()
	typ := "PRIVATE KEY"
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if !pkcs8 {
		switch k := key.(type) {
		case *rsa.PrivateKey:
			typ, der = "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(k)
		case *ecdsa.PrivateKey:
			typ = "EC PRIVATE KEY"
			der, err = x509.MarshalECPrivateKey(k)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	// A certificate before the key, as some tools write them, is skipped.
	data := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("not read")}), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})...)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return name
}

// smartCheck is a SMART Backend Services token endpoint's check of the
// client assertion, with the client's public key.
type smartCheck struct {
	pub      crypto.PublicKey
	alg, jku string
	tokenURL string // set once the server runs
	mu       sync.Mutex
	jtis     map[string]bool
}

func (c *smartCheck) check(r *http.Request) error {
	f := r.PostForm
	if f.Get("grant_type") != "client_credentials" || f.Get("scope") != "system/Patient.write system/Encounter.write" {
		return fmt.Errorf("grant_type %q scope %q", f.Get("grant_type"), f.Get("scope"))
	}
	if f.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
		return fmt.Errorf("client_assertion_type %q", f.Get("client_assertion_type"))
	}
	if _, _, basic := r.BasicAuth(); basic || f.Has("client_secret") {
		return fmt.Errorf("a secret came along with the assertion")
	}
	claims := jwt.MapClaims{}
	tok, err := jwt.ParseWithClaims(f.Get("client_assertion"), claims,
		func(tok *jwt.Token) (any, error) {
			if tok.Header["kid"] != "plexus-1" {
				return nil, fmt.Errorf("kid %v", tok.Header["kid"])
			}
			if c.jku != "" && tok.Header["jku"] != c.jku {
				return nil, fmt.Errorf("jku %v", tok.Header["jku"])
			}
			return c.pub, nil
		},
		jwt.WithValidMethods([]string{c.alg}), jwt.WithIssuer("plexus"), jwt.WithSubject("plexus"),
		jwt.WithAudience(c.tokenURL), jwt.WithExpirationRequired())
	if err != nil || !tok.Valid {
		return fmt.Errorf("assertion: %v", err)
	}
	exp, err := claims.GetExpirationTime()
	if err != nil || time.Until(exp.Time) > 5*time.Minute {
		return fmt.Errorf("exp %v more than 5 minutes ahead", exp)
	}
	if aud, _ := claims["aud"].(string); aud != c.tokenURL {
		return fmt.Errorf("aud %v, want the token URL as a string", claims["aud"])
	}
	jti, _ := claims["jti"].(string)
	c.mu.Lock()
	defer c.mu.Unlock()
	if jti == "" || c.jtis[jti] {
		return fmt.Errorf("jti %q missing or reused", jti)
	}
	c.jtis[jti] = true
	return nil
}

func TestSMARTBackend(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		key      crypto.Signer
		pkcs8    bool
		alg      string // in the config; "" to infer it
		wantAlg  string
		jku      string
		pub      crypto.PublicKey
		extraCfg string
	}{
		{name: "RSA PKCS#1, alg from key", key: rsaKey, wantAlg: "RS384", pub: &rsaKey.PublicKey},
		{name: "RSA PKCS#8, RS384", key: rsaKey, pkcs8: true, alg: "RS384", wantAlg: "RS384", pub: &rsaKey.PublicKey},
		{name: "EC SEC 1, alg from key", key: ecKey, wantAlg: "ES384", pub: &ecKey.PublicKey},
		{name: "EC PKCS#8, ES384 with jku", key: ecKey, pkcs8: true, alg: "ES384", wantAlg: "ES384", pub: &ecKey.PublicKey, jku: "https://plexus.example.org/jwks.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			keyFile := writeKey(t, dir, "key.pem", tt.key, tt.pkcs8)
			sc := &smartCheck{pub: tt.pub, alg: tt.wantAlg, jku: tt.jku, jtis: map[string]bool{}}
			ts := newTokenServer(t, sc.check)
			sc.tokenURL = ts.URL + "/token"
			auth := fmt.Sprintf(`{ type: smart_backend, token_url: %q, client_id: plexus, scope: "system/Patient.write system/Encounter.write", private_key_file: %s, key_id: plexus-1`, sc.tokenURL, keyFile)
			if tt.alg != "" {
				auth += ", alg: " + tt.alg
			}
			if tt.jku != "" {
				auth += ", jku: " + fmt.Sprintf("%q", tt.jku)
			}
			d := open(t, "base_url: "+ts.URL+"/fhir\nauth: "+auth+" }\n", dir)
			if err := d.Deliver(context.Background(), msg(txBundle)); err != nil {
				t.Fatalf("Deliver: %v", err)
			}
			// A revoked token: the new token request carries a new assertion
			// (the endpoint refuses a reused jti).
			ts.accept.Store("tok-2")
			if err := d.Deliver(context.Background(), msg(txBundle)); err != nil {
				t.Fatalf("Deliver after revocation: %v", err)
			}
			if tok, fhir := ts.counts(); tok != 2 || fhir != 3 {
				t.Errorf("%d token and %d FHIR requests, want 2 and 3", tok, fhir)
			}
			if len(sc.jtis) != 2 {
				t.Errorf("%d distinct jti, want 2", len(sc.jtis))
			}
		})
	}
}

func TestSMARTKeyErrors(t *testing.T) {
	dir := t.TempDir()
	rsaSmall, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	writeKey(t, dir, "small.pem", rsaSmall, false)
	writeKey(t, dir, "p256.pem", p256, false)
	writeKey(t, dir, "p384.pem", p384, true)
	if err := os.WriteFile(filepath.Join(dir, "enc.pem"), pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1}}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "none.pem"), []byte("no PEM here"), 0o600); err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{
		"small.pem, alg: RS384": "2048",
		"p256.pem":              "P-384",
		"p384.pem, alg: RS384":  "auth.alg",
		"enc.pem":               "encrypted",
		"none.pem":              "no PEM private key",
		"missing.pem":           "auth.private_key_file",
	} {
		c := decode(t, `base_url: https://ehr.example.org/fhir
auth: { type: smart_backend, token_url: "https://ehr.example.org/token", client_id: plexus, scope: system/*.write, key_id: k, private_key_file: `+file+` }`)
		_, err := c.Open(context.Background(), channels.OpenOptions{Name: "ehr", BaseDir: dir})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: Open error %v, want one mentioning %q", file, err, want)
		}
	}
}
