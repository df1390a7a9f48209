package channels

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// TLS is the client-side TLS block shared by the kinds that dial out:
//
//	tls: { ca: ca.pem, cert: client.pem, key: client-key.pem, server_name: ehr.local }
//
// An empty block (enabled: false and no files) means plain TCP.
type TLS struct {
	Enabled            bool   `yaml:"enabled"`
	CA                 string `yaml:"ca"`
	Cert               string `yaml:"cert"`
	Key                string `yaml:"key"`
	ServerName         string `yaml:"server_name"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
}

// On reports whether TLS is wanted: enabled explicitly or implied by a file.
func (t *TLS) On() bool {
	return t != nil && (t.Enabled || t.CA != "" || t.Cert != "" || t.Key != "")
}

// Validate checks that cert and key come together.
func (t *TLS) Validate() error {
	if t == nil {
		return nil
	}
	var errs []error
	if (t.Cert == "") != (t.Key == "") {
		errs = append(errs, Fieldf("cert", "cert and key must be set together"))
	}
	return errors.Join(errs...)
}

// Config builds the *tls.Config, reading files relative to baseDir; nil when
// TLS is off.
func (t *TLS) Config(baseDir string) (*tls.Config, error) {
	if !t.On() {
		return nil, nil
	}
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) || baseDir == "" {
			return p
		}
		return filepath.Join(baseDir, p)
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify}
	if t.CA != "" {
		pem, err := os.ReadFile(abs(t.CA))
		if err != nil {
			return nil, fmt.Errorf("tls ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls ca %s: no PEM certificates", t.CA)
		}
		c.RootCAs = pool
	}
	if t.Cert != "" {
		cert, err := tls.LoadX509KeyPair(abs(t.Cert), abs(t.Key))
		if err != nil {
			return nil, fmt.Errorf("tls client certificate: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}
