package kafka_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/plexus-hl7/plexus/channels"
)

// SASL against kfake's server side: PLAIN and SCRAM (kafka-go's sasl/scram
// on xdg-go/scram) with the password inline, from the environment and from
// a file.
func TestSASL(t *testing.T) {
	_, addr := cluster(t,
		kfake.EnableSASL(),
		kfake.Superuser("PLAIN", "reader", "reader-pw"),
		kfake.Superuser("PLAIN", "plain-user", "plain-pw"),
		kfake.Superuser("SCRAM-SHA-256", "scram256-user", "pw-256"),
		kfake.Superuser("SCRAM-SHA-512", "scram512-user", "pw,=512"),
		kfake.SeedTopics(1, "secure"),
	)
	reader := &kafkago.Dialer{Timeout: 5 * time.Second, SASLMechanism: plain.Mechanism{Username: "reader", Password: "reader-pw"}}
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw512")
	if err := os.WriteFile(pwFile, []byte("pw,=512\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PLEXUS_TEST_KAFKA_PW", "pw-256")

	delivered := 0
	for _, tc := range []struct{ name, sasl string }{
		{"plain inline", "{mechanism: plain, username: plain-user, password: plain-pw}"},
		{"scram-sha-256 from env", "{mechanism: scram-sha-256, username: scram256-user, password: \"${PLEXUS_TEST_KAFKA_PW}\"}"}, // quoted: { is a flow indicator
		{"scram-sha-512 from file", "{mechanism: scram-sha-512, username: scram512-user, password_file: " + pwFile + "}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := open(t, addr, "topic: secure\nsasl: "+tc.sasl)
			deliver(t, d, msg(uint64(delivered), "p", "{}"))
			delivered++
		})
	}
	if n := len(readAll(t, addr, "secure", reader)); n != delivered {
		t.Errorf("%d records, want %d", n, delivered)
	}

	// A wrong password fails the delivery, retryably: the fix (a new
	// secret, a reload) lets the same message through.
	// (kfake closes the connection where Kafka would first answer
	// SASL_AUTHENTICATION_FAILED, so the error here is an EOF.)
	for _, tc := range []struct{ mech, user string }{
		{"plain", "plain-user"},
		{"scram-sha-256", "scram256-user"},
		{"scram-sha-512", "scram512-user"},
	} {
		t.Run("wrong password "+tc.mech, func(t *testing.T) {
			d := open(t, addr, "topic: secure\nsasl: {mechanism: "+tc.mech+", username: "+tc.user+", password: wrong}")
			err := d.Deliver(t.Context(), msg(99, "p", "{}"))
			if err == nil || channels.IsPermanent(err) {
				t.Fatalf("err = %v, want a retryable authentication error", err)
			}
			t.Logf("wrong password: %v", err)
		})
	}
	if n := len(readAll(t, addr, "secure", reader)); n != delivered {
		t.Errorf("%d records after the failed logins, want %d", n, delivered)
	}
}

func TestTLS(t *testing.T) {
	caPEM, serverCert := selfSigned(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	_, addr := cluster(t,
		kfake.TLS(&tls.Config{Certificates: []tls.Certificate{serverCert}, MinVersion: tls.VersionTLS12}),
		kfake.SeedTopics(1, "tls"))

	// The CA path is relative: resolved against OpenOptions.BaseDir.
	cfg := decode(t, "brokers: ["+addr+"]\ntopic: tls\ntls: {ca: ca.pem}")
	d, err := cfg.Open(t.Context(), channels.OpenOptions{Name: "tls", BaseDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	deliver(t, d, msg(1, "p", "{}"))

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	reader := &kafkago.Dialer{Timeout: 5 * time.Second, TLS: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	if n := len(readAll(t, addr, "tls", reader)); n != 1 {
		t.Errorf("%d records, want 1", n)
	}

	// Without the CA the handshake fails, retryably.
	plainCfg := decode(t, "brokers: ["+addr+"]\ntopic: tls\ntls: {enabled: true}")
	d2, err := plainCfg.Open(t.Context(), channels.OpenOptions{Name: "tls-noca"})
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	err = d2.Deliver(t.Context(), msg(2, "p", "{}"))
	if err == nil || channels.IsPermanent(err) || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("err = %v, want a retryable certificate error", err)
	}
}

// selfSigned makes a certificate for 127.0.0.1 that is its own CA.
func selfSigned(t *testing.T) ([]byte, tls.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "kfake"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
