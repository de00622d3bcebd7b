package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/ebb-dev/ebb/internal/syncbuf"
	"github.com/ebb-dev/ebb/proxy/transport"
)

var upServing = regexp.MustCompile(`on http://(127\.0\.0\.1:\d+) `)

// TestGatewaysSpeakH2C: the gateway of `ebb up` and of `ebb gateway`
// answer HTTP/1.1 and h2c with prior knowledge (gRPC's HTTP/2 without TLS)
// on the same address.
func TestGatewaysSpeakH2C(t *testing.T) {
	routes := filepath.Join(t.TempDir(), "routes.json")
	if err := os.WriteFile(routes, []byte(`{"routes":[],"revisions":[]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	runtimeDir := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		// serving finds the gateway's address in what the command printed
		// (its log, with log set).
		serving *regexp.Regexp
		log     bool
	}{
		{"ebb up", []string{"up", t.TempDir(), "--addr", "127.0.0.1:0", "--admin", "127.0.0.1:0"}, upServing, false},
		{"ebb gateway", []string{"gateway", "--listen", "127.0.0.1:0", "--routes", routes, "--drain", "0s"}, gatewayServing, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			var stdout, stderr syncbuf.Buffer
			done := make(chan int, 1)
			go func() {
				done <- run(ctx, tc.args, &env{stdout: &stdout, stderr: &stderr,
					getenv: func(k string) string { return map[string]string{"XDG_RUNTIME_DIR": runtimeDir}[k] }})
			}()
			defer func() {
				cancel()
				if code := <-done; code != exitOK {
					t.Errorf("exit code %d\n%s", code, stderr.String())
				}
			}()
			out := &stdout
			if tc.log {
				out = &stderr
			}
			addr := servingAddr(t, out, tc.serving)
			tr := transport.New(1)
			defer tr.CloseIdleConnections()
			get := func(h2c bool) (*http.Response, error) {
				req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
				req.Host = "nowhere.example.com"
				if h2c {
					transport.ForceH2C(req)
				}
				resp, err := tr.RoundTrip(req)
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				return resp, err
			}
			for _, h2c := range []bool{false, true} {
				resp, err := get(h2c)
				if err != nil {
					t.Fatalf("h2c %v: %v", h2c, err)
				}
				want := map[bool]string{false: "HTTP/1.1", true: "HTTP/2.0"}[h2c]
				if resp.StatusCode != http.StatusNotFound || resp.Proto != want {
					t.Errorf("h2c %v: %d over %s, want 404 over %s", h2c, resp.StatusCode, resp.Proto, want)
				}
			}
		})
	}
}
