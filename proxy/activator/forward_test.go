package activator

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ebb-dev/ebb/proxy/header"
	"github.com/ebb-dev/ebb/proxy/internal/testenv"
	"github.com/ebb-dev/ebb/proxy/route"
)

// echoPod answers the activator's probe and echoes every other request's
// Host and fields as JSON.
func echoPod(t *testing.T) string {
	t.Helper()
	l := testenv.Listen(t)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(header.Probe) == header.ProbeQueue {
			io.WriteString(w, header.ProbeQueue)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"host": r.Host, "header": r.Header})
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().String()
}

// TestLeanPathSendsWhatTheReverseProxySends: a GET (transport.Forward)
// and a POST with a body (httputil.ReverseProxy) carrying the same fields
// reach the pod with the same Host and fields.
func TestLeanPathSendsWhatTheReverseProxySends(t *testing.T) {
	rv := revs{{"default", "hello-00001"}: {Namespace: "default", Name: "hello-00001", Protocol: route.ProtocolHTTP1}}
	f := startActivator(t, rv, 10)
	pod := echoPod(t)
	f.backends.Set("default", "hello-00001", []string{pod})
	type seen struct {
		Host   string
		Header http.Header
	}
	send := func(method string, body io.Reader, originalHost string) seen {
		t.Helper()
		req, err := http.NewRequest(method, f.url+"/echo", body)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = "hello.example.com"
		for k, v := range map[string]string{
			header.Revision: "hello-00001", header.Namespace: "default", "X-Custom": "kept",
			"Connection": "X-Hop", "X-Hop": "dropped", "X-Forwarded-For": "10.0.0.9", "K-Proxy-Request": "other",
		} {
			req.Header.Set(k, v)
		}
		if originalHost != "" {
			req.Header.Set(header.OriginalHost, originalHost)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var got seen
		if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
			t.Fatal(err)
		}
		got.Header.Del("Content-Length")
		return got
	}
	for _, orig := range []string{"", "first.example.com"} {
		lean := send(http.MethodGet, nil, orig)
		proxied := send(http.MethodPost, strings.NewReader("x"), orig)
		if diff := cmp.Diff(proxied, lean); diff != "" {
			t.Errorf("K-Original-Host %q, at the pod (-reverse proxy +lean path):\n%s", orig, diff)
		}
		wantOrig := orig
		if wantOrig == "" {
			wantOrig = "hello.example.com"
		}
		if lean.Host != pod || lean.Header.Get(header.OriginalHost) != wantOrig ||
			lean.Header.Get(header.ProxyRequest) != header.ProxyActivator || lean.Header.Get("X-Custom") != "kept" ||
			lean.Header.Get(header.Revision) != "" || lean.Header.Get("X-Hop") != "" {
			t.Errorf("lean path: Host %q, fields %v", lean.Host, lean.Header)
		}
	}
}
