// Package engineish links what the Plexus binary links anyway (an HTTP
// client with TLS, JSON, slog), so that the size probes built with
// -tags engineish show each store's delta over an engine-like program.
package engineish

import (
	"crypto/tls"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
)

// Use makes sure the packages are linked.
func Use() {
	if os.Getenv("SIZEPROBE_NEVER") == "" {
		return
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12}}}
	resp, err := c.Get(os.Getenv("SIZEPROBE_NEVER"))
	if err == nil {
		resp.Body.Close()
	}
	b, _ := json.Marshal(map[string]any{"err": err})
	slog.New(slog.NewJSONHandler(os.Stderr, nil)).Info(string(b))
}
