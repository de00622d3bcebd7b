package gateway

import (
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/ebb-dev/ebb/proxy/activator"
	"github.com/ebb-dev/ebb/proxy/backend"
	"github.com/ebb-dev/ebb/proxy/route"
)

func FuzzNormalizeHost(f *testing.F) {
	f.Add("Hello.Example.com:8080")
	f.Add("[::1]:80")
	f.Fuzz(func(t *testing.T, h string) {
		n := normalizeHost(h)
		if normalizeHost(n) != n && !hasPort(n) {
			t.Errorf("normalizeHost is not idempotent on %q: %q", h, n)
		}
	})
}

func hasPort(h string) bool {
	_, _, err := net.SplitHostPort(h)
	return err == nil
}

// BenchmarkActivatorPath sends requests through the gateway and the
// in-process activator to a plain HTTP server, from parallel keep-alive
// clients, on loopback.
func BenchmarkActivatorPath(b *testing.B) {
	ul, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	user := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("K-Network-Probe") == "queue" {
			io.WriteString(w, "queue")
			return
		}
		io.WriteString(w, "hello\n")
	})}
	go user.Serve(ul)
	defer user.Close()
	be := backend.NewStatic()
	be.Set("default", "hello-00002", []string{ul.Addr().String()})
	var gw *Gateway
	act, err := activator.New(activator.Config{Backends: be, ProbePeriod: time.Millisecond,
		Revisions: revisionsFunc(func(ns, n string) (route.Revision, bool) { return gw.Revision(ns, n) })})
	if err != nil {
		b.Fatal(err)
	}
	defer act.Close()
	gw, err = New(Config{Backends: be, Activator: act})
	if err != nil {
		b.Fatal(err)
	}
	gw.SetTable(helloTable())
	gl, _ := net.Listen("tcp", "127.0.0.1:0")
	srv := &http.Server{Handler: gw}
	go srv.Serve(gl)
	defer srv.Close()
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	defer tr.CloseIdleConnections()
	u := "http://" + gl.Addr().String() + "/"
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodGet, u, nil)
			req.Host = "canary-hello.default.example.com"
			resp, err := tr.RoundTrip(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}
