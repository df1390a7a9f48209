package mllp

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plexus-hl7/plexus/channels"
	mllpc "github.com/plexus-hl7/plexus/mllp"
)

// writePKI writes a throwaway CA, a server certificate for 127.0.0.1 and a
// client certificate into dir: ca.pem, server.pem, server-key.pem,
// client.pem, client-key.pem.
func writePKI(t *testing.T, dir string) {
	t.Helper()
	serial := int64(0)
	issue := func(name string, tmpl *x509.Certificate, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		serial++
		tmpl.SerialNumber = big.NewInt(serial)
		tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
		if parent == nil {
			parent, parentKey = tmpl, key
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
		if err != nil {
			t.Fatal(err)
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		write := func(file, typ string, b []byte) {
			if err := os.WriteFile(filepath.Join(dir, file), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		write(name+".pem", "CERTIFICATE", der)
		pk, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		write(name+"-key.pem", "PRIVATE KEY", pk)
		return cert, key
	}
	ca, caKey := issue("ca", &x509.Certificate{Subject: pkix.Name{CommonName: "Plexus Test CA"}, IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}, nil, nil)
	issue("server", &x509.Certificate{Subject: pkix.Name{CommonName: "lab.test"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}, ca, caKey)
	issue("client", &x509.Certificate{Subject: pkix.Name{CommonName: "plexus"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature}, ca, caKey)
}

func TestDeliverOverMutualTLS(t *testing.T) {
	dir := t.TempDir()
	writePKI(t, dir)
	stls, err := mllpc.ServerTLSConfig(filepath.Join(dir, "server.pem"), filepath.Join(dir, "server-key.pem"), filepath.Join(dir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	subjects := make(chan string, 1)
	p := startPeer(t, func(ctx context.Context, ci mllpc.ConnInfo, msg []byte) []byte {
		if !ci.TLS {
			return nil
		}
		select {
		case subjects <- ci.PeerSubject:
		default:
		}
		return byControlID(ctx, ci, msg)
	}, mllpc.ServerOptions{TLSConfig: stls})

	// Paths relative to BaseDir, as written in routes.yaml.
	d := open(t, dir, func(c *Config) {
		c.Addr = p.addr
		c.TLS = channels.TLS{CA: "ca.pem", Cert: "client.pem", Key: "client-key.pem"}
	})
	if err := deliver(t, d, message("AA-1")); err != nil {
		t.Fatalf("Deliver over mutual TLS: %v", err)
	}
	if s := <-subjects; !strings.Contains(s, "plexus") {
		t.Errorf("peer saw client subject %q", s)
	}

	// Without our CA the peer's certificate is unknown: retryable (the
	// operator fixes the trust store), never permanent. Whether the last
	// error names the certificate or the deadline depends on where the
	// attempt was when time ran out; the log always has the reason.
	var logs syncBuffer
	d2 := openWith(t, channels.OpenOptions{Name: "lab", BaseDir: dir, Logger: slog.New(slog.NewTextHandler(&logs, nil))}, func(c *Config) {
		c.Addr = p.addr
		c.TLS = channels.TLS{Enabled: true, Cert: "client.pem", Key: "client-key.pem"}
		c.AckTimeout = time.Second
	})
	if err := deliver(t, d2, message("AA-2")); err == nil || channels.IsPermanent(err) {
		t.Fatalf("untrusted peer: %v, want a retryable error", err)
	}
	if !strings.Contains(logs.String(), "certificate signed by unknown authority") {
		t.Errorf("log does not give the reason:\n%s", logs.String())
	}
}
