package queue

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"testing"
	"time"

	"github.com/ebb-dev/ebb/proxy/timeout"
)

// benchHop serves h on loopback and sends requests to it from parallel
// keep-alive clients.
func benchHop(b *testing.B, h http.Handler) { benchHopConns(b, h, true) }

// benchHopConns serves h on loopback and sends requests to it, from
// parallel keep-alive clients or, when parallel is false, one request at a
// time over one connection (wrk -c1).
func benchHopConns(b *testing.B, h http.Handler, parallel bool) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(l)
	defer srv.Close()
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	defer tr.CloseIdleConnections()
	u := "http://" + l.Addr().String() + "/"
	get := func() bool {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			b.Error(err)
			return false
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return true
	}
	b.ReportAllocs()
	b.ResetTimer()
	if !parallel {
		for b.Loop() {
			if !get() {
				return
			}
		}
		return
	}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if !get() {
				return
			}
		}
	})
}

func userServer(b *testing.B) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello from the user container\n")
	})}
	go srv.Serve(l)
	b.Cleanup(func() { srv.Close() })
	return l.Addr().String()
}

// BenchmarkHop compares one proxy hop through ebb's queue-proxy handler
// with the stock httputil.ReverseProxy, in one process.
func BenchmarkHop(b *testing.B) {
	b.Run("direct", func(b *testing.B) {
		benchHop(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "hello from the user container\n")
		}))
	})
	b.Run("stock", func(b *testing.B) {
		p := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: userServer(b)})
		p.Transport = &http.Transport{MaxIdleConnsPerHost: 64}
		benchHop(b, p)
	})
	for _, cc := range []int{0, 10} {
		name := map[int]string{0: "ebb-cc0", 10: "ebb-cc10"}[cc]
		b.Run(name, func(b *testing.B) {
			s, err := New(Config{UserAddr: userServer(b), ContainerConcurrency: cc, QueueDepth: 10000})
			if err != nil {
				b.Fatal(err)
			}
			_ = context.Background
			benchHop(b, s.Handler())
		})
	}
}

// BenchmarkHop1 is BenchmarkHop at one connection, one request at a time:
// the latency-bound case of wrk -c1.
func BenchmarkHop1(b *testing.B) {
	b.Run("stock", func(b *testing.B) {
		p := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: userServer(b)})
		p.Transport = &http.Transport{MaxIdleConnsPerHost: 64}
		benchHopConns(b, p, false)
	})
	for _, cc := range []int{0, 10} {
		name := map[int]string{0: "ebb-cc0", 10: "ebb-cc10"}[cc]
		b.Run(name, func(b *testing.B) {
			s, err := New(Config{UserAddr: userServer(b), ContainerConcurrency: cc, QueueDepth: 10000,
				Timeouts: timeout.Limits{Total: 300 * time.Second}})
			if err != nil {
				b.Fatal(err)
			}
			benchHopConns(b, s.Handler(), false)
		})
	}
}

// BenchmarkOverflow is the answer to a full queue (503 pending request
// queue full), what a queue-proxy does most under overload: every place of
// a CC=1 breaker is taken before the clients start.
func BenchmarkOverflow(b *testing.B) {
	s, err := New(Config{UserAddr: userServer(b), ContainerConcurrency: 1,
		Timeouts: timeout.Limits{Total: 300 * time.Second}})
	if err != nil {
		b.Fatal(err)
	}
	for s.breaker.Reserve() {
	}
	benchHop(b, s.Handler())
}
