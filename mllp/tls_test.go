package mllp_test

import (
	"context"
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
	"testing"
	"time"

	"github.com/plexus-hl7/plexus/mllp"
)

// testPKI is a throwaway CA with a server and a client certificate, written
// as PEM files.
type testPKI struct {
	dir                   string
	caFile                string
	serverCert, serverKey string
	clientCert, clientKey string
}

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	dir := t.TempDir()
	p := testPKI{dir: dir}
	caKey, caCert := genCert(t, nil, nil, &x509.Certificate{
		Subject:               pkix.Name{CommonName: "Plexus Test CA"},
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	})
	p.caFile = writePEM(t, dir, "ca.pem", "CERTIFICATE", caCert.Raw)

	sKey, sCert := genCert(t, caKey, caCert, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "mllp.test"},
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage:    x509.KeyUsageDigitalSignature,
	})
	p.serverCert = writePEM(t, dir, "server.pem", "CERTIFICATE", sCert.Raw)
	p.serverKey = writeKey(t, dir, "server-key.pem", sKey)

	cKey, cCert := genCert(t, caKey, caCert, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "emr-sender", Organization: []string{"General Hospital"}},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		KeyUsage:    x509.KeyUsageDigitalSignature,
	})
	p.clientCert = writePEM(t, dir, "client.pem", "CERTIFICATE", cCert.Raw)
	p.clientKey = writeKey(t, dir, "client-key.pem", cKey)
	return p
}

var serial int64

func genCert(t *testing.T, parentKey *ecdsa.PrivateKey, parent, tmpl *x509.Certificate) (*ecdsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial++
	tmpl.SerialNumber = big.NewInt(serial)
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(time.Hour)
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
	return key, cert
}

func writePEM(t *testing.T, dir, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func writeKey(t *testing.T, dir, name string, key *ecdsa.PrivateKey) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return writePEM(t, dir, name, "PRIVATE KEY", der)
}

// peerEcho answers with the client certificate's subject, so tests can see
// what the handler saw.
var peerEcho = mllp.HandlerFunc(func(_ context.Context, ci mllp.ConnInfo, msg []byte) []byte {
	if !ci.TLS {
		return []byte("not TLS")
	}
	return []byte("ACK:" + string(msg) + ":" + ci.PeerSubject)
})

func TestTLSRoundTrip(t *testing.T) {
	pki := newTestPKI(t)
	scfg, err := mllp.ServerTLSConfig(pki.serverCert, pki.serverKey, "")
	if err != nil {
		t.Fatal(err)
	}
	_, addr := startServer(t, peerEcho, mllp.ServerOptions{TLSConfig: scfg})
	ccfg, err := mllp.ClientTLSConfig(pki.caFile, "", "")
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, addr, mllp.ClientOptions{TLSConfig: ccfg})
	if got := send(t, c, "MSH|tls"); got != "ACK:MSH|tls:" {
		t.Fatalf("ack = %q", got)
	}
}

func TestMutualTLS(t *testing.T) {
	pki := newTestPKI(t)
	scfg, err := mllp.ServerTLSConfig(pki.serverCert, pki.serverKey, pki.caFile)
	if err != nil {
		t.Fatal(err)
	}
	if scfg.ClientAuth != tls.RequireAndVerifyClientCert {
		t.Fatalf("ClientAuth = %v", scfg.ClientAuth)
	}
	srv, addr := startServer(t, peerEcho, mllp.ServerOptions{TLSConfig: scfg})

	ccfg, err := mllp.ClientTLSConfig(pki.caFile, pki.clientCert, pki.clientKey)
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, addr, mllp.ClientOptions{TLSConfig: ccfg})
	want := "ACK:MSH|mtls:CN=emr-sender,O=General Hospital"
	if got := send(t, c, "MSH|mtls"); got != want {
		t.Fatalf("ack = %q, want %q", got, want)
	}

	// A client without a certificate is turned away, and the server says so.
	anon, err := mllp.ClientTLSConfig(pki.caFile, "", "")
	if err != nil {
		t.Fatal(err)
	}
	c2 := newClient(t, addr, mllp.ClientOptions{TLSConfig: anon})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if ack, err := c2.Send(ctx, []byte("MSH|anon")); err == nil {
		t.Fatalf("client without certificate got %q", ack)
	}
	eventually(t, 5*time.Second, "handshake failure counted", func() bool { return srv.Stats().TLSHandshakeErrors >= 1 })

	// A plain TCP client gets nothing either.
	plain := newClient(t, addr, mllp.ClientOptions{})
	ctx2, cancel2 := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel2()
	if ack, err := plain.Send(ctx2, []byte("MSH|plain")); err == nil {
		t.Fatalf("plain client got %q", ack)
	}
}

func TestTLSConfigErrors(t *testing.T) {
	pki := newTestPKI(t)
	if _, err := mllp.ServerTLSConfig(pki.serverCert, "missing.pem", ""); err == nil {
		t.Error("missing key accepted")
	}
	if _, err := mllp.ServerTLSConfig(pki.serverCert, pki.serverKey, pki.serverKey); err == nil {
		t.Error("a key file accepted as CA bundle")
	}
	if _, err := mllp.ClientTLSConfig(filepath.Join(pki.dir, "none.pem"), "", ""); err == nil {
		t.Error("missing CA file accepted")
	}
	if _, err := mllp.ClientTLSConfig("", pki.clientCert, ""); err == nil {
		t.Error("certificate without key accepted")
	}
}
