package transport

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// backend serves h on loopback and counts the connections it accepted.
func backend(t *testing.T, h http.HandlerFunc) (addr string, conns *atomic.Int64) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conns = new(atomic.Int64)
	srv := &http.Server{Handler: h, ConnState: func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().String(), conns
}

func newSerial() *Serial { return NewSerial((&net.Dialer{}).DialContext, 4) }

func get(t *testing.T, s *Serial, ctx context.Context, method, addr, path string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, "http://"+addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Takes(req) {
		t.Fatalf("Serial does not take %s %s", method, path)
	}
	resp, err := s.RoundTrip(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("%s %s: body: %v", method, path, err)
	}
	return resp, string(b)
}

func TestSerialTakes(t *testing.T) {
	mk := func(method, url string, body io.Reader, mod func(*http.Request)) *http.Request {
		r, err := http.NewRequest(method, url, body)
		if err != nil {
			t.Fatal(err)
		}
		if mod != nil {
			mod(r)
		}
		return r
	}
	tests := []struct {
		name string
		req  *http.Request
		want bool
	}{
		{"GET", mk("GET", "http://a/", nil, nil), true},
		{"HEAD", mk("HEAD", "http://a/", nil, nil), true},
		{"OPTIONS", mk("OPTIONS", "http://a/", nil, nil), true},
		{"POST without body", mk("POST", "http://a/", nil, nil), false},
		{"DELETE", mk("DELETE", "http://a/", nil, nil), false},
		{"GET with body", mk("GET", "http://a/", strings.NewReader("x"), nil), false},
		{"https", mk("GET", "https://a/", nil, nil), false},
		{"HTTP/2", mk("GET", "http://a/", nil, func(r *http.Request) { ForceH2C(r) }), false},
		{"upgrade", mk("GET", "http://a/", nil, func(r *http.Request) {
			r.Header.Set("Connection", "Upgrade")
			r.Header.Set("Upgrade", "websocket")
		}), false},
		{"close", mk("GET", "http://a/", nil, func(r *http.Request) { r.Close = true }), false},
	}
	s := newSerial()
	for _, tt := range tests {
		if got := s.Takes(tt.req); got != tt.want {
			t.Errorf("%s: Takes = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestSerialReusesConnection(t *testing.T) {
	addr, conns := backend(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/chunked":
			w.Header().Set("Trailer", "X-Sum")
			io.WriteString(w, "a")
			w.(http.Flusher).Flush()
			io.WriteString(w, "b")
			w.Header().Set("X-Sum", "2")
		case "/empty":
			w.WriteHeader(http.StatusNoContent)
		default:
			fmt.Fprintf(w, "%s %s host=%s", r.Method, r.URL.Path, r.Host)
		}
	})
	s := newSerial()
	var got []string
	for _, p := range []string{"/a", "/chunked", "/empty", "/b"} {
		resp, body := get(t, s, context.Background(), http.MethodGet, addr, p)
		got = append(got, fmt.Sprintf("%d %q trailer=%q", resp.StatusCode, body, resp.Trailer.Get("X-Sum")))
	}
	resp, body := get(t, s, context.Background(), http.MethodHead, addr, "/c")
	got = append(got, fmt.Sprintf("%d %q", resp.StatusCode, body))
	want := []string{
		`200 "GET /a host=` + addr + `" trailer=""`,
		`200 "ab" trailer="2"`,
		`204 "" trailer=""`,
		`200 "GET /b host=` + addr + `" trailer=""`,
		`200 ""`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("responses (-want +got):\n%s", diff)
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("backend saw %d connections, want 1 (kept alive)", n)
	}
}

func TestSerialConnectionClose(t *testing.T) {
	addr, conns := backend(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		io.WriteString(w, "bye")
	})
	s := newSerial()
	for range 2 {
		if _, body := get(t, s, context.Background(), http.MethodGet, addr, "/"); body != "bye" {
			t.Fatalf("body %q, want bye", body)
		}
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("backend saw %d connections, want 2 (Connection: close is honoured)", n)
	}
}

// TestSerialRetriesStaleConnection: a backend that closes every connection
// after one response without saying so; the second request finds the
// idle connection closed and goes out again on a new one.
func TestSerialRetriesStaleConnection(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var accepted atomic.Int64
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			if _, err := http.ReadRequest(bufio.NewReader(c)); err == nil {
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			}
			c.Close()
		}
	}()
	s := newSerial()
	for i := range 3 {
		if _, body := get(t, s, context.Background(), http.MethodGet, l.Addr().String(), "/"); body != "ok" {
			t.Fatalf("request %d: body %q, want ok", i, body)
		}
	}
	if n := accepted.Load(); n != 3 {
		t.Errorf("backend accepted %d connections, want 3", n)
	}
}

func TestSerialEarlyCloseAndCancel(t *testing.T) {
	release := make(chan struct{})
	addr, conns := backend(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/big":
			w.Header().Set("Content-Length", "1000000")
			w.Write(make([]byte, 1000))
		case "/block":
			select {
			case <-release:
			case <-r.Context().Done():
			}
		default:
			io.WriteString(w, "ok")
		}
	})
	defer close(release)
	s := newSerial()

	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/big", nil)
	resp, err := s.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Read(make([]byte, 10))
	resp.Body.Close() // the rest is never read: the connection must not be reused

	ctx, cancel := context.WithCancel(context.Background())
	req, _ = http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/block", nil)
	errc := make(chan error, 1)
	go func() {
		_, err := s.RoundTrip(req)
		errc <- err
	}()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled request: err %v, want context.Canceled", err)
	}
	if _, body := get(t, s, context.Background(), http.MethodGet, addr, "/"); body != "ok" {
		t.Errorf("after early close and cancel: body %q, want ok", body)
	}
	if n := conns.Load(); n < 2 {
		t.Errorf("backend saw %d connections, want a new one after the early close", n)
	}
}

func TestSerialInformational(t *testing.T) {
	addr, _ := backend(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Link")
		io.WriteString(w, "final")
	})
	var got []string
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		got = append(got, fmt.Sprintf("%d %s", code, h.Get("Link")))
		return nil
	}}
	resp, body := get(t, newSerial(), httptrace.WithClientTrace(context.Background(), trace), http.MethodGet, addr, "/")
	got = append(got, fmt.Sprintf("%d %s", resp.StatusCode, body))
	want := []string{"103 </style.css>; rel=preload", "200 final"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("responses (-want +got):\n%s", diff)
	}
}

// TestSerialClosesIdleConnections: a connection idle for longer than
// IdleTimeout is not used again, and one to a backend no longer asked is
// closed when another connection is given back.
//
// The backends serve outside the testing/synctest bubble; inside it, the
// idle time passes on the bubble's clock without waiting.
func TestSerialClosesIdleConnections(t *testing.T) {
	closedB := make(chan struct{}, 1)
	addrA, connsA := backend(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "a") })
	lB, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srvB := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "b") }),
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateClosed {
				closedB <- struct{}{}
			}
		}}
	go srvB.Serve(lB)
	defer srvB.Close()

	synctest.Test(t, func(t *testing.T) {
		s := newSerial()
		get(t, s, context.Background(), http.MethodGet, addrA, "/")
		get(t, s, context.Background(), http.MethodGet, lB.Addr().String(), "/")
		time.Sleep(s.IdleTimeout + time.Second)
		get(t, s, context.Background(), http.MethodGet, addrA, "/")
		if n := connsA.Load(); n != 2 {
			t.Errorf("backend A saw %d connections, want 2 (the idle one expired)", n)
		}
		s.mu.Lock()
		_, keptB := s.idle[lB.Addr().String()]
		s.mu.Unlock()
		if keptB {
			t.Errorf("the expired idle connection to backend B is still kept")
		}
	})
	// The close reaches B's server asynchronously.
	select {
	case <-closedB:
	case <-time.After(30 * time.Second):
		t.Errorf("backend B: its expired idle connection was not closed")
	}
}
