package admin

import (
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ebb-dev/ebb/engine/webhook"
)

// serve runs srv on l until the test ends.
func serve(t *testing.T, srv *http.Server, l net.Listener) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	})
}

// TestLocalServer runs a source's endpoints behind a local admin server
// on loopback, as `ebb up` does, and sends what a script, a web page and
// a rebound DNS name would.
func TestLocalServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_, port, _ := net.SplitHostPort(addr)
	const token = "0123456789abcdef"
	secret := []byte("hook-secret")
	var kicks atomic.Int32
	mux := NewMux(prometheus.NewRegistry())
	err = Source{Status: func() any { return []string{"main"} }, Kick: func() { kicks.Add(1) }, Sync: Bearer(token), Webhook: webhook.For(secret, nil),
		Limiter: NewLimiter(time.Hour, 3)}.Mount(mux)
	if err != nil {
		t.Fatal(err)
	}
	mux.HandleFunc("POST /test/read", func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				w.WriteHeader(http.StatusRequestEntityTooLarge)
			}
		}
	})
	serve(t, NewLocalServer(l.Addr(), mux), l)

	hook := `{"ref":"refs/heads/main"}`
	for _, tc := range []struct {
		name    string
		method  string
		path    string
		host    string
		headers map[string]string
		body    string
		code    int
		kicks   int32 // kicks so far, after the request
	}{
		{"status", "GET", "/v1/sources", "", nil, "", 200, 0},
		{"status by name", "GET", "/v1/sources", "localhost:" + port, nil, "", 200, 0},
		{"health", "GET", "/healthz", "", nil, "", 200, 0},
		{"rebinding", "GET", "/v1/sources", "evil.example:" + port, nil, "", 403, 0},
		{"rebinding sync", "POST", "/v1/sync", "evil.example:" + port, map[string]string{"Authorization": "Bearer " + token}, "", 403, 0},
		{"sync without a token", "POST", "/v1/sync", "", nil, "", 401, 0},
		{"sync with a wrong token", "POST", "/v1/sync", "", map[string]string{"Authorization": "Bearer nope"}, "", 401, 0},
		{"sync with the token", "POST", "/v1/sync", "", map[string]string{"Authorization": "Bearer " + token}, "", 202, 1},
		{"a page posts text/plain", "POST", "/v1/sync", "",
			map[string]string{"Origin": "https://evil.example", "Content-Type": "text/plain", "Authorization": "Bearer " + token}, "x", 403, 1},
		{"a page posts to the stats path", "POST", "/v1/stats", "",
			map[string]string{"Origin": "https://evil.example", "Content-Type": "text/plain"}, `[{}]`, 403, 1},
		{"a page reads the status", "GET", "/v1/sources", "", map[string]string{"Sec-Fetch-Site": "cross-site"}, "", 403, 1},
		{"stats are not served", "POST", "/v1/stats", "", nil, `[]`, 404, 1},
		{"a signed webhook", "POST", "/v1/webhook", "", map[string]string{webhook.HeaderGenericSignature: "sha256=" + hex.EncodeToString(webhook.Sign(secret, []byte(hook))),
			webhook.HeaderGenericDelivery: "d1"}, hook, 202, 2},
		{"the same delivery again", "POST", "/v1/webhook", "", map[string]string{webhook.HeaderGenericSignature: "sha256=" + hex.EncodeToString(webhook.Sign(secret, []byte(hook))),
			webhook.HeaderGenericDelivery: "d1"}, hook, 200, 2},
		{"an unsigned webhook", "POST", "/v1/webhook", "", nil, hook, 401, 2},
		{"the third sync", "POST", "/v1/sync", "", map[string]string{"Authorization": "Bearer " + token}, "", 202, 3},
		{"past the limit", "POST", "/v1/sync", "", map[string]string{"Authorization": "Bearer " + token}, "", 429, 3},
		{"a webhook past the limit", "POST", "/v1/webhook", "", map[string]string{webhook.HeaderGenericSignature: "sha256=" + hex.EncodeToString(webhook.Sign(secret, []byte(hook))),
			webhook.HeaderGenericDelivery: "d2"}, hook, 429, 3},
		{"a body at the limit", "POST", "/test/read", "", nil, strings.Repeat("x", MaxBody), 200, 3},
		{"a body over the limit", "POST", "/test/read", "", nil, strings.Repeat("x", MaxBody+1), 413, 3},
	} {
		req, err := http.NewRequest(tc.method, "http://"+addr+tc.path, strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		if tc.host != "" {
			req.Host = tc.host
		}
		for k, v := range tc.headers {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.code {
			t.Errorf("%s: %d %q, want %d", tc.name, resp.StatusCode, body, tc.code)
		}
		if tc.code == 429 && resp.Header.Get("Retry-After") == "" {
			t.Errorf("%s: 429 without Retry-After", tc.name)
		}
		if got := kicks.Load(); got != tc.kicks {
			t.Errorf("%s: %d kicks so far, want %d", tc.name, got, tc.kicks)
		}
	}
}

// TestServerSettings: every admin server has the timeouts and limits.
func TestServerSettings(t *testing.T) {
	l, _ := net.ResolveTCPAddr("tcp", "127.0.0.1:8081")
	for name, srv := range map[string]*http.Server{"cluster": NewServer(http.NotFoundHandler()), "local": NewLocalServer(l, http.NotFoundHandler())} {
		if srv.ReadHeaderTimeout != ReadHeaderTimeout || srv.ReadTimeout != ReadTimeout || srv.IdleTimeout != IdleTimeout || srv.MaxHeaderBytes != MaxHeaderBytes {
			t.Errorf("%s: ReadHeaderTimeout %v, ReadTimeout %v, IdleTimeout %v, MaxHeaderBytes %d", name,
				srv.ReadHeaderTimeout, srv.ReadTimeout, srv.IdleTimeout, srv.MaxHeaderBytes)
		}
	}
}
