package fhir

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// assertionLife is how long a client assertion is valid. SMART Backend
// Services allows at most five minutes; a little less leaves room for a
// server clock that runs ahead of ours.
const assertionLife = 4 * time.Minute

// assertionSigner makes the signed JWT that authenticates a SMART Backend
// Services client (RFC 7523 client assertion).
type assertionSigner struct {
	clientID, tokenURL string
	keyID, jku         string
	method             jwt.SigningMethod
	key                crypto.Signer
}

func newAssertionSigner(a *Auth, baseDir string) (*assertionSigner, error) {
	path := a.PrivateKeyFile
	if !filepath.IsAbs(path) && baseDir != "" {
		path = filepath.Join(baseDir, path)
	}
	key, err := readPrivateKey(path)
	if err != nil {
		return nil, fmt.Errorf("auth.private_key_file: %w", err)
	}
	method, err := signingMethod(key, a.Alg)
	if err != nil {
		return nil, fmt.Errorf("auth.alg: %w", err)
	}
	return &assertionSigner{clientID: a.ClientID, tokenURL: a.TokenURL, keyID: a.KeyID, jku: a.JKU, method: method, key: key}, nil
}

// sign returns a new assertion: iss and sub are the client id, aud the
// token endpoint, and jti a random value the server uses to refuse replays.
func (s *assertionSigner) sign(now time.Time) (string, error) {
	t := jwt.NewWithClaims(s.method, jwt.MapClaims{
		"iss": s.clientID,
		"sub": s.clientID,
		"aud": s.tokenURL, // a string, not a one-element array: some servers take only that
		"exp": now.Add(assertionLife).Unix(),
		"jti": rand.Text(),
	})
	t.Header["kid"] = s.keyID
	if s.jku != "" {
		t.Header["jku"] = s.jku
	}
	return t.SignedString(s.key)
}

// readPrivateKey reads the first private key in a PEM file: PKCS#1 RSA,
// SEC 1 EC or PKCS#8 of either. Other blocks (a certificate next to the
// key) are skipped.
func readPrivateKey(path string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return nil, fmt.Errorf("%s: no PEM private key (RSA PRIVATE KEY, EC PRIVATE KEY or PRIVATE KEY)", path)
		}
		var k any
		switch b.Type {
		case "RSA PRIVATE KEY":
			k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
		case "EC PRIVATE KEY":
			k, err = x509.ParseECPrivateKey(b.Bytes)
		case "PRIVATE KEY":
			k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
		case "ENCRYPTED PRIVATE KEY":
			return nil, fmt.Errorf("%s: the key is encrypted; store it unencrypted with restricted file permissions", path)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", path, b.Type, err)
		}
		switch k := k.(type) {
		case *rsa.PrivateKey:
			return k, nil
		case *ecdsa.PrivateKey:
			return k, nil
		}
		return nil, fmt.Errorf("%s: a %T key; SMART Backend Services needs RSA or EC P-384", path, k)
	}
}

// signingMethod checks alg against the key, or picks it from the key when
// alg is empty.
func signingMethod(key crypto.Signer, alg string) (jwt.SigningMethod, error) {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if alg != "" && alg != AlgRS384 {
			return nil, fmt.Errorf("%s needs an EC P-384 key, the file holds an RSA key", alg)
		}
		if k.N.BitLen() < 2048 {
			return nil, fmt.Errorf("the RSA key has %d bits; at least 2048 are required", k.N.BitLen())
		}
		return jwt.SigningMethodRS384, nil
	case *ecdsa.PrivateKey:
		if alg != "" && alg != AlgES384 {
			return nil, fmt.Errorf("%s needs an RSA key, the file holds an EC key", alg)
		}
		if k.Curve != elliptic.P384() {
			return nil, fmt.Errorf("ES384 needs a P-384 key, the file holds %s", k.Curve.Params().Name)
		}
		return jwt.SigningMethodES384, nil
	}
	return nil, fmt.Errorf("unsupported key type %T", key)
}
