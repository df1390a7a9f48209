package fhir

import (
	"context"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plexus-hl7/plexus/channels"
)

func TestTLSWithCAFile(t *testing.T) {
	f := startFake(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		answer(w, http.StatusOK, txResponse)
	}, true, nil)
	dir := t.TempDir()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.Certificate().Raw})
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), ca, 0o600); err != nil {
		t.Fatal(err)
	}

	// The CA file, relative to the directory of routes.yaml.
	d := open(t, "base_url: "+f.URL+"/fhir\ntls: { ca: ca.pem }\n", dir)
	if err := d.Deliver(context.Background(), msg(txBundle)); err != nil {
		t.Fatalf("Deliver over TLS: %v", err)
	}
	if got := f.requests(); len(got) != 1 || got[0].Path != "/fhir" {
		t.Errorf("requests over TLS: %+v", got)
	}

	// Without it the server's certificate is unknown: an error that a
	// retry after fixing the settings can cure, so not permanent.
	d = open(t, "base_url: "+f.URL+"/fhir\n", dir)
	err := d.Deliver(context.Background(), msg(txBundle))
	if err == nil || channels.IsPermanent(err) || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("Deliver to an unknown CA: %v", err)
	}

	// The wrong server name fails verification too.
	d = open(t, "base_url: "+f.URL+"/fhir\ntls: { ca: ca.pem, server_name: ehr.invalid }\n", dir)
	if err := d.Deliver(context.Background(), msg(txBundle)); err == nil {
		t.Error("Deliver with a wrong server_name succeeded")
	}
	if n := len(f.requests()); n != 1 {
		t.Errorf("%d requests reached the server, want 1", n)
	}
}
